// The assessment page's live MPI preview: the server computes it with the rubric the assessment is recorded with
// (GET /rubric/preview), so what is shown is what will be stored. Without JavaScript the form works the same.
//
// What the evaluator types is also kept in this tab (sessionStorage, under their own person id, the innovation and
// the round; signing out clears the site's storage) as they type: if their session lapses before
// the form is sent, signing in again brings them back to this page with what they typed. While they type, the page
// asks for a preview every third of the session's idle time (data-keep-alive), so an active evaluator's session
// does not lapse. The draft
// is dropped once their assessment of this round is recorded after it was begun.
(function () {
  "use strict";
  var form = document.getElementById("rubric-form");
  var out = document.getElementById("mpi-preview");
  if (!form || !out) { return; }
  var pending = null;
  var asked = Date.now();
  var keepAlive = Number(form.dataset.keepAlive) || 5 * 60 * 1000;
  function update() {
    var query = new URLSearchParams();
    form.querySelectorAll("input[type=radio]:checked").forEach(function (input) {
      query.set(input.name.replace(/^score_/, ""), input.value);
    });
    if (pending) { pending.abort(); }
    pending = new AbortController();
    asked = Date.now();
    fetch(form.dataset.preview + "?" + query.toString(), { credentials: "same-origin", signal: pending.signal })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) { if (body) { out.textContent = body.message; out.dataset.mpi = body.mpi === null ? "" : body.mpi; } })
      .catch(function () { /* a superseded or failed preview leaves the last one */ });
  }

  var key = "tracker:assessment-draft:" + form.dataset.draft;
  var fields = Array.prototype.filter.call(form.elements, function (element) {
    return element.name && element.name !== "csrf_token" && element.name !== "version" && element.type !== "submit";
  });
  function store() {
    var values = {};
    fields.forEach(function (element) {
      if (element.type === "radio") {
        if (element.checked) { values[element.name] = element.value; }
      } else if (element.value) {
        values[element.name] = element.value;
      }
    });
    var begun = Number(form.dataset.servedAt);
    try {
      var earlier = JSON.parse(sessionStorage.getItem(key) || "null");
      if (earlier && earlier.begun) { begun = Math.min(begun, earlier.begun); }
      sessionStorage.setItem(key, JSON.stringify({ begun: begun, values: values }));
    } catch (error) { /* storage full or refused: the form still works */ }
  }
  function restore() {
    var draft = null;
    try { draft = JSON.parse(sessionStorage.getItem(key) || "null"); } catch (error) { return; }
    if (!draft || !draft.values) { return; }
    var recorded = Number(form.dataset.mineAt || 0);
    if (recorded && recorded >= draft.begun) {
      sessionStorage.removeItem(key);  // recorded since the draft was begun: it is done
      return;
    }
    var typed = fields.some(function (element) {
      return element.type === "radio" ? element.checked : Boolean(element.value);
    });
    if (typed && !recorded) { return; }  // the server sent the form back with what was sent: that comes first
    fields.forEach(function (element) {
      var value = draft.values[element.name];
      if (value === undefined) { return; }
      if (element.type === "radio") { element.checked = element.value === value; } else { element.value = value; }
    });
  }

  restore();
  form.addEventListener("change", function (event) {
    if (event.target && event.target.type === "radio") { update(); }
    store();
  });
  form.addEventListener("input", function () {
    store();
    if (Date.now() - asked > keepAlive) { update(); }
  });
  if (form.querySelector("input[type=radio]:checked")) { update(); }
})();
