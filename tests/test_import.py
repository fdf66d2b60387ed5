"""kb import on small fixtures: conversion, sanitizing, idempotency, errors, CLI."""

from __future__ import annotations

import os
import re
import shutil
import stat
from pathlib import Path

import pytest

from kb.build import build
from kb.cli import main
from kb.config import Config
from kb.importers import detect, import_source
from kb.importers.feed import SourceError
from kb.importers.item import normalize_tag
from kb.importers.writer import slug_for

FIX = Path(__file__).parent / "fixtures" / "import"


def built(vault: Path, tmp_path: Path) -> Path:
    site = tmp_path / "site"
    build(vault, site, Config(base_url="https://example.org/"), embed=False)
    return site


def page(site: Path, slug: str) -> str:
    return (site / slug / "index.html").read_text(encoding="utf-8")


def test_tag_normalisation():
    assert normalize_tag("#multimodalai") == "multimodalai"
    assert normalize_tag("CLIP ") == "clip"
    assert normalize_tag("Vector DB") == "vector-db"
    assert normalize_tag("C++ / Rust") == "c/rust"
    assert normalize_tag("2018") == ""  # a tag cannot be only digits


def test_slugs_are_readable_and_never_paths():
    assert slug_for("Don't use raw embeddings") == "dont-use-raw-embeddings"
    assert slug_for("../../etc/passwd") == "etc-passwd"
    assert slug_for("") == "untitled"
    assert len(slug_for("word " * 100)) <= 80


def test_detect_kinds():
    assert detect(str(FIX / "hashnode_code.xml")) == "feed"
    assert detect(str(FIX / "atom.xml")) == "feed"
    assert detect(str(FIX / "jekyll")) == "jekyll"
    assert detect(str(FIX / "hugo")) == "hugo"
    assert detect(str(FIX / "hugo/content/posts/shortcodes.md")) == "hugo"
    assert detect(str(FIX / "chrome.txt")) == "text"


def test_code_languages_tables_lists_from_hashnode_markup(tmp_path):
    vault = tmp_path / "vault"
    report = import_source(str(FIX / "hashnode_code.xml"), vault)
    assert report.created == ["product-quantization-in-numpy.md"]
    note = (vault / report.created[0]).read_text(encoding="utf-8")
    assert "```python\ndef encode(x_1, codebook):\n    return (x_1 * 2) <= codebook  # a_b *c*\n```" in note
    assert "```rust\n" in note and "\n```\nplain block\n```" in note
    assert "tags:\n- vector-db\n- python\ncategories:\n- Vector DB\n- '#python'\n- '2018'\n" in note
    assert "date: '2025-04-15T20:51:13+02:00'" in note  # timezone kept
    html = page(built(vault, tmp_path), "product-quantization-in-numpy")
    assert '<code class="language-python">' in html and '<code class="language-rust">' in html
    assert "<th>Method</th>" in html and "<td>768</td>" in html
    assert re.search(r"<ol>\s*<li>first</li>\s*<li>second\s*<ul>\s*<li>nested</li>", html)
    assert "<blockquote>\n<p>quoted text</p>" in html
    assert 'href="https://www.youtube.com/watch?v=dQw4w9WgXcQ"' in html and "<iframe" not in html


MALICE = re.compile(r"<script|onerror|onclick|onload|onmouseover|javascript:|<iframe|<style|<svg|style=", re.I)


