// The analysts' dashboard. Every number comes from the public JSON API, read with the session of the tracker's
// pages. Every text it writes is in the reader's language: its messages pass through `_` (extracted by
// `make messages`, translated by the server into the page's #dashboard-words), and the domain's names come from the
// same vocabulary as the other pages. Dates and numbers are formatted for the page's language.
"use strict";

const WORDS = JSON.parse(document.getElementById("dashboard-words").textContent);
const LOCALE = document.documentElement.lang || "en";
const STAGES = WORDS.stage_order;
const STATUSES = WORDS.status_order;
const state = { months: [], charts: {}, tables: {}, innovations: [], ecosystems: [] };

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

async function api(path, { accept = "application/json" } = {}) {
  const response = await fetch(path, { headers: { Accept: accept }, credentials: "same-origin" });
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

// ---- sortable, filterable tables --------------------------------------------------------

function sortableTable(id, rows, render, filterInput) {
  const table = document.getElementById(id);
  const entry = state.tables[id] || { key: null, dir: 1 };
  entry.rows = rows;
  entry.render = render;
  entry.filter = filterInput || null;
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
    if (filterInput) filterInput.addEventListener("input", () => drawTable(id));
  }
  drawTable(id);
}

function sortValue(row, key) {
  const v = key === "mpi" ? (row.mpi ? row.mpi.value : null) : row[key];
  return v === null || v === undefined ? "" : v;
}

function drawTable(id) {
  const e = state.tables[id];
  const body = document.querySelector(`#${id} tbody`);
  let rows = e.rows.slice();
  const needle = e.filter ? e.filter.value.trim().toLocaleLowerCase(LOCALE) : "";
  // A row matches what the reader sees in it (translated names included) or its raw values.
  if (needle) {
    const rendered = new Map(rows.map((r) => [r, e.render(r)]));
    rows = rows.filter((r) => rendered.get(r).textContent.toLocaleLowerCase(LOCALE).includes(needle)
      || JSON.stringify(r).toLocaleLowerCase(LOCALE).includes(needle));
  }
  if (e.key) {
    rows.sort((a, b) => {
      const x = sortValue(a, e.key), y = sortValue(b, e.key);
      if (e.numeric) return ((x === "" ? -Infinity : Number(x)) - (y === "" ? -Infinity : Number(y))) * e.dir;
      return collator.compare(String(x), String(y)) * e.dir;
    });
  }
  body.replaceChildren(...rows.map((r) => e.render(r)));
}

// ---- charts -----------------------------------------------------------------------------

function chart(id, config) {
  if (state.charts[id]) state.charts[id].destroy();
  if (typeof Chart === "undefined") return;  // tables still carry every number
  config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false, locale: LOCALE }, config.options || {});
  state.charts[id] = new Chart(document.getElementById(id), config);
}

// A time axis whose months and tooltips are in the reader's language.
function timeOptions(label) {
  return {
    scales: {
      x: { type: "time", time: { unit: "month" }, ticks: { callback: (value) => formats.month.format(new Date(value)) } },
      y: { min: 0, max: 100, title: { display: true, text: label } },
    },
    plugins: { tooltip: { callbacks: { title: (items) => (items.length ? formats.day.format(new Date(items[0].parsed.x)) : "") } } },
  };
}

// ---- portfolio ---------------------------------------------------------------------------

function filters() {
  return { ecosystem_id: $("#f-ecosystem").value, country: $("#f-country").value, theme: $("#f-theme").value.trim().toLowerCase() };
}

function asOf() {
  const slider = $("#asof-slider");
  const i = Number(slider.value);
  return i >= state.months.length - 1 ? null : state.months[i];
}

async function setUpPortfolio() {
  const [ecosystems, first] = await Promise.all([
    api("/api/v1/ecosystems?page_size=200"),
    api("/api/v1/innovations?sort=submitted_at&page_size=1"),
  ]);
  const select = $("#f-ecosystem");
  select.replaceChildren(select.options[0], ...ecosystems.items.map((e) => new Option(e.acronym, e.id)));
  const start = first.items.length ? new Date(first.items[0].submitted_at) : new Date();
  const months = [];
  // Month starts after the first submission, so the earliest position already shows something.
  const cursor = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
  const now = new Date();
  while (cursor <= now) {
    months.push(cursor.toISOString().replace(".000Z", "Z"));
    cursor.setUTCMonth(cursor.getUTCMonth() + 1);
  }
  months.push(null);  // the last position means "now"
  state.months = months;
  const slider = $("#asof-slider");
  slider.max = String(months.length - 1);
  slider.value = slider.max;
  slider.setAttribute("aria-valuetext", _("now"));
}

