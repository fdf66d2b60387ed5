"""The search box in headless Chromium: semantic hit with the real model, keyboard navigation,
and a clear message (not a broken page) when the index is missing or malformed."""

from __future__ import annotations

import functools
import re
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from search_vaults import SAME_TITLES, SEMANTIC_VAULT, vault

from kb.build import build
from kb.config import Config, SearchConfig

pytestmark = pytest.mark.browser
playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]



class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture
def serve():
    servers = []

    def _serve(root: Path) -> str:
        handler = functools.partial(Quiet, directory=str(root))
        srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}/"

    yield _serve
    for s in servers:
        s.shutdown()


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def site(tmp_path: Path, files: dict[str, str], model: str) -> Path:
    from conftest import write_vault

    v = write_vault(tmp_path / "vault", files)
    cfg = Config(base_url="http://127.0.0.1/", search=SearchConfig(model=model))
    return build(v, tmp_path / "site", cfg, embed=True).ctx.out


def results(page, query: str) -> list[str]:
    """Titles shown once the results of `query` (not of a prefix typed on the way) are rendered."""
    page.wait_for_function("q => document.getElementById('search-results').getAttribute('data-query') === q",
                           arg=query, timeout=30000)
    return page.locator("#search-results li .r-title").all_inner_texts()


@pytest.mark.slow
def test_semantic_query_without_title_words_finds_note(tmp_path, serve, browser):
    out = site(tmp_path, SEMANTIC_VAULT, "")
    page = browser.new_page()
    page.goto(serve(out) + "bread/")
    page.click("#search-input")
    page.keyboard.type("read my writing on an iPhone")  # no word of "Sync your notes across devices"
    titles = results(page, "read my writing on an iPhone")
    assert "Sync your notes across devices" in titles[:3]
    page.close()


def test_keyboard_navigation_opens_result(tmp_path, serve, browser):
    out = site(tmp_path, vault(10), "hash")
    page = browser.new_page()
    page.goto(serve(out))
    page.click("#search-input")
    page.keyboard.type("sourdough flour")
    assert results(page, "sourdough flour")[0].startswith("Bread note")
    page.keyboard.press("ArrowDown")
    selected = page.locator("#search-results a[role=option][aria-selected=true]")
    assert selected.count() == 1
    href = selected.get_attribute("href")
    page.keyboard.press("Enter")
    page.wait_for_url("**" + href)
    assert page.locator("h1").first.inner_text().startswith("Bread note")
    page.click("#search-input")
    page.keyboard.type("metronome")
    results(page, "metronome")
    on_top = """() => { const r = document.getElementById('search-status').getBoundingClientRect();
      const e = document.elementFromPoint(r.left + 4, r.top + r.height / 2); return !!e && e.id === 'search-status'; }"""
    assert page.evaluate(on_top)  # the status line is not hidden under the open list
    page.keyboard.press("Escape")
    page.wait_for_timeout(200)  # a search still pending from the typing (80 ms) must not reopen it
    assert page.locator("#search-results").is_hidden() and page.input_value("#search-input") == "metronome"
    page.keyboard.press("Escape")  # the second one clears the box
    assert page.input_value("#search-input") == ""
    page.fill("#search-input", "")
    page.keyboard.type("xqzvplk wrrbtt")  # no note has these words: the nearest by meaning, and the box says so
    assert results(page, "xqzvplk wrrbtt")
    assert page.locator("#search-status").inner_text().startswith("No note contains these words")
    page.fill("#search-input", "")
    page.keyboard.type("metronome")
    results(page, "metronome")
    assert page.locator("#search-status").inner_text().endswith(" results")
    page.close()


