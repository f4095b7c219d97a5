// Edit user: small conveniences on top of a form that works without JavaScript. Ticking "add" on a licence
// reveals its service-plan toggles; "remove" greys out the SKU's plans; a filter narrows the groups to
// join; after htmx swaps the page, the summary or the results are scrolled into view. Strict CSP: wired
// through data-* attributes and htmx events only.
(function () {
  "use strict";
  if (window.cippUserEdit) return;
  window.cippUserEdit = true;

  function syncLicence(input) {
    var add = input.closest("[data-add-licence]");
    if (add) {
      add.classList.toggle("is-added", input.checked);
      var plans = add.querySelector("[data-add-plans]");
      if (plans) plans.hidden = !input.checked;
      return;
    }
    var held = input.closest("[data-licence]");
    if (held && input.name.indexOf("lic_remove__") === 0) held.classList.toggle("is-removed", input.checked);
  }

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.closest || !input.closest("[data-edit-form]")) return;
    if (input.type === "checkbox") syncLicence(input);
  });

  document.addEventListener("input", function (event) {
    var filter = event.target.closest && event.target.closest("[data-group-filter]");
    if (!filter) return;
    var text = filter.value.trim().toLowerCase();
    var picker = filter.parentElement.querySelector("[data-group-picker]");
    if (!picker) return;
    picker.querySelectorAll("[data-group-option]").forEach(function (row) {
      var match = !text || row.getAttribute("data-group-option").indexOf(text) !== -1;
      var box = row.querySelector("input");
      row.hidden = !match && !(box && box.checked);  // a ticked group stays visible
    });
  });

  function focusOutcome(root) {
    var target = root.querySelector("[data-edit-summary]") || root.querySelector("[data-edit-results]") ||
      root.querySelector("[data-edit-errors]");
    if (!target) return;
    if (target.focus) target.focus({ preventScroll: true });
    target.scrollIntoView({ block: "start" });
  }

  // htmx:load fires on the new #user-edit after each save / review swap (not on the small live-check swaps).
  document.body.addEventListener("htmx:load", function (event) {
    var root = event.detail && event.detail.elt;
    if (root && root.id === "user-edit") focusOutcome(root);
  });
})();
