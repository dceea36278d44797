// The analysts' dashboard. Every number comes from the public JSON API, read with the session of the tracker's pages
// or with a key kept in sessionStorage.
"use strict";

const STAGES = ["identification", "testing", "development", "assessment", "mainstreamed"];
const STATUSES = ["active", "on_hold", "mainstreamed", "discontinued"];
const KEY = "tracker.apiKey";
const state = { months: [], charts: {}, tables: {}, innovations: [], ecosystems: [] };

const $ = (selector) => document.querySelector(selector);

function status(message, isError = false) {
  const el = $("#status");
  el.textContent = message;
  el.classList.toggle("error", isError);
}

// With a key entered, it is sent; without one, the browser's session of the tracker's pages reads (same origin).
async function api(path, { accept = "application/json" } = {}) {
  const key = sessionStorage.getItem(KEY);
  const headers = key ? { Authorization: `Bearer ${key}`, Accept: accept } : { Accept: accept };
  const response = await fetch(path, { headers, credentials: "same-origin" });
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail || detail; } catch (_) { /* not JSON */ }
    if (response.status === 401) {
      throw new Error(key ? "That key was refused; check it and try again." : "Sign in, or enter an analyst API key, to see the data.");
    }
    throw new Error(`${response.status}: ${detail}`);
  }
  return accept === "application/json" ? response.json() : response.blob();
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

function cell(row, text) {
  const td = document.createElement("td");
  td.textContent = text === null || text === undefined ? "–" : String(text);
  row.appendChild(td);
  return td;
}

function day(iso) { return iso ? iso.slice(0, 10) : "–"; }
function fmt(n) { return n === null || n === undefined ? "–" : Number(n).toFixed(1); }
function label(s) { return s.replaceAll("_", " "); }

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
  const needle = e.filter ? e.filter.value.trim().toLowerCase() : "";
  if (needle) rows = rows.filter((r) => JSON.stringify(r).toLowerCase().includes(needle));
  if (e.key) {
    rows.sort((a, b) => {
      const x = sortValue(a, e.key), y = sortValue(b, e.key);
      if (e.numeric) return ((x === "" ? -Infinity : Number(x)) - (y === "" ? -Infinity : Number(y))) * e.dir;
      return String(x).localeCompare(String(y)) * e.dir;
    });
  }
  body.replaceChildren(...rows.map((r) => e.render(r)));
}

// ---- charts -----------------------------------------------------------------------------

function chart(id, config) {
  if (state.charts[id]) state.charts[id].destroy();
  if (typeof Chart === "undefined") return;  // tables still carry every number
  config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options || {});
  state.charts[id] = new Chart(document.getElementById(id), config);
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
  select.replaceChildren(new Option("All ecosystems", ""), ...ecosystems.items.map((e) => new Option(e.acronym, e.id)));
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
  slider.setAttribute("aria-valuetext", "now");
}