def test_results_popup_closes_like_a_popup(tmp_path, serve, browser):
    out = site(tmp_path, vault(10), "hash")
    page = browser.new_page(viewport={"width": 375, "height": 700}, device_scale_factor=2, is_mobile=True)
    page.goto(serve(out))
    page.click("#search-input")
    page.keyboard.type("xqzvplk wrrbtt")  # the long status line wraps on a phone
    assert results(page, "xqzvplk wrrbtt")
    assert page.get_attribute("#search-input", "aria-expanded") == "true"
    first, status = (page.locator(sel).first.bounding_box() for sel in ("#search-results li", "#search-status"))
    assert status["y"] + status["height"] <= first["y"] + 0.5  # above the results, never over them
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Escape")
    assert page.locator("#search-popup").is_hidden() and page.get_attribute("#search-input", "aria-expanded") == "false"
    assert page.get_attribute("#search-input", "aria-activedescendant") is None
    page.keyboard.press("ArrowDown")  # reopens the list; nothing hidden was chosen meanwhile
    assert page.locator("#search-results").is_visible()
    assert page.locator("#search-results [aria-selected=true]").count() == 0
    page.mouse.click(5, 650)  # a tap elsewhere closes it
    assert page.locator("#search-popup").is_hidden()
    page.click("#search-input")
    assert page.locator("#search-results").is_visible()
    page.keyboard.press("Tab")  # and so does leaving the box
    assert page.locator("#search-popup").is_hidden()
    page.close()


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two computed `rgb(r, g, b)` colours."""
    def lum(c: str) -> float:
        rgb = [int(x) / 255 for x in re.findall(r"\d+", c)[:3]]
        lin = [x / 12.92 if x <= 0.04045 else ((x + 0.055) / 1.055) ** 2.4 for x in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_results_are_link_options_with_short_names_and_a_visible_choice(tmp_path, serve, browser):
    out = site(tmp_path, vault(10, sections=2), "hash")
    page = browser.new_page()
    page.goto(serve(out))
    page.click("#search-input")
    page.keyboard.type("sourdough flour")
    titles = results(page, "sourdough flour")
    options = page.locator("#search-results [role=option]")
    assert options.count() == len(titles) > 1
    # the option is the link itself: nothing focusable nested in it (axe nested-interactive), and the
    # listbox's other elements are out of the accessibility tree
    assert page.locator("#search-results [role=option] :is(a, button, input, [tabindex])").count() == 0
    assert page.evaluate("""() => Array.from(document.querySelectorAll('#search-results [role=option]'))
      .every(o => o.matches('a[href]') && o.parentElement.getAttribute('role') === 'presentation')""")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    active = page.get_attribute("#search-input", "aria-activedescendant")
    assert page.evaluate("id => document.getElementById(id).matches('[role=option][aria-selected=true]')", active)
    # names: title and heading, not the snippet; the snippet is the description
    cdp = page.context.new_cdp_session(page)
    nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    named = [n for n in nodes if n.get("role", {}).get("value") == "option" and not n.get("ignored")]
    snippets = page.locator("#search-results .r-snippet").all_inner_texts()
    assert len(named) == len(titles) and len(snippets) == len(titles)
    for n, title, snippet in zip(named, titles, snippets, strict=True):
        name, desc = n["name"]["value"], n.get("description", {}).get("value", "")
        assert name.startswith(title) and len(name) < len(title) + 40 and snippet not in name, name
        assert desc == snippet
    # the arrow keys' choice is marked by more than the hover tint: an outline of 3:1 or more against
    # both the popup and the row's own background, in both themes; a hovered row has none
    page.hover("#search-results li:nth-child(1)")
    look = """id => { const o = document.getElementById(id), mark = getComputedStyle(o, '::after');
      const first = getComputedStyle(document.querySelector('#search-results [role=option]'), '::after');
      return [mark.outlineColor, parseFloat(mark.outlineWidth), mark.outlineStyle, first.outlineStyle,
              getComputedStyle(o.parentElement).backgroundColor,
              getComputedStyle(document.getElementById('search-popup')).backgroundColor]; }"""
    for theme in ("light", "dark"):
        page.evaluate("t => document.documentElement.setAttribute('data-theme', t)", theme)
        colour, width, style, hovered_style, row, popup = page.evaluate(look, active)
        assert width >= 2 and style == "solid" and hovered_style == "none", theme
        assert min(contrast(colour, row), contrast(colour, popup)) >= 3, (theme, colour, row, popup)
    # a click anywhere on the row, its snippet included, follows the link
    href = page.get_attribute("#" + active, "href")
    box = page.locator(f"#{active} ~ .r-snippet").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    assert page.evaluate("([x, y, id]) => document.elementFromPoint(x, y).id === id", [x, y, active])
    page.mouse.click(x, y)
    page.wait_for_url("**" + href)
    page.close()


@pytest.mark.parametrize("damage", ["missing", "malformed", "incomplete"])
def test_broken_index_shows_message(tmp_path, serve, browser, damage):
    out = site(tmp_path, vault(5), "hash")
    if damage == "missing":
        shutil.rmtree(out / "search")
    elif damage == "malformed":
        (out / "search" / "index.bin").write_bytes(b"not an index at all")
    else:  # valid JSON that lost its entries: named, not a 404 of a file called NaN
        (out / "search" / "manifest.json").write_text('{"format": "kb-search", "version": 2, "mode": "int8"}')
    errors: list[str] = []
    page = browser.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(serve(out))
    page.click("#search-input")
    page.wait_for_function("document.getElementById('search-status').textContent.includes('unavailable')")
    status = page.locator("#search-status").inner_text()
    assert "Rebuild the site" in status
    assert {"missing": "HTTP 404", "malformed": "bad magic", "incomplete": "incomplete, no bm25_shards"}[damage] in status
    page.keyboard.type("bread")
    assert page.locator("#search-results").is_hidden() and not errors
    assert page.locator("h1").count() >= 0 and page.title()  # the page itself still works
    page.close()


def test_enter_right_after_typing_opens_what_the_box_says(tmp_path, serve, browser):
    from kb.search.query import SiteIndex

    out = site(tmp_path, vault(10), "hash")
    want = SiteIndex(out).search("metronome", k=1)[0]
    page = browser.new_page()
    base = serve(out)
    page.goto(base)
    page.click("#search-input")
    page.keyboard.type("sourdough flour")
    assert results(page, "sourdough flour")[0].startswith("Bread note")
    page.fill("#search-input", "metronome")  # and Enter before the search of it has run
    page.keyboard.press("Enter")
    page.wait_for_url("**/" + want.url + "**")
    page.goto(base)
    page.click("#search-input")
    page.keyboard.type("sourdough")
    results(page, "sourdough")
    page.fill("#search-input", "")
    page.keyboard.press("Enter")  # an empty box opens nothing
    page.wait_for_timeout(300)
    assert page.url == base
    page.close()


def test_a_network_failure_is_retried_and_not_blamed_on_the_index(tmp_path, serve, browser):
    # a visitor on a flaky connection: one failed fetch must not end search for the page, nor tell
    # them to rebuild a site that is fine
    out = site(tmp_path, vault(10), "hash")
    context = browser.new_context()
    page = context.new_page()
    page.goto(serve(out))
    page.click("#search-input")
    page.keyboard.type("sourdough")
    assert results(page, "sourdough")
    context.set_offline(True)
    page.fill("#search-input", "metronome guitar")  # shards not fetched yet
    page.wait_for_function("document.getElementById('search-status').textContent.includes('could not')")
    status = page.locator("#search-status").inner_text()
    assert "Rebuild" not in status and "try again" in status
    assert page.locator("#search-results li").count() == 0  # no stale results under the new query
    context.set_offline(False)
    page.keyboard.type(" chords")  # the next keystroke tries again
    assert results(page, "metronome guitar chords")[0].startswith("Music note")
    assert page.locator("#search-status").inner_text().endswith(" results")
    context.set_offline(True)
    page.fill("#search-input", "tomatoes compost")
    page.wait_for_function("document.getElementById('search-status').textContent.includes('could not')")
    context.set_offline(False)  # coming back online is enough: the box searches again by itself
    assert results(page, "tomatoes compost")[0].startswith("Garden note")
    context.close()


def test_one_result_is_one_result(tmp_path, serve, browser):
    out = tmp_path / "site"
    from conftest import write_vault

    v = write_vault(tmp_path / "vault", vault(5))
    build(v, out, Config(base_url="http://127.0.0.1/"), embed=False)  # lexical only: exact matches
    page = browser.new_page()
    page.goto(serve(out))
    page.click("#search-input")
    page.keyboard.type("metronome")
    assert len(results(page, "metronome")) == 1
    assert page.locator("#search-status").inner_text() == "1 result"
    page.close()


def option_names(page) -> list[str]:
    """The accessible names of the shown options, in order."""
    nodes = page.context.new_cdp_session(page).send("Accessibility.getFullAXTree")["nodes"]
    return [n["name"]["value"] for n in nodes if n.get("role", {}).get("value") == "option" and not n.get("ignored")]


def test_results_of_notes_with_the_same_title_show_their_paths(tmp_path, serve, browser):
    from conftest import write_vault

    out = tmp_path / "site"
    build(write_vault(tmp_path / "vault", SAME_TITLES), out, Config(base_url="http://127.0.0.1/"), embed=False)
    page = browser.new_page()
    page.goto(serve(out))
    page.click("#search-input")
    page.keyboard.type("plugins")  # every note has the word: both "Obsidian" notes, "Hub" and "Unique"
    titles = results(page, "plugins")
    assert sorted(titles) == ["Hub", "Obsidian", "Unique", "obsidian"]
    paths = page.evaluate("""() => Array.from(document.querySelectorAll('#search-results [role=option]'))
      .map(o => { const p = o.querySelector('.r-path'); return p ? p.textContent : null; })""")
    shown = dict(zip(titles, paths, strict=True))
    assert shown == {"Obsidian": "people/Gnopps", "obsidian": "R&D/Obsidian", "Hub": None, "Unique": None}
    names = option_names(page)  # a screen reader hears them apart too
    assert "Obsidian people/Gnopps" in names and "obsidian R&D/Obsidian" in names and "Hub" in names
    # the path sits on the title's line, quieter than the title and readable in both themes
    look = """() => { const p = document.querySelector('#search-results .r-path'), t = p.previousElementSibling;
      const a = p.getBoundingClientRect(), b = t.getBoundingClientRect();
      return [Math.abs(a.bottom - b.bottom), getComputedStyle(p).color, getComputedStyle(t).color,
              getComputedStyle(document.getElementById('search-popup')).backgroundColor]; }"""
    for theme in ("light", "dark"):
        page.evaluate("t => document.documentElement.setAttribute('data-theme', t)", theme)
        gap, colour, title_colour, popup = page.evaluate(look)
        assert gap < 4 and colour != title_colour, theme
        assert contrast(colour, popup) >= 4.5, (theme, colour, popup)
    page.close()


def test_related_notes_with_the_same_title_show_their_paths_quietly(tmp_path, serve, browser):
    out = site(tmp_path, SAME_TITLES, "hash")
    page = browser.new_page()
    page.goto(serve(out) + "hub/")
    rows = page.locator(".related li")
    texts = [" ".join(t.split()) for t in rows.all_inner_texts()]
    assert sorted(texts) == ["Obsidian people/Gnopps", "Unique", "obsidian R&D/Obsidian"]
    look = """() => Array.from(document.querySelectorAll('.related .note-path')).map(p => {
      const a = p.previousElementSibling, r = p.getBoundingClientRect(), l = a.getBoundingClientRect();
      return [Math.abs(r.bottom - l.bottom), getComputedStyle(p).color, getComputedStyle(a).color,
              getComputedStyle(document.body).backgroundColor]; })"""
    for theme in ("light", "dark"):
        page.evaluate("t => document.documentElement.setAttribute('data-theme', t)", theme)
        spans = page.evaluate(look)
        assert len(spans) == 2, theme
        for gap, colour, link, background in spans:
            assert gap < 4 and colour != link, theme  # on the link's line, not in the link's colour
            assert contrast(colour, background) >= 4.5, (theme, colour, background)
    page.close()


def test_a_page_open_across_a_redeploy_searches_the_new_index(tmp_path, serve, browser):
    """The site is built and deployed again while a visitor's page is open: its search box read the old
    manifest.json and index.bin, and the shards it has not fetched yet are the new index's. It must
    notice (the build id in the meta files) and start over from the new index, not show a mix."""
    from conftest import write_vault

    files = vault(300, sections=2)
    out = site(tmp_path, files, "hash")
    url = serve(out)
    page = browser.new_page()
    page.goto(url)
    page.evaluate("window.__kbMarker = 1")
    page.click("#search-input")
    page.keyboard.type("metronome guitar")  # music/: chunks in the middle of the numbering
    assert results(page, "metronome guitar")[0].startswith("Music note")
    # a note that sorts first: every later chunk's number moves, so old and new files disagree
    bays = "\n\n".join(f"## Bay {i}\n\nAirship bay {i} by the hangar." for i in range(12))
    write_vault(tmp_path / "vault", {"aaa/zeppelin.md": f"# Zeppelin hangar\n\n{bays}\n"})
    build(tmp_path / "vault", out, Config(base_url="http://127.0.0.1/", search=SearchConfig(model="hash")), embed=True)
    query = "airship hangar bay"
    page.fill("#search-input", query)
    seen = results(page, query)
    assert "unavailable" not in page.inner_text("#search-status")
    fresh = browser.new_page()
    fresh.goto(url)
    fresh.click("#search-input")
    fresh.keyboard.type(query)
    assert seen == results(fresh, query) and seen[0] == "Zeppelin hangar"
    assert page.evaluate("window.__kbMarker") == 1  # the same page, not reloaded
    page.close()
    fresh.close()
