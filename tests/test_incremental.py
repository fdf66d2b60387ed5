"""affected() on pairs of full builds, and Rebuilder output == a fresh full build."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from kb.build import build
from kb.config import Config
from kb.incremental import affected, snapshot
from kb.model import BuildContext
from kb.rebuild import Rebuilder
from kb.search.live import LiveSearch
from tests.conftest import write_vault

CFG = Config(base_url="https://example.org/")

VAULT = {
    "a.md": "---\ntags: [x]\ndate: 2024-01-01\n---\n# A\nLinks to [[b]].\n",
    "b.md": "---\ntags: [y/z]\n---\n# B\nBody of b.\n",
    "c.md": "# C\nEmbeds ![[b]] here.\n",
    "d.md": "# D\nEmbeds ![[c]] too.\n",
    "e.md": "# E\nAlone, links to [[nothing]].\n",
    "f.md": "# F\nLinks to [[a]].\n",
}


def two_builds(tmp_path: Path, edits: dict[str, str | None]):
    """Snapshots of the vault before and after `edits` (None deletes a file)."""
    vault = write_vault(tmp_path / "v", VAULT)
    first = build(vault, tmp_path / "s1", CFG, embed=False).ctx
    for rel, text in edits.items():
        if text is None:
            (vault / rel).unlink()
        else:
            write_vault(vault, {rel: text})
    second = build(vault, tmp_path / "s2", CFG, embed=False).ctx
    return snapshot(first), snapshot(second), set(edits)


def test_body_edit_rerenders_note_and_embedders_only(tmp_path):
    before, after, changed = two_builds(tmp_path, {"b.md": VAULT["b.md"].replace("Body of b.", "New body.")})
    a = affected(before, after, changed)
    assert a.reparse == {"b.md", "c.md", "d.md"}  # c embeds b, d embeds c
    assert a.render == {"b.md", "c.md", "d.md"}
    assert not a.lists and not a.tags and not a.removed


def test_link_line_edit_rerenders_target_backlinks(tmp_path):
    before, after, changed = two_builds(tmp_path, {"a.md": VAULT["a.md"].replace("Links to [[b]].", "Now links to [[b]]!")})
    a = affected(before, after, changed)
    assert a.reparse == {"a.md"}
    assert a.render == {"a.md", "b.md"}  # b's backlink context changed
    assert not a.lists


def test_title_change_updates_backlinks_lists_and_tags(tmp_path):
    before, after, changed = two_builds(tmp_path, {"a.md": VAULT["a.md"].replace("# A", "# A renamed")})
    a = affected(before, after, changed)
    assert a.render == {"a.md", "b.md"}  # b lists a's title among its backlinks
    assert a.tags == {"x"} and a.lists and a.feeds


def test_description_change_rewrites_lists_not_backlinks(tmp_path):
    before, after, changed = two_builds(tmp_path, {"a.md": VAULT["a.md"].replace("tags: [x]", "tags: [x]\ndescription: Summary")})
    a = affected(before, after, changed)
    assert a.render == {"a.md"}  # b shows a's title only
    assert a.lists and a.tags == {"x"} and a.feeds


def test_tag_change_rewrites_old_and_new_tag_pages(tmp_path):
    before, after, changed = two_builds(tmp_path, {"b.md": VAULT["b.md"].replace("[y/z]", "[w]")})
    a = affected(before, after, changed)
    assert a.tags == {"w"}
    assert {"tags/y/index.html", "tags/y/z/index.html"} <= a.removed
    assert a.lists


def test_delete_unresolves_links_and_removes_page(tmp_path):
    before, after, changed = two_builds(tmp_path, {"b.md": None})
    a = affected(before, after, changed)
    assert a.reparse == {"a.md", "c.md", "d.md"}  # a's link and c's embed no longer resolve
    assert "b/index.html" in a.removed and "tags/y/z/index.html" in a.removed
    assert a.lists


def test_rename_moves_page_and_updates_linkers(tmp_path):
    before, after, changed = two_builds(tmp_path, {"b.md": None, "bee.md": VAULT["b.md"]})
    a = affected(before, after, changed)
    assert {"bee.md", "a.md", "c.md", "d.md"} <= a.reparse
    assert "b/index.html" in a.removed and "bee/index.html" not in a.removed


def test_new_note_resolves_dangling_links(tmp_path):
    before, after, changed = two_builds(tmp_path, {"nothing.md": "# Nothing\nnow exists\n"})
    a = affected(before, after, changed)
    assert a.reparse == {"nothing.md", "e.md"}
    assert a.render == {"nothing.md", "e.md"} and a.lists and not a.removed


def test_unrelated_note_untouched_by_permalink_change(tmp_path):
    before, after, changed = two_builds(tmp_path, {"a.md": VAULT["a.md"].replace("tags: [x]", "tags: [x]\npermalink: alpha")})
    a = affected(before, after, changed)
    assert "f.md" in a.reparse  # f links to a, whose URL moved
    assert "a/index.html" in a.removed and "e.md" not in a.render


def test_a_title_that_becomes_shared_rewrites_the_pages_that_list_the_other_note(tmp_path):
    # e takes f's title: the lists that name f now show its path after the title (kb/emit/pages.py)
    before, after, changed = two_builds(tmp_path, {"e.md": "# F\nAlone, links to [[nothing]].\n"})
    a = affected(before, after, changed)
    assert a.render == {"e.md", "a.md"}  # f is among a's backlinks
    assert a.lists


# --- Rebuilder: incremental result equals a fresh full build ----------------


def site_files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def assert_same_as_full_build(vault: Path, site: Path, tmp_path: Path, config: Config = CFG) -> None:
    fresh = build(vault, tmp_path / "fresh", config, embed=False).ctx.out
    got, want = site_files(site), site_files(fresh)
    assert sorted(got) == sorted(want)
    for rel in want:
        assert got[rel] == want[rel], rel


def test_rebuilder_sequence_matches_full_build(tmp_path):
    vault = write_vault(tmp_path / "v", VAULT)
    ctx, rb, live = served(vault, tmp_path)
    steps: list[dict[str, str | None]] = [
        {"b.md": VAULT["b.md"].replace("Body of b.", "Changed [[e]] and #newtag")},
        {"nothing.md": "---\ndate: 2023-05-05\naliases: [nada]\n---\n# Nothing\nHere.\n"},
        {"a.md": VAULT["a.md"].replace("# A", "# Alpha").replace("[x]", "[x, q]")},
        {"b.md": None, "bee.md": VAULT["b.md"]},
        {"e.md": "# E\nlinks to [[nada]] and [[bee]]\n", "c.md": "---\ndraft: true\n---\nhidden"},
        {"sub/e.md": "# Sub E\nsame name as e\n", "f.md": "# F\n[[e]] [[sub/e]] ![[bee#B]]\n"},
        {"nothing.md": None, "c.md": "# C back\n![[d]]\n"},
        {"a.md": "# Alpha\n[[e#Later]] and [[bee#B]] and [[f#^blk]]\n"},  # warnings: no such heading/block
        {"e.md": "# E\n## Later\ntext\n", "f.md": "# F\npara ^blk\n"},  # a's warnings go away
        {"e.md": "# E\nno heading now\n"},  # and one comes back
        {"a.md": "---\ntags: [x]\ndescription: On the home page\n---\n# Alpha\n[[e]]\n"},  # listings show it
    ]
    walk_steps(vault, rb, live, steps, tmp_path)


def test_rebuilder_follows_titles_becoming_shared_and_unique_again(tmp_path):
    vault = write_vault(tmp_path / "v", VAULT)
    ctx, rb, live = served(vault, tmp_path)
    steps: list[dict[str, str | None]] = [
        {"e.md": "# F\nnow titled as f is\n"},  # f, listed on a's page, is told apart from e
        {"sub/f.md": "---\ntags: [x]\n---\n# f\nlinks to [[a]]\n"},  # a third one, on a tag page too
        {"e.md": "# E\nback\n"},  # f and sub/f still share "F"
        {"sub/f.md": None},  # f's title is its own again
    ]
    shown = walk_steps(vault, rb, live, steps, tmp_path,
                       lambda: '<span class="note-path">f</span>' in (ctx.out / "a/index.html").read_text())
    assert shown == [True, True, True, False]


def test_rebuilder_follows_a_line_becoming_shared_by_a_tenth_of_the_notes(tmp_path):
    # 19 notes end with a line: still theirs; a 20th makes it a template's, which no description shows
    footer = "\n\nEdit this note on the web\n"
    files = {f"n{i:02}.md": f"# N{i}\nOwn {i}.{footer}" for i in range(19)}
    vault = write_vault(tmp_path / "v", files)
    ctx, rb, live = served(vault, tmp_path)
    steps: list[dict[str, str | None]] = [
        {"n19.md": f"# N19\nOwn 19.{footer}"},  # the 20th: the line leaves every description
        {"n03.md": "# N3\nOwn 3, no footer now.\n"},  # 19 again: it comes back in the others
    ]
    shown = walk_steps(vault, rb, live, steps, tmp_path,
                       lambda: "Edit this note" in (ctx.out / "n00/index.html").read_text().split("</head>")[0])
    assert shown == [False, True]


def served(vault: Path, tmp_path: Path) -> tuple[BuildContext, Rebuilder, LiveSearch]:
    """A build and what kb serve keeps of it: the rebuilder, and the search index refreshed by its own
    thread after each rebuild."""
    ctx = build(vault, tmp_path / "site", CFG, embed=False).ctx
    rb = Rebuilder(ctx)
    live = LiveSearch(vault, ctx.out, CFG, embed=False, apply_related=rb.apply_related, debounce=0)
    ctx.extra["on_rebuilt"] = live.schedule
    return ctx, rb, live


def walk_steps(vault, rb, live, steps, tmp_path, look=None) -> list:  # noqa: ANN001
    """Apply each step's edits (None: delete) as kb serve would, and after each check the served site
    against a full build; `look()` is called after each step and its answers returned."""
    seen = []
    for step in steps:
        for rel, text in step.items():
            if text is None:
                (vault / rel).unlink()
            else:
                write_vault(vault, {rel: text})
        rb.apply(set(step))
        assert live.wait_idle(60)
        assert_same_as_full_build(vault, rb.ctx.out, tmp_path)
        seen.append(look() if look else None)
    live.stop()
    return seen


def test_links_to_a_note_that_becomes_a_draft_say_so_as_a_full_build_does(tmp_path):
    vault = write_vault(tmp_path / "v", {"a.md": "# A\n[[b]] and ![[b]]\n", "b.md": "# B\n"})
    rb = Rebuilder(build(vault, tmp_path / "site", CFG, embed=False).ctx)
    draft = "---\ndraft: true\n---\n# B\n"
    for rel, text in (("b.md", draft), ("b.md", None), ("b.md", draft), ("b.md", "# B\n")):
        if text is None:
            (vault / rel).unlink()
        else:
            write_vault(vault, {rel: text})
        rb.apply({rel})
        fresh = build(vault, tmp_path / "fresh", CFG, embed=False)
        assert [d.format() for d in rb.ctx.diagnostics] == [d.format() for d in fresh.diagnostics], text


def test_bad_note_reports_and_fix_clears(tmp_path):
    vault = write_vault(tmp_path / "v", VAULT)
    ctx = build(vault, tmp_path / "site", replace(CFG, problems_on_pages=True), embed=False).ctx
    rb = Rebuilder(ctx)
    write_vault(vault, {"e.md": "---\ntitle: [broken\n---\n# E\n"})
    out = rb.apply({"e.md"})
    assert [(d.path, d.code) for d in out.reported] == [("e.md", "frontmatter")]
    assert "build-problems" in (ctx.out / "e/index.html").read_text()
    write_vault(vault, {"e.md": "# E\nfine\n"})
    out = rb.apply({"e.md"})
    assert out.fixed == ["e.md"] and not out.reported
    assert "build-problems" not in (ctx.out / "e/index.html").read_text()


def test_non_utf8_edit_keeps_previous_page(tmp_path):
    vault = write_vault(tmp_path / "v", VAULT)
    ctx = build(vault, tmp_path / "site", CFG, embed=False).ctx
    rb = Rebuilder(ctx)
    before = (ctx.out / "b/index.html").read_bytes()
    (vault / "b.md").write_bytes(b"# B\nhalf \xe2\x82")
    out = rb.apply({"b.md"})
    assert out.kept and out.kept[0].code == "encoding" and out.kept[0].path == "b.md"
    assert (ctx.out / "b/index.html").read_bytes() == before


def test_note_never_utf8_is_still_updated(tmp_path):
    vault = write_vault(tmp_path / "v", {**VAULT, "latin.md": b"# Caf\xe9\nfirst\n"})
    ctx = build(vault, tmp_path / "site", CFG, embed=False).ctx
    rb = Rebuilder(ctx)
    (vault / "latin.md").write_bytes(b"# Caf\xe9\nsecond\n")
    out = rb.apply({"latin.md"})
    assert not out.kept and [d.code for d in out.reported] == ["encoding"]
    assert "second" in (ctx.out / "latin/index.html").read_text()