def test_malicious_html_never_reaches_the_page(tmp_path):
    vault = tmp_path / "vault"
    report = import_source(str(FIX / "malicious.xml"), vault)
    assert len(report.created) == 2 and not report.errors
    # 2 script elements: "<scr<script>" opens an element named "scr<script" for an HTML parser (a browser's
    # too), so what follows it up to "ipt>" is text, shown as text
    assert report.removed["script elements"] == 2 and report.removed["javascript: URLs"] == 3
    assert report.removed["data: URLs"] == 1
    assert report.removed["event handlers"] >= 5 and report.removed["iframes from unknown hosts"] == 1
    assert report.removed["style elements"] == 1 and report.removed["style attributes"] == 1
    for name in report.created:
        body = (vault / name).read_text(encoding="utf-8").split("---", 2)[2]
        assert not MALICE.search(body.replace("\\<", ""))  # '\\<script>' is escaped text, not a tag
    site = built(vault, tmp_path)
    for slug in ("harmless-looking-post", "entity-tricks-in-description"):
        html = page(site, slug)
        article = html.split("<article", 1)[1].split("</article>", 1)[0]
        assert not MALICE.search(article), slug
        # only the payloads that were visible *text* in the feed remain, as text
        # ('xss-inner' and 'xss-split' are text inside the split "<scr<script>…ipt>" tags, see above)
        assert set(re.findall(r"xss-[\w-]+", article)) <= {"xss-text", "xss-double", "xss-nested", "xss-inner", "xss-split"}
    p1 = page(site, "harmless-looking-post")
    # text that showed "<script>" in the feed shows it again (decoded once), as text
    assert "Escaped once: &lt;script&gt;alert('xss-text')&lt;/script&gt;" in p1
    assert "Escaped twice: &amp;lt;script&amp;gt;alert('xss-double')" in p1
    assert '<a href="https://ok.example/">fine link</a>' in p1 and ">click me<" not in p1.replace("click me and", "")
    p2 = page(site, "entity-tricks-in-description")
    assert "Nested &lt;script&gt;alert('xss-nested')&lt;/script&gt; text" in p2


def test_latex_delimiters_and_dollars(tmp_path):
    vault = tmp_path / "vault"
    import_source(str(FIX / "atom.xml"), vault)
    note = (vault / "tables-math.md").read_text(encoding="utf-8")
    assert "title: Tables & math" in note and "author: Grace" in note
    assert r"Inline \(a_1 * b_2\) and display:" in note
    assert "\n\\[ \\sum_{i=1}^n x_i^2 \\]\n" in note
    assert r"Costs \$5 and \$10, 5 & 6." in note  # prices are not math
    plain = (vault / "plain-text-entry.md").read_text(encoding="utf-8")
    html = page(built(vault, tmp_path), "plain-text-entry")
    assert "source:" not in plain  # an urn: id is a guid, not a URL
    assert "Line with *stars* and &lt;tags&gt; kept literally." in html


def test_reimport_same_feed_changes_nothing(tmp_path):
    vault = tmp_path / "vault"
    first = import_source(str(FIX / "hashnode_code.xml"), vault)
    before = {p.name: p.read_bytes() for p in vault.iterdir()}
    again = import_source(str(FIX / "hashnode_code.xml"), vault)
    assert (again.created, again.updated, again.skipped) == ([], [], [])
    assert again.unchanged == first.created
    assert {p.name: p.read_bytes() for p in vault.iterdir()} == before
    assert again.summary() == "created 0, updated 0, unchanged 1, skipped 0"


def _updated_feed(tmp_path: Path) -> Path:
    feed = tmp_path / "updated.xml"
    text = (FIX / "hashnode_code.xml").read_text(encoding="utf-8")
    feed.write_text(text.replace("<p>And in Rust:</p>", "<p>And now in Rust, revised:</p>"), encoding="utf-8")
    return feed


def test_updated_entry_updates_an_untouched_note(tmp_path):
    vault = tmp_path / "vault"
    import_source(str(FIX / "hashnode_code.xml"), vault)
    report = import_source(str(_updated_feed(tmp_path)), vault)
    assert report.updated == ["product-quantization-in-numpy.md"] and not report.created
    assert "And now in Rust, revised:" in (vault / "product-quantization-in-numpy.md").read_text(encoding="utf-8")


def test_user_edit_survives_reimport_of_updated_feed(tmp_path, capsys):
    vault = tmp_path / "vault"
    import_source(str(FIX / "hashnode_code.xml"), vault)
    note = vault / "product-quantization-in-numpy.md"
    edited = note.read_text(encoding="utf-8") + "\nMy own note about this post.\n"
    note.write_text(edited, encoding="utf-8")
    report = import_source(str(_updated_feed(tmp_path)), vault)
    assert report.skipped == [("product-quantization-in-numpy.md", "skipped: edited since import")]
    assert "1 skipped: edited since import" in report.summary()
    assert note.read_text(encoding="utf-8") == edited
    # the same feed as before: nothing changed upstream, the edit is kept, and the report says so
    kept = import_source(str(FIX / "hashnode_code.xml"), vault)
    assert kept.kept == [note.name] and not kept.unchanged and note.read_text(encoding="utf-8") == edited
    assert kept.summary() == "created 0, updated 0, unchanged 0, kept 1 (edited here since the import), skipped 0"
    assert main(["import", str(FIX / "hashnode_code.xml"), "--into", str(vault)]) == 0
    assert f"kept (edited here since the import): {note.name}\n" in capsys.readouterr().out
    forced = import_source(str(_updated_feed(tmp_path)), vault, force=True)
    assert forced.updated == [note.name] and "My own note" not in note.read_text(encoding="utf-8")


