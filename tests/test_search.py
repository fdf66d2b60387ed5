"""Search index: chunking, cache, compression modes, format, CLI, related notes, Python/JS parity.

These use the deterministic `hash` embedder (kb.search.embed.HashEmbedder); tests that need
meaning use the real model and are marked slow (test_search_browser.py, test_search_model.py).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from search_vaults import vault

from kb.build import build
from kb.cli import main
from kb.config import Config, SearchConfig
from kb.load import make_note
from kb.search.chunk import MAX_PIECES, note_chunks, strip_markup
from kb.search.container import FormatError, pack, unpack
from kb.search.embed import packaged_model_path
from kb.search.query import SiteIndex
from kb.search.tokenize import WordPiece

NODE = shutil.which("node")
SEARCH_JS = Path(__file__).resolve().parents[1] / "templates" / "static" / "search.js"


def hash_config(**kw) -> Config:
    return Config(base_url="https://example.org/", search=SearchConfig(model="hash", **kw))


def build_hash(tmp_path: Path, files: dict[str, str], name: str = "site"):
    from conftest import write_vault

    v = write_vault(tmp_path / "vault", files)
    return build(v, tmp_path / name, hash_config(), embed=True)


@pytest.fixture(scope="module")
def wp() -> WordPiece:
    return WordPiece.from_file(packaged_model_path() / "vocab.txt")


def test_chunks_split_at_headings_with_stable_ids_and_limits(wp):
    long_para = " ".join(f"word{i}" for i in range(600))
    src = (b"---\ntitle: T\n---\nIntro with [[Other note|alias]] and **bold** <!-- hidden -->.\n\n"
           b"## Setup\n\n```py\nx = 1  # not a heading\n```\n\n### Deep\n\n" + long_para.encode() + b"\n")
    note = make_note("a/n.md", src)[0]
    note.headings = []
    chunks = note_chunks(note, lambda s: len(wp.encode(s)))
    assert chunks[0].id == "a/n.md#:0" and "alias" in chunks[0].text and "hidden" not in chunks[0].text
    assert "**" not in chunks[0].text and "[[" not in chunks[0].text
    assert chunks[1].heading == "Setup" and chunks[1].text.startswith("T > Setup\n") and "x = 1" in chunks[1].text
    deep = [c for c in chunks if c.heading == "Deep"]
    assert len(deep) >= 3 and [c.id for c in deep] == [f"a/n.md#deep:{i}" for i in range(len(deep))]
    assert deep[0].text.startswith("T > Setup > Deep\n")
    assert all(len(wp.encode(c.text)) <= MAX_PIECES for c in chunks)
    again = note_chunks(make_note("a/n.md", src)[0], lambda s: len(wp.encode(s)))
    assert [c.id for c in again] == [c.id for c in chunks]


def test_snippets_drop_single_emphasis_marks_but_keep_identifiers(wp):
    src = b"# T\n\n*First posted on my old blog.* See my_var_name and a * b, _really_.\n"
    (chunk,) = note_chunks(make_note("n.md", src)[0], lambda s: len(wp.encode(s)))
    assert chunk.snippet == "First posted on my old blog. See my_var_name and a * b, really."
    assert "*First posted" in chunk.text  # what gets embedded is unchanged


def test_title_h1_chunk_links_to_the_page_top_and_snippets_read_as_text(tmp_path):
    """The leading H1 that repeats the title is not rendered, so its chunk must not link to an id the
    page lacks; snippets show no callout markers or rules, and formulas as text."""
    src = ("# Sync your notes\n\nKeep the laptop and phone in step.\n\n> [!note] Tip\n> Use $x^2 = y$ here.\n\n---\n\n"
           "$$\n\\int_0^1 x\\,dx\n$$\n\n## Mobile\n\nOpen the vault.\n")
    r = build_hash(tmp_path, {"sync.md": src, "other.md": "# Other\n\nSomething else.\n"})
    chunks = [c for c in r.ctx.extra["search"].chunks if c.path == "sync.md"]
    assert [(c.anchor, c.heading) for c in chunks] == [("", ""), ("mobile", "Mobile")]
    page = (r.ctx.out / r.ctx.notes["sync.md"].url / "index.html").read_text()
    assert 'id="mobile"' in page
    assert chunks[0].snippet == "Keep the laptop and phone in step. Tip Use x² = y here. ∫₀¹ x dx"  # TeX as text
    from kb.plaintext import for_display

    assert for_display(r"a cake $6. A single \$ is escaped, \*not emphasis\* and *emphasis*") == (
        "a cake $6. A single $ is escaped, *not emphasis* and emphasis")
    assert "\\int" in chunks[0].text  # what gets embedded keeps the math


def test_display_text_reads_bracket_math_like_dollar_math():
    r"""\(…\) and \[…\] are math in kb's markdown, as $…$ and $$…$$ are: every mode of for_display treats them alike."""
    from kb.plaintext import MATH_CLOSE, MATH_OPEN, for_display, strip_markup

    def shown(md: str, math: str) -> str:
        return for_display(strip_markup(md), math=math)

    for math, formula in {"strip": "a^2+b^2=c^2", "text": "a²+b²=c²", "mark": f"{MATH_OPEN}a^2+b^2=c^2{MATH_CLOSE}"}.items():
        want = f"Pythagoras: {formula}, so{' ∫₀¹ x dx' if math == 'text' else ''}. Then"  # display math: text only
        assert shown(r"Pythagoras: \( a^2+b^2=c^2 \), so \[ \int_0^1 x\,dx \]. Then", math) == want
        assert shown(r"Pythagoras: $a^2+b^2=c^2$, so $$ \int_0^1 x\,dx $$. Then", math) == want
    # not math, as on the page: an escaped \\(, a blank \( \), a bracketed \[1\] or escaped \[\[link\]\]
    assert shown(r"\\(x\) and \( \) and \[1\] and \[\[Links\]\]", "text") == r"\(x) and ( ) and [1] and [[Links]]"


