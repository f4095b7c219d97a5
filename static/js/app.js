// cippusers page behaviour. Strict CSP: no inline script anywhere, so everything that reacts to the page
// lives here and is wired through data-* attributes and htmx events.
(function () {
  "use strict";

  var THEME_KEY = "cippusers-theme";

  // --- CSRF for htmx -------------------------------------------------------------------------------------
  // Django rotates the token at login; the page always carries the current one in <meta name="csrf-token">.
  document.addEventListener("htmx:configRequest", function (event) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) event.detail.headers["X-CSRFToken"] = meta.content;
  });

  // --- Theme ---------------------------------------------------------------------------------------------
  function currentTheme() {
    return document.documentElement.getAttribute("data-bs-theme") === "dark" ? "dark" : "light";
  }
  function setTheme(theme) {
    document.documentElement.setAttribute("data-bs-theme", theme);
    try { window.localStorage.setItem(THEME_KEY, theme); } catch (e) { /* private mode: not remembered */ }
  }
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-theme-toggle]")) setTheme(currentTheme() === "dark" ? "light" : "dark");
  });
  // Follow the OS while the technician has not chosen explicitly.
  if (window.matchMedia) {
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", function (event) {
      var stored = null;
      try { stored = window.localStorage.getItem(THEME_KEY); } catch (e) { /* ignore */ }
      if (!stored) document.documentElement.setAttribute("data-bs-theme", event.matches ? "dark" : "light");
    });
  }

  // --- Toasts --------------------------------------------------------------------------------------------
  var LEVELS = { success: "success", info: "info", warning: "warning", error: "danger", danger: "danger", debug: "info" };

  function showToast(element) {
    if (window.bootstrap) window.bootstrap.Toast.getOrCreateInstance(element, { delay: 5000 }).show();
    element.addEventListener("hidden.bs.toast", function () { element.remove(); });
  }

  function toast(message, level) {
    var template = document.getElementById("toast-template");
    var container = document.getElementById("toasts");
    if (!template || !container) return;
    var element = template.content.firstElementChild.cloneNode(true);
    var kind = LEVELS[level] || "info";
    element.className = element.className.replace(/toast-\w+/, "toast-" + kind);
    if (kind === "danger" || kind === "warning") {
      element.setAttribute("role", "alert");
      element.setAttribute("data-bs-autohide", "false");
    }
    element.querySelector("[data-toast-text]").textContent = message; // text only: never HTML
    container.appendChild(element);
    showToast(element);
  }
  window.cippToast = toast;

  document.body.addEventListener("toast", function (event) {
    var detail = event.detail || {};
    if (detail.message) toast(detail.message, detail.level);
  });

  // Requests htmx does not swap (403, 404, 500, network) would otherwise fail silently.
  document.body.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    var text = status === 403 ? "You are not allowed to do that."
      : status === 404 ? "Not found (it may have been removed)."
      : "Something went wrong (" + status + "). Try again or reload the page.";
    toast(text, "error");
  });
  document.body.addEventListener("htmx:sendError", function () {
    toast("The server could not be reached. Check your connection.", "error");
  });

  // --- Modal ---------------------------------------------------------------------------------------------
  function modal() {
    var element = document.getElementById("modal");
    return element && window.bootstrap ? window.bootstrap.Modal.getOrCreateInstance(element) : null;
  }
  document.body.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "modal-content") {
      var element = document.getElementById("modal");
      if (element.classList.contains("show")) {
        // A re-rendered form (validation errors): the focused button was replaced, so move focus to the
        // first field in error, keeping keyboard users (and Esc) inside the dialog.
        var invalid = target.querySelector(".is-invalid") || firstField(target);
        if (invalid) invalid.focus();
      } else {
        var instance = modal();
        if (instance) instance.show();
      }
    }
  });
  document.body.addEventListener("closeModal", function () {
    var instance = modal();
    if (instance) instance.hide();
  });
  // querySelector with a selector list answers in document order, so [autofocus] is asked for first.
  function firstField(root) {
    return root.querySelector("[autofocus]") || root.querySelector("input:not([type=hidden]), select, textarea");
  }
  document.addEventListener("shown.bs.modal", function (event) {
    var first = firstField(event.target);
    if (first) first.focus();
  });
  document.addEventListener("hidden.bs.modal", function (event) {
    var content = event.target.querySelector("#modal-content");
    if (content) content.replaceChildren();
  });

  // --- Copy buttons --------------------------------------------------------------------------------------
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var value = button.getAttribute("data-copy");
    var done = function () { toast("Copied " + value, "success"); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(value).then(done, function () { toast("Could not copy.", "error"); });
    } else {
      // Plain-http deployments have no async clipboard API.
      var area = document.createElement("textarea");
      area.value = value;
      area.setAttribute("readonly", "");
      area.className = "copy-buffer";
      document.body.appendChild(area);
      area.select();
      try { document.execCommand("copy"); done(); } catch (e) { toast("Could not copy.", "error"); }
      area.remove();
    }
  });

  // --- Busy forms: a slow POST (discovery) shows it is working and cannot be sent twice ------------------
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("[data-busy-form]");
    if (!form || form.hasAttribute("hx-post")) return;
    var button = form.querySelector("button[type=submit]");
    if (button) {
      button.disabled = true;
      button.classList.add("is-busy");
      button.setAttribute("aria-busy", "true");
    }
  });

  // --- Tenant picker -------------------------------------------------------------------------------------
  var picker = document.querySelector("[data-tenant-picker]");
  if (picker) {
    var toggleButton = picker.querySelector('[data-bs-toggle="dropdown"]');
    var input = picker.querySelector("[data-picker-input]");
    var form = picker.querySelector("[data-picker-form]");

    var items = function () { return Array.prototype.slice.call(picker.querySelectorAll(".picker-item")); };
    var openPicker = function () {
      if (!window.bootstrap) return;
      window.bootstrap.Dropdown.getOrCreateInstance(toggleButton).show();
    };
    picker.addEventListener("shown.bs.dropdown", function () { input.focus(); input.select(); });

    var isTyping = function (target) {
      return target.closest("input, textarea, select, [contenteditable=true]") !== null;
    };
    document.addEventListener("keydown", function (event) {
      var ctrlK = (event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "k";
      var slash = event.key === "/" && !event.ctrlKey && !event.metaKey && !event.altKey && !isTyping(event.target);
      if (ctrlK || slash) {
        event.preventDefault();
        openPicker();
      }
    });

    // Enter in the search box picks the first result, once the search for what was typed has answered.
    var pendingEnter = false;
    var submitFirst = function () {
      var first = items()[0];
      if (first) form.requestSubmit(first);
    };
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        event.preventDefault();
        if (input.classList.contains("htmx-request") || input.dataset.dirty === "1") {
          pendingEnter = true;
          // "changed" skips the request when the text ends up as it was: do not wait for it forever.
          window.setTimeout(function () { if (pendingEnter) { pendingEnter = false; submitFirst(); } }, 800);
        } else submitFirst();
      } else if (event.key === "ArrowDown") {
        event.preventDefault();
        var first = items()[0];
        if (first) first.focus();
      }
    });
    input.addEventListener("input", function () { input.dataset.dirty = "1"; });
    picker.addEventListener("htmx:afterSwap", function () {
      input.dataset.dirty = "";
      if (pendingEnter) {
        pendingEnter = false;
        submitFirst();
      }
    });
    picker.addEventListener("keydown", function (event) {
      if (!event.target.classList.contains("picker-item")) return;
      if (["ArrowDown", "ArrowUp", "Home", "End"].indexOf(event.key) === -1) return;
      // Ours, not Bootstrap's: its dropdown handler on document would move the focus a second time.
      event.stopPropagation();
      var list = items();
      var index = list.indexOf(event.target);
      if (event.key === "ArrowDown" && index < list.length - 1) {
        event.preventDefault();
        list[index + 1].focus();
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        (index > 0 ? list[index - 1] : input).focus();
      } else if (event.key === "Home" || event.key === "End") {
        event.preventDefault();
        list[event.key === "Home" ? 0 : list.length - 1].focus();
      }
    });
  }

  // --- Django messages rendered with the page ------------------------------------------------------------
  document.querySelectorAll("#toasts [data-toast]").forEach(showToast);
})();
