"""Syntax behaviour that only shows in a whole build: diagnostics with file:line,
what is recorded on the Note, embeds, attachments and the page around the body."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 16


def read(site: Path, rel: str) -> str:
    return (site / rel).read_text(encoding="utf-8")


def diags(result, code: str | None = None) -> list[str]:
    return [d.format() for d in result.diagnostics if code is None or d.code == code]


def test_comment_hides_links_tags_and_text_everywhere(make_site):
    src = "---\ndate: 2024-01-01\n---\nSee [[b]] %%and [[secret-target]] #hidden%%.\n\n%%\n[[other]]\nsecret words\n%%\nEnd.\n"
    r = make_site({"a.md": src, "b.md": "B", "other.md": "O"})
    a = r.ctx.notes["a.md"]
    assert [link.target for link in a.links] == ["b"]
    assert a.tags == [] and "secret" not in a.text and "hidden" not in a.text
    assert r.ctx.notes["other.md"].backlinks == []
    assert diags(r) == []  # [[secret-target]] would be unresolved if it were parsed
    for f in ("a/index.html", "rss.xml", "atom.xml", "b/index.html"):
        assert "secret" not in read(r.ctx.out, f) and "%%" not in read(r.ctx.out, f)


def test_block_ids_recorded_and_linked(make_site):
    r = make_site({"a.md": "Para one ^p1\n\n- item ^li-2\n", "b.md": "[[a#^p1]] [[a#^li-2]] [[a#^nope]]\n"})
    assert r.ctx.notes["a.md"].block_ids == ["p1", "li-2"]
    a = read(r.ctx.out, "a/index.html")
    assert '<p id="^p1">Para one</p>' in a and '<li id="^li-2">item</li>' in a and "^p1<" not in a
    b = read(r.ctx.out, "b/index.html")
    assert 'href="/a/#%5Ep1"' in b  # browsers decode the fragment to ^p1
    assert '<a class="internal" href="/a/">a &gt; ^nope</a>' in b  # no such block: the note's top
    assert 'id="' + unquote("%5Ep1") + '"' in a
    assert diags(r) == ["b.md:1: warning[missing-heading] block '#^nope' not found in a.md; linking to the note"]


def test_missing_heading_warns_with_line_and_still_links(make_site):
    src = "Intro\n\n[[b#Real Heading]]\n[[b#Missing heading]]\n[[#Local]] [[#Nope]]\n\n## Local\n"
    r = make_site({"a.md": src, "b.md": "# B\n## Real Heading\n"})
    page = read(r.ctx.out, "a/index.html")
    assert 'href="/b/#real-heading"' in page and 'href="#local"' in page
    # no dead #fragment: the link goes to the note's top
    assert '<a class="internal" href="/b/">b &gt; Missing heading</a>' in page
    assert '<a class="internal" href="/a/">Nope</a>' in page
    assert diags(r) == [
        "a.md:4: warning[missing-heading] heading '#Missing heading' not found in b.md; linking to the note",
        "a.md:5: warning[missing-heading] heading '#Nope' not found in a.md; linking to the note",
    ]


def test_inline_lines_are_file_lines(make_site):
    src = "---\ntitle: T\n---\nline four\nline five [[gone1]]\nline six $\\frac{1}{$\n\n$$\n\\begin{matrix}\n$$\n\n![x](nothere.png)\n"
    r = make_site({"a.md": src})
    assert diags(r) == [
        "a.md:5: warning[unresolved-link] unresolved link [[gone1]]",
        "a.md:6: warning[math] bad math $\\frac{1}{$: a { without its }",
        "a.md:8: warning[math] bad math $$\\begin{matrix}$$: \\begin{…} without its \\end{…}",
        "a.md:12: warning[unresolved-embed] unknown attachment ![x](nothere.png)",
    ]
    page = read(r.ctx.out, "a/index.html")
    assert page.count('class="math-error') == 2 and "\\frac{1}{" in page


def test_tex_errors_say_what_is_wrong_and_unknown_ones_keep_their_words():
    from kb.markdown.math import _describe, to_mathml

    assert to_mathml("x^", False)[1] == "^ or _ with nothing after it"
    assert to_mathml("a_1_2", False)[1].startswith("two subscripts in a row")
    assert to_mathml("\\left( x", False)[1] == "\\left without its \\right, or \\right without its \\left"
    assert to_mathml("\\begin{matrix} a", False)[1] == "\\begin{…} without its \\end{…}"
    # latex2mathml runs out of tokens for several mistakes: the one the TeX shows is named
    assert to_mathml("\\begin{matrix}", False)[1] == "\\begin{…} without its \\end{…}"
    assert to_mathml("\\frac{1}{", False)[1] == "a { without its }"
    assert to_mathml("\\sqrt", False)[1] == "a command missing its argument"

    class InvalidWidthError(Exception):  # one kb has no words for: latex2mathml's own, spaced out
        pass

    assert _describe(InvalidWidthError("3x")) == "invalid width: 3x"


def test_math_is_mathml_and_dollars_are_text(make_site):
    r = make_site({"a.md": "Area $\\pi r^2$ costs $5 and $10.\n\n$$\nE = mc^2\n$$\n"})
    page = read(r.ctx.out, "a/index.html")
    assert page.count("<math ") == 2 and 'display="block"' in page
    assert "costs $5 and $10." in page and diags(r) == []


def test_aligned_math_carries_its_alignment_to_the_site(make_site):
    """Chromium ignores columnalign, so the built site's CSS aligns by it (tests/test_syntax_browser.py measures it)."""
    r = make_site({"a.md": "$$\n\\begin{aligned} a &= b \\\\ c + d &= e \\end{aligned}\n$$\n\n$$\n\\begin{cases} 1 & x \\end{cases}\n$$\n"})
    page = read(r.ctx.out, "a/index.html")
    assert page.count('<mtd columnalign="right">') == 2 and page.count('<mtd columnalign="left">') == 4
    assert '<mtable displaystyle="true"' in page  # align*: style.css sets its rows in display style, pairs touching
    css = read(r.ctx.out, "static/style.css")
    assert "mtd[columnalign=right] { text-align: right; text-align: -webkit-right; }" in css
    assert "mtd[columnalign=left] { text-align: left; text-align: -webkit-left; }" in css


