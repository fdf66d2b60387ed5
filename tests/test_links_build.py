"""Link resolution in built sites: Obsidian's rules, unresolved links, and no dead internal links."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

from kb.config import Config

_HREF = re.compile(r'(?:href|src)="(/[^"#?]*)')


def read(site: Path, rel: str) -> str:
    return (site / rel).read_text(encoding="utf-8")


def dead_links(site: Path) -> list[str]:
    """Every root-relative href/src in every page must name a file of the site."""
    dead = []
    for page in sorted(site.rglob("*.html")):
        for url in _HREF.findall(page.read_text(encoding="utf-8")):
            rel = unquote(url).lstrip("/")
            target = site / rel / "index.html" if url.endswith("/") else site / rel
            if not target.is_file():
                dead.append(f"{page.relative_to(site)} -> {url}")
    return dead


_FRAGMENT = re.compile(r'href="(/[^"#?]*)?#([^"]+)"')


def dead_fragments(site: Path) -> list[str]:
    """Every href="page#id" (or "#id") in every page must name an id of that page."""
    dead = []
    for page in sorted(site.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        for url, frag in _FRAGMENT.findall(text):
            target = site / unquote(url).lstrip("/") / "index.html" if url else page
            if not target.is_file() or f'id="{unquote(frag)}"' not in target.read_text(encoding="utf-8"):
                dead.append(f"{page.relative_to(site)} -> {url}#{frag}")
    return dead


VAULT = {
    "index-note.md": (
        "[[NOTE a]] [[dup]] [[a/b/dup]] [[Beta]] [[Nowhere]] [[note A#Details|see details]]\n"
        "[md](sub/other.md) [rel](./sub/other.md#Part) [gone](missing.md)\n"
    ),
    "note A.md": "# Note A\n## Details\n",
    "x/dup.md": "short",
    "a/b/dup.md": "long",
    "folder/b.md": "---\naliases: [Beta]\n---\nB\n",
    "sub/other.md": "## Part\n[back](../index-note.md)\n",
}


def test_obsidian_resolution_order(make_site):
    r = make_site(VAULT)
    page = read(r.ctx.out, "index-note/index.html")
    assert '<a class="internal" href="/note-a/">NOTE a</a>' in page  # case-insensitive file name
    assert '<a class="internal" href="/x/dup/">dup</a>' in page  # shortest path wins on ties
    assert '<a class="internal" href="/a/b/dup/">a/b/dup</a>' in page
    assert '<a class="internal" href="/folder/b/">Beta</a>' in page  # alias
    assert '<a class="internal" href="/note-a/#details">see details</a>' in page
    assert '<a href="/sub/other/" class="internal">md</a>' in page
    assert '<a href="/sub/other/#part" class="internal">rel</a>' in page
    assert 'href="/index-note/"' in read(r.ctx.out, "sub/other/index.html")
    resolved = {link.target: link.resolved for link in r.ctx.notes["index-note.md"].links}
    assert resolved["NOTE a"] == "note A.md" and resolved["dup"] == "x/dup.md" and resolved["Nowhere"] is None


def test_unresolved_links_are_visible_reported_and_never_dead(make_site):
    r = make_site(VAULT)
    page = read(r.ctx.out, "index-note/index.html")
    assert '<span class="unresolved" title="unresolved link">Nowhere</span>' in page
    assert '<span class="unresolved" title="unresolved link">gone</span>' in page
    assert [d.format() for d in r.diagnostics] == [
        "index-note.md:1: warning[unresolved-link] unresolved link [[Nowhere]]",
        "index-note.md:2: warning[unresolved-link] unresolved link […](missing.md)",
    ]
    assert dead_links(r.ctx.out) == []


def test_links_to_a_draft_say_so_and_stay_unresolved(make_site):
    draft = "---\ndraft: true\naliases: [dp]\n---\nsecret words\n"
    r = make_site({"pub.md": "[[Draft post]] [[dp]]\n![[Draft post]]\n[[Nowhere]]\n", "Draft post.md": draft})
    assert [d.format() for d in r.diagnostics] == [
        "pub.md:1: warning[draft-link] link to a draft [[Draft post]] (not published)",
        "pub.md:1: warning[draft-link] link to a draft [[dp]] (not published)",
        "pub.md:2: warning[draft-link] embed of a draft ![[Draft post]] (not published)",
        "pub.md:3: warning[unresolved-link] unresolved link [[Nowhere]]",
    ]
    page = read(r.ctx.out, "pub/index.html")
    assert page.count('<span class="unresolved" title="unresolved link">') == 4 and "secret words" not in page


def test_backlinks_use_resolved_targets(make_site):
    r = make_site(VAULT)
    note_a = r.ctx.notes["note A.md"]
    assert [b.source for b in note_a.backlinks] == ["index-note.md"]
    assert r.ctx.notes["a/b/dup.md"].backlinks[0].source == "index-note.md"


def test_backlink_context_is_the_whole_wrapped_paragraph_or_list_item(make_site):
    src = ("# A\n\nFirst paragraph.\n\nSee the alpha project and\n[[b]] for the goals, which\nwe wrote last year.\n"
           "## Next\n- one item\n- links [[c]] and\n  goes on here\n- another item\n## About [[d]]\nText under it.\n")
    r = make_site({"a.md": src, "b.md": "B\n", "c.md": "C\n", "d.md": "D\n"})
    assert r.ctx.notes["d.md"].backlinks[0].context == "About d"  # a heading is a line of its own
    assert r.ctx.notes["b.md"].backlinks[0].context == "See the alpha project and b for the goals, which we wrote last year."
    assert r.ctx.notes["c.md"].backlinks[0].context == "links c and goes on here"
    # where a single newline shows as a line break (Obsidian with "Strict line breaks" off), the line is what reads
    r = make_site({"a.md": src, "b.md": "B\n", "c.md": "C\n", "d.md": "D\n"}, Config(line_breaks=True))
    assert r.ctx.notes["b.md"].backlinks[0].context == "b for the goals, which"
    long = " ".join(f"word{i}" for i in range(60))  # 480 characters: the link's part is shown
    r = make_site({"a.md": f"{long}\nand then [[b]] at last.\n", "b.md": "B\n"})
    context = r.ctx.notes["b.md"].backlinks[0].context
    assert context.startswith("…") and "and then b at last." in context and len(context) <= 241


def test_backlink_context_drops_comments(make_site):
    r = make_site({"a.md": "Link to [[b]] %%private remark%% here\n", "b.md": "B"})
    (bl,) = r.ctx.notes["b.md"].backlinks
    assert "private" not in bl.context and "b" in bl.context
    assert "private" not in read(r.ctx.out, "b/index.html")


def test_backlink_context_reads_as_text(make_site):
    from kb.plaintext import math_as_written

    src = "See [[b#Display math|]] and [[b#Display math]], tagged #garden/ideas: $e^{i\\pi} + 1 = 0$ **now**\n"
    r = make_site({"a.md": src, "b.md": "# B\n\n## Display math\n\nx\n"})
    (bl,) = r.ctx.notes["b.md"].backlinks
    assert math_as_written(bl.context) == "See b › Display math and b › Display math, tagged #garden/ideas: $e^{i\\pi} + 1 = 0$ now"
    shown = read(r.ctx.out, "b/index.html").split('class="context">')[1].split("</p>")[0]
    assert shown.startswith("See b › Display math") and "<math" in shown and "$" not in shown and "\\pi" not in shown


def test_backlink_context_escapes_text_and_renders_only_real_math(make_site):
    src = "[[b]] a < b & c, `echo $HOME/$USER`, \\$5 and \\$6, $\\frac{1}{$ and $x<y$ end\n"
    r = make_site({"a.md": src, "b.md": "B\n"})
    shown = read(r.ctx.out, "b/index.html").split('class="context">')[1].split("</p>")[0]
    # text escaped; dollars in code or escaped are text; a formula that fails shows as written
    assert shown.startswith("b a &lt; b &amp; c, echo $HOME/$USER, $5 and $6, $\\frac{1}{$ and <math")
    assert shown.count("<math") == 1 and "<mi>x</mi><mo>&lt;</mo><mi>y</mi>" in shown and shown.endswith("</math> end")


def test_backlink_context_renders_bracket_math_as_dollar_math(make_site):
    from kb.plaintext import math_as_written

    src = "[[b]] says \\(a^2+b^2=c^2\\), not `\\(code\\)`, and \\[ \\int_0^1 x\\,dx \\]. Done[^1]\n\n[^1]: a note\n"
    r = make_site({"a.md": src, "b.md": "B\n"})
    (bl,) = r.ctx.notes["b.md"].backlinks
    assert math_as_written(bl.context) == "b says $a^2+b^2=c^2$, not \\(code\\), and. Done"
    shown = read(r.ctx.out, "b/index.html").split('class="context">')[1].split("</p>")[0]
    assert shown.count("<math") == 1 and "<msup><mi>c</mi><mn>2</mn></msup>" in shown and "\\int" not in shown


def test_a_heading_with_math_gets_a_title_without_dollars_and_its_own_anchors(make_site):
    r = make_site({"c.md": "# The $x^2$ value\n\n## Using $\\alpha$\n\nx\n\n## Using $\\alpha$\n\ny\n"})
    note = r.ctx.notes["c.md"]
    assert note.title == "The x^2 value" and [h.anchor for h in note.headings][1:] == ["using-alpha", "using-alpha-1"]


def test_heading_link_to_a_title_h1_lands_on_the_page_title(make_site):
    r = make_site({"a.md": "# Sync your notes\n\nBody.\n", "b.md": "[[a#Sync your notes]]\n"})
    assert '<h1 class="note-title" id="sync-your-notes">' in read(r.ctx.out, "a/index.html")
    assert 'href="/a/#sync-your-notes"' in read(r.ctx.out, "b/index.html")
    assert dead_links(r.ctx.out) == [] and not r.diagnostics


def test_no_dead_links_with_embeds_tags_and_attachments(make_site):
    files = {
        "a.md": "#t/x ![[b]] ![[pic one.png]] [[b#^blk]] ![[missing.png]] ![[c#Nope]]\n",
        "b.md": "Body ^blk [[c]]\n",
        "c.md": "C",
        "img/pic one.png": b"\x89PNG\r\n\x1a\n",
    }
    r = make_site(files)
    assert 'src="/img/pic%20one.png"' in read(r.ctx.out, "a/index.html")
    assert dead_links(r.ctx.out) == [] and dead_fragments(r.ctx.out) == []


def test_links_find_notes_whatever_their_unicode_form():
    import unicodedata

    from kb.paths import Resolver

    nfd = unicodedata.normalize("NFD", "notes/Résumé.md")
    r = Resolver([nfd, "a.md"], {"a.md": ["Café crème"]}, [unicodedata.normalize("NFD", "img/Été.png")])
    assert nfd != "notes/Résumé.md"
    assert r.note("Résumé") == nfd and r.note("notes/résumé") == nfd
    assert r.note(unicodedata.normalize("NFD", "café crème")) == "a.md"
    assert r.file("Été.png") == unicodedata.normalize("NFD", "img/Été.png")


def test_embeds_find_headings_by_their_visible_words_and_list_items_with_children(make_site):
    target = (
        "# Target\n\n## See [[Other|the other]]\nalpha\n\n## Hidden %%secret%% heading\nbravo\n\n"
        "Setext Section\n----\ncharlie\n\n~~~\n```\n## Not a heading\n~~~\n\n## Later section\ndelta\n\n"
        "- item with child ^li1\n    - child kilo\n    - nested child ^nested3\n- other item\n"
    )
    host = "\n\n".join(f"![[Target#{h}]]" for h in (
        "See the other", "Hidden heading", "Setext Section", "Later section", "^li1", "^nested3"))
    r = make_site({"Target.md": target, "Other.md": "o\n", "Host.md": host + "\n"})
    page = (r.ctx.out / "host" / "index.html").read_text()
    embeds = [e.split("</div>")[0] for e in page.split('<div class="embed"')[1:]]
    assert len(embeds) == 6
    for body, word in zip(embeds, ("alpha", "bravo", "charlie", "delta", "child kilo", "nested child"), strict=True):
        assert word in body, (word, body)
    assert "Not a heading" in embeds[2] and "delta" not in embeds[2]  # the ``` inside ~~~ does not close it
    assert "child kilo" in embeds[4] and "other item" not in embeds[4]  # the item and its sub-items only
    assert "<pre" not in embeds[5] and "^nested3" not in embeds[5].split("</a>", 1)[1]  # a nested item is not indented code
    assert not [d for d in r.diagnostics if d.path == "Host.md"]


def test_a_heading_link_inside_an_embedded_note_points_at_that_note(make_site):
    r = make_site({
        "SelfRef.md": "Jump to [[#Details]].\n\n## Details\nmine\n",
        "Host.md": "![[SelfRef]]\n\n## Details\nhost's own\n",
    })
    host = (r.ctx.out / "host" / "index.html").read_text()
    assert 'href="/selfref/#details"' in host and 'href="#details"' not in host
    assert 'href="#details"' in (r.ctx.out / "selfref" / "index.html").read_text()


def test_same_page_fragment_links_are_checked_like_links_to_other_notes(make_site):
    own = (
        "---\ntitle: Own\n---\n"
        "[id](#local-part) [words](#LOCAL%20part) [blk](#^b1)\n"  # an exact id, the heading's words, a block
        "[bad](#Nope) [gone](#^gone)\n"
        "[[#local part]] [[#^b1]] [[#Missing]]\n\n## Local Part\npara ^b1\n"
    )
    # embedded, Own's links point at Own's page, and their warnings are Own's (once), not the host's
    r = make_site({"Own.md": own, "Host.md": "![[Own]]\n\n## Nope\n"})
    assert [d.format() for d in r.diagnostics] == [
        "Own.md:5: warning[missing-heading] block '#^gone' not found in Own.md; linking to the note",
        "Own.md:5: warning[missing-heading] heading '#Nope' not found in Own.md; linking to the note",
        "Own.md:6: warning[missing-heading] heading '#Missing' not found in Own.md; linking to the note",
    ]
    body = read(r.ctx.out, "own/index.html").split('<div class="note-body">')[1].split("</div>")[0]
    hrefs = re.findall(r'<a (?:class="internal" )?href="([^"]*)"', body)
    assert hrefs == ["#local-part", "#local-part", "#%5Eb1", "/own/", "/own/", "#local-part", "#%5Eb1", "/own/"]
    embed = read(r.ctx.out, "host/index.html").split('<div class="embed"')[1].split("</div>")[0]
    assert re.findall(r'href="([^"]*)"', embed) == [
        "/own/", "/own/#local-part", "/own/#local-part", "/own/#%5Eb1", "/own/", "/own/", "/own/#local-part", "/own/#%5Eb1", "/own/",
    ]  # never a bare "#nope" into the host's own "## Nope"
    assert dead_links(r.ctx.out) == [] and dead_fragments(r.ctx.out) == []


def test_images_in_raw_html_are_vault_files_found_and_copied(make_site):
    r = make_site({
        "notes/Raw.md": '<p align="center"><img src="../pics/a b.png" width="200"></p>\n\nInline <img src="pics/a b.png"> and <img src="gone.png">\n',
        "pics/a b.png": b"\x89PNG\r\n\x1a\nfake",
    })
    page = (r.ctx.out / "notes" / "raw" / "index.html").read_text()
    assert page.count('src="/pics/a%20b.png"') == 2 and (r.ctx.out / "pics" / "a b.png").is_file()
    assert any(d.code == "unresolved-embed" and "gone.png" in d.message for d in r.diagnostics)


def test_another_section_of_the_same_note_embeds_and_a_section_inside_itself_is_a_cycle(make_site):
    r = make_site({
        "Links3.md": "## Local Sec\n![[Links3#Other Sec]]\n\n## Other Sec\nother words\n\n- item ^blk\n\n## Last\n![[Links3#^blk]]\n",
        "Loop.md": "## A\nbefore ![[Loop#A]]\n",
    })
    page = (r.ctx.out / "links3" / "index.html").read_text()
    first = page.split('<div class="embed"')[1].split("</div>")[0]
    assert "other words" in first and "cycle" not in page
    assert page.count("item") >= 2  # the block embedded under ## Last
    codes = {(d.path, d.code) for d in r.diagnostics}
    assert ("Links3.md", "embed-cycle") not in codes and ("Loop.md", "embed-cycle") in codes


def test_heading_links_land_on_the_heading_s_id_or_on_the_note(make_site):
    target = (
        "# T\n\n## See [[Other|the other]]\nalpha\n\n## **Bold** _it_ heading\nbravo\n\n"
        "## Intro\n\n## Intro\n\n## Café: déjà vu?\n\npara ^blk\n"
    )
    host = (
        "![[T#See Other the other]]\n\n![[T#**Bold** _it_ heading]]\n\n"  # spelled as written, as Obsidian links
        "[[T#See Other the other]] [[T#intro]] [[T#Café déjà vu]] [[T#Caf%C3%A9%3A%20d%C3%A9j%C3%A0%20vu%3F]] [[T#^blk]]\n"
        "[[T#No such heading]] [[T#^missingblock]] [[#Nope]] [md](T.md#Gone)\n"
    )
    r = make_site({"T.md": target, "Other.md": "o\n", "Host.md": host})
    page = read(r.ctx.out, "host/index.html")
    hrefs = re.findall(r'<a class="(?:internal|embed-link)" href="([^"]*)"', page)
    assert hrefs == [
        "/t/#see-the-other", "/other/", "/t/#bold-it-heading",  # the embeds' links, then the embedded text's
        "/t/#see-the-other", "/t/#intro", "/t/#café-déjà-vu", "/t/#café-déjà-vu", "/t/#%5Eblk",
        "/t/", "/t/", "/host/",  # nothing of that name: the note's top, never a dead #fragment
    ]
    assert '<a href="/t/" class="internal">md</a>' in page
    assert "alpha" in page and "bravo" in page
    assert [d.format() for d in r.diagnostics] == [
        "Host.md:6: warning[missing-heading] block '#^missingblock' not found in T.md; linking to the note",
        "Host.md:6: warning[missing-heading] heading '#Gone' not found in T.md; linking to the note",
        "Host.md:6: warning[missing-heading] heading '#No such heading' not found in T.md; linking to the note",
        "Host.md:6: warning[missing-heading] heading '#Nope' not found in Host.md; linking to the note",
    ]
    assert dead_links(r.ctx.out) == [] and dead_fragments(r.ctx.out) == []


def test_backlink_math_keeps_its_tex_escapes_and_is_never_cut_in_half(make_site):
    from kb.plaintext import MATH_OPEN, cut_marked, math_as_written

    r = make_site({"a.md": "[[b]] set $\\{a, b\\}$ is $50\\%$ of $a\\,b$, std::vector\\<int>\n", "b.md": "B\n",
                   "c.md": "[[b]] " + "w" * 232 + " $x+y+z+w$\n", "d.md": "w" * 234 + " $x+y+z+w$ [[b]]\n"})
    contexts = {bl.source: bl.context for bl in r.ctx.notes["b.md"].backlinks}
    assert math_as_written(contexts["a.md"]) == "b set $\\{a, b\\}$ is $50\\%$ of $a\\,b$, std::vector<int>"
    shown = read(r.ctx.out, "b/index.html")
    assert '<mo stretchy="false">{</mo>' in shown and "<mn>50</mn><mi>%</mi>" in shown and '<mspace width="0.167em">' in shown
    assert MATH_OPEN not in contexts["c.md"] and contexts["c.md"] == "b " + "w" * 232  # the formula did not fit: left out
    # a link past the first 240 characters: the context starts a little before it, never inside a formula
    assert math_as_written(contexts["d.md"]) == "…$x+y+z+w$ b"
    assert cut_marked(MATH_OPEN + "x" + "\ue101", 2) == ""
