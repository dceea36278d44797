// Starts Swagger UI on the API's docs page; a file of its own so the page runs under a CSP without inline scripts.
window.addEventListener("load", function () {
  var container = document.getElementById("swagger-ui-container");
  window.ui = SwaggerUIBundle({ url: container.dataset.specUrl, dom_id: "#swagger-ui-container" });
});