def test_notes_get_a_normal_files_mode_and_keep_the_users(tmp_path, monkeypatch):
    vault = tmp_path / "vault"
    monkeypatch.setattr("kb.paths._UMASK", 0o027)  # kb reads the umask once, as a process starting with it would
    old = os.umask(0o027)
    try:
        import_source(str(FIX / "hashnode_code.xml"), vault)
    finally:
        os.umask(old)
    note = vault / "product-quantization-in-numpy.md"
    assert stat.S_IMODE(note.stat().st_mode) == 0o640  # 0666 & ~umask, not mkstemp's 0600
    note.chmod(0o604)
    assert import_source(str(_updated_feed(tmp_path)), vault).updated == [note.name]
    assert stat.S_IMODE(note.stat().st_mode) == 0o604


def test_dry_run_writes_nothing(tmp_path, capsys):
    vault = tmp_path / "vault"
    assert main(["import", str(FIX / "hashnode_code.xml"), "--into", str(vault), "--dry-run"]) == 0
    assert not vault.exists() or not any(vault.iterdir())
    out = capsys.readouterr().out
    assert "would create: product-quantization-in-numpy.md" in out
    assert "dry run, nothing written: created 1, updated 0, unchanged 0, skipped 0" in out


def test_malformed_feed_is_a_clear_error(tmp_path, capsys):
    vault = tmp_path / "vault"
    assert main(["import", str(FIX / "broken.xml"), "--into", str(vault)]) == 1
    err = capsys.readouterr().err
    assert f"{FIX / 'broken.xml'}:2: not a valid RSS/Atom feed" in err
    with pytest.raises(SourceError, match="no such file"):
        import_source(str(tmp_path / "missing.md"), vault, fmt="markdown")


def test_broken_entry_does_not_stop_the_others(tmp_path, capsys):
    feed = tmp_path / "feed.xml"
    deep = "<div>" * 5000 + "too deep" + "</div>" * 5000  # markdownify recursion limit
    feed.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        "<item><title>Good one</title><guid>g1</guid><description>fine</description></item>"
        f"<item><title>Bad one</title><guid>g2</guid><description><![CDATA[{deep}]]></description></item>"
        "<item><title>Good two</title><guid>g3</guid><description>also fine</description></item>"
        "</channel></rss>",
        encoding="utf-8",
    )
    vault = tmp_path / "vault"
    assert main(["import", str(feed), "--into", str(vault)]) == 0
    captured = capsys.readouterr()
    assert "created 2, updated 0, unchanged 0, skipped 0, errors 1" in captured.out
    assert f"{feed}: entry 2 ('Bad one'): " in captured.err
    assert sorted(p.name for p in vault.iterdir()) == ["good-one.md", "good-two.md"]


def test_jekyll_posts_highlight_liquid_footnotes(tmp_path):
    vault = tmp_path / "vault"
    report = import_source(str(FIX / "jekyll"), vault)
    assert sorted(report.created) == ["liquid-highlight.md", "no-title.md"]
    assert any("Liquid tag 'include'" in w for w in report.warnings)
    note = (vault / "liquid-highlight.md").read_text(encoding="utf-8")
    assert "```python\ndef f(x):\n    return x * 2\n```" in note
    assert "`{% include signup.html %}`" in note  # no markdown equivalent: kept visible
    assert "{% raw %}{{ not converted in code }}{% endraw %}" in note  # code untouched
    assert "draft: true" in note and "custom_field: kept" in note and "layout" not in note
    assert "tags:\n- clip\n- vision\n- machine-learning\n- notes\n" in note
    other = (vault / "no-title.md").read_text(encoding="utf-8")
    assert "title: no title\ndate: '2023-06-02'" in other
    site = built(vault, tmp_path)
    assert not (site / "liquid-highlight").exists()  # published: false -> draft
    assert 'href="/tags/misc/"' in page(site, "no-title")


