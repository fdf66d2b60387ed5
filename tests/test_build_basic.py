from pathlib import Path

import pytest

from kb.config import Config
from kb.load import make_note


def read(site: Path, rel: str) -> str:
    return (site / rel).read_text(encoding="utf-8")


def test_wikilinks_backlinks_and_unresolved(make_site):
    r = make_site({"a.md": "# A\nSee [[B]] and [[nope]].\n", "sub/b.md": "# B\ntext\n"})
    a = read(r.ctx.out, "a/index.html")
    assert '<a class="internal" href="/sub/b/">B</a>' in a
    assert '<span class="unresolved"' in a and "nope" in a
    assert "/nope" not in a
    b = read(r.ctx.out, "sub/b/index.html")
    assert 'href="/a/"' in b.split('id="backlinks-h"')[1]
    assert [d.format() for d in r.diagnostics] == ["a.md:2: warning[unresolved-link] unresolved link [[nope]]"]


def test_invalid_frontmatter_reports_line_and_still_builds(make_site):
    r = make_site({"bad.md": "---\ntitle: ok\ntags: [unclosed\n---\nBody text\n", "good.md": "fine"})
    assert (r.ctx.out / "bad/index.html").is_file() and (r.ctx.out / "good/index.html").is_file()
    (d,) = r.diagnostics
    assert d.path == "bad.md" and d.code == "frontmatter" and d.line == 3  # the line of the unclosed '[', not where YAML gave up
    assert d.message == "invalid YAML frontmatter: the [ list on this line is not closed: did not find expected ',' or ']'; properties ignored"
    assert "Body text" in read(r.ctx.out, "bad/index.html")


def test_dates_that_are_no_dates_are_reported_and_the_note_still_builds(make_site):
    """PyYAML raised ValueError for 2023-02-29 from the whole document, which stopped the build;
    a date kb cannot read was dropped in silence."""
    r = make_site({
        "leap.md": "---\ntitle: Leap\ntags: [t]\ndate: 2023-02-29\nupdated: 2024-01-02\n---\nHello\n",
        "words.md": "---\ntitle: Words\nmodified: soon\ndate: 15/01/2024\n---\nWorld\n",
        "ok.md": "---\ndate: 2024-01-15\n---\nfine\n",
    })
    assert sorted(d.format() for d in r.diagnostics) == [
        "leap.md:4: warning[frontmatter] date: '2023-02-29' is no day of the calendar; the note goes without it",
        "words.md:3: warning[frontmatter] modified: 'soon' is not a date (write YYYY-MM-DD); the note goes without it",
        "words.md:4: warning[frontmatter] date: '15/01/2024' is not a date (write YYYY-MM-DD); the note goes without it",
    ]
    leap = r.ctx.notes["leap.md"]
    assert leap.title == "Leap" and leap.tags == ["t"] and leap.date is None  # the other properties are kept
    page = read(r.ctx.out, "leap/index.html")
    assert "updated <time" in page and "02 January 2024" in page  # shown without a date too
    assert r.ctx.notes["ok.md"].date.year == 2024


def test_title_sources():
    assert make_note("x/My File.md", b"---\ntitle: From FM\n---\n# H1\n")[0].title == "From FM"
    assert make_note("x/My File.md", b"```\n# not\n```\n# Real H1\n")[0].title == "Real H1"
    assert make_note("x/My File.md", b"no heading")[0].title == "My File"


def test_nested_frontmatter_lists_give_their_items_not_python_reprs():
    """`tags: [[foo]]` (a wikilink left unquoted: YAML reads a list in a list) gave the tag "['foo']"
    and the page a #['foo'] chip; a mapping gave "{'a':" and "1}". Nested lists are flattened, mappings dropped."""
    def note(fm: str):
        return make_note("a.md", f"---\n{fm}\n---\nbody\n".encode())[0]

    assert note("tags: [[foo]]").tags == ["foo"]
    assert note("tags:\n  - [a, b]\n  - c").tags == ["a", "b", "c"]
    assert note("tags: [x, {y: 2}]").tags == ["x"]
    assert note("tags: {a: 1}").tags == []
    assert note("aliases: [[Other name]]").aliases == ["Other name"]


def test_drafts_excluded_everywhere(make_site):
    r = make_site({"pub.md": "---\ndate: 2024-01-01\n---\n[[secret]]", "secret.md": "---\ndraft: true\ndate: 2024-02-01\n---\nhidden"})
    assert not (r.ctx.out / "secret").exists()
    for f in ("index.html", "rss.xml", "atom.xml", "sitemap.xml", "archive/index.html"):
        assert "/secret/" not in read(r.ctx.out, f) and "hidden</p>" not in read(r.ctx.out, f)
    assert 'class="unresolved"' in read(r.ctx.out, "pub/index.html")


