// /api/docs: Swagger UI (swagger-ui-bundle, served by this app) over /api/openapi.json.
// A file of its own, not an inline script, so the Content-Security-Policy stays script-src 'self'.
const spec = document.currentScript.dataset.spec;
document.addEventListener("DOMContentLoaded", () => {
  window.ui = SwaggerUIBundle({ url: spec, dom_id: "#swagger-ui", deepLinking: true });
});
