// The analysts' dashboard. Every number comes from the public JSON API, read with the session of the tracker's
// pages; lists are paged, sorted and searched by the API, the filters' choices come from its facets, and the slider
// replays one funnel series. What the reader chose (filters, date, sort, page, group) lives in the address, so a view
// can be sent to a colleague and the back button works. Every text is in the reader's language: the messages pass
// through `_` (extracted by `make messages`, translated by the server into the page's #dashboard-words), the domain's
// names come from the pages' vocabulary, and dates and numbers are formatted for the page's language.
"use strict";

const WORDS = JSON.parse(document.getElementById("dashboard-words").textContent);
const LOCALE = document.documentElement.lang || "en";
const STAGES = WORDS.stage_order;
const STATUSES = WORDS.status_order;
const STAGE_COLOURS = ["#0b57a4", "#2f7d4f", "#7a4cc2", "#b45309", "#0e7490"];
// The score groups chart shows this many groups, then the rest as one bar.
const TOP_GROUPS = 12;
const state = {
  charts: {}, tables: {}, series: null, seriesKey: "", scoreSeries: null, scoreSeriesKey: "", durationsKey: null, medians: null, mediansFor: "",
  innovations: [], total: 0, ecoTotal: 0, picked: {}, names: {},
};
// Each render's number: a render that a newer one (or the slider) has overtaken draws nothing more.
let generation = 0;

class Overtaken extends Error {}

// The answer of an API read, unless the render that asked for it has been overtaken meanwhile.
async function fresh(mine, reading) {
  const answer = await reading;
  if (mine !== generation) throw new Overtaken();
  return answer;
}

// A message in the reader's language, with its %(name)s placeholders filled in.
function _(message, params) {
  const text = WORDS.messages[message] || message;
  return params ? text.replace(/%\((\w+)\)s/g, (whole, name) => String(params[name] ?? "")) : text;
}

const $ = (selector) => document.querySelector(selector);
const collator = new Intl.Collator(LOCALE, { numeric: true });
const formats = {
  day: new Intl.DateTimeFormat(LOCALE, { dateStyle: "medium", timeZone: "UTC" }),
  longDay: new Intl.DateTimeFormat(LOCALE, { dateStyle: "long", timeZone: "UTC" }),
  moment: new Intl.DateTimeFormat(LOCALE, { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" }),
  month: new Intl.DateTimeFormat(LOCALE, { year: "numeric", month: "short", timeZone: "UTC" }),
  score: new Intl.NumberFormat(LOCALE, { minimumFractionDigits: 1, maximumFractionDigits: 1 }),
  count: new Intl.NumberFormat(LOCALE),
  percent: new Intl.NumberFormat(LOCALE, { style: "percent" }),
};

function day(iso) { return iso ? formats.day.format(new Date(iso)) : "–"; }
function score(n) { return n === null || n === undefined ? "–" : formats.score.format(n); }
function count(n) { return n === null || n === undefined ? "–" : formats.count.format(n); }
function named(vocabulary, key) { return WORDS[vocabulary][key] || key; }

function status(message, isError = false) {
  const el = $("#status");
  el.textContent = message;
  el.classList.toggle("error", isError);
}

async function api(path, { accept = "application/json", signal } = {}) {
  const response = await fetch(path, { headers: { Accept: accept }, credentials: "same-origin", signal });
  if (!response.ok) {
    if (response.status === 401) throw new Error(_("Your session has ended. Sign in again to see the data."));
    let detail = response.statusText;
    try {
      const problem = await response.json();
      detail = problem.title || detail;
    } catch (error) { /* not JSON */ }
    throw new Error(_("The tracker refused a read (%(status)s): %(detail)s", { status: response.status, detail }));
  }
  return accept === "application/json" ? response.json() : response.blob();
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "–" : String(text);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

// ---- the view in the address: #/path?filters… --------------------------------------------

const DEFAULTS = { sort: "-mpi", page: "1", size: "50", group: "theme", esort: "acronym", epage: "1", esize: "50" };

function readView() {
  const [path, search] = (location.hash.slice(1) || "/").split("?");
  const params = new URLSearchParams(search || "");
  const get = (name) => params.get(name) || DEFAULTS[name] || "";
  return { path: path || "/", get, params };
}

// Change some of the view's values; `push` makes a new history entry (a new page of results, a new filter).
function setView(changes, { push = true, path } = {}) {
  const view = readView();
  const params = view.params;
  for (const [name, value] of Object.entries(changes)) {
    if (value === null || value === undefined || value === "" || value === DEFAULTS[name]) params.delete(name);
    else params.set(name, value);
  }
  const search = params.toString();
  const hash = `#${path || view.path}${search ? `?${search}` : ""}`;
  if (hash === location.hash) { route(); return; }  // the same view, drawn again (the slider may have left it half drawn)
  if (push) history.pushState(null, "", hash);
  else history.replaceState(null, "", hash);
  route();
}

function filterParams(view) {
  return { ecosystem_id: view.get("eco"), organisation_id: view.get("org"), country: view.get("country"), theme: view.get("theme") };
}

// ---- tables -------------------------------------------------------------------------------

// A table sorted here (the few rows of an ecosystem's members or of the score groups).
function sortableTable(id, rows, render) {
  const table = document.getElementById(id);
  const entry = state.tables[id] || { key: null, dir: 1 };
  Object.assign(entry, { rows, render });
  state.tables[id] = entry;
  if (!table.dataset.wired) {
    table.dataset.wired = "1";
    table.querySelectorAll("th[data-key]").forEach((th) => {
      th.tabIndex = 0;
      th.setAttribute("aria-sort", "none");
      const sort = () => {
        const e = state.tables[id];
        e.dir = e.key === th.dataset.key ? -e.dir : 1;
        e.key = th.dataset.key;
        e.numeric = th.dataset.type === "number";
        table.querySelectorAll("th[data-key]").forEach((h) => h.setAttribute("aria-sort", "none"));
        th.setAttribute("aria-sort", e.dir === 1 ? "ascending" : "descending");
        drawTable(id);
      };
      th.addEventListener("click", sort);
      th.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); sort(); } });
    });
  }
  drawTable(id);
}

