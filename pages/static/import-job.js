// An import's page while it runs: the progress is asked for every two seconds and updated in place, so the reader
// keeps their place and focus (a page that reloads itself loses both); once the import has ended, the page opens
// again to show its summary. Without JavaScript the page reloads itself instead (its <noscript> refresh).
(function () {
  "use strict";
  var progress = document.getElementById("progress");
  var shown = document.getElementById("progress-value");
  if (!progress || !progress.dataset.poll) { return; }
  // The share as the page's language writes it ("85 %" in Lithuanian), as the server wrote it first.
  var percent = new Intl.NumberFormat(document.documentElement.lang || undefined, { style: "percent" });
  function poll() {
    fetch(progress.dataset.poll, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (job) {
        if (job && job.state !== "running") { window.location.reload(); return; }
        if (job) {
          progress.value = job.percent;
          progress.textContent = percent.format(job.percent / 100);
          shown.textContent = percent.format(job.percent / 100);
        }
        window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 2000);
})();
