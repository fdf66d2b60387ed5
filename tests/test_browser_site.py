"""The built demo site in headless Chromium (Debian's `chromium`, driven by Playwright).

Builds content/ into a temporary folder, serves it with the standard library's
http.server on 127.0.0.1 and checks what a reader sees: math, footnotes,
callouts, highlighted code, dark mode, keyboard use, link previews, the mobile
layout, and that no page asks any other host for anything.
"""

from __future__ import annotations

import functools
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import pytest

from kb.build import build
from kb.config import load_config

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
VAULT = ROOT / "content"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # keep pytest output clean
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[tuple[str, object]]:
    """(base URL of the served demo site, BuildResult)."""
    out = tmp_path_factory.mktemp("browser") / "site"
    result = build(VAULT, out, load_config(VAULT / "kb.toml"), embed=False)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(out)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", result
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def shots(tmp_path) -> Path:
    d = tmp_path / "screenshots"
    d.mkdir()
    return d


class Watch:
    """Records every request a page makes; anything not for 127.0.0.1 is aborted, not sent."""

    def __init__(self, context) -> None:
        self.foreign: list[str] = []
        self.failed: list[str] = []
        context.route("**/*", self._route)

    def _route(self, route) -> None:
        url = route.request.url
        if urlparse(url).scheme in ("data", "blob") or urlparse(url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            self.foreign.append(url)
            route.abort()


def new_page(browser, **kw):
    context = browser.new_context(**kw)
    context.set_default_timeout(5000)  # a local static site answers at once; fail fast
    watch = Watch(context)
    page = context.new_page()
    page.on("response", lambda r: r.status >= 400 and watch.failed.append(f"{r.status} {r.url}"))
    return context, page, watch


def note_url(result, title: str) -> str:
    (note,) = [n for n in result.ctx.notes.values() if n.title == title]
    return result.ctx.config.prefix + note.url


def test_math_is_rendered_and_visible(site, browser, shots):
    base, result = site
    context, page, _ = new_page(browser)
    page.goto(base + note_url(result, "Math in notes"))
    inline = page.locator(".note-body p math").first
    inline.wait_for()
    box = inline.bounding_box()
    assert box and box["width"] > 10 and box["height"] > 5
    block = page.locator(".note-body math[display=block]").first
    bbox = block.bounding_box()
    assert bbox and bbox["width"] > 50 and bbox["height"] > 15
    body = page.locator(".note-body").inner_text()
    assert "a coffee is $4 and a cake $6" in body  # dollar amounts are not math
    assert "\\frac" not in body and "$$" not in body
    page.screenshot(path=str(shots / "math.png"), full_page=True)
    context.close()


def test_footnotes_highlight_comments_and_code(site, browser, shots):
    base, result = site
    context, page, _ = new_page(browser)
    page.goto(base + note_url(result, "Markdown tour"))
    refs = page.locator("sup.footnote-ref a")
    assert refs.count() == 3
    refs.first.click()
    assert page.evaluate("location.hash") == "#fn1"
    assert page.locator("#fn1").is_visible()
    assert "rarely number themselves" in page.locator(".footnotes").inner_text()
    assert "Inline footnotes need no label" in page.locator(".footnotes").inner_text()
    # ==highlight== is a <mark>, %%comments%% are gone
    mark = page.locator(".note-body mark").first
    assert mark.inner_text() == "highlighted text" and mark.is_visible()
    text = page.locator(".note-body").inner_text()
    assert "%%" not in text and "like this one" not in text and "several lines" not in text
    # code is highlighted at build time: coloured spans, different from plain text
    keyword = page.locator("pre.highlight code.language-python span.k").first
    plain = page.locator("pre.highlight code.language-python").first
    assert keyword.inner_text() in ("from", "import", "def", "return")
    assert keyword.evaluate("e => getComputedStyle(e).color") != plain.evaluate("e => getComputedStyle(e).color")
    assert page.locator("pre.highlight code.language-rust span").count() > 10
    # task list and table
    assert page.locator(".task-list-item input[type=checkbox]:checked").count() == 2
    assert page.locator(".note-body table th").first.inner_text() == "Tool"
    page.screenshot(path=str(shots / "tour.png"), full_page=True)
    context.close()


def test_callouts(site, browser, shots):
    base, result = site
    context, page, _ = new_page(browser)
    page.goto(base + note_url(result, "Callouts"))
    note = page.locator(".callout[data-callout=note]").first
    assert note.is_visible()
    assert note.evaluate("e => getComputedStyle(e).borderLeftWidth") == "4px"
    folded = page.locator("details.callout[data-callout=tip]")
    assert folded.get_attribute("open") is None
    assert not folded.get_by_text("Folded callouts start closed").is_visible()
    folded.locator("summary").click()
    assert folded.get_by_text("Folded callouts start closed").is_visible()
    assert page.locator("details.callout[data-callout=warning]").get_attribute("open") is not None
    nested = page.locator(".callout[data-callout=info] .callout[data-callout=question]")
    assert nested.is_visible()
    custom = page.locator(".callout[data-callout=recipe]")
    assert "A custom type with its own title" in custom.inner_text()
    assert "[!" not in page.locator(".note-body").inner_text()
    page.screenshot(path=str(shots / "callouts.png"), full_page=True)
    context.close()


def test_links_embeds_and_images(site, browser):
    base, result = site
    context, page, watch = new_page(browser)
    page.goto(base + note_url(result, "Links and embeds"))
    assert page.locator(".note-body .unresolved", has_text="Someday maybe").is_visible()
    assert page.locator(".embed", has_text="Evergreen notes are written to be useful").is_visible()
    assert page.locator(".embed", has_text="kb turns every formula into MathML").is_visible()
    img = page.locator("img[src$='garden-landscape.png']").first
    img.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
    assert img.evaluate("i => i.getBoundingClientRect().width") == 300
    assert img.get_attribute("alt") == "Green hills under a yellow sun"  # ![[…|text|300]]
    # every internal link goes to a page that exists
    hrefs = page.eval_on_selector_all(".note-body a.internal", "els => els.map(e => e.href)")
    assert len(hrefs) >= 6
    for href in sorted(set(hrefs)):
        assert page.request.get(href).ok, href
    assert watch.failed == []
    context.close()


def test_dark_mode_follows_system_and_toggle(site, browser, shots):
    base, result = site
    bg = "() => getComputedStyle(document.body).backgroundColor"
    context, page, _ = new_page(browser, color_scheme="light")
    page.goto(base + note_url(result, "Markdown tour"))
    light = page.evaluate(bg)
    toggle = page.locator("#theme-toggle")
    assert toggle.get_attribute("aria-pressed") == "false"
    toggle.click()
    dark = page.evaluate(bg)
    assert dark != light
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert toggle.get_attribute("aria-pressed") == "true"
    page.screenshot(path=str(shots / "dark.png"))
    page.reload()  # the choice is remembered
    assert page.evaluate(bg) == dark
    context.close()
    context, page, _ = new_page(browser, color_scheme="dark")
    page.goto(base + "/")
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert page.evaluate(bg) == dark
    context.close()


def test_without_javascript_the_system_theme_holds_and_the_search_box_is_hidden(site, browser):
    base, result = site
    bg = "() => getComputedStyle(document.body).backgroundColor"
    code = "() => getComputedStyle(document.querySelector('.highlight')).backgroundColor"
    looks = {}
    for js in (True, False):
        context, page, _ = new_page(browser, color_scheme="dark", java_script_enabled=js)
        page.goto(base + note_url(result, "Markdown tour"))
        looks[js] = (page.evaluate(bg), page.evaluate(code), page.locator("#search-input").is_visible())
        context.close()
    assert looks[False][:2] == looks[True][:2]  # the same dark page and dark code blocks
    assert looks[True][2] and not looks[False][2]  # a search box that cannot work is not shown


def test_keyboard_skip_link_and_focus(site, browser):
    base, result = site
    context, page, _ = new_page(browser)
    page.goto(base + note_url(result, "Callouts"))
    page.keyboard.press("Tab")
    skip = page.locator("a.skip")
    assert page.evaluate("document.activeElement.className") == "skip"
    box = skip.bounding_box()
    assert box and box["y"] >= 0 and box["x"] >= 0  # on screen once focused
    assert skip.evaluate("e => getComputedStyle(e).outlineStyle") != "none"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "search-input"
    context.close()


def test_link_preview_on_hover_and_focus(site, browser):
    base, result = site
    context, page, _ = new_page(browser)
    page.goto(base + note_url(result, "Links and embeds"))
    link = page.locator(".note-body a.internal", has_text="Evergreen notes").first
    link.hover()
    pop = page.locator(".kb-preview")
    pop.wait_for(state="visible")
    assert "Evergreen notes" in pop.inner_text()
    assert "written to be useful for years" in pop.inner_text()
    assert link.get_attribute("aria-describedby") == "kb-preview"
    assert page.evaluate("document.querySelectorAll('.kb-preview [id]').length") == 0
    page.keyboard.press("Escape")
    assert not pop.is_visible()
    # keyboard: focusing a link previews it too
    page.mouse.move(0, 0)
    section = page.locator(".note-body a.internal", has_text="Math in notes > Display math").first
    section.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    pop.wait_for(state="visible")
    assert "Display math" in pop.inner_text()
    context.close()


def test_mobile_layout_has_no_horizontal_scroll(site, browser, shots):
    base, result = site
    context, page, watch = new_page(browser, viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    urls = ["/", "/tags/", "/archive/", "/404.html"] + [note_url(result, n.title) for n in result.ctx.notes.values()]
    wide = []
    for url in urls:
        page.goto(base + url)
        sw, cw = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        if sw > cw:
            wide.append(f"{url}: {sw} > {cw}")
    assert wide == []
    page.goto(base + note_url(result, "Markdown tour"))
    page.screenshot(path=str(shots / "mobile.png"), full_page=True)
    assert watch.foreign == []
    context.close()


def test_print_hides_chrome_and_opens_folded_callouts(site, browser):
    base, result = site
    context, page, _ = new_page(browser)
    page.goto(base + note_url(result, "Callouts"))
    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible()
    assert not page.locator(".backlinks").is_visible()
    assert page.locator(".note-body").is_visible()
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(255, 255, 255)"
    context.close()


def test_no_request_leaves_the_site(site, browser):
    """Every page, light and dark, loads only from 127.0.0.1 and nothing is missing."""
    base, result = site
    out = result.ctx.out
    pages = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html"))
    assert len(pages) >= 25
    context, page, watch = new_page(browser)
    for rel in pages:
        page.goto(f"{base}/{rel}")
        page.wait_for_load_state("load")
        page.locator("#theme-toggle").click()  # dark styles may pull other resources
        page.locator("#search-input").focus()  # the search script loads on focus
        page.wait_for_timeout(50)
    assert watch.foreign == []
    # pages, styles, scripts and images all load (the search index may be absent: built with embed=False)
    missing = [f for f in watch.failed if f.rsplit(".", 1)[-1] in ("html", "css", "js", "png", "svg") or f.endswith("/")]
    assert missing == []
    context.close()


CONTRAST_JS = """
(selectors) => {
  function parse(c) {
    let m = c.match(/^rgba?\\(([^)]+)\\)/);
    if (m) { const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; }
    m = c.match(/^color\\(srgb ([^)]+)\\)/);
    if (m) { const p = m[1].split(/[ \\/]+/).filter(Boolean).map(Number); return [p[0] * 255, p[1] * 255, p[2] * 255, p.length > 3 ? p[3] : 1]; }
    throw new Error("unparsed colour " + c);
  }
  function over(top, under) {
    const a = top[3];
    return [0, 1, 2].map(i => top[i] * a + under[i] * (1 - a)).concat([1]);
  }
  function background(el) {
    const chain = [];
    for (let e = el; e; e = e.parentElement) chain.push(parse(getComputedStyle(e).backgroundColor));
    let bg = [255, 255, 255, 1];
    for (const c of chain.reverse()) bg = over(c, bg);
    return bg;
  }
  function lum(c) {
    const [r, g, b] = c.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }
  const out = [];
  for (const sel of selectors) {
    const el = document.querySelector(sel);
    if (!el) { out.push([sel, null]); continue; }
    const bg = background(el);
    const fg = over(parse(getComputedStyle(el).color), bg);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    out.push([sel, (hi + 0.05) / (lo + 0.05)]);
  }
  return out;
}
"""
CONTRAST_SELECTORS = [
    "body", ".site-nav a", ".note-meta", "a.tag", ".note-body a.internal", ".backlinks .context", ".site-footer",
    ".callout[data-callout=note] .callout-title", "details.callout[data-callout=tip] > summary",
    "details.callout[data-callout=warning] > summary", ".callout[data-callout=danger] .callout-title",
    ".callout[data-callout=question] .callout-title", ".callout[data-callout=quote] .callout-title", "#search-input",
]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_contrast_meets_wcag_aa(site, browser, scheme):
    """Body text, links, tags, muted text and callout titles reach 4.5:1 in both themes."""
    base, result = site
    context, page, _ = new_page(browser, color_scheme=scheme)
    page.goto(base + note_url(result, "Callouts"))
    ratios = page.evaluate(CONTRAST_JS, CONTRAST_SELECTORS)
    missing = [sel for sel, r in ratios if r is None]
    assert missing == []
    low = [f"{sel}: {r:.2f}" for sel, r in ratios if r < 4.5]
    assert low == []
    context.close()
