// Theme toggle. Search lives in search.js, loaded on first focus of the box.
(function () {
  var btn = document.getElementById("theme-toggle");
  if (btn) {
    btn.addEventListener("click", function () {
      var next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
      document.documentElement.dataset.theme = next;
      try { localStorage.setItem("kb-theme", next); } catch (e) {}
    });
  }
})();
