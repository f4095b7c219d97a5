// Compromise research page: sortable evidence tables, printing with every section open, the remediation
// modal's width and a busy "Gather" button. Strict CSP: wired through data-* attributes and events only.
(function () {
  "use strict";
  if (window.cippResearch) return;
  window.cippResearch = true;

  // --- Sortable tables: a header button sorts its column; again reverses ------------------------------------
  function cellValue(row, index, kind) {
    var cell = row.children[index];
    var text = cell ? (cell.getAttribute("data-sort") || "") : "";
    if (kind === "number") {
      var number = parseFloat(text);
      return isNaN(number) ? -Infinity : number;
    }
    return text.toLowerCase();
  }

  function sortTable(button) {
    var table = button.closest("table");
    var header = button.closest("th");
    var index = parseInt(button.getAttribute("data-sort-column"), 10);
    var kind = button.getAttribute("data-sort-kind");
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, index, kind), y = cellValue(b, index, kind);
      if (x < y) return ascending ? -1 : 1;
      if (x > y) return ascending ? 1 : -1;
      return 0;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    table.querySelectorAll("th[aria-sort]").forEach(function (th) { th.setAttribute("aria-sort", "none"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-sort-column]");
    if (button) sortTable(button);
  });

  // --- Printing: closed sections would not print --------------------------------------------------------------
  function openAll() {
    document.querySelectorAll("[data-research] details").forEach(function (details) { details.open = true; });
  }
  window.addEventListener("beforeprint", openAll);
  document.addEventListener("click", function (event) {
    if (!event.target.closest("[data-research-print]")) return;
    openAll();
    window.print();
  });

  // --- The run form shows it is working and is sent once --------------------------------------------------------
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("[data-research-run]");
    if (!form) return;
    var button = form.querySelector("[data-research-start]");
    if (button) { button.disabled = true; button.setAttribute("aria-busy", "true"); }
  });

  // --- The remediation confirmation uses the wide modal -----------------------------------------------------------
  document.body.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (!target || target.id !== "modal-content" || !target.querySelector("[data-remediate-form]")) return;
    var dialog = target.closest(".modal-dialog");
    if (dialog) dialog.classList.add("modal-lg");
  });
})();