function drawTable(id) {
  const e = state.tables[id];
  const rows = e.rows.slice();
  if (e.key) {
    rows.sort((a, b) => {
      const x = a[e.key] ?? "", y = b[e.key] ?? "";
      if (e.numeric) return ((x === "" ? -Infinity : Number(x)) - (y === "" ? -Infinity : Number(y))) * e.dir;
      return collator.compare(String(x), String(y)) * e.dir;
    });
  }
  document.querySelector(`#${id} tbody`).replaceChildren(...rows.map((r) => e.render(r)));
}

// A table sorted by the API: each sortable header holds a button; the view's `sort` says which and which way.
function wireServerSort(id, sortName, pageName) {
  const table = document.getElementById(id);
  table.querySelectorAll("th[data-sort]").forEach((th) => {
    const button = document.createElement("button");
    button.type = "button";
    button.append(...th.childNodes);
    th.appendChild(button);
    button.addEventListener("click", () => {
      const current = readView().get(sortName);
      const key = th.dataset.sort;
      setView({ [sortName]: current === key ? `-${key}` : key, [pageName]: "1" });
    });
  });
}

function showServerSort(id, sort) {
  document.querySelectorAll(`#${id} th[data-sort]`).forEach((th) => {
    const key = th.dataset.sort;
    th.setAttribute("aria-sort", sort === key ? "ascending" : sort === `-${key}` ? "descending" : "none");
  });
}

function pager(prefix, page, size, total, pageName) {
  const last = Math.max(1, Math.ceil(total / size));
  const from = total ? (page - 1) * size + 1 : 0;
  const to = Math.min(page * size, total);
  $(`#${prefix}-range`).textContent = _("Showing %(from)s–%(to)s of %(total)s", { from: count(from), to: count(to), total: count(total) });
  const go = { first: 1, previous: page - 1, next: page + 1, last };
  const focused = document.activeElement;
  for (const [name, target] of Object.entries(go)) {
    const button = $(`#${prefix}-${name}`);
    button.disabled = target < 1 || target > last || target === page;
    button.onclick = () => setView({ [pageName]: String(target) });
  }
  // A button disabled under the keyboard's focus would drop it to the page's start: it goes to the nearest button
  // still in use, back towards the other end (from "Last" to "Previous", from "First" to "Next").
  if (focused && focused.disabled && focused.id.startsWith(`${prefix}-`)) {
    const towards = focused.id.endsWith("-last") || focused.id.endsWith("-next")
      ? ["previous", "first", "next", "last"] : ["next", "last", "previous", "first"];
    const nearest = towards.map((name) => $(`#${prefix}-${name}`)).find((button) => !button.disabled);
    if (nearest) nearest.focus();
  }
}

// ---- charts and their exports -------------------------------------------------------------

function chart(id, config) {
  exportsFor(id, config);
  if (typeof Chart === "undefined") return;  // tables still carry every number
  config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false, locale: LOCALE }, config.options || {});
  const drawn = state.charts[id];
  if (drawn && drawn.config.type === config.type) {  // the same chart with new numbers: redrawn in place
    drawn.data = config.data;
    drawn.options = config.options;
    drawn.update("none");
    return;
  }
  if (drawn) drawn.destroy();
  state.charts[id] = new Chart(document.getElementById(id), config);
}

// "Data (CSV)" and "Image (PNG)" for a chart: its labels and each dataset's values as drawn.
function exportsFor(id, config) {
  const holder = document.querySelector(`.exports[data-chart="${id}"]`);
  if (!holder) return;
  const csvButton = document.createElement("button");
  csvButton.type = "button";
  csvButton.textContent = _("Data (CSV)");
  csvButton.addEventListener("click", () => {
    const sets = config.data.datasets;
    const points = sets[0] && sets[0].data.length && typeof sets[0].data[0] === "object";
    const labels = points ? [...new Set(sets.flatMap((s) => s.data.map((p) => p.x)))] : config.data.labels || [];
    const lines = [["", ...sets.map((s) => s.label)]];
    labels.forEach((label, n) => {
      lines.push([label, ...sets.map((s) => {
        const v = points ? (s.data.find((p) => p.x === label) || {}).y : s.data[n];
        return v === null || v === undefined ? "" : v;
      })]);
    });
    const text = lines.map((row) => row.map((v) => `"${(typeof v === "number" ? String(v) : spreadsheetSafe(String(v))).replaceAll('"', '""')}"`).join(",")).join("\r\n");
    save(new Blob([`${text}\r\n`], { type: "text/csv" }), `${id}.csv`);
  });
  const pngButton = document.createElement("button");
  pngButton.type = "button";
  pngButton.textContent = _("Image (PNG)");
  pngButton.disabled = typeof Chart === "undefined";
  pngButton.addEventListener("click", () => document.getElementById(id).toBlob((blob) => save(blob, `${id}.png`)));
  holder.replaceChildren(csvButton, pngButton);
}

