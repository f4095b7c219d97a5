// Users table behaviour: row selection and the bulk bar, the More info off-canvas panel and its keyboard
// navigation. Strict CSP: no inline script, everything is wired through data-* attributes and htmx events.
(function () {
  "use strict";

  function table() { return document.querySelector("[data-users-table]"); }
  function bar() { return document.querySelector("[data-bulk-bar]"); }
  function rowBoxes() { return Array.prototype.slice.call(document.querySelectorAll("[data-row-select]")); }
  function isTyping(target) {
    return !!(target && target.closest && target.closest("input, textarea, select, [contenteditable=true]"));
  }
  function formatCount(n) { return Number(n).toLocaleString(); }

  // --- Selection ---------------------------------------------------------------------------------------------
  // "All matching" is a mode, not a list: the bulk form then carries the table's query string (enabled
  // hidden input) instead of row ids, so the server re-applies the filters to pick the users.
  var allMatching = false;

  function refreshSelection() {
    var bulk = bar();
    var wrap = table();
    if (!bulk || !wrap) return;
    var boxes = rowBoxes();
    var checked = boxes.filter(function (b) { return b.checked; }).length;
    var total = parseInt(wrap.getAttribute("data-count") || "0", 10);
    var pageAll = boxes.length > 0 && checked === boxes.length;
    var pageBox = document.querySelector("[data-select-page]");
    if (pageBox) {
      pageBox.checked = pageAll;
      pageBox.indeterminate = checked > 0 && !pageAll;
    }
    if (!pageAll) allMatching = false;
    var query = bulk.querySelector("[data-bulk-query]");
    if (query) query.disabled = !allMatching;
    boxes.forEach(function (b) { b.disabled = allMatching; });
    var matching = bulk.querySelector("[data-select-matching]");
    if (matching) matching.hidden = !(pageAll && !allMatching && total > boxes.length);
    var count = bulk.querySelector("[data-bulk-count]");
    if (count) {
      count.textContent = allMatching
        ? "All " + formatCount(total) + " matching users selected"
        : formatCount(checked) + " selected on this page";
    }
    bulk.hidden = checked === 0;
    document.querySelectorAll("[data-user-row]").forEach(function (row) {
      var box = row.querySelector("[data-row-select]");
      row.classList.toggle("row-selected", !!(box && box.checked));
    });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("[data-select-page]")) {
      allMatching = false;
      rowBoxes().forEach(function (b) { b.checked = target.checked; });
      refreshSelection();
    } else if (target.matches("[data-row-select]")) {
      refreshSelection();
    }
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-select-matching]")) {
      allMatching = true;
      refreshSelection();
    } else if (event.target.closest("[data-clear-selection]")) {
      allMatching = false;
      rowBoxes().forEach(function (b) { b.checked = false; b.disabled = false; });
      refreshSelection();
    }
  });

  // A new table (search, sort, page) starts with nothing selected: the old rows are gone.
  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "users-table") {
      allMatching = false;
      refreshSelection();
    }
  });

  // --- More info panel -------------------------------------------------------------------------------------
  function panelElement() { return document.getElementById("user-panel"); }
  function panel() {
    var element = panelElement();
    return element && window.bootstrap ? window.bootstrap.Offcanvas.getOrCreateInstance(element) : null;
  }
  var opener = null;

  function markCurrentRow() {
    var inner = document.querySelector("#user-panel-content [data-user-panel]");
    document.querySelectorAll("[data-user-row].row-current").forEach(function (row) { row.classList.remove("row-current"); });
    if (!inner) return;
    var row = document.getElementById(inner.getAttribute("data-row-id"));
    if (row) {
      row.classList.add("row-current");
      row.scrollIntoView({ block: "nearest" });
    }
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-panel-link]");
    if (link) opener = link;
  });

  document.body.addEventListener("htmx:afterSwap", function (event) {
    if (!event.detail.target || event.detail.target.id !== "user-panel-content") return;
    var instance = panel();
    var element = panelElement();
    if (instance && element && !element.classList.contains("show") && !element.classList.contains("showing")) instance.show();
    markCurrentRow();
    var title = document.getElementById("user-panel-title");
    if (title && element && element.classList.contains("show")) {
      // Keep focus inside the panel after prev/next replaced the focused link.
      if (!element.contains(document.activeElement) || document.activeElement === document.body) {
        title.setAttribute("tabindex", "-1");
        title.focus();
      }
    }
  });

  document.addEventListener("shown.bs.offcanvas", function (event) {
    if (event.target.id !== "user-panel") return;
    var title = document.getElementById("user-panel-title");
    if (title) { title.setAttribute("tabindex", "-1"); title.focus(); }
  });
  document.addEventListener("hidden.bs.offcanvas", function (event) {
    if (event.target.id !== "user-panel") return;
    document.querySelectorAll("[data-user-row].row-current").forEach(function (row) { row.classList.remove("row-current"); });
    if (opener && document.body.contains(opener)) opener.focus();
  });

  // Prev/next by keyboard: read the neighbour's URL from the panel itself rather than clicking its link, so
  // a fast second key press never hits a link htmx has not wired up yet (that would leave the page).
  var stepping = false;
  function step(direction) {
    var inner = document.querySelector("#user-panel-content [data-user-panel]");
    var page = document.querySelector(".user-panel-page [data-user-panel]");
    var source = inner || page;
    if (!source || stepping) return;
    var url = source.getAttribute(direction > 0 ? "data-next-url" : "data-previous-url");
    if (!url) return;
    if (!inner) { window.location.assign(url); return; }
    stepping = true;
    window.htmx.ajax("GET", url, { target: "#user-panel-content", swap: "innerHTML" }).finally(function () {
      stepping = false;
    });
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var element = panelElement();
    // "showing" during the slide-in: a key pressed straight after opening already counts.
    var open = (element && (element.classList.contains("show") || element.classList.contains("showing"))) ||
      document.querySelector(".user-panel-page");
    if (open && !isTyping(event.target)) {
      if (event.key === "j" || event.key === "ArrowDown") { event.preventDefault(); step(1); return; }
      if (event.key === "k" || event.key === "ArrowUp") { event.preventDefault(); step(-1); return; }
    }
    // "s" focuses the search box (like "/" opens the tenant picker).
    if (!open && event.key === "s" && !isTyping(event.target)) {
      var search = document.querySelector("[data-users-search]");
      if (search) { event.preventDefault(); search.focus(); search.select(); }
    }
  });

  refreshSelection();
})();
