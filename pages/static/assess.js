// The assessment page's live MPI preview: the server computes it with the rubric the assessment is recorded with
// (GET /rubric/preview), so what is shown is what will be stored. Without JavaScript the form works the same.
(function () {
  "use strict";
  var form = document.getElementById("rubric-form");
  var out = document.getElementById("mpi-preview");
  if (!form || !out) { return; }
  var pending = null;
  function update() {
    var query = new URLSearchParams();
    form.querySelectorAll("input[type=radio]:checked").forEach(function (input) {
      query.set(input.name.replace(/^score_/, ""), input.value);
    });
    if (pending) { pending.abort(); }
    pending = new AbortController();
    fetch(form.dataset.preview + "?" + query.toString(), { credentials: "same-origin", signal: pending.signal })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (body) { if (body) { out.textContent = body.message; out.dataset.mpi = body.mpi === null ? "" : body.mpi; } })
      .catch(function () { /* a superseded or failed preview leaves the last one */ });
  }
  form.addEventListener("change", function (event) {
    if (event.target && event.target.type === "radio") { update(); }
  });
  if (form.querySelector("input[type=radio]:checked")) { update(); }
})();