def test_hugo_shortcodes_and_toml_frontmatter(tmp_path):
    vault = tmp_path / "vault"
    report = import_source(str(FIX / "hugo"), vault)
    assert sorted(report.created) == ["hugo-shortcodes.md", "other.md", "raw-html-in-a-post.md"]  # not _index.md
    where = FIX / "hugo/content/posts/shortcodes.md"
    assert [w for w in report.warnings if "shortcode" in w] == [
        f"{where}: kept Hugo shortcode '{name}' as text (no markdown equivalent)" for name in ("unknownthing", "unknownpair")
    ]
    note = (vault / "hugo-shortcodes.md").read_text(encoding="utf-8")
    assert "date: '2024-02-03T04:05:06-05:00'" in note and "description: All the shortcodes" in note
    assert "![A cat](/img/cat.png)\n\n*The cat*" in note
    assert "[YouTube: dQw4w9WgXcQ](https://www.youtube.com/watch?v=dQw4w9WgXcQ)" in note
    assert "```go\npackage main\n```" in note and "[the other post](other.md)" in note
    assert "```text\n{{< youtube keep-in-code >}}\n```" in note
    assert "> [!warning] Careful\n> Hot surface.\n> Second line.\n" in note
    assert "<details>\n<summary>More &lt;info&gt;</summary>\n\nHidden **text**.\n\n</details>" in note
    assert "`{{< unknownpair >}}`inner`{{< /unknownpair >}}`" in note
    assert "Math stays: $\\frac{{a}}{b}$ and {{ not liquid in hugo }}." in note  # Liquid is Jekyll's
    html = page(built(vault, tmp_path), "hugo-shortcodes")
    assert 'href="/other/"' in html and '<code class="language-go">' in html
    assert "{{&lt; unknownthing" in html


def test_plain_text_chrome_title_and_escaping(tmp_path):
    vault = tmp_path / "vault"
    report = import_source(str(FIX / "chrome.txt"), vault)
    assert report.created == ["notes-from-a-trip.md"]
    assert len([w for w in report.warnings if "page chrome" in w]) == 2
    html = page(built(vault, tmp_path), "notes-from-a-trip")
    assert "<p>We went to the mountains. It rained * a lot * and my_file_name stayed dry.</p>" in html
    assert "<p>Skip to content is what screen readers announce" in html  # prose mentioning it stays
    assert "<p># not a heading in plain text</p>" in html
    assert 'href="/tags/hiking/"' in html
    titled = import_source(str(FIX / "chrome.txt"), tmp_path / "v2", title="Trip")
    assert titled.created == ["trip.md"]


def test_into_defaults_to_the_vault_and_exit_codes(tmp_path, monkeypatch, capsys):
    (tmp_path / "content").mkdir()
    shutil.copy(FIX / "atom.xml", tmp_path / "feed.xml")
    monkeypatch.chdir(tmp_path)
    assert main(["import", "feed.xml"]) == 0
    assert sorted(p.name for p in (tmp_path / "content").iterdir()) == ["plain-text-entry.md", "tables-math.md"]
    assert main(["import", "feed.xml"]) == 0  # all unchanged is still a success
    assert "created 0, updated 0, unchanged 2, skipped 0" in capsys.readouterr().out
    # --into a note by mistake: said so, and the note is left as it was
    note = tmp_path / "content" / "tables-math.md"
    before = note.read_bytes()
    assert main(["import", "feed.xml", "--into", str(note)]) == 2
    assert f"--into {note} is a file; pass the vault folder" in capsys.readouterr().err
    assert note.read_bytes() == before


def test_rendered_katex_and_mathjax_become_latex_again():
    from collections import Counter

    from kb.importers.html2md import html_to_markdown

    katex = (
        '<p>Energy <span class="katex"><span class="katex-mathml"><math><semantics><mi>E</mi>'
        '<annotation encoding="application/x-tex">E=mc^2 &lt; a_b</annotation></semantics></math></span>'
        '<span class="katex-html" aria-hidden="true">E=mc2</span></span> holds.</p>'
        '<span class="katex-display"><span class="katex"><math display="block"><semantics><mrow></mrow>'
        '<annotation encoding="application/x-tex">\\int_0^1 x\\,dx</annotation></semantics></math>'
        '<span class="katex-html">junk</span></span></span>'
        '<p>MathJax: <span class="MathJax_Preview">x</span><script type="math/tex">x_i^2</script></p>'
    )
    removed: Counter = Counter()
    md = html_to_markdown(katex, removed)
    assert md == "Energy $E=mc^2 < a_b$ holds.\n\n$$\\int_0^1 x\\,dx$$\n\nMathJax: $x_i^2$\n"
    assert removed == Counter()  # the MathJax source script is math, not a removed script