// A cell a spreadsheet would run as a formula starts with a quote instead, as the API's CSV exports do.
function spreadsheetSafe(text) { return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text; }

function save(blob, filename) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

// A time axis whose months and tooltips are in the reader's language.
function timeOptions(label, { stacked = false } = {}) {
  return {
    scales: {
      x: { type: "time", time: { unit: "month" }, stacked, ticks: { callback: (value) => formats.month.format(new Date(value)) } },
      y: stacked ? { stacked, beginAtZero: true, ticks: { precision: 0 } } : { min: 0, max: 100, title: { display: true, text: label } },
    },
    plugins: { tooltip: { callbacks: { title: (items) => (items.length ? formats.day.format(new Date(items[0].parsed.x)) : "") } } },
  };
}

// ---- portfolio ---------------------------------------------------------------------------

// The funnel series for the view's filters: the slider's positions (each month's start, then "now").
async function loadSeries(view, mine) {
  const filters = filterParams(view);
  const key = JSON.stringify(filters);
  if (state.seriesKey === key && state.series) return state.series;
  const series = await fresh(mine, api(`/api/v1/analytics/funnel-series${query(filters)}`));
  state.series = series;
  state.seriesKey = key;
  chart("series-chart", {
    type: "line",
    data: {
      datasets: STAGES.map((s, n) => ({
        label: named("stages", s),
        data: series.points.map((p) => ({ x: p.at, y: p.stages[s] })),
        borderColor: STAGE_COLOURS[n], backgroundColor: `${STAGE_COLOURS[n]}55`, fill: n === 0 ? "origin" : "-1", pointRadius: 0,
      })),
    },
    options: timeOptions("", { stacked: true }),
  });
  return series;
}

// The score groups over time for the view's grouping, over the funnel series' months: the slider draws each month's
// largest groups from it. Read again when the grouping changes or the funnel series has gained a month.
async function loadScoreSeries(view, mine) {
  const groupBy = view.get("group");
  const points = sliderPoints();
  const key = `${groupBy} ${points.length ? points[points.length - 1].at : ""}`;
  if (state.scoreSeriesKey === key && state.scoreSeries) return state.scoreSeries;
  const found = await fresh(mine, api(`/api/v1/analytics/score-series${query({ group_by: groupBy, top: TOP_GROUPS })}`));
  state.scoreSeries = { ...found, groupBy };
  state.scoreSeriesKey = key;
  return state.scoreSeries;
}

function scorePointAt(at) {
  return state.scoreSeries ? state.scoreSeries.points.find((p) => p.at === at) : undefined;
}

// A month's largest groups from the score series, at once; every group with its median is to follow.
function showSeriesGroups(point) {
  cancelMedians();
  state.mediansFor = "";
  delete $("#groups-table").dataset.asOf;
  $("#groups-table").setAttribute("aria-busy", "true");
  $("#groups-pending").textContent = _("Counting every group and its median as of this date…");
  const then = scorePointAt(point.at);
  if (then) drawGroups(state.scoreSeries.groupBy, then.groups, then.groups.map((g) => g.key), then.others);
}

// Abandon a read of every group's median (the slider has moved on, or the view is back to now).
function cancelMedians() {
  if (state.medians) state.medians.abort();
  state.medians = null;
  $("#groups-table").removeAttribute("aria-busy");
  $("#groups-pending").textContent = "";
}

function sliderPoints() { return state.series ? state.series.points : []; }

// The view's date (a month's start) as the slider's position; the last position is "now".
function placeSlider(view) {
  const points = sliderPoints();
  const slider = $("#asof-slider");
  slider.max = String(points.length);
  const at = view.get("at");
  const found = at ? points.findIndex((p) => p.at.slice(0, 10) === at) : -1;
  slider.value = String(found >= 0 ? found : points.length);
  return found >= 0 ? points[found] : null;
}

