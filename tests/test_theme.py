"""The default theme, without a browser: self-contained pages, accessibility hooks, note header."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kb.build import build
from kb.config import load_config

ROOT = Path(__file__).resolve().parents[1]
VAULT = ROOT / "content"
# attributes and CSS that make the browser fetch something
FETCHING = re.compile(r"""<(?:link|script|img|audio|video|source|iframe|object|embed)\b[^>]*?\b(?:href|src|data|srcset)="([^"]+)\"""")
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)|@import\s+['"]([^'"]+)""")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return build(VAULT, tmp_path_factory.mktemp("theme") / "site", load_config(VAULT / "kb.toml"), embed=False)


def test_pages_fetch_nothing_from_other_hosts(demo):
    out = demo.ctx.out
    pages = sorted(out.rglob("*.html"))
    assert len(pages) >= 25
    for page in pages:
        # rel=canonical / alternate links are addresses, not downloads
        html = re.sub(r'<link rel="(?:canonical|alternate)"[^>]*>', "", page.read_text(encoding="utf-8"))
        for url in FETCHING.findall(html):
            assert not re.match(r"^(?:[a-z]+:)?//", url), f"{page.relative_to(out)} loads {url}"
    for css in out.glob("static/*.css"):
        for a, b in CSS_URL.findall(css.read_text(encoding="utf-8")):
            assert not re.match(r"^(?:[a-z]+:)?//", a or b), f"{css.name} loads {a or b}"
    for js in out.glob("static/*.js"):
        assert not re.search(r"""['"](?:https?:)?//""", js.read_text(encoding="utf-8")), js.name


def test_every_page_has_lang_skip_link_and_main(demo):
    for page in sorted(demo.ctx.out.rglob("*.html")):
        html = page.read_text(encoding="utf-8")
        assert '<html lang="en">' in html, page
        assert '<a class="skip" href="#main">' in html, page
        assert html.count('<main id="main"') == 1, page
        assert 'id="theme-toggle"' in html and 'id="search-input"' in html, page


def shown_h1s(html: str) -> int:
    """H1s in the page: a leading body H1 equal to the title is dropped by the parse step."""
    return html.count("<h1")


def test_note_header_frontmatter_and_repeated_title(demo):
    out = demo.ctx.out
    welcome = (out / "welcome/index.html").read_text(encoding="utf-8")
    # frontmatter: title, dates, tags, description, cssclasses
    assert '<h1 class="note-title" id="welcome-to-field-notes">Welcome to Field Notes</h1>' in welcome  # the dropped H1's id
    assert '<time datetime="2024-06-01T00:00:00+00:00">01 June 2024</time> · updated' in welcome
    assert 'wide-intro">' in welcome.split("<article", 1)[1].split("\n", 1)[0]
    assert shown_h1s(welcome) == 1
    assert '<meta name="description" content="What this demo vault is' in welcome
    assert '<a class="tag" href="/tags/garden/">#garden</a>' in welcome
    # the journal note's title comes from its H1, shown once
    journal = (out / "journal/2024-06-19/index.html").read_text(encoding="utf-8")
    assert '<h1 class="note-title" id="wednesday-19-june-2024">Wednesday, 19 June 2024</h1>' in journal and shown_h1s(journal) == 1


def test_heading_that_differs_from_title_is_kept(make_site):
    r = make_site({"a.md": "---\ntitle: Frontmatter title\n---\n# A different heading\ntext\n"})
    html = (r.ctx.out / "a/index.html").read_text(encoding="utf-8")
    assert "repeats-title" not in html
    assert "A different heading</h1>" in html and "Frontmatter title</h1>" in html


def test_toc_only_for_notes_with_sections(make_site):
    r = make_site({
        "long.md": "# Long\n## One\n## Two\n### Two and a half\n",
        "short.md": "# Short\n## Only one\n",
    })
    long = (r.ctx.out / "long/index.html").read_text(encoding="utf-8")
    assert '<nav class="toc"' in long and 'href="#two-and-a-half"' in long
    assert '<nav class="toc"' not in (r.ctx.out / "short/index.html").read_text(encoding="utf-8")


def test_build_problems_are_listed_on_the_page_folded_only_when_asked(tmp_path):
    from conftest import write_vault

    from kb.build import build
    from kb.config import Config

    vault = write_vault(tmp_path / "v", {"a.md": "See [[missing]].\n"})
    r = build(vault, tmp_path / "site", Config(problems_on_pages=True), embed=False)
    html = (r.ctx.out / "a/index.html").read_text(encoding="utf-8")
    assert '<details class="build-problems">' in html
    assert "1 build problem in this note" in html and "unresolved link [[missing]]" in html
    public = build(vault, tmp_path / "public", Config(), embed=False)  # the default: visitors don't see them
    assert "build-problems" not in (public.ctx.out / "a/index.html").read_text(encoding="utf-8")
    assert [d.code for d in public.ctx.diagnostics] == ["unresolved-link"]  # still reported in the terminal


def test_home_lists_descriptions_and_drafts_stay_out(demo):
    home = (demo.ctx.out / "index.html").read_text(encoding="utf-8")
    assert '<p class="post-summary">How to keep one vault on your laptop' in home
    assert "Outlines versus notes" not in home
    assert not (demo.ctx.out / "drafts").exists()