def test_raw_html_in_markdown_posts_is_sanitized_and_counted(tmp_path):
    vault = tmp_path / "vault"
    report = import_source(str(FIX / "hugo/content/posts/raw-html.md"), vault)
    assert report.created == ["raw-html-in-a-post.md"]
    assert report.removed == {"event handlers": 2, "script elements": 1}
    note = (vault / "raw-html-in-a-post.md").read_text(encoding="utf-8")
    assert 'an <img src="https://img.example/x.png"> image.' in note
    assert "<details>\n<summary>Harmless details</summary>\n\nKept as written.\n\n</details>" in note  # untouched
    assert "[Embedded video](https://www.youtube.com/watch?v=abc123)" in note
    assert "```html\n<script>alert('shown as code, not run')</script>\n```" in note  # code is text
    body = note.split("---", 2)[2].split("```html")[0]
    assert not MALICE.search(body) and "xss-" not in body
    html = page(built(vault, tmp_path), "raw-html-in-a-post")
    article = html.split("<article", 1)[1].split("</article>", 1)[0]
    assert "xss-" not in article and "<script" not in article and "<details>" in article


@pytest.mark.parametrize("source", ["hashnode_code.xml", "atom.xml", "malicious.xml", "jekyll", "hugo", "chrome.txt"])
def test_every_kind_is_deterministic_and_idempotent(tmp_path, source):
    a, b = tmp_path / "a", tmp_path / "b"
    first = import_source(str(FIX / source), a)
    import_source(str(FIX / source), b)
    files = sorted(p.name for p in a.iterdir())
    assert files and files == sorted(p.name for p in b.iterdir())
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)
    again = import_source(str(FIX / source), a, fmt=None)
    assert (again.created, again.updated, again.skipped, again.unchanged) == ([], [], [], first.created)


def test_broken_post_is_reported_and_the_others_import(tmp_path):
    posts = tmp_path / "site" / "_posts"
    shutil.copytree(FIX / "jekyll" / "_posts", posts)
    (posts / "2023-07-01-broken.md").write_text("---\ntitle: [unclosed\n---\nbody\n", encoding="utf-8")
    report = import_source(str(tmp_path / "site"), tmp_path / "vault")
    assert sorted(report.created) == ["liquid-highlight.md", "no-title.md"]
    (err,) = report.errors
    assert err.startswith(f"{posts / '2023-07-01-broken.md'}:3: invalid YAML frontmatter: ")


def test_format_forces_the_kind(tmp_path):
    as_md = import_source(str(FIX / "chrome.txt"), tmp_path / "a", fmt="markdown")
    note = (tmp_path / "a" / as_md.created[0]).read_text(encoding="utf-8")
    assert "It rained * a lot * and my_file_name" in note  # markdown is taken as written, not escaped
    with pytest.raises(SourceError, match="not a valid RSS/Atom feed"):
        import_source(str(FIX / "chrome.txt"), tmp_path / "b", fmt="rss")


def test_dry_run_of_an_update_changes_nothing(tmp_path):
    vault = tmp_path / "vault"
    import_source(str(FIX / "hashnode_code.xml"), vault)
    before = (vault / "product-quantization-in-numpy.md").read_bytes()
    report = import_source(str(_updated_feed(tmp_path)), vault, dry_run=True)
    assert report.updated == ["product-quantization-in-numpy.md"]
    assert (vault / "product-quantization-in-numpy.md").read_bytes() == before


def test_bare_entry_ids_are_namespaced_by_feed(tmp_path):
    def feed(name: str, blog: str) -> Path:
        path = tmp_path / name
        path.write_text(
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>{blog}</title><link>https://{blog}/</link>'
            f"<item><title>Post of {blog}</title><guid isPermaLink=\"false\">42</guid><description>x</description></item>"
            "</channel></rss>",
            encoding="utf-8",
        )
        return path

    vault = tmp_path / "vault"
    import_source(str(feed("a.xml", "a.example")), vault)
    second = import_source(str(feed("b.xml", "b.example")), vault)
    assert second.created == ["post-of-b-example.md"]  # not an update of a.example's post 42
    assert "guid: https://b.example/#42" in (vault / "post-of-b-example.md").read_text(encoding="utf-8")


