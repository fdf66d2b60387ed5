// kb default theme: dark-mode toggle, "/" to search, print helpers, link previews.
// Search itself lives in its own script. Nothing here talks to another host.
(function () {
  "use strict";
  var root = document.documentElement;

  // --- dark mode toggle -------------------------------------------------
  var btn = document.getElementById("theme-toggle");
  function syncToggle() {
    if (btn) btn.setAttribute("aria-pressed", root.dataset.theme === "dark" ? "true" : "false");
  }
  if (btn) {
    syncToggle();
    btn.addEventListener("click", function () {
      var next = root.dataset.theme === "dark" ? "light" : "dark";
      root.dataset.theme = next;
      try { localStorage.setItem("kb-theme", next); } catch (e) {}
      syncToggle();
    });
    new MutationObserver(syncToggle).observe(root, { attributes: true, attributeFilter: ["data-theme"] });
  }

  // --- "/" focuses the search box (unless the user is typing somewhere) ----
  document.addEventListener("keydown", function (e) {
    if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    var box = document.getElementById("search-input");
    if (box) { e.preventDefault(); box.focus(); }
  });

  // --- boxes that scroll sideways can be scrolled from the keyboard ------
  // (Chromium makes such a box focusable by itself; Safari does not.) Only boxes that do overflow,
  // checked again when the window changes size, so Tab does not stop on every code block.
  // A code block also becomes a named region; a table or a formula keeps its own role and name.
  function markScrollers() {
    document.querySelectorAll("main pre, main table, main math").forEach(function (el) {
      var scrolls = el.scrollWidth > el.clientWidth + 1;
      if (scrolls && !el.hasAttribute("tabindex")) {
        var added = ["tabindex"];
        el.setAttribute("tabindex", "0");
        if (el.tagName === "PRE" && !el.hasAttribute("role")) {
          el.setAttribute("role", "region");
          el.setAttribute("aria-label", "Code (scrolls sideways)");
          added.push("role", "aria-label");
        }
        el.setAttribute("data-scroller", added.join(" "));
      } else if (!scrolls && el.hasAttribute("data-scroller")) {
        el.getAttribute("data-scroller").split(" ").forEach(function (a) { el.removeAttribute(a); });
        el.removeAttribute("data-scroller");
      }
    });
  }
  markScrollers();
  var resizing = null;
  window.addEventListener("resize", function () { clearTimeout(resizing); resizing = setTimeout(markScrollers, 150); });

  // --- print: open folded callouts and the contents so nothing is hidden --
  // Paper is white: print the light theme (and its code colours) even in dark mode.
  var reopen = [], themeBeforePrint = null;
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details:not([open])").forEach(function (d) { d.open = true; reopen.push(d); });
    themeBeforePrint = root.dataset.theme;
    root.dataset.theme = "light";
  });
  window.addEventListener("afterprint", function () {
    reopen.forEach(function (d) { d.open = false; });
    reopen = [];
    if (themeBeforePrint) root.dataset.theme = themeBeforePrint;
  });

  // --- link previews ------------------------------------------------------
  // Hovering (mouse) or keyboard-focusing an internal link shows the start of
  // the linked note, fetched from this same site. Touch devices get none: a tap
  // should simply follow the link.
  var SHOW_DELAY = 350, HIDE_DELAY = 250, MAX_CHARS = 700;
  var cache = Object.create(null);
  var pop = null, current = null, showTimer = 0, hideTimer = 0, lastPointer = "mouse";

  document.addEventListener("pointerdown", function (e) { lastPointer = e.pointerType || "mouse"; }, true);
  document.addEventListener("keydown", function () { lastPointer = "keyboard"; }, true);

  function previewable(a) {
    if (!a || !a.matches("main a.internal[href], main .backlinks a[href], main .related a[href]")) return false;
    if (a.closest(".kb-preview")) return false;
    var url = new URL(a.href, location.href);
    if (url.origin !== location.origin) return false;
    return url.pathname !== location.pathname;  // same-page anchors need no preview
  }

  function fetchPage(path) {
    if (!cache[path]) {
      cache[path] = fetch(path, { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
        .then(function (html) { return new DOMParser().parseFromString(html, "text/html"); });
    }
    return cache[path];
  }

  // The first few blocks of the note (or of the linked section), ids removed
  // so the page never gets duplicate ids.
  function excerpt(doc, hash) {
    var body = doc.querySelector(".note-body");
    if (!body) return null;
    var start = null;
    if (hash) {
      try { start = body.querySelector("#" + CSS.escape(decodeURIComponent(hash.slice(1)))); } catch (e) { start = null; }
    }
    var nodes = [], chars = 0;
    var el = start || body.firstElementChild;
    for (; el && chars < MAX_CHARS && nodes.length < 4; el = el.nextElementSibling) {
      if (el.matches(".footnotes, .footnotes-sep")) break;
      nodes.push(el);
      chars += el.textContent.length;
    }
    var box = document.createElement("div");
    box.className = "kb-preview-body";
    nodes.forEach(function (n) { box.appendChild(document.importNode(n, true)); });
    box.querySelectorAll("[id]").forEach(function (n) { n.removeAttribute("id"); });
    box.querySelectorAll("a, button, input, summary, [tabindex]").forEach(function (n) { n.setAttribute("tabindex", "-1"); });
    var title = doc.querySelector(".note-title");
    return { title: title ? title.textContent : doc.title, body: box };
  }

  function ensurePop() {
    if (pop) return pop;
    pop = document.createElement("div");
    pop.className = "kb-preview";
    pop.id = "kb-preview";
    pop.setAttribute("role", "tooltip");
    pop.hidden = true;
    pop.addEventListener("mouseenter", function () { clearTimeout(hideTimer); });
    pop.addEventListener("mouseleave", scheduleHide);
    document.body.appendChild(pop);
    return pop;
  }

  function place(a) {
    var r = a.getBoundingClientRect();
    var width = Math.min(420, document.documentElement.clientWidth - 16);
    pop.style.width = width + "px";
    var left = Math.max(8, Math.min(r.left + window.scrollX, window.scrollX + document.documentElement.clientWidth - width - 8));
    pop.style.left = left + "px";
    var below = r.bottom + 8;
    var h = pop.offsetHeight;
    var top = below + h > window.innerHeight && r.top - h - 8 > 0 ? r.top - h - 8 : below;
    pop.style.top = top + window.scrollY + "px";
  }

  function show(a) {
    var url = new URL(a.href, location.href);
    current = a;
    fetchPage(url.pathname).then(function (doc) {
      if (current !== a) return;
      var ex = excerpt(doc, url.hash);
      if (!ex) return;
      ensurePop();
      pop.textContent = "";
      var h = document.createElement("p");
      h.className = "kb-preview-title";
      h.textContent = ex.title;
      pop.appendChild(h);
      pop.appendChild(ex.body);
      pop.hidden = false;
      a.setAttribute("aria-describedby", "kb-preview");
      place(a);
    }).catch(function () { /* no preview for a page that does not load */ });
  }

  function hide() {
    clearTimeout(showTimer);
    if (current) current.removeAttribute("aria-describedby");
    current = null;
    if (pop) pop.hidden = true;
  }

  function scheduleShow(a) {
    clearTimeout(hideTimer);
    clearTimeout(showTimer);
    if (current === a && pop && !pop.hidden) return;
    showTimer = setTimeout(function () { show(a); }, SHOW_DELAY);
  }

  function scheduleHide() {
    clearTimeout(showTimer);
    clearTimeout(hideTimer);
    hideTimer = setTimeout(hide, HIDE_DELAY);
  }

  var canHover = window.matchMedia && window.matchMedia("(hover: hover) and (pointer: fine)").matches;
  if (canHover) {
    document.addEventListener("mouseover", function (e) {
      var a = e.target.closest && e.target.closest("a");
      if (previewable(a)) scheduleShow(a);
    });
    document.addEventListener("mouseout", function (e) {
      var a = e.target.closest && e.target.closest("a");
      if (a && a === current || previewable(a)) scheduleHide();
    });
  }
  document.addEventListener("focusin", function (e) {
    var a = e.target.closest && e.target.closest("a");
    if (lastPointer !== "touch" && previewable(a) && a.matches(":focus-visible")) scheduleShow(a);
  });
  document.addEventListener("focusout", function (e) {
    if (e.target === current) scheduleHide();
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && pop && !pop.hidden) hide();
  });
  window.addEventListener("scroll", function () { if (pop && !pop.hidden && current) place(current); }, { passive: true });
})();