def test_duplicate_title_h1_is_dropped(make_site):
    r = make_site({"a.md": "# My Title\n\nBody\n\n## Part\n", "b.md": "---\ntitle: Other\n---\n# Different\n"})
    a = read(r.ctx.out, "a/index.html")
    assert a.count("My Title</h1>") == 1 and 'id="part"' in a
    assert r.ctx.notes["a.md"].headings[0].text == "My Title"  # still a link target
    assert "Different</h1>" in read(r.ctx.out, "b/index.html")


def test_whole_note_embed_drops_its_title_h1_like_its_page(make_site):
    r = make_site({"host.md": "Top\n\n![[Evergreen]]\n", "Evergreen.md": "# Evergreen\n\nBody text.\n\n## More\n\nx\n"})
    host = read(r.ctx.out, "host/index.html")
    assert "Body text." in host and ">More</h2>" in host and host.count("<h1") == 1  # only the host's own title


def test_embeds_sections_blocks_and_cycles(make_site):
    files = {
        "host.md": "Top\n\n![[part#Section two]]\n\n![[part#^blk]]\n\n![[a]]\n",
        "part.md": "## Section one\nfirst\n## Section two\nsecond text\n### Sub\nsub text\n## Section three\nthird\n\nA block ^blk\n",
        "a.md": "A embeds ![[b]]\n",
        "b.md": "B embeds ![[a]]\n",
    }
    r = make_site(files)
    host = read(r.ctx.out, "host/index.html")
    assert "second text" in host and "sub text" in host and "first" not in host and "third" not in host
    assert "A block</p>" in host and 'id="^blk"' not in host  # ids stay unique on the host page
    assert host.count('class="embed cycle"') == 1
    assert "<p><div" not in host
    # one cycle, one warning: on its first note's page, though b's and host's pages meet it too
    assert diags(r, "embed-cycle") == ["a.md:1: warning[embed-cycle] embed cycle: a.md -> b.md -> a.md"]
    # links inside embedded content belong to the embedded note, not the host
    assert [link.target for link in r.ctx.notes["host.md"].links] == ["part", "part", "a"]


