"""Imported bodies: H1 sections demoted (one H1 per page, a Contents box), summaries for posts
without one, and notes named by their vault path in import messages."""

from __future__ import annotations

import re
from pathlib import Path

from kb.build import build
from kb.cli import main
from kb.config import Config
from kb.importers import import_source
from kb.importers.body import SUMMARY_MAX, demote_headings, summary_of
from kb.importers.writer import HASH_KEY, with_hash

FIX = Path(__file__).parent / "fixtures" / "import"
HUGO = FIX / "hugo_rss.xml"  # Hugo's RSS: the whole post in <description>, sections as H1s


def built(vault: Path, tmp_path: Path) -> Path:
    site = tmp_path / "site"
    build(vault, site, Config(base_url="https://example.org/"), embed=False)
    return site


def test_h1_sections_become_h2_and_the_page_gets_contents(tmp_path):
    vault = tmp_path / "vault"
    import_source(str(HUGO), vault)
    note = (vault / "why-the-sigmoid.md").read_text(encoding="utf-8")
    assert re.findall(r"(?m)^#+ .*", note) == [
        "## Introduction", "## Logistic regression", "### The loss", "# a comment, not a heading",
        "###### Fine print", "## Conclusion",
    ]  # the code block's '# comment' untouched; H6 stays H6
    html = (built(vault, tmp_path) / "why-the-sigmoid" / "index.html").read_text(encoding="utf-8")
    assert html.count("<h1") == 1 and 'class="toc"' in html
    assert '<li class="toc-2"><a href="#introduction">Introduction</a></li>' in html
    # a post already starting at H2 is left exactly as the feed had it
    tidy = (vault / "already-tidy.md").read_text(encoding="utf-8")
    assert "\n## One\n" in tidy and "\n### Three\n" in tidy


def test_notes_users_write_keep_their_h1s(tmp_path):
    vault = tmp_path / "vault"
    vault.mkdir()
    (vault / "mine.md").write_text("---\ntitle: Mine\n---\n# One\n\ntext\n\n# Two\n\ntext\n", encoding="utf-8")
    html = (built(vault, tmp_path) / "mine" / "index.html").read_text(encoding="utf-8")
    assert html.count("<h1") == 3  # the title and both of the user's own H1s


def test_demote_headings_rules():
    body = "# A\n\n```\n# code\n```\n\n    # indented code\n\n$$\n# math\n$$\n\nB\n=\n\nC\nc2\n---\n\n> # quoted\n\n## D #\n"
    out = demote_headings(body, "Title")
    assert out == (
        "## A\n\n```\n# code\n```\n\n    # indented code\n\n$$\n# math\n$$\n\nB\n-\n\n### C c2\n\n> ## quoted\n\n### D #\n"
    )
    assert demote_headings(out, "Title") == out  # idempotent: nothing is H1 any more
    assert demote_headings("## A\n\n# B\n", "") == "## A\n\n# B\n"  # no title of its own: left alone
    assert demote_headings("## A\n\n### B\n", "T") == "## A\n\n### B\n"  # top level H2 already
    # a leading H1 repeating the title is dropped (the page shows the title), the rest demoted
    assert demote_headings("# Title\n\nIntro\n\n# Part\n", "Title") == "Intro\n\n## Part\n"
    # ... and left for the page to drop when nothing else needs demoting
    assert demote_headings("# Title\n\n## Part\n", "Title") == "# Title\n\n## Part\n"


def test_summary_for_feeds_without_one_and_from_post_bodies(tmp_path):
    vault = tmp_path / "vault"
    import_source(str(HUGO), vault)
    note = (vault / "why-the-sigmoid.md").read_text(encoding="utf-8")
    assert ("description: Logistic regression is often the first classification algorithm a machine learning "
            "engineer encounters. It is the workhorse of binary classification; it’s simple and effective.\n") in note
    home = (built(vault, tmp_path) / "index.html").read_text(encoding="utf-8")
    assert home.count('class="post-summary"') == 2
    # a feed's own, separate description still wins
    import_source(str(FIX / "hashnode_code.xml"), vault)
    assert "description: A short excerpt\n" in (vault / "product-quantization-in-numpy.md").read_text(encoding="utf-8")
    # Hugo's <!--more--> divider; a long opening paragraph is cut at a word
    assert summary_of("# H\n\nFirst.\n\nSecond.\n\n<!--more-->\n\nRest.\n") == "First. Second."
    long = summary_of("word " * 100)
    assert len(long) <= SUMMARY_MAX + 1 and long.endswith("word…")
    assert summary_of("```\ncode\n```\n") == ""