async function refreshPortfolio() {
  const at = asOf();
  const when = at ? formats.longDay.format(new Date(at)) : _("now");
  const label = $("#asof-label");
  label.textContent = when;
  label.dataset.asOf = at || "";
  $("#asof-slider").setAttribute("aria-valuetext", when);
  const f = filters();
  const [funnel, groups, list] = await Promise.all([
    api(`/api/v1/analytics/funnel${query({ ...f, as_of: at })}`),
    api(`/api/v1/analytics/scores${query({ group_by: $("#group-by").value, as_of: at })}`),
    api(`/api/v1/innovations${query({ ...f, as_of: at, sort: "-mpi", page_size: 200 })}`),
  ]);
  const funnelBody = document.querySelector("#funnel-table tbody");
  funnelBody.replaceChildren(...STAGES.map((s) => {
    const tr = document.createElement("tr");
    tr.dataset.stage = s;
    cell(tr, named("stages", s)); cell(tr, count(funnel.stages[s]), "number");
    return tr;
  }));
  const statusBody = document.querySelector("#status-table tbody");
  statusBody.replaceChildren(...STATUSES.map((s) => {
    const tr = document.createElement("tr");
    tr.dataset.status = s;
    cell(tr, named("statuses", s)); cell(tr, count(funnel.statuses[s]), "number");
    return tr;
  }));
  chart("funnel-chart", {
    type: "bar",
    data: { labels: STAGES.map((s) => named("stages", s)), datasets: [{ label: _("Innovations"), data: STAGES.map((s) => funnel.stages[s]), backgroundColor: "#0b57a4" }] },
    options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  sortableTable("groups-table", groups.items, (g) => {
    const tr = document.createElement("tr");
    cell(tr, g.label || g.key); cell(tr, count(g.innovations), "number"); cell(tr, score(g.mean_mpi), "number"); cell(tr, score(g.median_mpi), "number");
    return tr;
  });
  chart("groups-chart", {
    type: "bar",
    data: { labels: groups.items.map((g) => g.label || g.key), datasets: [{ label: _("Mean MPI"), data: groups.items.map((g) => g.mean_mpi), backgroundColor: "#2f7d4f" }] },
    options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { min: 0, max: 100 } } },
  });
  state.innovations = list.items;
  const countries = new Set(list.items.map((i) => i.country));
  const countrySelect = $("#f-country");
  if (countrySelect.options.length <= 1) {
    countrySelect.append(...[...countries].sort(collator.compare).map((c) => new Option(c, c)));
    $("#themes").replaceChildren(...[...new Set(list.items.flatMap((i) => i.themes))].sort(collator.compare).map((t) => new Option(t)));
  }
  sortableTable("innovations-table", list.items, (i) => {
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
  }, $("#list-filter"));
  status(at
    ? _("The portfolio as of %(date)s: %(total)s innovations.", { date: when, total: count(list.total) })
    : _("The portfolio now: %(total)s innovations.", { total: count(list.total) }));
}

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
  const blob = await api(path, { accept: "text/csv" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
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

async function showInnovation(id) {
  const [detail, stages, scores, history] = await Promise.all([
    api(`/api/v1/innovations/${id}`),
    api(`/api/v1/innovations/${id}/stages`),
    api(`/api/v1/innovations/${id}/scores`),
    api(`/api/v1/innovations/${id}/history`),
  ]);
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

async function showEcosystems(id) {
  const page = await api("/api/v1/ecosystems?page_size=200");
  state.ecosystems = page.items;
  sortableTable("ecosystems-table", page.items, (e) => {
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    const a = document.createElement("a");
    a.href = `#/ecosystems/${e.id}`; a.textContent = e.acronym;
    td.appendChild(a); tr.appendChild(td);
    cell(tr, e.title); cell(tr, e.call_year, "number"); cell(tr, count(e.member_count), "number");
    cell(tr, e.eu_grant_eur === null || e.eu_grant_eur === undefined ? null : count(e.eu_grant_eur), "number");
    return tr;
  }, $("#eco-filter"));
  $("#ecosystem-detail").hidden = !id;
  if (!id) { status(_("Ecosystems: %(total)s.", { total: count(page.total) })); return; }
  const eco = await api(`/api/v1/ecosystems/${id}`);
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
  const hash = location.hash || "#/";
  const [, section, id] = hash.split("/");
  const portfolio = section === "" || section === undefined;
  $("#portfolio-view").hidden = !portfolio;
  $("#innovation-view").hidden = section !== "innovations";
  $("#ecosystems-view").hidden = section !== "ecosystems";
  const onPortfolio = section !== "ecosystems";
  for (const [tab, on] of [["#tab-portfolio", onPortfolio], ["#tab-ecosystems", !onPortfolio]]) {
    if (on) $(tab).setAttribute("aria-current", "page"); else $(tab).removeAttribute("aria-current");
  }
  try {
    if (section === "innovations" && id) await showInnovation(id);
    else if (section === "ecosystems") await showEcosystems(id);
    else {
      if (!state.months.length) await setUpPortfolio();
      await refreshPortfolio();
    }
  } catch (error) {
    status(error.message, true);
  }
}

function debounce(fn, ms) {
  let timer;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

document.addEventListener("DOMContentLoaded", () => {
  const refresh = debounce(() => refreshPortfolio().catch((e) => status(e.message, true)), 150);
  $("#asof-slider").addEventListener("input", refresh);
  $("#group-by").addEventListener("change", refresh);
  $("#filters").addEventListener("input", refresh);
  $("#filters").addEventListener("submit", (ev) => ev.preventDefault());
  $("#trend-button").addEventListener("click", () => showTrends().catch((e) => status(e.message, true)));
  $("#csv-download").addEventListener("click", () => {
    download(`/api/v1/innovations${query({ ...filters(), as_of: asOf() })}`, "innovations.csv").catch((e) => status(e.message, true));
  });
  $("#eco-csv").addEventListener("click", () => download("/api/v1/ecosystems", "ecosystems.csv").catch((e) => status(e.message, true)));
  window.addEventListener("hashchange", route);
  route();
});