async function refreshPortfolio() {
  const at = asOf();
  $("#asof-label").textContent = at ? day(at) : "now";
  $("#asof-slider").setAttribute("aria-valuetext", at ? day(at) : "now");
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
    cell(tr, label(s)); cell(tr, funnel.stages[s]);
    return tr;
  }));
  const statusBody = document.querySelector("#status-table tbody");
  statusBody.replaceChildren(...STATUSES.map((s) => {
    const tr = document.createElement("tr");
    tr.dataset.status = s;
    cell(tr, label(s)); cell(tr, funnel.statuses[s]);
    return tr;
  }));
  chart("funnel-chart", {
    type: "bar",
    data: { labels: STAGES.map(label), datasets: [{ label: "Innovations", data: STAGES.map((s) => funnel.stages[s]), backgroundColor: "#0b57a4" }] },
    options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  sortableTable("groups-table", groups.items, (g) => {
    const tr = document.createElement("tr");
    cell(tr, g.label || g.key); cell(tr, g.innovations); cell(tr, fmt(g.mean_mpi)); cell(tr, fmt(g.median_mpi));
    return tr;
  });
  chart("groups-chart", {
    type: "bar",
    data: { labels: groups.items.map((g) => g.label || g.key), datasets: [{ label: "Mean MPI", data: groups.items.map((g) => g.mean_mpi), backgroundColor: "#2f7d4f" }] },
    options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { min: 0, max: 100 } } },
  });
  state.innovations = list.items;
  const countries = new Set(list.items.map((i) => i.country));
  const countrySelect = $("#f-country");
  if (countrySelect.options.length <= 1) {
    countrySelect.append(...[...countries].sort().map((c) => new Option(c, c)));
    $("#themes").replaceChildren(...[...new Set(list.items.flatMap((i) => i.themes))].sort().map((t) => new Option(t)));
  }
  sortableTable("innovations-table", list.items, (i) => {
    const tr = document.createElement("tr");
    const pick = document.createElement("td");
    const box = document.createElement("input");
    box.type = "checkbox"; box.value = i.id; box.setAttribute("aria-label", `Select ${i.title}`);
    pick.appendChild(box); tr.appendChild(pick);
    const titleCell = document.createElement("td");
    const link = document.createElement("a");
    link.href = `#/innovations/${i.id}`; link.textContent = i.title;
    titleCell.appendChild(link); tr.appendChild(titleCell);
    cell(tr, label(i.stage)); cell(tr, label(i.status)); cell(tr, i.mpi ? fmt(i.mpi.value) : null);
    cell(tr, i.country); cell(tr, i.ecosystem_acronym); cell(tr, day(i.submitted_at));
    return tr;
  }, $("#list-filter"));
  status(`Showing the portfolio ${at ? `as of ${day(at)}` : "now"}: ${list.total} innovations.`);
}