def test_posts_without_description_get_one(tmp_path):
    vault = tmp_path / "vault"
    import_source(str(FIX / "hugo"), vault)
    assert "description: The other post.\n" in (vault / "other.md").read_text(encoding="utf-8")
    assert "description: All the shortcodes\n" in (vault / "hugo-shortcodes.md").read_text(encoding="utf-8")
    import_source(str(FIX / "jekyll"), vault)
    no_title = (vault / "no-title.md").read_text(encoding="utf-8")
    assert "description: Body of a post whose title comes from its file name.\n" in no_title


def _as_written_before_demotion(note: Path) -> None:
    """Rewrite `note` as kb wrote it before H1 sections were demoted, with a valid import_hash."""
    text = re.sub(rf"(?m)^{HASH_KEY}:.*\n", "", note.read_text(encoding="utf-8"))
    text = re.sub(r"(?m)^#(#+ )", r"\1", text)
    note.write_text(with_hash(text), encoding="utf-8")


def test_notes_imported_before_the_change_update_unless_edited(tmp_path):
    vault = tmp_path / "vault"
    import_source(str(HUGO), vault)
    sigmoid, tidy = vault / "why-the-sigmoid.md", vault / "already-tidy.md"
    _as_written_before_demotion(sigmoid)
    assert "\n# Introduction\n" in sigmoid.read_text(encoding="utf-8")
    report = import_source(str(HUGO), vault)
    assert report.updated == ["why-the-sigmoid.md"] and report.unchanged == ["already-tidy.md"]
    assert "\n## Introduction\n" in sigmoid.read_text(encoding="utf-8")
    again = import_source(str(HUGO), vault)
    assert sorted(again.unchanged) == ["already-tidy.md", "why-the-sigmoid.md"] and not again.updated
    # an old note the user edited is kept, and reported as such
    _as_written_before_demotion(sigmoid)
    sigmoid.write_text(sigmoid.read_text(encoding="utf-8") + "\nMy note.\n", encoding="utf-8")
    report = import_source(str(HUGO), vault)
    assert report.skipped == [("why-the-sigmoid.md", "skipped: edited since import")]
    assert "My note." in sigmoid.read_text(encoding="utf-8") and tidy.is_file()


def test_messages_name_the_note_by_its_path_in_the_vault(tmp_path, capsys):
    vault = tmp_path / "vault"
    vault.mkdir()
    (vault / "kb.toml").write_text('title = "Notes"\n', encoding="utf-8")
    into = vault / "imported" / "hugo"
    assert main(["import", str(HUGO), "--into", str(into)]) == 0
    assert "created: imported/hugo/why-the-sigmoid.md" in capsys.readouterr().out
    note = into / "why-the-sigmoid.md"
    note.write_text(note.read_text(encoding="utf-8").replace("That is all.", "Edited."), encoding="utf-8")
    feed = tmp_path / "feed.xml"
    feed.write_text(HUGO.read_text(encoding="utf-8").replace("That is all.", "That is all, revised."), encoding="utf-8")
    assert main(["import", str(feed), "--into", str(into)]) == 0
    out = capsys.readouterr().out
    assert "skipped: edited since import: imported/hugo/why-the-sigmoid.md" in out
    # a kb.toml beside the vault that names it (`vault = "content"`): paths are in that vault
    project = tmp_path / "project"
    (project / "content").mkdir(parents=True)
    (project / "kb.toml").write_text('vault = "content"\n', encoding="utf-8")
    assert main(["import", str(HUGO), "--into", str(project / "content" / "posts")]) == 0
    assert "created: posts/why-the-sigmoid.md" in capsys.readouterr().out


def test_summary_reads_markdown_escapes_as_their_characters():
    assert summary_of("Use std::vector\\<int> for arrays, \\*not\\* pointers.") == "Use std::vector<int> for arrays, *not* pointers."
    assert summary_of("2020\\. A year \\+ more, for \\$5.") == "2020. A year + more, for $5."


def test_a_more_divider_inside_code_is_not_the_summary_cut():
    body = "Intro paragraph that is short.\n\n```html\n<p>a</p><!--more-->\n```\n\nSecond paragraph.\n\n<!--more-->\n\nRest of the post.\n"
    assert summary_of(body) == "Intro paragraph that is short. Second paragraph."


def test_summaries_skip_short_lines_that_are_not_sentences():
    body = "Release date : Dec 23, 2024\n\nServes 8\n\n- flour\n\nWe agreed to ship the beta next week and to review the docs first.\n"
    assert summary_of(body) == "We agreed to ship the beta next week and to review the docs first."
    assert summary_of("Short intro.\n\nAnother paragraph of the post that says more about it.\n") == (
        "Short intro. Another paragraph of the post that says more about it.")