def test_snippets_leave_out_footnotes_nested_quotes_task_statuses_and_removed_embeds():
    from kb.plaintext import for_display, strip_markup

    def shown(md: str) -> str:
        return for_display(strip_markup(md), math="text")

    assert shown("Asides go out of the way.[^paper] Or inline.^[Inline ones need no label.] A book[^book].\n\n"
                 "[^paper]: Paper notebooks.") == "Asides go out of the way. Or inline. A book. Paper notebooks."
    assert shown(r"An escaped \[^1] is text") == "An escaped [^1] is text"
    assert shown("> [!note] Outer\n> > [!question]- Nested question\n> > Are you sure?\n> > > - [ ] deep") == (
        "Outer Nested question Are you sure? deep")
    assert shown("- [/] in progress\n- [-] cancelled\n* [>] forwarded\n1. [x] done, not [x] or [/] in a line") == (
        "in progress cancelled forwarded [x] done, not [x] or [/] in a line")
    assert shown("and Sync setup and ![[diagram.png]]. Then ![](a.png) more, <kbd>Esc</kbd>!") == (
        "and Sync setup and. Then more, Esc!")
    assert strip_markup("Sync setup and ![[diagram.png]].\n\n![[x]]\n\nNext") == "Sync setup and.\n\n\n\nNext"  # what is embedded too


def test_chunks_leave_out_comments_and_link_only_to_ids_the_page_has(tmp_path):
    src = ("# About [[other|Other]]\n\nIntro text.\n\n%%\n## Hidden heading\nsecret words\n%%\n\n"
           "## Compatibility[^1]\n\nWorks with [[Feature]: crash](https://x.example/1) fixed.\n\n"
           "<!-- ## Also hidden -->\n\n[^1]: a note\n")
    r = build_hash(tmp_path, {"about.md": src, "other.md": "# Other\n\nx\n"})
    note = r.ctx.notes["about.md"]
    assert note.title == "About Other"  # the H1's visible words
    page = (r.ctx.out / note.url / "index.html").read_text()
    chunks = [c for c in r.ctx.extra["search"].chunks if c.path == "about.md"]
    assert all("secret" not in c.text and "%%" not in c.snippet and "Hidden" not in c.heading for c in chunks)
    assert all(f'id="{c.anchor}"' in page for c in chunks if c.anchor)
    assert [c.anchor for c in chunks] == ["", "compatibility"]
    assert "Works with [Feature]: crash fixed." in chunks[1].snippet


def test_result_shows_the_section_holding_the_query_word(tmp_path):
    files = vault(30, sections=3)
    files["tools/shell.md"] = ("# Shell tricks\n\n## Globbing\n\nMatch many files with one pattern.\n\n"
                               "## Listing\n\nWalk a tree with pathlib and rglob to find every file.\n")
    r = build_hash(tmp_path, files)
    idx = SiteIndex(r.ctx.out)
    top = idx.search("rglob", k=3)[0]
    assert (top.path, top.anchor) == ("tools/shell.md", "listing")
    assert idx.uses_words("rglob") and not idx.uses_words("xqzvplk wrrbtt")
    assert len(idx.search("xqzvplk wrrbtt")) == 10  # still the nearest by meaning; the box and CLI say so


def test_a_footer_found_in_most_notes_is_shown_as_its_note_but_still_indexed(tmp_path):
    footer = "\n\n# This note in GitHub\n\n[Edit In GitHub](https://example.org/edit) | Copy this note\n"
    files = {p: body + footer for p, body in vault(24).items()}
    files["odd.md"] = "# Odd one\n\nA note without the footer.\n\n## This note in GitHub\n\nBut its own words here.\n"
    r = build_hash(tmp_path, files)
    chunks = r.ctx.extra["search"].chunks
    shown = [c for c in chunks if "Edit In GitHub" in c.text]
    assert len(shown) == 24  # still embedded and indexed with its text
    first = {}
    for c in chunks:
        first.setdefault(c.path, c)
    assert all(c.heading == c.anchor == "" and c.snippet == first[c.path].snippet != "" for c in shown)
    own = next(c for c in chunks if c.path == "odd.md" and c.heading)
    assert (own.heading, own.anchor) == ("This note in GitHub", "this-note-in-github")  # not a repeat: as is
    top = SiteIndex(r.ctx.out).search("Edit In GitHub", k=3)[0]
    assert top.anchor == "" and top.heading == "" and "GitHub" not in top.snippet
    few = build_hash(tmp_path / "few", {p: body + footer for p, body in vault(19).items()})
    assert all(c.heading == "This note in GitHub" for c in few.ctx.extra["search"].chunks if "Edit In" in c.text)


def test_a_section_with_no_text_of_its_own_is_shown_as_its_note(tmp_path):
    """A section holding only embeds matched by its note's title and heading, and its result showed an
    empty snippet linking to it; it shows its note's top and first snippet instead (still indexed)."""
    files = vault(24)
    files["sync.md"] = ("# Sync your notes\n\n## Steps\n\nInstall the app on your phone and pair it.\n\n"
                        "## Embeds\n\n![[n01]]\n\n![[n02]]\n")
    r = build_hash(tmp_path, files)
    mine = [c for c in r.ctx.extra["search"].chunks if c.path == "sync.md"]
    assert [c.heading for c in mine] == ["", "Steps", ""]  # the top (no text before "Steps"), Steps, Embeds
    assert mine[2].anchor == "" and {c.snippet for c in mine} == {"Install the app on your phone and pair it."}
    results = SiteIndex(r.ctx.out).search("Sync your notes", k=3)
    assert results[0].path == "sync.md" and all(x.snippet for x in results)


