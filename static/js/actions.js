// User actions: the modal's extras (typed count, copying a one-time secret without echoing it), refreshing
// what an action changed (the users table's rows, the More info panel, View user) and the Job page's
// "finished" notice. Strict CSP: wired through data-* attributes and htmx events only. Loaded by several
// templates, so it initialises once.
(function () {
  "use strict";
  if (window.cippActions) return;
  window.cippActions = true;

  function toast(message, level) { if (window.cippToast) window.cippToast(message, level); }

  // --- Wide modal for action content ---------------------------------------------------------------------------
  document.body.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "modal-content") return;
    var dialog = target.closest(".modal-dialog");
    if (dialog) dialog.classList.toggle("modal-lg", !!target.querySelector("[data-action-form], [data-action-results]"));
  });

  // --- Row menu: folded groups on a narrow screen, closed once an action is picked ------------------------------
  // The row menu stays open while a group is unfolded (data-bs-auto-close="outside"), so it closes itself when
  // an action opens the modal. On a phone every group starts folded: six headers instead of a page-long list.
  var narrow = window.matchMedia("(max-width: 575.98px)");
  function dropdownOf(element) {
    var holder = element.closest(".dropdown");
    var toggle = holder && holder.querySelector('[data-bs-toggle="dropdown"]');
    return toggle && window.bootstrap ? window.bootstrap.Dropdown.getOrCreateInstance(toggle) : null;
  }
  document.body.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target || !target.matches || !target.matches("[data-action-menu]")) return;
    if (narrow.matches) target.querySelectorAll("[data-action-menu-group]").forEach(function (group) { group.open = false; });
    var dropdown = dropdownOf(target);
    fitToScreen(target);
    if (dropdown) dropdown.update();  // the menu grew: let Popper place it again (flip above the row if needed)
  });
  // The menu is positioned "fixed" next to its row: a menu taller than the room below (or above) the row would
  // reach past the screen's edge, where nothing can scroll to it. Cap it at the larger of the two rooms so it
  // scrolls inside itself; Popper then places it on that side.
  function fitToScreen(menu) {
    var holder = menu.closest(".dropdown");
    var toggle = holder && holder.querySelector('[data-bs-toggle="dropdown"]');
    if (!toggle) return;
    var box = toggle.getBoundingClientRect();
    var room = Math.max(window.innerHeight - box.bottom, box.top) - 12;
    menu.style.maxHeight = Math.max(room, 160) + "px";
  }
  document.addEventListener("click", function (event) {
    var summary = event.target.closest("[data-action-menu] [data-action-menu-group] > summary");
    if (summary) {
      if (!narrow.matches) event.preventDefault();  // side by side on a wide screen: nothing to fold
      else { var dropdown = dropdownOf(summary); if (dropdown) window.setTimeout(function () { dropdown.update(); }, 0); }
      return;
    }
    var link = event.target.closest("[data-action-menu] [data-action-link]");
    if (link) { var menu = dropdownOf(link); if (menu) menu.hide(); }
  });

  // --- Typed count: the confirm button waits for the right number ----------------------------------------------
  function syncCount(form) {
    var input = form.querySelector("[data-type-count]");
    var button = form.querySelector("[data-needs-count]");
    if (!input || !button) return;
    var ok = input.value.replace(/[\s,.]/g, "") === input.getAttribute("data-type-count");
    button.disabled = !ok;
  }
  document.addEventListener("input", function (event) {
    var form = event.target.closest("[data-action-form]");
    if (form) syncCount(form);
  });
  document.body.addEventListener("htmx:load", function (event) {
    var root = event.detail.elt;
    if (!root || !root.querySelectorAll) return;
    root.querySelectorAll("[data-action-form]").forEach(syncCount);
  });
  document.querySelectorAll("[data-action-form]").forEach(syncCount);

  // A confirmed action is sent once: the button shows it is working.
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail.elt;
    if (!form || !form.matches || !form.matches("[data-action-form]")) return;
    var button = form.querySelector("[data-confirm-button]");
    if (button) { button.disabled = true; button.classList.add("is-busy"); button.setAttribute("aria-busy", "true"); }
  });

  // --- One-time secrets: copy without showing the value again in a toast -----------------------------------------
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-secret]");
    if (!button) return;
    var code = button.parentElement.querySelector("[data-secret]");
    if (!code) return;
    var value = code.textContent;
    var done = function () { toast("Copied to the clipboard.", "success"); button.classList.add("is-copied"); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(value).then(done, function () { toast("Could not copy; select it and copy by hand.", "error"); });
    } else {
      var range = document.createRange();
      range.selectNodeContents(code);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      try { document.execCommand("copy"); done(); } catch (e) { toast("Could not copy; select it and copy by hand.", "error"); }
      selection.removeAllRanges();
    }
  });
  // Closing the modal drops the secret from the page (app.js empties the modal on hidden.bs.modal).

  // --- After an action: show the change where the technician is looking ------------------------------------------
  document.body.addEventListener("actionsApplied", function (event) {
    var detail = event.detail || {};
    var removed = detail.removed || [];
    var table = document.querySelector("[data-users-table]");
    if (table && window.htmx) {
      window.htmx.ajax("GET", window.location.pathname + window.location.search, { target: "#users-table", swap: "outerHTML" });
    }
    var panelActions = document.querySelector("#user-panel-content [data-user-actions]");
    var panelMenu = panelActions && panelActions.querySelector("[data-user-actions-menu]");
    if (panelMenu && window.htmx) {
      if (removed.indexOf(panelActions.dataset.userId) !== -1) {
        var panel = document.getElementById("user-panel");
        if (panel && window.bootstrap) window.bootstrap.Offcanvas.getOrCreateInstance(panel).hide();
      } else if (panelMenu.dataset.refreshUrl) {
        window.htmx.ajax("GET", panelMenu.dataset.refreshUrl, { target: "#user-panel-content", swap: "innerHTML" });
      }
    }
    var detailMenu = document.querySelector("#user-detail-actions [data-user-actions-menu]");
    if (detailMenu) {
      document.getElementById("modal").addEventListener("hidden.bs.modal", function () {
        var own = document.getElementById("user-detail-actions");
        if (own && removed.indexOf(own.dataset.userId) !== -1) window.location.assign(document.querySelector(".detail-crumb a").href);
        else window.location.reload();
      }, { once: true });
    }
  });

  // --- Job page --------------------------------------------------------------------------------------------------
  document.body.addEventListener("jobFinished", function () {
    toast("The job has finished.", "success");
  });
})();
