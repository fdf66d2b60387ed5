"""```mermaid blocks: marked by the parser, mermaid vendored into static/mermaid/ only when a note has
one, pages with a diagram load it and Chromium draws it; broken diagrams, `mermaid = false`, an
unreachable registry and kb serve's incremental rebuilds all keep what the reader sees right.

mermaid comes from the user cache that `make setup` fills (python -m kb.emit.diagrams fetch)."""

from __future__ import annotations

import functools
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import write_vault

from kb.build import build
from kb.config import Config
from kb.emit.diagrams import MERMAID, MERMAID_DIR
from kb.markdown import make_md
from kb.rebuild import Rebuilder
from kb.vendor import Unavailable, tarball

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]
CFG = Config(base_url="https://example.org/")
FLOW = "```mermaid\nflowchart LR\n  A[Capture] --> B{Useful?}\n  B -- yes --> C[Link it]\n```\n"
BROKEN = "```mermaid\nflowchart LR\n  A -->\n```\n"
SCRIPT = '<script type="module" src="/static/diagrams.js"></script>'


@pytest.fixture(scope="module", autouse=True)
def mermaid_cached() -> None:
    try:
        tarball(MERMAID, fetch=False)
    except Unavailable as exc:  # make setup fetches it; without it these tests cannot say anything
        pytest.fail(f"{exc}: run `make setup` (python -m kb.emit.diagrams fetch)")


def test_mermaid_block_is_marked_and_its_source_escaped():
    html = make_md().render("```mermaid\nflowchart LR\n  A[<script>x</script>] --> B\n```\n")
    assert '<figure class="plugin-block" data-diagram="mermaid">' in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "data-diagram" not in make_md().render("```dataview\nLIST\n```\n")  # other plugin blocks: source only


def test_mermaid_vendored_only_for_pages_with_a_diagram(tmp_path):
    site = build(write_vault(tmp_path / "v", {"d.md": "# D\n\n" + FLOW, "p.md": "# P\nplain\n"}), tmp_path / "s", CFG).ctx.out
    assert (site / MERMAID_DIR / "mermaid.esm.min.mjs").is_file() and (site / MERMAID_DIR / "LICENSE").is_file()
    chunks = list((site / MERMAID_DIR / "chunks" / "mermaid.esm.min").glob("*.mjs"))
    assert len(chunks) > 50 and not list(site.rglob("*.map"))  # the modules it imports, no source maps
    assert SCRIPT in (site / "d" / "index.html").read_text()
    assert "diagrams.js" not in (site / "p" / "index.html").read_text()

    plain = build(write_vault(tmp_path / "v2", {"p.md": "# P\nplain\n"}), tmp_path / "s2", CFG).ctx.out
    assert not (plain / MERMAID_DIR).exists()  # no diagram: 5 MB less to deploy

    off = build(tmp_path / "v", tmp_path / "s3", Config(base_url="https://example.org/", mermaid=False)).ctx.out
    assert not (off / MERMAID_DIR).exists()
    page = (off / "d" / "index.html").read_text()
    assert "diagrams.js" not in page and "flowchart LR" in page  # the source, as before


def test_unreachable_mermaid_keeps_the_source_and_says_why(tmp_path, monkeypatch):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), SimpleHTTPRequestHandler)
    port = srv.server_address[1]
    srv.server_close()  # a registry nobody listens on
    monkeypatch.setenv("KB_CACHE_HOME", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("KB_NPM_REGISTRY", f"http://127.0.0.1:{port}")
    r = build(write_vault(tmp_path / "v", {"d.md": "# D\n\n" + FLOW}), tmp_path / "s", CFG)
    site = r.ctx.out
    (d,) = r.diagnostics  # a warning like any other: --strict fails on it
    assert (d.path, d.code) == ("d.md", "mermaid") and d.message.startswith("diagrams show as their source: cannot fetch")
    assert not (site / MERMAID_DIR).exists()
    page = (site / "d" / "index.html").read_text()
    assert "diagrams.js" not in page and "Mermaid diagram source" in page


def _files(root: Path) -> dict[str, bytes]:
    """The site less search/, which kb serve refreshes in the background (kb.search.live)."""
    files = (p for p in sorted(root.rglob("*")) if p.is_file())
    return {rel: p.read_bytes() for p in files if not (rel := p.relative_to(root).as_posix()).startswith("search/")}


def test_serve_brings_mermaid_in_with_the_first_diagram_and_out_with_the_last(tmp_path):
    vault = write_vault(tmp_path / "v", {"a.md": "# A\nplain\n", "b.md": "# B\nplain too\n"})
    ctx = build(vault, tmp_path / "site", CFG, embed=False).ctx
    rb = Rebuilder(ctx)
    for text in ("# A\n\n" + FLOW, "# A\nplain again\n"):
        write_vault(vault, {"a.md": text})
        rb.apply({"a.md"})
        fresh = build(vault, tmp_path / "fresh", CFG, embed=False).ctx.out
        got, want = _files(ctx.out), _files(fresh)
        assert sorted(got) == sorted(want)
        assert [rel for rel in want if got[rel] != want[rel]] == []
    assert not (ctx.out / MERMAID_DIR).exists()


# --- what a reader sees ---

class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


@pytest.mark.browser
def test_chromium_draws_diagrams_and_shows_the_source_of_a_broken_one(tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM):
        pytest.skip("chromium not installed")
    site = build(write_vault(tmp_path / "v", {"d.md": "# D\n\n" + FLOW + "\ntext\n\n" + BROKEN}), tmp_path / "s", CFG).ctx.out
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"http://127.0.0.1:{server.server_port}/d/")
            page.wait_for_selector("figure.drawn svg", timeout=30000)
            page.wait_for_function("document.querySelectorAll('figure[data-diagram] figcaption')[1].textContent.includes('could not')")
            drawn, broken = page.evaluate("""[...document.querySelectorAll('figure[data-diagram]')].map(f => ({
                svg: f.querySelector('.diagram svg')?.getBoundingClientRect().width || 0,
                labels: [...f.querySelectorAll('.diagram svg .nodeLabel')].map(n => n.textContent.trim()),
                source: f.querySelector('pre').checkVisibility(),
                name: f.querySelector('.diagram svg')?.getAttribute('aria-label'),
                folded: !!f.querySelector('details.diagram-source:not([open]) > pre'),
                caption: f.querySelector('figcaption').textContent}))""")
            assert drawn["svg"] > 100 and not drawn["source"]
            # a screen reader gets a named picture and the source as its text alternative, folded below it
            assert drawn["name"] == "Diagram; its Mermaid source follows" and drawn["folded"]
            assert {"Capture", "Useful?", "Link it"} <= set(drawn["labels"])
            assert broken["svg"] == 0 and broken["source"] and "Mermaid could not draw this diagram" in broken["caption"]
            # the theme toggle draws it again in the dark palette
            light = page.evaluate("getComputedStyle(document.querySelector('.diagram svg .node rect')).fill")
            page.evaluate("document.documentElement.dataset.theme = 'dark'")
            page.wait_for_function(f"getComputedStyle(document.querySelector('.diagram svg .node rect')).fill !== {light!r}")
            assert not errors
            browser.close()
    finally:
        server.shutdown()
