"""Feeds, sitemap and reproducibility of the built demo site."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import feedparser
import pytest

from kb.build import build
from kb.config import load_config

ROOT = Path(__file__).resolve().parents[1]
VAULT = ROOT / "content"
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def build_demo(out: Path):
    return build(VAULT, out, load_config(VAULT / "kb.toml"), embed=False)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return build_demo(tmp_path_factory.mktemp("feeds") / "site")


def dated_notes(demo):
    return sorted((n for n in demo.ctx.notes.values() if n.date), key=lambda n: n.date, reverse=True)


@pytest.mark.parametrize("name", ["rss.xml", "atom.xml"])
def test_feed_parses_with_full_content_and_dates(demo, name):
    feed = feedparser.parse((demo.ctx.out / name).read_bytes())
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.feed.title == "Field Notes"
    notes = dated_notes(demo)
    assert [e.title for e in feed.entries] == [n.title for n in notes]
    base = demo.ctx.config.base_url
    for entry, note in zip(feed.entries, notes, strict=True):
        assert entry.link == base + note.url
        assert entry.published_parsed is not None
        assert entry.published_parsed[:3] == note.date.utctimetuple()[:3]
        html = entry.content[0].value if "content" in entry else entry.description
        # full content, not a summary: the last words of the note are in the feed
        assert note.text.split()[-1].strip(".") in html
        # links inside the content are absolute, so they work in a feed reader
        assert not re.search(r'(?:href|src)="/', html)
    by_title = {e.title: e for e in feed.entries}
    math = by_title["Math in notes"]
    assert "<math" in (math.content[0].value if "content" in math else math.description)
    assert "Outlines versus notes" not in by_title  # a draft
    assert "Keyboard shortcuts" not in by_title  # undated notes are not posts


def test_imported_post_keeps_its_original_date(demo):
    feed = feedparser.parse((demo.ctx.out / "atom.xml").read_bytes())
    post = next(e for e in feed.entries if e.title == "Why plain text lasts")
    assert post.published_parsed[:5] == (2019, 3, 14, 9, 30)
    assert post.updated_parsed[:3] == (2019, 3, 16)


def test_sitemap_lists_every_page(demo):
    out = demo.ctx.out
    locs = {el.text for el in ET.parse(out / "sitemap.xml").getroot().iter(SM + "loc")}
    base = demo.ctx.config.base_url
    pages = set()
    for f in out.rglob("index.html"):
        rel = f.parent.relative_to(out).as_posix()
        pages.add(base + ("" if rel == "." else rel + "/"))
    assert pages, "no pages built"
    assert locs == pages
    assert not any("outlines-versus-notes" in u for u in locs)  # the draft
    robots = (out / "robots.txt").read_text(encoding="utf-8")
    assert f"Sitemap: {base}sitemap.xml" in robots


def test_two_builds_are_byte_identical(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    build_demo(a)
    build_demo(b)
    files_a = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    assert len(files_a) > 30
    differ = [rel for rel in files_a if (a / rel).read_bytes() != (b / rel).read_bytes()]
    assert differ == []


def test_feed_and_sitemap_urls_are_percent_encoded_and_undated_feeds_have_no_1970(make_site):
    r = make_site({"Café crème.md": "x"})
    sitemap = (r.ctx.out / "sitemap.xml").read_text(encoding="utf-8")
    assert "https://example.org/caf%C3%A9-cr%C3%A8me/" in sitemap and "café" not in sitemap
    rss = (r.ctx.out / "rss.xml").read_text(encoding="utf-8")
    assert "1970" not in rss and "lastBuildDate" not in rss  # no dated note


def test_feed_fragment_links_point_into_the_note_page(make_site):
    r = make_site({"a.md": "---\ndate: 2024-05-01\n---\nA claim.[^1] See [below](#end).\n\n## End\n\n[^1]: The source.\n"})
    for feed in ("rss.xml", "atom.xml"):
        text = (r.ctx.out / feed).read_text(encoding="utf-8")
        assert 'href="#' not in text and "https://example.org/a/#end" in text, feed  # the HTML is escaped, its quotes not


def test_feed_embeds_of_pdfs_point_at_the_site(make_site):
    """![[doc.pdf]] is an <object data="/doc.pdf">: in a feed its data URL is absolute too,
    as img src and a href are (a reader has no site root to resolve it against)."""
    r = make_site({"a.md": "---\ndate: 2024-05-01\n---\n![[doc.pdf]]\n", "doc.pdf": b"%PDF-1.4\n%%EOF\n"})
    page = (r.ctx.out / "a" / "index.html").read_text(encoding="utf-8")
    assert 'data="/doc.pdf"' in page
    rss = ET.parse(r.ctx.out / "rss.xml").find("channel/item/description")
    atom = ET.parse(r.ctx.out / "atom.xml").find("{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}content")
    for content in (rss.text, atom.text):
        assert 'data="https://example.org/doc.pdf"' in content and 'data="/' not in content
        assert 'href="https://example.org/doc.pdf"' in content


def test_sitemap_lastmod_is_the_notes_own_date(make_site):
    r = make_site({"a.md": "---\ndate: 2024-05-01\nupdated: 2024-06-02\n---\nx", "b.md": "---\ndate: 2023-01-09\n---\ny", "c.md": "z"})
    sitemap = (r.ctx.out / "sitemap.xml").read_text(encoding="utf-8")
    assert "<loc>https://example.org/a/</loc><lastmod>2024-06-02</lastmod>" in sitemap
    assert "<loc>https://example.org/b/</loc><lastmod>2023-01-09</lastmod>" in sitemap
    assert "<loc>https://example.org/c/</loc></url>" in sitemap  # undated: no lastmod


def test_feeds_carry_boxed_and_cancel_as_standard_menclose(make_site):
    """The pages draw \\boxed with <mrow class="menclose-box"> and style.css; a feed reader has no
    style.css, so the feed gets MathML's own <menclose>, closed where its box ends (not at an inner row)."""
    r = make_site({"a.md": "---\ndate: 2024-05-01\n---\nSo $\\boxed{(a+b)^2} = \\xcancel{x}$ holds.\n"})
    page = (r.ctx.out / "a" / "index.html").read_text(encoding="utf-8")
    assert 'class="menclose-box"' in page and "<menclose" not in page
    rss = ET.parse(r.ctx.out / "rss.xml").find("channel/item/description")
    atom = ET.parse(r.ctx.out / "atom.xml").find("{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}content")
    for content in (rss.text, atom.text):
        assert "menclose-" not in content
        box = re.search(r'<menclose notation="box">(.*?)</menclose>', content)
        assert box and box.group(1).count("<mrow") == box.group(1).count("</mrow>") and "<mo" in box.group(1)
        assert '<menclose notation="updiagonalstrike downdiagonalstrike">' in content
        assert content.count("<menclose") == content.count("</menclose>") == 2


def test_standard_enclosures_pair_each_row_with_its_own_end():
    from kb.markdown.math import standard_enclosures

    raw = '<math><mrow class="menclose-box"><mrow dir="rtl"><mi>x</mi></mrow><mrow/><mi>y</mi></mrow></math>'
    assert standard_enclosures(raw) == (
        '<math><menclose notation="box"><mrow dir="rtl"><mi>x</mi></mrow><mrow/><mi>y</mi></menclose></math>')
    other = '<math><mrow class="menclose-box" dir="rtl"><mi>x</mi></mrow></math>'  # not kb's own: left alone
    assert standard_enclosures(other) == other