def test_an_embed_cycle_is_warned_once_whichever_pages_meet_it(make_site):
    r = make_site({"c.md": "C embeds ![[a]]\n", "a.md": "A embeds ![[b]]\n", "b.md": "B\n\n![[c]]\n",
                   "d.md": "D embeds ![[b]]\n",  # leads into the cycle, is not in it
                   "s.md": "## One\n![[t]]\n", "t.md": "T embeds ![[s#One]]\n"})  # through a section of s
    assert sorted(diags(r, "embed-cycle")) == [
        "a.md:1: warning[embed-cycle] embed cycle: a.md -> b.md -> c.md -> a.md",
        "s.md:2: warning[embed-cycle] embed cycle: s.md -> t.md -> s.md#one -> t.md",  # how s's page meets it
    ]
    for page in ("a", "b", "c", "d", "s", "t"):  # every page that meets it still shows where it stops
        assert read(r.ctx.out, f"{page}/index.html").count('class="embed cycle"') == 1, page


def test_an_embed_cycle_only_other_pages_meet_is_still_warned(make_site):
    # p's own page hides the section that closes the cycle in a comment; embedded, the section is live.
    # And from x's own page, a cycle of 9 through x's section runs into the depth limit first.
    chain = {f"n{i}.md": f"![[n{i + 1}]]\n" for i in range(1, 8)}
    r = make_site({"p.md": "Intro\n\n<!--\n## S\n![[q]]\n-->\n", "q.md": "Q ![[p#S]]\n",
                   "x.md": "## S\n![[n1]]\n", **chain, "n8.md": "![[x#S]]\n"})
    cycles = diags(r, "embed-cycle")
    assert "q.md:1: warning[embed-cycle] embed cycle: q.md -> p.md#s -> q.md" in cycles
    assert any(c.startswith("n1.md:1: ") and c.endswith("embed cycle: n1.md -> n2.md -> n3.md -> n4.md -> n5.md -> n6.md"
                                                          " -> n7.md -> n8.md -> x.md#s -> n1.md") for c in cycles), cycles
    assert len(cycles) == 2


def test_long_words_in_table_cells_may_break_and_short_ones_stay_whole(make_site):
    long = "a<b" + "x" * 30
    r = make_site({"t.md": f"| Name | Link |\n|---|---|\n| Plugin | see {long} now |\n| Code | `{'y' * 30}` |\n\n"
                           f"Outside a table {long} stays text.\n"})
    page = read(r.ctx.out, "t/index.html")
    assert f'<td>see <span class="long-word">a&lt;b{"x" * 30}</span> now</td>' in page
    assert f'<code class="long-word">{"y" * 30}</code>' in page
    assert "<td>Plugin</td>" in page and f"<p>Outside a table a&lt;b{'x' * 30} stays text.</p>" in page


def test_attachments_resolve_and_are_copied(make_site):
    files = {
        "notes/a.md": "![alt](../img/pic.png) ![[pic.png|300]] ![[pic.png|300x200]] ![sized|120](../img/pic.png)\n"
                      "![[pic.png|A red box|100]] ![[pic.png|A red box]]\n",
        "img/pic.png": PNG,
    }
    r = make_site(files)
    page = read(r.ctx.out, "notes/a/index.html")
    assert page.count('src="/img/pic.png"') == 6
    assert 'alt="pic.png" width="300" loading' in page  # a size alone: the file name stays the text
    assert 'width="300" height="200"' in page and 'alt="sized" width="120"' in page
    # text and size in a wikilink embed, as Obsidian reads them: not alt="A red box|100"
    assert 'alt="A red box" width="100"' in page and 'alt="A red box" loading' in page
    assert (r.ctx.out / "img/pic.png").read_bytes() == PNG
    assert diags(r) == []