function showFunnel(counts) {
  const funnelBody = document.querySelector("#funnel-table tbody");
  funnelBody.replaceChildren(...STAGES.map((s) => {
    const tr = document.createElement("tr");
    tr.dataset.stage = s;
    cell(tr, named("stages", s)); cell(tr, count(counts.stages[s]), "number");
    return tr;
  }));
  const statusBody = document.querySelector("#status-table tbody");
  statusBody.replaceChildren(...STATUSES.map((s) => {
    const tr = document.createElement("tr");
    tr.dataset.status = s;
    cell(tr, named("statuses", s)); cell(tr, count(counts.statuses[s]), "number");
    return tr;
  }));
  chart("funnel-chart", {
    type: "bar",
    data: { labels: STAGES.map((s) => named("stages", s)), datasets: [{ label: _("Innovations"), data: STAGES.map((s) => counts.stages[s]), backgroundColor: "#0b57a4" }] },
    options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
}

function showAsOf(point) {
  const when = point ? formats.longDay.format(new Date(point.at)) : _("now");
  const label = $("#asof-label");
  label.textContent = when;
  label.dataset.asOf = point ? point.at : "";
  $("#asof-slider").setAttribute("aria-valuetext", when);
  return when;
}

// The filters' choices, with counts, from the API's facets (as of the view's date).
async function showFacets(view, asOf, mine) {
  const filters = filterParams(view);
  const found = await fresh(mine, api(`/api/v1/analytics/facets${query({ ...filters, as_of: asOf, limit: 200 })}`));
  const facets = found.facets;
  fillSelect("#f-country", facets.country.items, view.get("country"), _("All countries"));
  fillSelect("#f-theme", facets.theme.items, view.get("theme"), _("All themes"));
  fillChoices("ecosystem", facets.ecosystem.items);
  fillChoices("organisation", facets.organisation.items);
  return facets;
}

function choiceText(item) { return _("%(name)s (%(innovations)s)", { name: item.label, innovations: count(item.innovations) }); }

function fillSelect(selector, items, chosen, everything) {
  const select = $(selector);
  const options = [new Option(everything, "")];
  for (const item of items) options.push(new Option(choiceText(item), item.key));
  if (chosen && !items.some((i) => i.key === chosen)) options.push(new Option(chosen, chosen));
  select.replaceChildren(...options);
  select.value = chosen || "";
}

// A type-ahead's suggestions: the datalist shows "NAME (n)"; picking one keeps its id.
function fillChoices(facet, items) {
  state.picked[facet] = state.picked[facet] || {};
  for (const item of items) state.picked[facet][choiceText(item)] = item;
  document.getElementById(`${facet}-choices`).replaceChildren(...items.map((item) => new Option(choiceText(item))));
}

async function typeAhead(facet, input) {
  const text = input.value.trim();
  const chosen = (state.picked[facet] || {})[input.value];
  if (chosen) {
    state.names[chosen.key] = chosen.label;
    input.value = chosen.label;
    setView({ [facet === "ecosystem" ? "eco" : "org"]: chosen.key, page: "1" });
    return;
  }
  if (text.length < 1) return;
  const view = readView();
  const filters = filterParams(view);
  const found = await api(`/api/v1/analytics/facets${query({ ...filters, facet, q: text, limit: 20 })}`);
  fillChoices(facet, found.facets[facet].items);
  status(_("%(count)s suggestions for “%(text)s”.", { count: count(found.facets[facet].total), text }));
}

// The chosen ecosystem and organisation by name: from the suggestions, else read once by id (a shared address may
// name one that no list on the page shows).
async function showPicked(view, mine) {
  for (const [facet, param, path] of [["ecosystem", "eco", "ecosystems"], ["organisation", "org", "organisations"]]) {
    const input = document.getElementById(`f-${facet}`);
    const id = view.get(param);
    if (!id) { if (document.activeElement !== input) input.value = ""; continue; }
    const known = Object.values(state.picked[facet] || {}).find((item) => item.key === id);
    if (known) state.names[id] = known.label;
    if (!state.names[id] && mine !== undefined) {
      const found = await fresh(mine, api(`/api/v1/${path}/${id}`).catch(() => null));
      if (found) state.names[id] = found.acronym || found.name;
    }
    if (document.activeElement !== input) input.value = state.names[id] || id;
  }
}

// Stage durations are over every completed stay, not as of a date: moving the slider leaves them as they are.
async function showDurations(view, mine) {
  const key = JSON.stringify(filterParams(view));
  if (state.durationsKey === key) return;
  const found = await fresh(mine, api(`/api/v1/analytics/stage-durations${query(filterParams(view))}`));
  state.durationsKey = key;
  const stages = STAGES.filter((s) => found.stages[s]);
  document.querySelector("#durations-table tbody").replaceChildren(...stages.map((s) => {
    const d = found.stages[s];
    const tr = document.createElement("tr");
    cell(tr, named("stages", s)); cell(tr, count(d.count), "number"); cell(tr, score(d.median_days), "number"); cell(tr, score(d.p90_days), "number");
    return tr;
  }));
  chart("durations-chart", {
    type: "bar",
    data: {
      labels: stages.map((s) => named("stages", s)),
      datasets: [
        { label: _("Median days"), data: stages.map((s) => found.stages[s].median_days), backgroundColor: "#0b57a4" },
        { label: _("90th percentile"), data: stages.map((s) => found.stages[s].p90_days), backgroundColor: "#b45309" },
      ],
    },
    options: { scales: { y: { beginAtZero: true } } },
  });
}

// Mean MPI per group: now, every group with its median; as of a month, its largest groups from the score series at
// once, then every group with its median when the API has counted them from the score history.
async function showGroups(view, point, scoreSeries, mine) {
  const groupBy = view.get("group");
  $("#group-by").value = groupBy;
  if (point) {
    await fresh(mine, scoreSeries);
    // Another page of the list, say: the table already holds every group with its median as of this date.
    if (state.mediansFor === `${groupBy} ${point.at}`) return;
    showSeriesGroups(point);  // the medians are read once the rest of the view is drawn (showPortfolio)
    return;
  }
  cancelMedians();
  state.mediansFor = "";
  const found = await fresh(mine, api(`/api/v1/analytics/scores${query({ group_by: groupBy, top: TOP_GROUPS })}`));
  drawGroups(groupBy, found.items, found.largest, found.others);
  $("#groups-table").dataset.asOf = "";
}

// Every group as of `at`, with the medians (not part of the series), drawn when they come unless overtaken.
function fillMedians(groupBy, at, mine) {
  const table = $("#groups-table");
  const note = $("#groups-pending");
  const reading = new AbortController();
  state.medians = reading;
  api(`/api/v1/analytics/scores${query({ group_by: groupBy, as_of: at, top: TOP_GROUPS })}`, { signal: reading.signal })
    .then((found) => {
      if (mine !== generation) return;
      drawGroups(groupBy, found.items, found.largest, found.others);
      table.dataset.asOf = at;
      state.mediansFor = `${groupBy} ${at}`;
      note.textContent = _("Every group and its median as of this date.");
      performance.mark("dashboard:medians");
    })
    .catch((error) => { if (mine === generation && error.name !== "AbortError") status(error.message, true); })
    .finally(() => {
      if (state.medians !== reading) return;
      state.medians = null;
      table.removeAttribute("aria-busy");
    });
}

// The groups' table (a median not yet counted shows as "…") and chart: the largest groups by name, the rest as
// "others" (their mean, as the API counts it).
function drawGroups(groupBy, groups, largest, others) {
  const items = groups.map((g) => ({ ...g, label: groupBy === "theme" || groupBy === "country" ? g.key : g.label || g.key }));
  sortableTable("groups-table", items, (g) => {
    const tr = document.createElement("tr");
    cell(tr, g.label); cell(tr, count(g.innovations), "number"); cell(tr, score(g.mean_mpi), "number");
    cell(tr, g.median_mpi === undefined ? "…" : score(g.median_mpi), "number");
    return tr;
  });
  const byKey = new Map(items.map((g) => [g.key, g]));
  const bars = largest.map((key) => ({ label: byKey.get(key).label, value: byKey.get(key).mean_mpi }));
  if (others) {
    bars.push({ label: _("others (%(groups)s groups)", { groups: count(others.groups) }), value: others.mean_mpi });
  }
  // Each bar gets the height its label needs, so every label is drawn.
  document.querySelector("#groups-chart").parentElement.style.height = `${Math.max(12, bars.length * 1.9 + 3)}rem`;
  chart("groups-chart", {
    type: "bar",
    data: { labels: bars.map((b) => b.label), datasets: [{ label: _("Mean MPI"), data: bars.map((b) => b.value), backgroundColor: "#2f7d4f" }] },
    options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { min: 0, max: 100 }, y: { ticks: { autoSkip: false } } } },
  });
}