def test_sharded_vocabulary_tokenizes_like_the_whole(wp):
    from kb.search.index import vocab_files, word_vocab_shards
    from kb.search.tokenize import basic_tokens

    files = vocab_files(wp.vocab)
    text = "Obsidian's unbelievably quirky ZETTELKASTEN plug-ins: naïve café, 東京, emoji 🎉, x, supercalifragilistic"
    for word in basic_tokens(text):
        ids: dict[str, int] = {}
        for shard in word_vocab_shards(word):
            for line in files[f"enc/vocab/{shard}.txt"].decode().split("\n"):
                if line:
                    tid, piece = line.split(" ", 1)
                    ids[piece] = int(tid)
        assert WordPiece([], ids).word_ids(word) == wp.word_ids(word), word


def test_word_table_gives_wordpiece_ids_and_misses_fall_back_to_the_vocabulary(wp):
    from kb.search.index import fnv1a, word_files
    from kb.search.tokenize import basic_tokens

    n, files = word_files(wp.vocab, {"zettelkasten", "plugins", "naive"})
    table = {}
    for data in files.values():
        for line in data.decode().split("\n"):
            if line:
                word, *ids = line.split(" ")
                assert f"enc/words/{fnv1a(word) % n}.txt" in files and word not in table
                table[word] = [int(i) for i in ids]
    assert n > 1 and {"zettelkasten", "plugins", "the", ",", "cafe"} <= set(table)
    for word in basic_tokens("Zettelkasten plugins: the naïve café, 東京"):
        assert table[word] == wp.word_ids(word), word
    assert "supercalifragilistic" not in table and "[CLS]" not in table


def test_query_words_cost_one_word_shard_each_unless_unknown(tmp_path, wp):
    r = build_hash(tmp_path, vault(12))
    idx = SiteIndex(r.ctx.out)
    assert idx.token_ids("sourdough crust") == wp.encode("sourdough crust")
    assert not [f for f in idx.fetched if f.startswith("enc/vocab/")]  # both words are in the table
    assert 1 <= len([f for f in idx.fetched if f.startswith("enc/words/")]) <= 2
    assert idx.token_ids("Xqzvkw sourdough") == wp.encode("xqzvkw sourdough")  # in neither the vault nor the vocabulary
    assert "enc/vocab/1.txt" in idx.fetched  # ... so it came from the vocabulary shards


def test_strip_markup_keeps_words_drops_syntax():
    assert strip_markup("See [x](http://e.org) and ![[img.png]] %%c%% `code_id` ==hi==") == "See x and code_id hi"


def test_deeply_quoted_lines_strip_at_once():
    """An imported mail thread quoted 40 deep: the quote runs of _MARKS once backtracked over every way
    to split the spaces between the ">" (3 s at 24 levels, doubling with each): this would not end."""
    assert strip_markup(("> " * 40 + "reply\n") * 3).split() == ["reply"] * 3


def test_snippet_keeps_code_spans_as_written(tmp_path):
    files = vault(24)
    files["shell.md"] = "# Shell\n\nType `\\(x\\)` or `$HOME` and `\\[a+b\\]` in the shell, and $y^2$ here.\n"
    r = build_hash(tmp_path, files)
    (chunk,) = [c for c in r.ctx.extra["search"].chunks if c.path == "shell.md"]
    assert chunk.snippet == "Type \\(x\\) or $HOME and \\[a+b\\] in the shell, and y² here."


def test_escaped_backticks_are_characters_and_the_formula_after_them_is_math():
    # seed 004 writes TeX's opening quotes as \`\`: no code span starts there, so the $ after it opens math
    from kb.plaintext import code_spans_escaped, for_display, strip_markup

    md = "Thus, \\`\\`$\\underset{\\theta, b}{\\text{arg min}}$\u2019' means $\\theta$ and `$b`."
    assert for_display(strip_markup(code_spans_escaped(md)), math="text") == "Thus, ``arg min_(θ, b)\u2019' means θ and $b."


_FILLER = " ".join(["shell"] * 250)  # one word piece each: 250 fill a part
_CODE = "Type `\\(x\\)` or `echo $HOME and $PATH` and `\\[a+b\\]` in the shell, and $y^2$ here."


@pytest.mark.parametrize("src", [f"{_FILLER}\n\n{_FILLER}\n\n{_CODE}\n", f"{_FILLER} {_CODE}\n"],
                         ids=["third-paragraph", "one-long-paragraph"])
def test_later_parts_of_a_long_section_keep_code_spans_as_written(wp, src):
    """A section too long for one chunk: the code spans of its later parts are not math in their
    snippets either, whether the parts are whole paragraphs or the words of one long paragraph."""
    chunks = note_chunks(make_note("shell.md", src.encode())[0], lambda s: len(wp.encode(s)))
    assert len(chunks) >= 2 and [c.id for c in chunks] == [f"shell.md#:{i}" for i in range(len(chunks))]
    # the last part starts before the first code span ("Type" may end the part before it)
    assert chunks[-1].snippet.endswith("\\(x\\) or echo $HOME and $PATH and \\[a+b\\] in the shell, and y² here.")
    # what gets embedded is what strip_markup left, not the escaped code
    assert " ".join(c.text.removeprefix("shell\n") for c in chunks).split() == strip_markup(src).split()


@pytest.mark.parametrize("n", [5, 50])
def test_small_vault_uses_int8_fallback_and_finds_notes(tmp_path, capsys, n):
    r = build_hash(tmp_path, vault(n))
    err = capsys.readouterr().err
    assert "index: int8 (64 B/chunk)" in err
    idx = SiteIndex(r.ctx.out)
    assert idx.manifest["mode"] == "int8" and idx.manifest["chunks"] == n * 2
    top = idx.search("sourdough flour yeast", k=3)
    assert top[0].path.startswith("bread/") and top[0].url.startswith("bread/")


