// Runs in <head> so the page never flashes the wrong theme.
// A saved choice (the toggle) wins; otherwise the system setting decides, live.
(function () {
  var saved = null;
  try { saved = localStorage.getItem("kb-theme"); } catch (e) {}
  var query = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  var dark = saved ? saved === "dark" : !!(query && query.matches);
  document.documentElement.dataset.theme = dark ? "dark" : "light";
  if (query && query.addEventListener) {
    query.addEventListener("change", function (e) {
      var still = null;
      try { still = localStorage.getItem("kb-theme"); } catch (err) {}
      if (!still) document.documentElement.dataset.theme = e.matches ? "dark" : "light";
    });
  }
})();
