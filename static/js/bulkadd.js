// Bulk add users / invite guests (templates/users/bulkadd/*). Strict CSP: wired through data-* attributes.
(function () {
  "use strict";

  function toast(message, level) {
    if (window.cippToast) window.cippToast(message, level || "success");
  }

  // Forms that start something long (upload, run): one click only, and say that it is working.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("[data-bulk-upload], [data-run-form]")) return;
    var button = form.querySelector("button[type=submit]");
    if (!button) return;
    if (button.dataset.busy) { event.preventDefault(); return; }
    button.dataset.busy = "1";
    button.setAttribute("aria-disabled", "true");
    button.classList.add("disabled");
    var spinner = document.createElement("span");
    spinner.className = "spinner-border spinner-border-sm ms-2";
    spinner.setAttribute("aria-hidden", "true");
    button.appendChild(spinner);
  });

  // The one-time password download: the page cannot show them again afterwards, so it says so and reloads.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("[data-download-secrets-form]")) return;
    var section = form.closest("[data-secrets]");
    window.setTimeout(function () {
      if (section) {
        var body = section.querySelector(".card-body");
        var note = document.createElement("p");
        note.className = "mb-0";
        note.setAttribute("data-secrets-downloaded", "");
        note.textContent = "Downloaded. Keep the file somewhere safe: the server no longer has the passwords.";
        body.replaceChildren(note);
      }
    }, 300);
  });

  // Show / hide the passwords table.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-toggle-secrets]");
    if (!button) return;
    var table = document.getElementById(button.getAttribute("aria-controls"));
    if (!table) return;
    var show = table.hasAttribute("hidden");
    table.toggleAttribute("hidden", !show);
    button.setAttribute("aria-expanded", show ? "true" : "false");
    var icon = button.querySelector("i");
    if (icon) icon.className = show ? "bi bi-eye-slash" : "bi bi-eye";
    var text = button.querySelector("[data-toggle-text]");
    if (text) text.textContent = text.getAttribute(show ? "data-hide-text" : "data-show-text");
  });

  // Copy a password without echoing it anywhere else (the shared copy buttons toast the value).
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-secret]");
    if (!button) return;
    var value = button.getAttribute("data-copy-secret");
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(value).then(function () { toast("Copied."); }, function () { toast("Copy failed: select it instead.", "warning"); });
    } else {
      toast("Copy needs HTTPS here: select the text instead.", "warning");
    }
  });

  // A row's fix form: focus its first field with a problem (or the first field) when it opens.
  document.body.addEventListener("htmx:afterSettle", function () {
    var form = document.querySelector("[data-editing] [data-edit-form]");
    if (!form || form.dataset.focused) return;
    form.dataset.focused = "1";
    var first = form.querySelector(".has-problem input, .has-problem textarea") || form.querySelector("input:not([type=hidden]), textarea");
    if (first) first.focus();
  });
})();
