"""Real notes from ../shared/corpora/seeds built as notes: 002 (Obsidian notes file)
and 003 (Jekyll post). CI has ../shared; skipped cleanly only where it is absent."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import SHARED

SEEDS = SHARED / "seeds"


def seed(prefix: str) -> str:
    if not SEEDS.is_dir():
        pytest.skip("../shared/corpora/seeds not present")
    (path,) = SEEDS.glob(prefix + "_*.txt")
    return path.read_text(encoding="utf-8")


def read(site: Path, rel: str) -> str:
    return (site / rel).read_text(encoding="utf-8")


def test_seed_002_obsidian_notes(make_site):
    src = seed("002")
    r = make_site({"talks.md": src})
    note = r.ctx.notes["talks.md"]
    assert {"ondevice", "vision"} <= set(note.tags)
    page = read(r.ctx.out, "talks/index.html")
    assert '<a class="tag" href="/tags/ondevice/">#ondevice</a>' in page
    assert (r.ctx.out / "tags/vision/index.html").is_file()
    assert 'href="https://arxiv.org/abs//2412.15803"' in page  # bare URL linkified
    assert 'href="https://youtu.be/yrgrhUyUyDc"' in page
    # every "## [Talk](url)" heading survives as a heading with an anchor
    body = page.split('class="note-body"')[1].split("</article>")[0]
    assert len(re.findall(r'<h2 id="[^"]+"><a href="https://youtu.be/', body)) == src.count("## [") == 8
    assert "Papers in Public #11: SigLip</a></h2>" in body  # "#11" is not a tag
    assert "Release date : Dec 23, 2024" in page
    assert not [d for d in r.diagnostics if d.code not in ("unresolved-link",)]


def test_seed_003_jekyll_post(make_site):
    src = seed("003")
    r = make_site({"_posts/2024-01-15-welcome.md": src})
    note = r.ctx.notes["_posts/2024-01-15-welcome.md"]
    assert note.title == "Welcome to My Blog" and note.date and note.date.year == 2024
    page = read(r.ctx.out, note.url + "index.html")
    # the python code blocks: highlighted, every line of code intact
    assert page.count('<pre class="highlight"><code class="language-python">') == src.count("```python")
    code = re.findall(r"```python\n(.*?)```", src, re.S)
    blocks = re.findall(r'<code class="language-python">(.*?)</code></pre>', page, re.S)
    text = [re.sub(r"<[^>]+>", "", b).replace("&quot;", '"').replace("&#39;", "'").replace("&gt;", ">").replace("&lt;", "<").replace("&amp;", "&") for b in blocks]
    assert text == code
    assert '<span class="k">def</span>' in page
    # footnotes: two references, two notes at the end, linked both ways
    assert page.count('class="footnote-ref"') == 2 and page.count('class="footnote-item"') == 2
    assert 'href="#fn1"' in page and 'id="fn1"' in page and 'href="#fnref1"' in page
    assert "Learning Transferable Visual Models" in page
    feed = read(r.ctx.out, "atom.xml")
    assert "compute_cosine_similarity" in feed and "footnote-item" in feed
    assert r.diagnostics == []