def test_bare_alt_relative_urls_and_hashes_after_brackets(tmp_path):
    path = tmp_path / "feed.xml"
    body = ('<p><img src="https://cdn.example/a.png" alt class="image--center" /> and <img src="/img/b.png" alt="A [plot]" width="300"></p>'
            '<p>Pairs of (#bedroom, price) and [#x] and a #word, see <a href="../other/">the other post</a>.</p>')
    path.write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>B</title><link>https://blog.example/</link>'
        f"<item><title>Post</title><link>https://blog.example/posts/one/</link><description><![CDATA[{body}]]></description>"
        "</item></channel></rss>",
        encoding="utf-8",
    )
    vault = tmp_path / "vault"
    import_source(str(path), vault)
    note = (vault / "post.md").read_text(encoding="utf-8")
    assert "![](https://cdn.example/a.png)" in note  # a bare alt is an empty one, not "alt"
    assert "![A \\[plot\\]|300](https://blog.example/img/b.png)" in note  # relative to the post's page; its width kept
    assert "[the other post](https://blog.example/posts/other/)" in note
    assert "(\\#bedroom, price) and [\\#x] and a \\#word" in note
    site = built(vault, tmp_path)
    assert not (site / "tags/bedroom").exists()
    assert 'class="tag"' not in page(site, "post")
    assert '<img src="https://blog.example/img/b.png" alt="A [plot]" width="300"' in page(site, "post")


def test_feed_cut_off_inside_an_entry_imports_the_whole_ones_only(tmp_path, capsys):
    items = "".join(f"<item><title>Post {i}</title><link>https://b.example/{i}</link><description><![CDATA[<p>Body {i} "
                    + "long text " * 50 + "end.</p>]]></description></item>" for i in (1, 2))
    full = f'<?xml version="1.0"?><rss version="2.0"><channel><title>B</title><link>https://b.example/</link>{items}</channel></rss>'
    path = tmp_path / "cut.xml"
    path.write_text(full[: full.index("end.", full.index("Post 2"))], encoding="utf-8")  # inside post 2's CDATA
    vault = tmp_path / "vault"
    assert main(["import", str(path), "--into", str(vault)]) == 0
    err = capsys.readouterr().err
    assert "entry 2 ('Post 2') is cut off (the feed ends inside it); not imported" in err
    assert sorted(p.name for p in vault.glob("*.md")) == ["post-1.md"]
    path.write_text(full, encoding="utf-8")  # the whole feed later: post 2 arrives complete
    assert main(["import", str(path), "--into", str(vault)]) == 0
    assert "end." in (vault / "post-2.md").read_text(encoding="utf-8")


def test_plain_text_mathjax_delimiters_become_math(tmp_path):
    src = tmp_path / "kl.txt"
    src.write_text("KL divergence\n\nEntropy is \\(H[x] = - \\sum_x p(x) \\ln p(x)\\), in nats.\n"
                   "\\[KL(p||q) = - \\int{p(x) \\ln \\frac{q(x)}{p(x)}dx}\\]\nIt costs $5, not \\(x_1\\) dollars.\n",
                   encoding="utf-8")
    vault = tmp_path / "vault"
    import_source(str(src), vault)
    note = (vault / "kl-divergence.md").read_text(encoding="utf-8")
    assert "Entropy is $H[x] = - \\sum_x p(x) \\ln p(x)$, in nats." in note
    assert "$$KL(p||q) = - \\int{p(x) \\ln \\frac{q(x)}{p(x)}dx}$$" in note
    assert "It costs \\$5, not $x_1$ dollars." in note
    html = page(built(vault, tmp_path), "kl-divergence")
    assert html.count("<math") == 3 and "\\(" not in html and "\\[" not in html


def test_post_with_a_date_no_calendar_has_is_imported_and_the_build_says_so(tmp_path):
    """PyYAML raised ValueError for 2023-02-29 from the whole frontmatter: the post was not imported."""
    posts = tmp_path / "_posts"
    posts.mkdir()
    (posts / "2023-02-28-leap.md").write_text("---\ntitle: Leap\ndate: 2023-02-29\n---\nHello leap.\n", encoding="utf-8")
    report = import_source(str(posts), tmp_path / "vault")
    assert report.created == ["leap.md"] and not report.errors
    assert "date: '2023-02-29'" in (tmp_path / "vault" / "leap.md").read_text(encoding="utf-8")
    r = build(tmp_path / "vault", tmp_path / "site", Config(), embed=False)
    assert [d.message for d in r.diagnostics] == ["date: '2023-02-29' is no day of the calendar; the note goes without it"]
