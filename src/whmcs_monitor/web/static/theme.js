// Apply the saved theme before the page paints (loaded in <head>, so no flash of the wrong one).
(function () {
  var saved = null;
  try { saved = window.localStorage.getItem("wm-theme"); } catch (e) { saved = null; }
  if (saved === "light" || saved === "dark") {
    document.documentElement.setAttribute("data-theme", saved);
  }
})();
