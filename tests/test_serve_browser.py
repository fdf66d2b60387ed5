"""Headless Chromium: an open page reloads by itself when its note is saved."""

from __future__ import annotations

import shutil
import time

import pytest

from kb.config import Config
from kb.serve.session import Session
from tests.conftest import write_vault

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]


@pytest.fixture
def page():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM):
        pytest.skip("chromium not installed")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser.new_page()
        browser.close()


def test_page_reloads_with_new_text_and_shows_errors(page, tmp_path):
    vault = write_vault(tmp_path / "vault", {"a.md": "# A\nfirst version\n", "b.md": "# B\nother\n"})
    s = Session(vault, tmp_path / "site", Config(base_url="http://localhost/"), port=0, embed=False, quiet=True)
    s.start()
    try:
        assert s.wait_idle(quiet=0.1)
        page.goto(s.url + "a/")
        assert "first version" in page.inner_text("main")
        page.evaluate("window.__kbMarker = 1")  # gone after a real reload
        _wait_for_client(s, 0)
        (vault / "b.md").write_text("# B\nunrelated edit\n", encoding="utf-8")
        assert s.wait_idle()
        assert page.evaluate("window.__kbMarker") == 1  # pages that did not change do not reload
        seen = s.http.hub.connects
        (vault / "a.md").write_text("# A\nsecond version\n", encoding="utf-8")
        page.wait_for_function("() => document.querySelector('main').innerText.includes('second version')", timeout=10000)
        assert page.evaluate("window.__kbMarker") is None
        _wait_for_client(s, seen)
        seen = s.http.hub.connects
        (vault / "a.md").write_text("# A\nbroken [[nowhere]]\n", encoding="utf-8")
        page.wait_for_selector(".build-problems", timeout=10000)
        assert "unresolved link [[nowhere]]" in (page.text_content(".build-problems") or "")
        _wait_for_client(s, seen)
        (vault / "a.md").write_text("# A\nfixed\n", encoding="utf-8")
        page.wait_for_function("() => document.querySelector('main').innerText.includes('fixed')", timeout=10000)
        assert page.query_selector(".build-problems") is None
        (vault / "a.md").write_bytes(b"# A\nhalf-saved \xe2\x82")  # not UTF-8: overlay, page kept
        page.wait_for_selector("#kb-live-errors", timeout=10000)
        assert "not valid UTF-8" in page.inner_text("#kb-live-errors")
        assert "fixed" in page.inner_text("main")
    finally:
        s.stop()


def _wait_for_client(s: Session, seen: int) -> None:
    """The (re)loaded page must be listening for events before the next edit is saved."""
    end = time.monotonic() + 10
    while s.http.hub.connects <= seen and time.monotonic() < end:
        time.sleep(0.02)
    assert s.http.hub.connects > seen


def test_an_open_page_searches_the_index_kb_serve_rewrote(page, tmp_path):
    # a page that is not reloaded (its own text did not change) keeps its search box: after the
    # index is rewritten, its queries must use the new files, not the manifest and index.bin it
    # read before, with the chunk numbers of the new ones
    from search_vaults import vault

    from kb.config import SearchConfig

    v = write_vault(tmp_path / "vault", vault(6, sections=2))
    cfg = Config(base_url="http://localhost/", search=SearchConfig(model="hash"))
    s = Session(v, tmp_path / "site", cfg, port=0, embed=True, quiet=True)
    s.start()
    try:
        assert s.wait_idle(quiet=0.1) and s.live is not None and s.live.wait_idle(60)
        page.goto(s.url + "archive/")
        # kb serve renders pages before its background index has vectors: the box still says what it will do
        assert page.get_attribute("#search-input", "placeholder") == "Search by meaning…"
        page.evaluate("window.__kbMarker = 1")
        _wait_for_client(s, 0)

        def top(query: str) -> str:
            page.fill("#search-input", query)
            page.wait_for_function("q => document.getElementById('search-results').getAttribute('data-query') === q"
                                   " || document.getElementById('search-status').textContent.includes('unavailable')",
                                   arg=query, timeout=10000)
            assert "unavailable" not in page.inner_text("#search-status")
            return page.locator("#search-results li a").first.get_attribute("href")

        page.click("#search-input")
        assert top("metronome guitar").startswith("/music/")
        n = len(s.http.hub.sent)
        new = "".join(f"\n## Part {i}\n\nKangaroo pouch number {i}.\n" for i in range(12))
        (v / "bread/note-001.md").write_text("# Bread note 1\n" + new, encoding="utf-8")  # 12 chunks ahead of the rest
        end = time.monotonic() + 60
        while not any(e == "search" for _, e, _ in s.http.hub.sent[n:]) and time.monotonic() < end:
            time.sleep(0.05)
        assert page.evaluate("window.__kbMarker") == 1  # the same page, not reloaded
        assert top("kangaroo pouch number 0") == "/bread/note-001/#part-0"
        assert top("python decorators generators").startswith("/python/")
        assert top("tomatoes compost").startswith("/garden/")
    finally:
        s.stop()
