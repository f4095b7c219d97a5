// Applies the colour theme before first paint (loaded synchronously in <head>): the technician's choice
// from localStorage, else the operating system's preference. app.js owns the toggle button.
(function () {
  "use strict";
  var stored = null;
  try { stored = window.localStorage.getItem("cippusers-theme"); } catch (e) { /* storage disabled */ }
  var prefersDark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  var theme = stored === "dark" || stored === "light" ? stored : (prefersDark ? "dark" : "light");
  document.documentElement.setAttribute("data-bs-theme", theme);
})();