def test_footer_h1_is_not_the_title():
    body = b"Some intro text.\n\nMore text.\n\n## Section\n\nx\n\n%% footer %%\n\n# This note in GitHub\n"
    assert make_note("Plugins seeking help.md", body)[0].title == "Plugins seeking help"
    assert make_note("a.md", b"![[banner.png]]\n\n# Real title\n\ntext\n")[0].title == "Real title"


def test_backlink_context_is_plain_text(make_site):
    r = make_site({"a.md": "Read **[the b note](b.md)** or [[b|Bee]] today\n", "b.md": "# B\n"})
    (bl,) = r.ctx.notes["b.md"].backlinks
    assert bl.context == "Read the b note or Bee today"


def test_line_breaks_setting(make_site, tmp_path):
    text = "# Poem\nfirst line\nsecond line\n\n| a |\n|---|\n| b |\n"
    plain = (make_site({"poem.md": text}).ctx.out / "poem" / "index.html").read_text()
    assert "first line\nsecond line</p>" in plain  # CommonMark: one paragraph, lines joined
    (tmp_path / "site").rename(tmp_path / "site-plain")
    broken = make_site({"poem.md": text}, Config(base_url="https://example.org/", line_breaks=True))
    page = (broken.ctx.out / "poem" / "index.html").read_text()
    assert "first line<br />\nsecond line</p>" in page  # as Obsidian shows it with strict line breaks off
    assert "<td>b</td>" in page


def test_line_breaks_follow_the_vaults_obsidian_setting_unless_kb_toml_says(tmp_path):
    from conftest import write_vault

    from kb.build import build

    text = "# Poem\nfirst line\nsecond line\n"
    vault = write_vault(tmp_path / "v", {"poem.md": text, ".obsidian/app.json": '{"strictLineBreaks": false}'})
    page = (build(vault, tmp_path / "s1", Config(), embed=False).ctx.out / "poem/index.html").read_text()
    assert "first line<br />\nsecond line</p>" in page  # the vault turned "Strict line breaks" off
    page = (build(vault, tmp_path / "s2", Config(line_breaks=False), embed=False).ctx.out / "poem/index.html").read_text()
    assert "first line\nsecond line</p>" in page  # kb.toml wins
    (vault / ".obsidian/app.json").write_text('{"strictLineBreaks": true, "foldHeading": true}')
    page = (build(vault, tmp_path / "s3", Config(), embed=False).ctx.out / "poem/index.html").read_text()
    assert "first line\nsecond line</p>" in page
    (vault / ".obsidian/app.json").write_text("{not json")  # unreadable: the default, CommonMark, and said so
    r = build(vault, tmp_path / "s4", Config(), embed=False)
    assert "first line\nsecond line</p>" in (r.ctx.out / "poem/index.html").read_text()
    (d,) = r.diagnostics
    assert (d.path, d.code) == (".obsidian/app.json", "config") and d.message.endswith("using Obsidian's default (strict line breaks)")
    assert not build(vault, tmp_path / "s5", Config(line_breaks=True), embed=False).diagnostics  # kb.toml decides: not read


def test_line_breaks_in_kb_toml(tmp_path):
    from kb.config import ConfigError, load_config

    assert load_config(tmp_path / "kb.toml").line_breaks is None  # no kb.toml: decided from the vault
    (tmp_path / "kb.toml").write_text("line_breaks = true\n")
    assert load_config(tmp_path / "kb.toml").line_breaks is True
    (tmp_path / "kb.toml").write_text('line_breaks = "yes"\n')
    with pytest.raises(ConfigError, match="'line_breaks' must be true or false"):
        load_config(tmp_path / "kb.toml")


def test_tag_pages_list_dated_and_undated_notes(make_site):
    r = make_site({
        "dated.md": "---\ndate: 2024-05-01\ntags: [ideas]\n---\nDated.\n",
        "undated.md": "---\ntags: [ideas]\n---\nUndated.\n",
        "inline.md": "No date, tagged inline #ideas\n",
    })
    page = read(r.ctx.out, "tags/ideas/index.html")
    assert all(f'href="/{n}/"' in page for n in ("dated", "undated", "inline")), page
    assert page.index('href="/dated/"') < page.index('href="/inline/"') < page.index('href="/undated/"')  # dated first, then by title


