// Starts ReDoc on the schema named by the page (a file, not an inline script, for Content-Security-Policy).
(function () {
  var container = document.getElementById("redoc-container");
  var system = "-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif";
  Redoc.init(
    container.dataset.schemaUrl,
    {
      theme: { typography: { fontFamily: system, headings: { fontFamily: system } } },
    },
    container
  );
})();