def test_large_vault_uses_pq_lists_and_recall(tmp_path, capsys):
    r = build_hash(tmp_path, vault(240, sections=8))
    assert "index: pq (16 B/chunk, 16 B/note)" in capsys.readouterr().err
    idx = SiteIndex(r.ctx.out)
    m = idx.manifest
    assert m["mode"] == "pq" and m["bytes_per_chunk"] == 16  # 64 dims / 4 -> 16 sub-spaces x 2 stages, 4 bits
    assert len(list((r.ctx.out / "search" / "chunks").iterdir())) == 240
    state = r.ctx.extra["search"]
    from kb.search.quantize import quantize, reconstruct

    q = quantize(state.vectors)
    rec = reconstruct(q)
    exact = state.vectors @ q.rotation.T
    cos = (rec * exact).sum(1) / np.linalg.norm(rec, axis=1)
    assert cos.mean() > 0.9
    res = idx.search("sourdough crust", k=5)
    assert res and all(x.path.startswith("bread/") for x in res)
    fetched_chunks = [f for f in idx.fetched if f.startswith("chunks/")]
    assert 0 < len(fetched_chunks) <= m["rerank"]  # only the best notes' chunk codes are read


def test_cache_reembeds_only_changed_chunks(tmp_path):
    files = vault(20)
    r1 = build_hash(tmp_path, files)
    n = r1.ctx.extra["search"].embedder.calls
    assert n == len(r1.ctx.extra["search"].chunks) == 40
    assert (tmp_path / "vault" / ".kb-cache" / ".gitignore").is_file()
    r2 = build_hash(tmp_path, files)
    assert r2.ctx.extra["search"].embedder.calls == 0
    files["sync/note-003.md"] += "\nA new paragraph about tablets.\n"
    (tmp_path / "vault" / "sync" / "note-003.md").write_text(files["sync/note-003.md"])
    r3 = build_hash(tmp_path, files)
    assert r3.ctx.extra["search"].embedder.calls == 1  # only the changed last section
    assert np.allclose(r3.ctx.extra["search"].vectors[:6], r1.ctx.extra["search"].vectors[:6])


def test_token_states_are_kept_and_a_rebuild_gives_what_a_fresh_build_does(tmp_path, monkeypatch):
    import kb.search.static as static

    monkeypatch.setattr(static, "TUNE_MIN_CHUNKS", 30)  # the tuning too, which starts from the states
    files = vault(20)
    r1 = build_hash(tmp_path, files)
    assert list((tmp_path / "vault" / ".kb-cache").glob("context-*.npz"))
    assert not [x for x in r1.ctx.extra["search"].report if "token states" in x]  # summed while embedding
    files["sync/note-003.md"] += "\nA new paragraph about tablets.\n"
    (tmp_path / "vault" / "sync" / "note-003.md").write_text(files["sync/note-003.md"])
    r2 = build_hash(tmp_path, files)
    # the new chunk's states came with its embedding; the one it replaced ran again, to be taken out
    assert "query encoder: token states of 1 chunks" in " ".join(r2.ctx.extra["search"].report)

    def kept() -> dict[str, np.ndarray]:
        (f,) = (tmp_path / "vault" / ".kb-cache").glob("context-*.npz")
        with np.load(f) as z:
            return {k: z[k] for k in ("keys", "sizes", "ids", "sums", "counts")}

    updated = kept()
    shutil.rmtree(tmp_path / "vault" / ".kb-cache")
    r3 = build_hash(tmp_path, files, name="fresh")
    assert all(np.array_equal(a, kept()[k]) for k, a in updated.items())  # the sums less the chunk that left
    got, fresh = r2.ctx.out / "search", r3.ctx.out / "search"
    assert sorted(p.relative_to(got) for p in got.rglob("*")) == sorted(p.relative_to(fresh) for p in fresh.rglob("*"))
    assert all(p.read_bytes() == (fresh / p.relative_to(got)).read_bytes() for p in got.rglob("*") if p.is_file())


def test_related_notes_rendered_in_page(tmp_path):
    r = build_hash(tmp_path, vault(15))
    note = r.ctx.notes["garden/note-000.md"]
    assert len(note.related) == 5 and "garden/note-000.md" not in note.related
    assert all(p.startswith("garden/") for p in note.related[:2])  # the other garden notes are nearest
    html = (r.ctx.out / "garden/note-000/index.html").read_text()
    section = html.split('id="related-h"')[1].split("</section>")[0]
    assert f'href="/{r.ctx.notes[note.related[0]].url}"' in section


def test_no_embed_builds_lexical_index(make_site):
    r = make_site(vault(5), embed=False)
    idx = SiteIndex(r.ctx.out)
    assert idx.manifest["mode"] == "lexical" and not (r.ctx.out / "search" / "lists").exists()
    assert idx.search("metronome", k=2)[0].path.startswith("music/")
    assert r.ctx.notes["music/note-004.md"].related == []


def test_missing_model_warns_and_builds_lexical(tmp_path, capsys):
    from conftest import write_vault

    v = write_vault(tmp_path / "vault", vault(5))
    cfg = Config(base_url="https://example.org/", search=SearchConfig(model=str(tmp_path / "no-model")))
    r = build(v, tmp_path / "site", cfg, embed=True)
    err = capsys.readouterr().err
    assert "embedding model unavailable" in err and "lexical-only" in err
    assert SiteIndex(r.ctx.out).manifest["mode"] == "lexical"