def test_tags_that_slugify_alike_keep_their_own_pages(make_site):
    r = make_site({
        "a.md": "Plain #under and #c\n",
        "b.md": "Leading underscore #_under\n",
        "c.md": "---\ntags: [c++, 1984]\n---\nFrontmatter tags.\n",
    })
    pages = {p.parent.relative_to(r.ctx.out / "tags").as_posix(): p.read_text() for p in (r.ctx.out / "tags").rglob("index.html")}
    under = [k for k, v in pages.items() if k != "." and "#_under" in v]
    assert len(under) == 1 and under[0] != "under", pages.keys()
    assert 'href="/a/"' in pages["under"] and 'href="/b/"' not in pages["under"]
    assert 'href="/b/"' in pages[under[0]]
    assert 'href="/c/"' not in pages["c"]  # #c++ has a page of its own
    assert "1984" not in pages["."]  # a number alone is no tag, in frontmatter either
    assert sorted(r.ctx.tags) == ["_under", "c", "c++", "under"]


def test_an_alias_string_is_one_alias(make_site):
    r = make_site({
        "target.md": "---\naliases: my other name\n---\nBody.\n",
        "src.md": "See [[my other name]] and [[other]].\n",
    })
    assert r.ctx.notes["target.md"].aliases == ["my other name"]
    page = read(r.ctx.out, "src/index.html")
    assert 'href="/target/"' in page and "unresolved" in page  # [[other]] is not an alias


def test_meta_description_is_the_opening_prose_cut_at_a_word(make_site):
    """Without a `description`, a page describes itself with its first paragraphs: inline elements add
    no space, headings, tables, code, diagrams and footnotes are left out, and it is cut at a word."""
    src = ("# Start\n\nThis vault was made by `kb init`. Write notes, link them with [[Second note]], tag them with "
           "#ideas, and *run* it.[^1]\n\n| Head | Cell |\n|---|---|\n| a | b |\n\n```mermaid\nflowchart LR\n  A --> B\n```\n\n"
           "## Then\n\n```py\nx = 1\n```\n\n- One item\n- Two " + "words " * 30 + "\n\n[^1]: A footnote.\n")
    r = make_site({"start.md": src, "Second note.md": "---\ndescription: Its own words.\n---\nBody\n", "empty.md": ""})
    page = read(r.ctx.out, "start/index.html")
    meta = page.split('<meta name="description" content="')[1].split('">')[0]
    assert meta.startswith("This vault was made by kb init. Write notes, link them with Second note, tag them with #ideas, "
                           "and run it. One item Two words words")
    assert meta.endswith("words…") and len(meta) <= 160
    assert '<meta name="description" content="Its own words.">' in read(r.ctx.out, "second-note/index.html")
    assert '<meta name="description" content="' + (r.ctx.config.description or r.ctx.config.title) in read(r.ctx.out, "empty/index.html")


def test_meta_description_shows_formulas_as_text(make_site):
    """A formula's MathML read as text runs it together ("a2+b2=c2"): the description shows it as text
    from its TeX (x², √(…), a/b), inline or display, in the note itself or in an embed at its top. The
    page keeps its MathML."""
    src = ("# Pythagoras\n\nIn a right triangle $a^2+b^2=c^2$, so $$c=\\sqrt{a^2+b^2}$$ and \\(x<y\\) when\n"
           "$$\n\\frac{x}{y} < 1\n$$\nholds.\n")
    r = make_site({"pythagoras.md": src, "euler.md": "![[identity]]\n", "identity.md": "Euler: $e^{i\\pi}+1=0$.\n"})
    assert r.ctx.notes["pythagoras.md"].summary == "In a right triangle a²+b²=c², so c=√(a²+b²) and x<y when x/y < 1 holds."
    assert r.ctx.notes["euler.md"].summary == "Euler: e^(iπ)+1=0."
    page = read(r.ctx.out, "pythagoras/index.html")
    assert '<meta name="description" content="In a right triangle a²+b²=c², so c=√(a²+b²) and x&lt;y when' in page
    assert page.count("<math ") == 4 and "a^2" not in page.split("</head>")[1]
    known = {"<math><mi>b</mi></math>": "b_0"}  # MathML kb did not write (raw HTML) reads as text
    assert summary("<p>A <math><mi>a</mi></math> and <math><mi>b</mi></math></p>", formulas=known) == "A a and b₀"


