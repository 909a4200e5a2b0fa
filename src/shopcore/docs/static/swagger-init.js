// Starts Swagger UI on the merged spec served by this app.
window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/swagger.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    persistAuthorization: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout",
    // No badge from swagger.io's online validator: the page makes no request outside this app.
    validatorUrl: null,
  });
};
