// Swagger UI over the OpenAPI document named by #swagger-ui's data-url (no inline script: the page's CSP).
"use strict";
window.addEventListener("DOMContentLoaded", function () {
  var target = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    url: target.dataset.url,
    domNode: target,
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    persistAuthorization: false,
    tryItOutEnabled: false,
  });
});