def test_formulas_read_as_text():
    """Symbols from pylatexenc's table, short scripts as Unicode super- and subscripts, longer ones in
    parentheses; spaces between commands kept; TeX it cannot read (unbalanced braces) shown as written."""
    from kb.mathtext import tex_as_text

    assert tex_as_text(r"\sum_{k=1}^{n} k = \frac{n(n+1)}{2}") == "∑ₖ₌₁ⁿ k = n(n+1)/2"
    assert tex_as_text(r"\alpha \leq \beta") == "α ≤ β"
    assert tex_as_text(r"x \in \mathbb{R}^{d}, \theta^{(t)}, y^q") == "x ∈ ℝᵈ, θ⁽ᵗ⁾, y^q"  # Unicode has no superscript q
    assert tex_as_text(r"\int_{-\infty}^{\infty} e^{-x^2} \, dx") == "∫_(-∞)^∞ e^(-x^2) dx"
    assert tex_as_text(r"\|x\|_2 + \hat{y}_{ij}") == "‖x‖₂ + ŷᵢⱼ"
    assert tex_as_text(r"\frac{a}{") == r"\frac{a}{"
    # an argument after a space is still the argument; \text{} words keep their underscores; escaped braces
    assert tex_as_text(r"\frac 12 + \sqrt 2, x \in \mathbb R^n, \hat x") == "1/2 + √(2), x ∈ ℝⁿ, x̂"
    assert tex_as_text(r"\text{my_var} + x_i = \{a, b\}") == "my_var + xᵢ = {a, b}"
    assert tex_as_text(r"\dfrac{a}{b} + \tfrac12 + \binom{n}{k}") == "a/b + 1/2 + C(n, k)"  # not "ab", "12", "nk"
    assert tex_as_text(r"\underset{\theta, b}{\text{arg min}} L") == "arg min_(θ, b) L"  # not "θ, barg min L"


def test_a_description_leaves_out_text_that_a_tenth_of_the_notes_share(make_site):
    # obsidian-hub's template footer closed half its pages' descriptions; a line in a few notes is theirs
    footer = "\n# This note in GitHub\n\n[Edit In GitHub](https://example.org/e) | Copy this note\n"
    files = {f"n{i:02}.md": f"# Note {i}\n\nBody of note {i}.\n{footer}" for i in range(20)}
    files["bare.md"] = "# Bare\n" + footer  # only the template: no description of its own
    files |= {f"few{i}.md": f"# Few {i}\n\nSee also.\n\nOwn words {i}.\n" for i in range(3)}
    r = make_site(files)
    assert r.ctx.notes["n07.md"].summary == "Body of note 7."
    assert '<meta name="description" content="Body of note 7.">' in read(r.ctx.out, "n07/index.html")
    assert r.ctx.notes["bare.md"].summary == ""
    assert r.ctx.notes["few1.md"].summary == "See also. Own words 1."  # shared by 3 of 24 notes: kept
    from kb.transform.htmltext import summaries

    openings = {f"{i}.md": ("Shared line", f"own {i}") for i in range(19)}
    assert summaries(openings)["3.md"] == "Shared line own 3"  # 19 notes: under the floor of 20
    assert summaries(openings | {"19.md": ("Shared line",)})["3.md"] == "own 3"


def summary(fragment: str, formulas: dict[str, str] | None = None) -> str:
    """One note's meta description, as a build gives it (the note alone shares no text)."""
    from kb.transform.htmltext import opening, summaries

    return summaries({"n.md": opening(fragment, formulas=formulas)})["n.md"]


def test_summary_and_text_of_html():
    from kb.transform.htmltext import cut_at_word, html_to_text

    html = ('<h2>Title</h2><p>An <a href="/x">x</a>, <code>y</code> and x<sup>2</sup><sup class="footnote-ref"><a>[1]</a></sup>.</p>'
            '<figure class="plugin-block"><figcaption>Mermaid diagram source: z</figcaption><pre><code>a</code></pre></figure>'
            '<div class="callout"><div class="callout-title">Note</div><div class="callout-content"><p>Inside &amp; out</p></div></div>'
            '<ul><li>one<br>two</li></ul><section class="footnotes"><ol><li>The note</li></ol></section>')
    assert summary(html) == "An x, y and x2. Inside & out one two"
    # a line of #tags only is metadata (obsidian-hub's "#placeholder/description"); a tag in a sentence is a word
    tags = '<p><a class="tag" href="/tags/todo/">#todo</a> <a class="tag" href="/tags/a/b/">#a/b</a></p><p>I like <a class="tag">#python</a>.</p>'
    assert summary(tags) == "I like #python."
    assert html_to_text(html).startswith("Title An x, y and x2[1]. Mermaid diagram source: z a Note Inside & out one two")
    assert cut_at_word("one two three", 13) == "one two three"
    assert cut_at_word("one two, three", 12) == "one two…" and cut_at_word("one two three", 8) == "one two…"
    assert cut_at_word("abcdefgh", 5) == "abcd…"