def test_tags_recorded_only_outside_code_and_urls(make_site):
    src = "#real and #a/b\n`#code` https://x.org/#frag [l](#anchor) #123\n\n```\n#fenced\n```\n"
    r = make_site({"a.md": "---\ntags: [fm]\n---\n" + src})
    assert r.ctx.notes["a.md"].tags == ["fm", "real", "a/b"]
    assert (r.ctx.out / "tags/a/index.html").is_file() and (r.ctx.out / "tags/a/b/index.html").is_file()
    assert not (r.ctx.out / "tags/123").exists() and not (r.ctx.out / "tags/code").exists()


def test_callouts_in_built_page(make_site):
    src = "> [!tip]- Folded title\n> hidden\n\n> [!warning]+\n> > [!note] Nested\n> > inner\n"
    page = read(make_site({"a.md": src}).ctx.out, "a/index.html")
    assert '<details class="callout" data-callout="tip" data-callout-fold="-">' in page
    assert '<summary class="callout-title"><span class="callout-title-text">Folded title</span></summary>' in page
    assert 'data-callout="warning" data-callout-fold="+" open=""' in page
    assert '<div class="callout" data-callout="note">' in page


def test_arg_max_renders_as_math(make_site):
    r = make_site({"a.md": "$$\\theta = \\arg\\max_{\\theta} Q(\\theta)$$\n"})
    page = (r.ctx.out / "a/index.html").read_text()
    assert "<mo>arg</mo>" in page and "math-error" not in page
    assert r.diagnostics == []


def test_raw_html_around_markdown_keeps_kb_features(make_site):
    """A <details> block spanning markdown makes the whole page go through the sanitizer:
    kb's own markup (callouts, MathML, task boxes, block ids, tags) must survive it."""
    src = (
        "<details><summary>More</summary>\n\n"
        "> [!tip]+ Tip\n> inside ^b1\n\n$x^2$ ==hi== #tagged [[b#^zz]]\n\n- [x] done\n\n"
        '</details>\n\n<img src="x.png" onerror="alert(1)">\n'
    )
    r = make_site({"a.md": src, "b.md": "Target ^zz\n"})
    page = read(r.ctx.out, "a/index.html")
    body = page.split('class="note-body"')[1]
    assert "<details><summary>More</summary>" in body and "</details>" in body
    assert 'data-callout="tip"' in body and 'open=""' in body and 'id="^b1"' in body
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline">' in body and "<mark>hi</mark>" in body
    assert 'type="checkbox"' in body and "checked" in body
    assert 'href="/tags/tagged/"' in body and 'href="/b/#%5Ezz"' in body
    assert "onerror" not in body


def test_section_embeds_skip_commented_and_fenced_headings(make_site):
    part = "## Real\nreal text\n%%\n## Hidden\nsecret\n%%\n```\n## Fenced\n```\nstill real\n## Next\nnext text\n"
    r = make_site({"host.md": "![[part#Real]]\n\n![[part#Hidden]]\n", "part.md": part})
    host = read(r.ctx.out, "host/index.html")
    assert "real text" in host and "still real" in host and "## Fenced" in host
    assert "secret" not in host and "next text" not in host
    assert [d.message for d in r.diagnostics] == ["heading '#Hidden' not found in part.md (embed)"]


def test_heading_links_match_headings_with_links_and_tags(make_site):
    r = make_site({"a.md": "[[b#See Foo]] [[b#Idea ondevice]]\n", "b.md": "## See [[Foo]]\n### Idea #ondevice\n", "Foo.md": "x"})
    b = read(r.ctx.out, "b/index.html")
    assert 'id="see-foo"' in b and 'id="idea-ondevice"' in b
    assert 'href="/b/#see-foo"' in read(r.ctx.out, "a/index.html")
    assert diags(r) == []


def test_long_embed_chains_stop_with_a_warning(make_site):
    files = {f"n{i}.md": f"level {i} ![[n{i + 1}]]\n" for i in range(12)}
    files["n12.md"] = "bottom"
    r = make_site(files)
    body = read(r.ctx.out, "n0/index.html").split('class="note-body"')[1].split("</article>")[0]
    assert "level 8" in body and "level 9" not in body and '<a class="internal" href="/n9/">n9</a>' in body
    assert "n0.md:1: warning[embed-depth] embeds nested deeper than 8: n9.md not embedded" in diags(r)