def test_container_round_trip_and_errors():
    arrays = {"a": np.arange(7, dtype=np.uint32), "b": np.array([[1.5, -2]], np.float16), "c": np.array([-3, 4], np.int8)}
    data = pack("thing", arrays, extra=1)
    header, back = unpack(data, "thing")
    assert header["extra"] == 1 and all(np.array_equal(arrays[k], back[k]) for k in arrays)
    with pytest.raises(FormatError, match="bad magic"):
        unpack(b"XXXX" + data[4:], "thing")
    with pytest.raises(FormatError, match="version 9"):
        unpack(data[:4] + (9).to_bytes(4, "little") + data[8:], "thing")
    with pytest.raises(FormatError, match="truncated"):
        unpack(data[:-8], "thing")
    with pytest.raises(FormatError, match="expected a 'other'"):
        unpack(data, "other")


def test_cli_json_and_broken_index(tmp_path, capsys, monkeypatch):
    r = build_hash(tmp_path, vault(10))
    capsys.readouterr()
    assert main(["search", "guitar chords", "--site", str(r.ctx.out), "--json", "-k", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out) == 3 and set(out[0]) == {"path", "url", "anchor", "title", "heading", "score", "found_by"}
    assert out[0]["path"].startswith("music/") and out[0]["score"] >= out[1]["score"]
    assert out[0]["found_by"] == ["meaning", "words"]  # its text has "guitar" and "chords"
    # no note has the word: the vectors alone answer, and each result says so, as the text output does
    assert main(["search", "zqxv wblorf", "--site", str(r.ctx.out), "--json"]) == 0
    alone = json.loads(capsys.readouterr().out)
    assert alone and all(x["found_by"] == ["meaning"] for x in alone)
    assert main(["search", "how to", "--site", str(r.ctx.out)]) == 0  # only stopwords: no "no note contains" line
    assert "no note contains" not in capsys.readouterr().out
    for bad in ("0", "-2"):
        with pytest.raises(SystemExit):
            main(["search", "guitar", "--site", str(r.ctx.out), "-k", bad])
        assert "must be a whole number of 1 or more" in capsys.readouterr().err
    (r.ctx.out / "search" / "index.bin").write_bytes(b"garbage")
    assert main(["search", "guitar", "--site", str(r.ctx.out)]) == 2
    assert "bad magic" in capsys.readouterr().err
    shutil.rmtree(r.ctx.out / "search")
    assert main(["search", "guitar", "--site", str(r.ctx.out)]) == 2
    assert capsys.readouterr().err == (f"kb search: error: no search index in {r.ctx.out} (is it a site kb built?)\n"
                                       "  point at a site with --site DIR, or build this one with `kb build --out DIR`\n")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert main(["search", "guitar"]) == 2  # the default ./site, named in full
    assert capsys.readouterr().err == (f"kb search: error: no site at {tmp_path / 'elsewhere' / 'site'}\n"
                                       "  point at a site with --site DIR, or build one with `kb build` (it writes ./site)\n")


@pytest.mark.parametrize("manifest, says", [
    ('{"format": "kb-search", "version": 2}', "unknown index mode None"),  # valid JSON, the rest gone
    ('{"format": "kb-search", "version": 2, "mode": "int8", "bm25_shards": 3}', "incomplete, no meta_block"),
    ('["kb-search"]', "not a version 2 or 3 kb search index"),
    ('{"format": "kb-search", "version": 2, "mode": []}', "unknown index mode []"),  # not a TypeError
    ('\ufeff{"format": "kb-search", "version": 2, "mode": "pq", "note_lists": 3}', "bytes_per_chunk, note_probe:"),  # BOM read
    ('{"format": "kb-search", "version": 3, "mode": "lexical", "bm25_shards": 1, "meta_block": 16, "candidates": 9, '
     '"rrf_k": 3, "chunks": 40, "note_lists": 2}', "incomplete, no note_probe"),
    ('\x00{garbage', "unreadable: Expecting value"),  # not "'utf-16-be' codec can't decode"
])
def test_cli_reports_a_damaged_manifest_without_a_traceback(tmp_path, capsys, manifest, says):
    r = build_hash(tmp_path, vault(5))
    (r.ctx.out / "search" / "manifest.json").write_text(manifest, encoding="utf-8")
    capsys.readouterr()
    assert main(["search", "guitar", "--site", str(r.ctx.out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kb search: error: ") and says in err and "rebuild the site" in err, err


def test_json_urls_are_the_url_paths_the_text_shows_prefix_included(tmp_path, capsys):
    from conftest import write_vault

    v = write_vault(tmp_path / "vault", vault(10))
    cfg = replace(hash_config(), base_url="https://example.org/docs/")
    out = build(v, tmp_path / "site", cfg, embed=True).ctx.out
    capsys.readouterr()
    assert main(["search", "guitar chords", "--site", str(out), "--json", "-k", "3"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert main(["search", "guitar chords", "--site", str(out), "-k", "3"]) == 0
    text = capsys.readouterr().out
    for h in hits:
        assert h["url"].startswith("/docs/") and (out / h["url"][len("/docs/"):] / "index.html").is_file()
        assert f"    {h['url']}{'#' + h['anchor'] if h['anchor'] else ''}  [{h['path']}]" in text


QUERIES = ["sourdough crust", "guitar practice", "phone backup conflict", "typing pytest", "compost", "zzz unknownword",
           "Part 3 on scales", "item 7-2", "greenhouse seedlings for tomatoes"]


def node_search(site: Path, queries: list[str]) -> list[list[tuple[str, float, str]]]:
    script = f"""
const fs = require("fs"), path = require("path");
const api = require({json.dumps(str(SEARCH_JS))});
const idx = new api.Index(rel => {{ const b = fs.readFileSync(path.join({json.dumps(str(site))}, "search", rel));
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength); }});
(async () => {{ const out = [];
  for (const q of {json.dumps(queries)}) out.push((await idx.search(q, 10)).map(r => [r.path, r.score, r.anchor]));
  console.log(JSON.stringify(out)); }})().catch(e => {{ console.error(e); process.exit(1); }});
"""
    done = subprocess.run([NODE, "-e", script], capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout)


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_python_and_javascript_find_the_same_terms_and_compound_names():
    import random

    from kb.search.tokenize import terms

    rng = random.Random(5)
    pool = list("abcxyz019-_.-_./`'\"(),;:!?@#KİÉé") + [" ", " ", "\t", "\n", "\u00a0", "\u3000", "\u2028", "\u200b", "中", "🎉"]
    samples = ["Use `process.versions.chrome`.", "markdown-link-check, update-mocs.py", "--background-primary",
               "e.g. 2021-12-03!", "github.com/a/b-c", "\u212aelvin-scale", "a - b", "x.", "café-bar ünï-cöde"]
    samples += ["".join(rng.choice(pool) for _ in range(rng.randint(0, 40))) for _ in range(1500)]
    script = (f"const api = require({json.dumps(str(SEARCH_JS))});"
              f"console.log(JSON.stringify({json.dumps(samples)}.map(api.terms)));")
    js = json.loads(subprocess.run([NODE, "-e", script], capture_output=True, text=True, timeout=120, check=True).stdout)
    assert js == [terms(s) for s in samples]
    assert terms("Use `process.versions.chrome`.")[-1] == "process.versions.chrome"
    assert terms("markdown-link-check")[-1:] == ["markdown-link-check"] and terms("a - b") == ["b"]


@pytest.mark.skipif(NODE is None, reason="node is not installed")
@pytest.mark.parametrize("n,sections", [(12, 1), (240, 8)])
def test_python_and_javascript_rank_identically(tmp_path, n, sections):
    r = build_hash(tmp_path, vault(n, sections))
    js = node_search(r.ctx.out, QUERIES)
    idx = SiteIndex(r.ctx.out)
    for q, got in zip(QUERIES, js, strict=True):
        py = idx.search(q, k=10)
        assert [p for p, _, _ in got] == [x.path for x in py], q
        assert all(abs(s - x.score) < 1e-6 for (_, s, _), x in zip(got, py, strict=True))
        assert [a for _, _, a in got] == [x.anchor for x in py], q  # the same section shown
    assert any(got for got in js)


def test_rerank_notes_skips_notes_that_would_exceed_the_chunk_cap():
    from kb.search.query import rerank_notes

    counts = np.array([10, 50, 5, 40, 1])
    assert rerank_notes([0, 1, 2, 3, 4], counts, 3, 0) == [0, 1, 2]  # no cap: the best 3
    assert rerank_notes([0, 1, 2, 3, 4], counts, 3, 20) == [0, 2, 4]  # 1 and 3 do not fit, smaller ones still do
    assert rerank_notes([1, 0, 2], counts, 3, 20) == [1]  # the best note always counts, even above the cap


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_python_and_javascript_cap_the_rerank_alike(tmp_path):
    files = vault(240, 8)
    files.update({k.replace("note-", "long-"): v for k, v in vault(24, 40).items()})  # notes of 40+ chunks among them
    r = build_hash(tmp_path, files)
    mf = r.ctx.out / "search" / "manifest.json"
    m = json.loads(mf.read_text())
    assert m["mode"] == "pq" and m["rerank_chunks"] > 0
    m["rerank_chunks"] = 60
    mf.write_text(json.dumps(m))
    js = node_search(r.ctx.out, QUERIES)
    skipped = False
    for q, got in zip(QUERIES, js, strict=True):
        idx = SiteIndex(r.ctx.out)
        py = idx.search(q, k=10)
        assert [p for p, _, _ in got] == [x.path for x in py], q
        fetched = [int(f[len("chunks/") : -len(".bin")]) for f in idx.fetched if f.startswith("chunks/")]
        sizes = [int(idx.arrays["note_chunks"][n]) for n in fetched]
        assert sum(sizes) <= 60 or len(fetched) == 1, q
        skipped = skipped or (fetched and len(fetched) < m["rerank"])
    assert skipped and any(got for got in js)


def test_strip_markup_fast_patterns_match_the_plain_ones():
    """chunk._MARKS / _WS are tuned for speed; they must remove exactly what the plain patterns remove."""
    import random
    import re

    from kb.search import chunk

    lists = r"(?:\s*[-*+]\s+\[[^\]\n]\]\s+|\s*[-*+]\s+|\s*\d+\.\s+)"
    marks = re.compile(rf"(\*\*|__|~~|==|`+|^(?:\s{{0,3}}>\s?)*{lists}|^(?:\s{{0,3}}>\s?)+|\^[\w-]+\s*$)", re.M)
    spaces = re.compile(r"[ \t]+")
    rng = random.Random(3)
    alphabet = [*"ab1 \t\n*_~=`>-+^[]xX/.|", "\u00a0", "\u2003", "\u0663"]
    for _ in range(50000):
        s = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16)))
        assert chunk._MARKS.sub("", s) == marks.sub("", s), s
        assert chunk._WS.sub(" ", s) == spaces.sub(" ", s), s


def test_requantize_codes_like_the_training_run():
    """Codes made with kept codebooks equal those of the run that trained them; an index that
    does not fit (int8, too few chunks, other dims) is refused."""
    from kb.search.quantize import PQ_MIN_CHUNKS, quantize, requantize

    rng = np.random.default_rng(3)
    x = rng.normal(size=(PQ_MIN_CHUNKS + 100, 64)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    notes = x[::4] / np.linalg.norm(x[::4], axis=1, keepdims=True)
    q = quantize(x, 0, notes)
    again = requantize(q, x, notes)
    assert q.mode == "pq" and again is not None
    assert np.array_equal(again.codes, q.codes) and np.array_equal(again.note_codes, q.note_codes)
    moved = requantize(q, x[::-1].copy(), notes)
    assert moved is not None and np.array_equal(moved.codes, q.codes[::-1])
    assert requantize(q, x[:100], notes) is None  # this few chunks get int8
    assert requantize(q, x[:, :32].copy(), notes) is None
    assert requantize(quantize(x[:100]), x, notes) is None


def test_pq_with_fewer_notes_than_dimensions():
    """Enough chunks for product quantization, in fewer notes than the vectors have dimensions
    (a vault of a few long notes): the rotation trained on the note vectors is still a whole basis."""
    from kb.search.quantize import PQ_MIN_CHUNKS, quantize, reconstruct

    rng = np.random.default_rng(4)
    x = rng.normal(size=(PQ_MIN_CHUNKS + 10, 64)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    notes = x[:40].copy()
    q = quantize(x, 0, notes)
    assert q.mode == "pq" and q.note_codes.shape[0] == 40
    assert np.allclose(q.rotation @ q.rotation.T, np.eye(64), atol=1e-4)
    rec = reconstruct(q)
    assert float(np.mean((rec * (x @ q.rotation.T)).sum(1))) > 0.5


def test_chunk_memo_gives_the_same_chunks(tmp_path):
    """kb serve's per-note chunk memo returns what chunking from scratch returns, re-cuts a note
    whose text or title changed and forgets notes that are gone."""
    from conftest import write_vault

    from kb.search.pipeline import _counter, chunk_all

    v = write_vault(tmp_path / "v", vault(8, sections=3))
    ctx = build(v, tmp_path / "site", hash_config(), embed=False).ctx
    count = _counter(None)
    memo: dict = {}
    fresh = chunk_all(ctx, count)
    assert chunk_all(ctx, count, memo) == fresh and set(memo) == set(ctx.notes)
    first = "garden/note-000.md"
    other = "bread/note-001.md"
    kept, kept_other = memo[first][1], memo[other][1]
    ctx.notes[first].title = "A new title"
    gone = sorted(ctx.notes)[-1]
    del ctx.notes[gone]
    again = chunk_all(ctx, count, memo)
    assert again == chunk_all(ctx, count)
    assert memo[first][1] is not kept and memo[first][1][0].text.startswith("A new title")
    assert gone not in memo and gone != other
    assert memo[other][1] is kept_other  # an unchanged note is not cut again


def test_score_aware_codes_trade_error_along_the_vector_for_error_across_it():
    """eta > 1 codes minimise eta * |r_par|^2 + |r_perp|^2: the error along each vector (what moves its
    score against a query near it) falls several-fold for a little more error across it. (That this
    finds more of the true top-10 shows on real embeddings, not on Gaussian blobs: bench/README.md.)
    eta = 1 keeps plain k-means codes, and the codes match encode_stages', which kb serve uses."""
    from kb.search.quantize import _decode_stage, encode_stages, residual_stages, unpack4

    rng = np.random.default_rng(7)
    centers = rng.normal(size=(40, 48))
    x = (centers[rng.integers(0, 40, 3000)] + 0.8 * rng.normal(size=(3000, 48))).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)

    def errors(eta: float) -> tuple[float, float]:
        books, codes = residual_stages(x, [12], 3, eta=eta)
        assert np.array_equal(encode_stages(x, books, eta=eta), codes)
        r = x - _decode_stage(books[0].astype(np.float32), unpack4(codes))
        return float(np.mean((r * x).sum(1) ** 2)), float(np.mean((r * r).sum(1)))

    plain_par, plain_all = errors(1.0)
    aware_par, aware_all = errors(4.0)
    assert aware_par < 0.3 * plain_par
    assert plain_all < aware_all < 1.3 * plain_all


def test_chunks_of_headings_with_math_link_to_their_own_ids(tmp_path):
    src = "# The $x^2$ value\n\nIntro.\n\n## Using $\\alpha$\n\nfirst part\n\n## Using $\\alpha$\n\nsecond part\n"
    r = build_hash(tmp_path, {"c.md": src, "other.md": "# Other\n\nSomething else.\n"})
    chunks = [c for c in r.ctx.extra["search"].chunks if c.path == "c.md"]
    assert [(c.anchor, c.heading) for c in chunks] == [("", ""), ("using-alpha", "Using \\alpha"), ("using-alpha-1", "Using \\alpha")]


@pytest.fixture(scope="module")
def listed_site(tmp_path_factory):
    """240 notes with NOTE_SCAN at 60 and lists of about 16 notes: the index of a vault past NOTE_SCAN."""
    import kb.search.quantize as qz

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(qz, "NOTE_SCAN", 60)
        mp.setattr(qz, "NOTES_PER_LIST", 16)
        return build_hash(tmp_path_factory.mktemp("lists"), vault(240, 8)).ctx.out


def test_vault_past_note_scan_reads_only_its_best_note_lists(listed_site):
    m = json.loads((listed_site / "search" / "manifest.json").read_text())
    assert m["mode"] == "pq" and m["note_lists"] == 15 and m["note_probe"] == 4  # ceil(15 lists x 60 / 240 notes)
    assert m["version"] == 3  # a reader of version 2 would look for notes.bin
    assert not (listed_site / "search" / "notes.bin").exists()
    ids = [unpack((listed_site / "search" / "notes" / f"{li}.bin").read_bytes(), "notes")[1]["ids"] for li in range(15)]
    assert sorted(int(i) for part in ids for i in part) == list(range(240))  # each note in exactly one list
    idx = SiteIndex(listed_site)
    res = idx.search("sourdough crust", k=5)
    assert res and all(x.path.startswith("bread/") for x in res)
    read = [f for f in idx.fetched if f.startswith("notes/")]
    assert len(read) == 4 and "note-lists.bin" in idx.fetched and "notes.bin" not in idx.fetched
    scanned = sum(len(ids[int(f[len("notes/") : -len(".bin")])]) for f in read)
    assert scanned < 240  # the point: a query no longer reads every note's code


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_python_and_javascript_read_the_same_note_lists(listed_site):
    js = node_search(listed_site, QUERIES)
    for q, got in zip(QUERIES, js, strict=True):
        py = SiteIndex(listed_site).search(q, k=10)
        assert [p for p, _, _ in got] == [x.path for x in py], q
        assert all(abs(s - x.score) < 1e-6 for (_, s, _), x in zip(got, py, strict=True))
    assert any(got for got in js)


def test_search_disabled_leaves_the_search_box_out(tmp_path):
    # [search] enabled = false writes no search/: a box on the pages could only say "Search is
    # unavailable ... Rebuild the site", which no rebuild fixes
    from conftest import write_vault

    v = write_vault(tmp_path / "vault", vault(3))
    for enabled in (False, True):
        out = build(v, tmp_path / f"site-{enabled}", hash_config(enabled=enabled), embed=True).ctx.out
        assert (out / "search" / "manifest.json").is_file() == enabled
        for page in (out / "index.html", out / "404.html", next(out.glob("*/note-000/index.html"))):
            html = page.read_text(encoding="utf-8")
            assert ('id="search-input"' in html) == enabled and ("static/search.js" in html) == enabled, page
        assert ("Try the search box" in (out / "404.html").read_text(encoding="utf-8")) == enabled  # not one that is not there


def test_cli_output_into_a_closed_pipe_is_not_a_traceback(tmp_path):
    # `kb search "..." | head -1`: head exits after its line; kb must stop quietly
    import os
    import subprocess
    import sys

    r = build_hash(tmp_path, vault(30, sections=3))
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    for args in (["-k", "30"], ["-k", "30", "--json"]):
        proc = subprocess.Popen([sys.executable, "-m", "kb", "search", "guitar chords", "--site", str(r.ctx.out), *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        proc.stdout.close()  # the reader is gone before kb writes anything
        err = proc.stderr.read().decode()
        proc.stderr.close()
        assert proc.wait(60) == 141 and err == "", err


def test_search_box_says_what_it_searches_by(tmp_path):
    """A site without embeddings (--no-embed, or the model missing) finds words only: its box must not
    promise search by meaning. The / shortcut is announced to screen readers and shown on hover."""
    from conftest import write_vault

    files = vault(3)
    semantic = build_hash(tmp_path, files)
    lexical = build(write_vault(tmp_path / "v2", files), tmp_path / "lex", hash_config(), embed=False)
    for r, says in ((semantic, "Search by meaning…"), (lexical, "Search words…")):
        page = (r.ctx.out / "bread" / "note-001" / "index.html").read_text()
        box = page[page.index('<input id="search-input"') :].split(">", 1)[0]
        assert f'placeholder="{says}"' in box and 'aria-keyshortcuts="/"' in box


def test_note_lists_only_where_a_query_reads_fewer_than_all_and_none_empty(monkeypatch):
    import kb.search.quantize as qz

    monkeypatch.setattr(qz, "NOTE_SCAN", 100)
    monkeypatch.setattr(qz, "NOTES_PER_LIST", 16)
    rng = np.random.default_rng(0)
    base = rng.standard_normal((100, 64)).astype(np.float32)
    books, _ = qz.residual_stages(base, [16], 7, eta=qz.NOTE_ETA)
    assert len(qz.note_lists(base, books)[0]) == 0  # at NOTE_SCAN: every note scanned, no lists
    # just past it: 7 lists, and a query would read ceil(7 x 100 / 101) = 7 of them: one notes.bin is fewer files
    assert len(qz.note_lists(np.concatenate([base, base[:1]]), books)[0]) == 0
    tripled = np.concatenate([base, base, base])  # copies of each note (three copies of a vault)
    assign, codes, probe = qz.note_lists(tripled, books)
    assert len(assign) == 300 and len(codes) <= 19 and 0 < probe < len(codes)
    assert sorted(set(assign.tolist())) == list(range(len(codes)))  # every list has notes: no probe slot wasted


def test_meta_files_carry_the_build_of_their_manifest(tmp_path):
    """A redeploy while a page is open mixes old and new files; the build id says which is which."""
    files = vault(30, sections=2)
    r1 = build_hash(tmp_path, files)
    first = json.loads((r1.ctx.out / "search" / "manifest.json").read_text())["build"]
    assert build_hash(tmp_path, files, name="again").ctx.extra["search"] is not None
    assert json.loads((tmp_path / "again" / "search" / "manifest.json").read_text())["build"] == first  # deterministic
    for f in (r1.ctx.out / "search" / "meta").iterdir():
        assert json.loads(f.read_text())["build"] == first
    idx = SiteIndex(r1.ctx.out)
    assert idx.search("sourdough crust", k=3)
    files["bread/note-001.md"] += "\nA new line.\n"
    r2 = build_hash(tmp_path, files, name="next")
    assert json.loads((r2.ctx.out / "search" / "manifest.json").read_text())["build"] != first
    shutil.copy(r2.ctx.out / "search" / "meta" / "0.json", r1.ctx.out / "search" / "meta" / "0.json")
    with pytest.raises(FormatError, match="from another build than manifest.json"):
        for q in ("sourdough crust", "compost tomatoes", "guitar", "phone backup", "pytest typing"):
            SiteIndex(r1.ctx.out).search(q, k=30)
