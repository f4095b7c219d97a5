/* View user page: if the shared directory request fails outright (server error, network), load each of
   its sections on its own instead, so no section is left spinning. Section errors from Microsoft arrive
   as normal 200 fragments and need nothing here. */
(function () {
  "use strict";

  function loadPendingSections() {
    document.querySelectorAll("[data-section-pending]:not([hx-get])").forEach(function (section) {
      window.htmx.ajax("GET", section.getAttribute("data-section-url"), { target: section, swap: "outerHTML" });
    });
  }

  document.addEventListener("htmx:responseError", function (event) {
    if (event.target && event.target.hasAttribute("data-detail-batch")) { loadPendingSections(); }
  });
  document.addEventListener("htmx:sendError", function (event) {
    if (event.target && event.target.hasAttribute("data-detail-batch")) { loadPendingSections(); }
  });
})();