async function showDistribution(view, asOf, mine) {
  const found = await fresh(mine, api(`/api/v1/analytics/mpi-distribution${query({ ...filterParams(view), as_of: asOf })}`));
  chart("distribution-chart", {
    type: "bar",
    data: {
      labels: found.bands.map((b) => `${b.from}–${b.to}`),
      datasets: [{ label: _("Innovations"), data: found.bands.map((b) => b.innovations), backgroundColor: "#7a4cc2" }],
    },
    options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
}

async function showList(view, asOf, mine) {
  const page = Math.max(1, Number(view.get("page")) || 1);
  const size = Number(view.get("size")) || 50;
  const sort = view.get("sort");
  $("#page-size").value = String(size);
  const search = view.get("q");
  if (document.activeElement !== $("#list-filter")) $("#list-filter").value = search;
  const list = await fresh(mine, api(`/api/v1/innovations${query({ ...filterParams(view), q: search, as_of: asOf, sort, page, page_size: size })}`));
  const last = Math.max(1, Math.ceil(list.total / size));
  if (page > last) {  // an address past the end (a stale link, a shorter list now): its last page instead
    setView({ page: String(last) }, { push: false });
    throw new Overtaken();
  }
  state.innovations = list.items;
  state.total = list.total;
  showServerSort("innovations-table", sort);
  document.querySelector("#innovations-table tbody").replaceChildren(...list.items.map((i) => {
    const tr = document.createElement("tr");
    const pick = document.createElement("td");
    const box = document.createElement("input");
    box.type = "checkbox"; box.value = i.id; box.setAttribute("aria-label", _("Select %(title)s", { title: i.title }));
    pick.appendChild(box); tr.appendChild(pick);
    const titleCell = document.createElement("td");
    const link = document.createElement("a");
    link.href = `#/innovations/${i.id}`; link.textContent = i.title;
    titleCell.appendChild(link); tr.appendChild(titleCell);
    cell(tr, named("stages", i.stage)); cell(tr, named("statuses", i.status)); cell(tr, i.mpi ? score(i.mpi.value) : null, "number");
    cell(tr, i.country); cell(tr, i.ecosystem_acronym); cell(tr, day(i.submitted_at));
    return tr;
  }));
  pager("page", page, size, list.total, "page");
  return list;
}

async function showPortfolio(view, mine) {
  await loadSeries(view, mine);
  // Needed for a month's groups only: the view now does not wait for it, and draws without it should it fail.
  const scoreSeries = loadScoreSeries(view, mine).catch(() => null);
  const point = placeSlider(view);
  const asOf = point ? point.at : null;
  const when = showAsOf(point);
  showPicked(view);
  const [funnel, , list] = await Promise.all([
    point ? Promise.resolve(point) : fresh(mine, api(`/api/v1/analytics/funnel${query(filterParams(view))}`)),
    showFacets(view, asOf, mine),
    showList(view, asOf, mine),
    showDurations(view, mine),
    showGroups(view, point, scoreSeries, mine),
    showDistribution(view, asOf, mine),
  ]);
  showFunnel(funnel);
  await showPicked(view, mine);
  // Last, so that counting them from the score history does not hold up the reads the view waits for.
  if (point && state.mediansFor !== `${view.get("group")} ${point.at}`) fillMedians(view.get("group"), point.at, mine);
  const summary = point
    ? _("The portfolio as of %(date)s: %(total)s innovations.", { date: when, total: count(list.total) })
    : _("The portfolio now: %(total)s innovations.", { total: count(list.total) });
  status(`${summary} ${$("#page-range").textContent}.`);
}

// Moving the slider replays the funnel and the largest score groups from the series at once; the rest follows when
// it stops.
function slid() {
  performance.mark("dashboard:slid");  // User Timing marks: how long a step takes to draw, in the page's own clock
  generation += 1;  // what was being drawn for the old position is overtaken
  const points = sliderPoints();
  const n = Number($("#asof-slider").value);
  const point = n < points.length ? points[n] : null;
  showAsOf(point);
  if (point) {
    showFunnel(point);
    showSeriesGroups(point);
  } else {
    cancelMedians();
  }
  settle(point ? point.at.slice(0, 10) : "");
}

const settle = debounce((at) => setView({ at, page: "1" }, { push: false }), 150);

async function showTrends() {
  const ids = [...document.querySelectorAll("#innovations-table tbody input:checked")].map((b) => b.value);
  if (!ids.length) { status(_("Select one or more innovations first.")); return; }
  const series = await Promise.all(ids.map((id) => api(`/api/v1/innovations/${id}/scores`)));
  const palette = ["#0b57a4", "#b42318", "#2f7d4f", "#7a4cc2", "#b45309", "#0e7490"];
  $("#trend-figure").hidden = false;
  chart("trend-chart", {
    type: "line",
    data: {
      datasets: series.map((points, n) => ({
        label: state.innovations.find((i) => i.id === ids[n])?.title || ids[n],
        data: points.map((p) => ({ x: p.at, y: p.value })),
        borderColor: palette[n % palette.length], stepped: true,
      })),
    },
    options: timeOptions(_("Consolidated MPI")),
  });
}

async function download(path, filename) {
  save(await api(path, { accept: "text/csv" }), filename);
}

// ---- one innovation ----------------------------------------------------------------------

// One event of the history as a sentence in the reader's language.
function describe(e) {
  const d = e.data;
  const because = { rationale: d.rationale || "" };
  switch (e.type) {
    case "Submitted":
      return _("Submitted “%(title)s” (themes: %(themes)s)", { title: d.title, themes: (d.themes || []).join(", ") });
    case "DetailsRevised":
      return _("Revised: %(fields)s", { fields: Object.keys(d.changes || {}).map((k) => named("details", k)).join(", ") });
    case "PilotStarted":
      return d.planned_participants
        ? _("Started a pilot on %(date)s for %(participants)s participants", { date: day(d.started_on), participants: count(d.planned_participants) })
        : _("Started a pilot on %(date)s", { date: day(d.started_on) });
    case "PilotOutcomeRecorded":
      return _("Recorded a pilot outcome: %(participants)s participants, %(rate)s completed", {
        participants: count(d.participants), rate: formats.percent.format(d.completion_rate),
      });
    case "EvidenceAdded":
      return _("Added evidence (%(kind)s): %(title)s", { kind: named("evidence", d.kind), title: d.title });
    case "AssessmentRecorded":
      return _("Recorded an assessment (rubric %(version)s): %(rationale)s", { version: d.rubric_version, ...because });
    case "Advanced":
      return _("Advanced from %(from_stage)s to %(to_stage)s: %(rationale)s", { from_stage: named("stages", d.from_stage), to_stage: named("stages", d.to_stage), ...because });
    case "Recycled":
      return _("Sent back from %(from_stage)s to %(to_stage)s: %(rationale)s", { from_stage: named("stages", d.from_stage), to_stage: named("stages", d.to_stage), ...because });
    case "PutOnHold": return _("Put on hold: %(rationale)s", because);
    case "Resumed": return _("Resumed: %(rationale)s", because);
    case "Discontinued": return _("Discontinued: %(rationale)s", because);
    case "AdoptionRecorded":
      return d.notes
        ? _("Adoption recorded on %(date)s: %(notes)s", { date: day(d.adopted_on), notes: d.notes })
        : _("Adoption recorded on %(date)s", { date: day(d.adopted_on) });
    default: return named("events", e.type);
  }
}

function listItems(id, items, text) {
  const ul = document.getElementById(id);
  ul.replaceChildren(...(items.length ? items : [null]).map((item) => {
    const li = document.createElement("li");
    li.textContent = item ? text(item) : _("None yet.");
    return li;
  }));
}

function pilotText(p) {
  if (!p.outcome) return _("From %(start)s, running", { start: day(p.started_on) });
  return _("From %(start)s to %(end)s: %(participants)s participants, %(rate)s completed", {
    start: day(p.started_on), end: day(p.outcome.ended_on),
    participants: count(p.outcome.participants), rate: formats.percent.format(p.outcome.completion_rate),
  });
}

async function showInnovation(id, mine) {
  const [detail, stages, scores, history] = await fresh(mine, Promise.all([
    api(`/api/v1/innovations/${id}`),
    api(`/api/v1/innovations/${id}/stages`),
    api(`/api/v1/innovations/${id}/scores`),
    api(`/api/v1/innovations/${id}/history`),
  ]));
  $("#innovation-title").textContent = detail.title;
  const mpi = detail.mpi
    ? _("MPI %(mpi)s from %(evaluators)s evaluators, spread %(spread)s", { mpi: score(detail.mpi.value), evaluators: count(detail.mpi.evaluators), spread: score(detail.mpi.spread) })
    : _("not yet assessed");
  $("#innovation-meta").textContent = [
    named("stages", detail.stage), named("statuses", detail.status), mpi, _("themes: %(themes)s", { themes: detail.themes.join(", ") }),
  ].join(" · ");
  document.querySelector("#timeline-table tbody").replaceChildren(...stages.map((s) => {
    const tr = document.createElement("tr");
    const end = s.exited_at ? new Date(s.exited_at) : new Date();
    cell(tr, named("stages", s.stage)); cell(tr, day(s.entered_at)); cell(tr, s.exited_at ? day(s.exited_at) : _("current"));
    cell(tr, count(Math.round((end - new Date(s.entered_at)) / 86400000)), "number");
    return tr;
  }));
  document.querySelector("#score-table tbody").replaceChildren(...scores.map((p) => {
    const tr = document.createElement("tr");
    cell(tr, day(p.at)); cell(tr, score(p.value), "number"); cell(tr, count(p.evaluators), "number"); cell(tr, score(p.spread), "number");
    return tr;
  }));
  chart("score-chart", {
    type: "line",
    data: { datasets: [{ label: _("Consolidated MPI"), data: scores.map((p) => ({ x: p.at, y: p.value })), borderColor: "#0b57a4", stepped: true }] },
    options: timeOptions(_("Consolidated MPI")),
  });
  listItems("pilots-list", detail.pilots, pilotText);
  listItems("evidence-list", detail.evidence, (e) => `${named("evidence", e.kind)}: ${e.title}`);
  listItems("adoptions-list", detail.adoptions, (a) => (a.notes
    ? _("Adopted on %(date)s (%(notes)s)", { date: day(a.adopted_on), notes: a.notes })
    : _("Adopted on %(date)s", { date: day(a.adopted_on) })));
  document.querySelector("#history-table tbody").replaceChildren(...history.map((e) => {
    const tr = document.createElement("tr");
    cell(tr, e.version); cell(tr, formats.moment.format(new Date(e.at)));
    cell(tr, `${e.actor.id} (${named("roles", e.actor.role)})`); cell(tr, describe(e));
    return tr;
  }));
  status(_("Innovation “%(title)s”: %(events)s events in its history.", { title: detail.title, events: count(history.length) }));
}

// ---- ecosystems --------------------------------------------------------------------------

async function showEcosystems(view, id, mine) {
  const page = Math.max(1, Number(view.get("epage")) || 1);
  const size = Number(view.get("esize")) || 50;
  const sort = view.get("esort");
  const search = view.get("eq");
  $("#eco-page-size").value = String(size);
  if (document.activeElement !== $("#eco-filter")) $("#eco-filter").value = search;
  const found = await fresh(mine, api(`/api/v1/ecosystems${query({ q: search, sort, page, page_size: size })}`));
  const last = Math.max(1, Math.ceil(found.total / size));
  if (page > last) {
    setView({ epage: String(last) }, { push: false });
    throw new Overtaken();
  }
  state.ecoTotal = found.total;
  showServerSort("ecosystems-table", sort);
  document.querySelector("#ecosystems-table tbody").replaceChildren(...found.items.map((e) => {
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    const a = document.createElement("a");
    a.href = `#/ecosystems/${e.id}${location.hash.includes("?") ? `?${location.hash.split("?")[1]}` : ""}`;
    a.textContent = e.acronym;
    td.appendChild(a); tr.appendChild(td);
    cell(tr, e.title); cell(tr, e.call_year, "number"); cell(tr, count(e.member_count), "number");
    cell(tr, e.eu_grant_eur === null || e.eu_grant_eur === undefined ? null : count(e.eu_grant_eur), "number");
    return tr;
  }));
  pager("eco", page, size, found.total, "epage");
  $("#ecosystem-detail").hidden = !id;
  if (!id) {
    status([_("Ecosystems: %(total)s.", { total: count(found.total) }), `${$("#eco-range").textContent}.`].join(" "));
    return;
  }
  const eco = await fresh(mine, api(`/api/v1/ecosystems/${id}`));
  $("#ecosystem-name").textContent = `${eco.acronym}: ${eco.title}`;
  const roles = {}, countries = {};
  for (const m of eco.members) { roles[m.role] = (roles[m.role] || 0) + 1; countries[m.country] = (countries[m.country] || 0) + 1; }
  document.querySelector("#roles-table tbody").replaceChildren(...Object.entries(roles).map(([role, n]) => {
    const tr = document.createElement("tr"); cell(tr, named("member_roles", role)); cell(tr, count(n), "number"); return tr;
  }));
  sortableTable("countries-table", Object.entries(countries).map(([country, members]) => ({ country, members })), (r) => {
    const tr = document.createElement("tr"); cell(tr, r.country); cell(tr, count(r.members), "number"); return tr;
  });
  sortableTable("members-table", eco.members, (m) => {
    const tr = document.createElement("tr"); cell(tr, m.name); cell(tr, m.country); cell(tr, named("member_roles", m.role)); return tr;
  });
  status(_("%(acronym)s: members %(members)s, countries %(countries)s.", {
    acronym: eco.acronym, members: count(eco.members.length), countries: count(Object.keys(countries).length),
  }));
}

// ---- routing and wiring ------------------------------------------------------------------

async function route() {
  const mine = ++generation;
  const view = readView();
  const [, section, id] = view.path.split("/");
  const portfolio = !section;
  $("#portfolio-view").hidden = !portfolio;
  $("#innovation-view").hidden = section !== "innovations";
  $("#ecosystems-view").hidden = section !== "ecosystems";
  const onPortfolio = section !== "ecosystems";
  for (const [tab, on] of [["#tab-portfolio", onPortfolio], ["#tab-ecosystems", !onPortfolio]]) {
    if (on) $(tab).setAttribute("aria-current", "page"); else $(tab).removeAttribute("aria-current");
  }
  $("#tab-portfolio").href = `#/${location.hash.includes("?") && onPortfolio ? `?${location.hash.split("?")[1]}` : ""}`;
  try {
    if (section === "innovations" && id) await showInnovation(id, mine);
    else if (section === "ecosystems") await showEcosystems(view, id, mine);
    else await showPortfolio(view, mine);
    if (mine === generation) {
      document.body.dataset.rendered = location.hash;
      performance.mark("dashboard:drawn");
    }
  } catch (error) {
    if (!(error instanceof Overtaken)) status(error.message, true);
  }
}

function debounce(fn, ms) {
  let timer;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

document.addEventListener("DOMContentLoaded", () => {
  wireServerSort("innovations-table", "sort", "page");
  wireServerSort("ecosystems-table", "esort", "epage");
  $("#asof-slider").addEventListener("input", slid);
  $("#group-by").addEventListener("change", () => setView({ group: $("#group-by").value }));
  $("#f-country").addEventListener("change", () => setView({ country: $("#f-country").value, page: "1" }));
  $("#f-theme").addEventListener("change", () => setView({ theme: $("#f-theme").value, page: "1" }));
  for (const [facet, param] of [["ecosystem", "eco"], ["organisation", "org"]]) {
    const input = document.getElementById(`f-${facet}`);
    const suggest = debounce(() => typeAhead(facet, input).catch((e) => status(e.message, true)), 200);
    input.addEventListener("input", () => {
      const chosen = (state.picked[facet] || {})[input.value];
      if (chosen) {  // a suggestion was picked: its name stays in the field
        state.names[chosen.key] = chosen.label;
        input.value = chosen.label;
        setView({ [param]: chosen.key, page: "1" });
      }
      else if (input.value === "" && readView().get(param)) setView({ [param]: "", page: "1" });
      else suggest();
    });
    input.addEventListener("change", () => typeAhead(facet, input).catch((e) => status(e.message, true)));
  }
  $("#clear-filters").addEventListener("click", () => setView({ eco: "", org: "", country: "", theme: "", q: "", page: "1" }));
  $("#filters").addEventListener("submit", (ev) => ev.preventDefault());
  $("#list-filter").addEventListener("input", debounce(() => setView({ q: $("#list-filter").value.trim(), page: "1" }, { push: false }), 300));
  $("#page-size").addEventListener("change", () => setView({ size: $("#page-size").value, page: "1" }));
  $("#eco-filter").addEventListener("input", debounce(() => setView({ eq: $("#eco-filter").value.trim(), epage: "1" }, { push: false }), 300));
  $("#eco-page-size").addEventListener("change", () => setView({ esize: $("#eco-page-size").value, epage: "1" }));
  $("#trend-button").addEventListener("click", () => showTrends().catch((e) => status(e.message, true)));
  $("#csv-download").addEventListener("click", () => {
    const view = readView();
    const point = placeSlider(view);
    download(`/api/v1/innovations${query({ ...filterParams(view), q: view.get("q"), as_of: point ? point.at : null, sort: view.get("sort") })}`, "innovations.csv")
      .catch((e) => status(e.message, true));
  });
  $("#eco-csv").addEventListener("click", () => {
    const view = readView();
    download(`/api/v1/ecosystems${query({ q: view.get("eq"), sort: view.get("esort") })}`, "ecosystems.csv").catch((e) => status(e.message, true));
  });
  // The language switcher brings the reader back to this view, which lives after the address's #: a form does not
  // send that part, so it is added to where the switcher returns.
  const back = document.querySelector("form.language input[name=next]");
  if (back) back.form.addEventListener("submit", () => { back.value = back.value.split("#")[0] + window.location.hash; });
  window.addEventListener("hashchange", route);
  route();
});
