// Add user / Invite guest pages: display name suggested from first + last name until edited, the password
// box only when typing one, "copy from another user" (values arrive in the htmx userFormCopy event), the
// "Copy prefill link" button, copy buttons on the result page, a group filter, and one submit only.
// Strict CSP: wired through data-* attributes and events, no inline script.
(function () {
  "use strict";
  if (window.cippUserForm) return;
  window.cippUserForm = true;

  function toast(message, level) { if (window.cippToast) window.cippToast(message, level); }

  function field(form, name) { return form.querySelector('[name="' + name + '"]'); }

  // --- Display name: suggested from first + last until the technician edits it ---------------------------
  function suggestion(form) {
    var first = field(form, "given_name"), last = field(form, "surname");
    return [first ? first.value.trim() : "", last ? last.value.trim() : ""].filter(Boolean).join(" ");
  }

  function initDisplayName(form) {
    var display = field(form, "display_name");
    if (!display) return;
    // A value that is not the suggestion came from a link, a copy or a previous edit: keep it.
    display.dataset.auto = (display.value.trim() === "" || display.value.trim() === suggestion(form)) ? "1" : "0";
    if (display.dataset.auto === "1" && display.value.trim() === "") display.value = suggestion(form);
    form.addEventListener("input", function (event) {
      var name = event.target.name;
      if (name === "display_name") {
        display.dataset.auto = display.value.trim() === "" ? "1" : "0";
      } else if ((name === "given_name" || name === "surname") && display.dataset.auto === "1") {
        display.value = suggestion(form);
        display.dispatchEvent(new Event("input", { bubbles: false }));
      }
    });
  }

  // --- Password: the box shows only while "Type a password" is chosen ---------------------------------------
  function syncPassword(form) {
    var box = form.querySelector("[data-password-manual]");
    if (!box) return;
    var manual = form.querySelector('[name="password_mode"][value="manual"]');
    var on = !!(manual && manual.checked);
    box.hidden = !on;
    var input = field(form, "password");
    if (input && !on) input.value = "";
  }

  // --- Copy from another user -------------------------------------------------------------------------------
  document.body.addEventListener("userFormCopy", function (event) {
    var form = document.getElementById("add-user-form");
    var detail = event.detail || {};
    if (!form) return;
    var fields = detail.fields || {};
    Object.keys(fields).forEach(function (name) {
      var input = field(form, name);
      if (!input) return;
      input.value = fields[name];
      input.classList.add("uf-copied");
      input.dispatchEvent(new Event("change", { bubbles: true }));
    });
    (detail.licences || []).forEach(function (sku) {
      var box = form.querySelector('[name="licences"][value="' + String(sku).replace(/"/g, "") + '"]');
      if (box) { box.checked = true; box.classList.add("uf-copied"); }
    });
    var groups = field(form, "copy_groups");
    if (groups) groups.checked = true;
  });

  // --- Copy prefill link: the reference product's parameter names, so the link works in both ---------------
  function prefillLink(form) {
    var params = new URLSearchParams();
    params.append("customerId", form.dataset.tenant);
    form.querySelectorAll("[data-link-param]").forEach(function (input) {
      var key = input.getAttribute("data-link-param");
      if (input.type === "checkbox") {
        if (input.checked) params.append(key, "true");
      } else if (input.value.trim() !== "") {
        params.append(key, input.value.trim());
      }
    });
    // %20 rather than "+": read the same way by every tool that might open or store the link.
    return form.dataset.linkBase + "?" + params.toString().replace(/\+/g, "%20");
  }

  function copyText(text, onDone) {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(onDone, function () { toast("Could not copy; select it and copy by hand.", "error"); });
      return true;
    }
    return false;
  }

  function selectAndCopy(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    try { document.execCommand("copy"); toast("Copied to the clipboard.", "success"); }
    catch (e) { toast("Could not copy; select it and copy by hand.", "error"); }
    selection.removeAllRanges();
  }

  document.addEventListener("click", function (event) {
    var linkButton = event.target.closest("[data-copy-link]");
    if (linkButton) {
      var form = linkButton.closest("form");
      var link = prefillLink(form);
      var output = form.querySelector("[data-link-output]");
      var value = form.querySelector("[data-link-value]");
      if (output && value) { output.hidden = false; value.value = link; }
      if (!copyText(link, function () { toast("Prefill link copied (no password in it).", "success"); }) && value) {
        value.select();
        try { document.execCommand("copy"); toast("Prefill link copied (no password in it).", "success"); } catch (e) { /* shown for manual copy */ }
      }
      return;
    }
    var copyButton = event.target.closest("[data-copy-value]");
    if (copyButton) {
      var source = copyButton.parentElement.querySelector("[data-copy-source]");
      if (!source) return;
      var done = function () { toast("Copied to the clipboard.", "success"); copyButton.classList.add("is-copied"); };
      if (!copyText(source.textContent, done)) selectAndCopy(source);
    }
  });

  // --- Group filter -------------------------------------------------------------------------------------------
  document.addEventListener("input", function (event) {
    if (!event.target.matches("[data-group-filter]")) return;
    var needle = event.target.value.trim().toLowerCase();
    var list = event.target.closest("fieldset").querySelectorAll("[data-group-item]");
    list.forEach(function (item) {
      item.hidden = needle !== "" && item.textContent.toLowerCase().indexOf(needle) === -1;
    });
  });

  // --- One submit only: the button says it is working ------------------------------------------------------
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches("[data-user-form]")) return;
    if (form.dataset.submitted === "1") { event.preventDefault(); return; }
    form.dataset.submitted = "1";
    var button = form.querySelector("[data-submit-button]");
    if (button) { button.disabled = true; button.setAttribute("aria-busy", "true"); button.classList.add("is-busy"); }
  });
  // Back/forward cache: a page restored after submitting must be usable again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("[data-user-form]").forEach(function (form) {
      form.dataset.submitted = "";
      var button = form.querySelector("[data-submit-button]");
      if (button) { button.disabled = false; button.removeAttribute("aria-busy"); button.classList.remove("is-busy"); }
    });
  });

  function init() {
    var form = document.getElementById("add-user-form");
    if (!form) return;
    initDisplayName(form);
    syncPassword(form);
    form.addEventListener("change", function (event) {
      if (event.target.name === "password_mode") syncPassword(form);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