async function showTrends() {
  const ids = [...document.querySelectorAll("#innovations-table tbody input:checked")].map((b) => b.value);
  if (!ids.length) { status("Select one or more innovations first."); return; }
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
    options: { scales: { x: { type: "time", time: { unit: "month" } }, y: { min: 0, max: 100 } } },
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

function describe(e) {
  const d = e.data;
  switch (e.type) {
    case "Submitted": return `Submitted “${d.title}” (themes: ${(d.themes || []).join(", ")})`;
    case "DetailsRevised": return `Revised ${Object.keys(d.changes || {}).join(", ")}`;
    case "PilotStarted": return `Started a pilot on ${d.started_on}${d.planned_participants ? ` for ${d.planned_participants} participants` : ""}`;
    case "PilotOutcomeRecorded": return `Recorded a pilot outcome: ${d.participants} participants, ${Math.round(d.completion_rate * 100)}% completed`;
    case "EvidenceAdded": return `Added evidence (${label(d.kind)}): ${d.title}`;
    case "AssessmentRecorded": return `Recorded an assessment (rubric v${d.rubric_version}): ${d.rationale}`;
    case "Advanced": return `Advanced from ${d.from_stage} to ${d.to_stage}: ${d.rationale}`;
    case "Recycled": return `Sent back from ${d.from_stage} to ${d.to_stage}: ${d.rationale}`;
    case "PutOnHold": return `Put on hold: ${d.rationale}`;
    case "Resumed": return `Resumed: ${d.rationale}`;
    case "Discontinued": return `Discontinued: ${d.rationale}`;
    case "AdoptionRecorded": return `Adoption recorded on ${d.adopted_on}${d.notes ? `: ${d.notes}` : ""}`;
    default: return e.type;
  }
}

function listItems(id, items, text) {
  const ul = document.getElementById(id);
  ul.replaceChildren(...(items.length ? items : [null]).map((item) => {
    const li = document.createElement("li");
    li.textContent = item ? text(item) : "None yet.";
    return li;
  }));
}

async function showInnovation(id) {
  const [detail, stages, scores, history] = await Promise.all([
    api(`/api/v1/innovations/${id}`),
    api(`/api/v1/innovations/${id}/stages`),
    api(`/api/v1/innovations/${id}/scores`),
    api(`/api/v1/innovations/${id}/history`),
  ]);
  $("#innovation-title").textContent = detail.title;
  const mpi = detail.mpi ? `MPI ${fmt(detail.mpi.value)} from ${detail.mpi.evaluators} evaluator(s), spread ${fmt(detail.mpi.spread)}` : "not yet assessed";
  $("#innovation-meta").textContent = `${label(detail.stage)} · ${label(detail.status)} · ${mpi} · themes: ${detail.themes.join(", ")}`;
  document.querySelector("#timeline-table tbody").replaceChildren(...stages.map((s) => {
    const tr = document.createElement("tr");
    const end = s.exited_at ? new Date(s.exited_at) : new Date();
    cell(tr, label(s.stage)); cell(tr, day(s.entered_at)); cell(tr, s.exited_at ? day(s.exited_at) : "current");
    cell(tr, Math.round((end - new Date(s.entered_at)) / 86400000));
    return tr;
  }));
  document.querySelector("#score-table tbody").replaceChildren(...scores.map((p) => {
    const tr = document.createElement("tr");
    cell(tr, day(p.at)); cell(tr, fmt(p.value)); cell(tr, p.evaluators); cell(tr, fmt(p.spread));
    return tr;
  }));
  chart("score-chart", {
    type: "line",
    data: { datasets: [{ label: "Consolidated MPI", data: scores.map((p) => ({ x: p.at, y: p.value })), borderColor: "#0b57a4", stepped: true }] },
    options: { scales: { x: { type: "time", time: { unit: "month" } }, y: { min: 0, max: 100 } } },
  });
  listItems("pilots-list", detail.pilots, (p) => `From ${p.started_on}${p.outcome ? `, ended ${p.outcome.ended_on}: ${p.outcome.participants} participants, ${Math.round(p.outcome.completion_rate * 100)}% completion` : ", running"}`);
  listItems("evidence-list", detail.evidence, (e) => `${label(e.kind)}: ${e.title}`);
  listItems("adoptions-list", detail.adoptions, (a) => `Adopted on ${a.adopted_on}${a.notes ? ` (${a.notes})` : ""}`);
  document.querySelector("#history-table tbody").replaceChildren(...history.map((e) => {
    const tr = document.createElement("tr");
    cell(tr, e.version); cell(tr, e.at.replace("T", " ").slice(0, 16)); cell(tr, `${e.actor.id} (${e.actor.role})`); cell(tr, describe(e));
    return tr;
  }));
  status(`Innovation “${detail.title}”: ${history.length} events.`);
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
    cell(tr, e.title); cell(tr, e.call_year); cell(tr, e.member_count); cell(tr, e.eu_grant_eur);
    return tr;
  }, $("#eco-filter"));
  $("#ecosystem-detail").hidden = !id;
  if (!id) { status(`${page.total} ecosystems.`); return; }
  const eco = await api(`/api/v1/ecosystems/${id}`);
  $("#ecosystem-name").textContent = `${eco.acronym}: ${eco.title}`;
  const roles = {}, countries = {};
  for (const m of eco.members) { roles[m.role] = (roles[m.role] || 0) + 1; countries[m.country] = (countries[m.country] || 0) + 1; }
  document.querySelector("#roles-table tbody").replaceChildren(...Object.entries(roles).map(([role, n]) => {
    const tr = document.createElement("tr"); cell(tr, label(role)); cell(tr, n); return tr;
  }));
  sortableTable("countries-table", Object.entries(countries).map(([country, members]) => ({ country, members })), (r) => {
    const tr = document.createElement("tr"); cell(tr, r.country); cell(tr, r.members); return tr;
  });
  sortableTable("members-table", eco.members, (m) => {
    const tr = document.createElement("tr"); cell(tr, m.name); cell(tr, m.country); cell(tr, label(m.role)); return tr;
  });
  status(`${eco.acronym}: ${eco.members.length} members in ${Object.keys(countries).length} countries.`);
}

// ---- routing and wiring ------------------------------------------------------------------

async function route() {
  const hash = location.hash || "#/";
  const [, section, id] = hash.split("/");
  $("#portfolio-view").hidden = !(section === "" || section === undefined);
  $("#innovation-view").hidden = section !== "innovations";
  $("#ecosystems-view").hidden = section !== "ecosystems";
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
  $("#key-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(KEY, $("#api-key").value.trim());
    $("#api-key").value = "";
    state.months = [];
    route();
  });
  $("#forget-key").addEventListener("click", () => { sessionStorage.removeItem(KEY); status("Key forgotten."); });
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
