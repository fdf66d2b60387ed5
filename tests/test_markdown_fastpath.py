"""kb.markdown.fastpath: the faster parser paths give markdown-it's own output."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest
from markdown_it import helpers
from markdown_it.utils import read_fixture_file

from kb.markdown import make_md
from kb.markdown.fastpath import parse_link_destination
from kb.transform.parse import Renderer

sys.path.insert(0, str(Path(__file__).parent / "markdown"))
from mdvault import make_renderer, render  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _same(a, b) -> bool:  # noqa: ANN001 - two markdown_it _Result objects
    return (a.ok, a.pos, a.str) == (b.ok, b.pos, b.str)


def test_link_destination_agrees_with_markdown_it_on_random_strings():
    rng = random.Random(7)
    alphabet = list("ab/:.?#=") + ["(", ")", "\\", " ", "<", ">", "\n", "\t", "\x7f", "\x01", "é", "\\ ", "\\("]
    for _ in range(30000):
        s = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        pos = rng.randint(0, len(s))
        maximum = rng.randint(pos, len(s) + 2)
        assert _same(parse_link_destination(s, pos, maximum), helpers.parseLinkDestination(s, pos, maximum)), (s, pos, maximum)


def test_link_destination_deep_parentheses():
    for s in ["(" * 33 + ")" * 33, "a(b(c)d)e", "x" * 500 + "(y)", "a\\)b)"]:
        assert _same(parse_link_destination(s, 0, len(s)), helpers.parseLinkDestination(s, 0, len(s)))


# lines that start (or almost start) every kind of block, so that guards are tried on all of them
_PIECES = [
    "text with [link](https://ex.org/a_(b)) and [[note A]] ==hi== %%c%% $x$ #tag",
    "- item", "* star", "+ plus", "1. one", "2) two", "---", "***", "___", "# h1", "###### h6", "####### no",
    "> quote", "> [!note] Title", "```py", "~~~", "$$", "\\[", "\\]", "%%", "<div>", "</div>", "<!-- c -->",
    "[ref]: https://ex.org", "[^1]: footnote", "| a | b |", "|---|---|", "    indented code", "\tTab",
    "Setext", "===", "", "", "text ^block1", "  - nested", "   > deep", "![[note A]]", "[x]", "-", "#",
]


# inline pieces: every character an inline rule starts at, in and out of context
_INLINE = [
    "word", " ", "**b**", "*i*", "_u_", "~~s~~", "==m==", "`c`", "``", "$x^2$", "$5", "\\(a\\)", "\\[b\\]", "\\*",
    "<span>", "</span>", "<https://ex.org>", "&amp;", "&#35;", "&", "#tag", "#a/b", "%%hid%%", "[[note A]]",
    "![[note A]]", "[[note A|alias]]", "[t](https://ex.org/(x))", "[t](<a b>)", "![i](a.png)", "[^1]", "^[fn]",
    "https://ex.org/p", "[", "]", "(", ")", "!", "<", "*", "_", "=", "~", "^", ":", "\n", "-", "+", "{", "}",
    "\r\n", "\r", "\x00",
]


def _random_doc(rng: random.Random) -> str:
    lines = []
    for _ in range(rng.randint(1, 25)):
        line = rng.choice(_PIECES)
        if rng.random() < 0.5:
            line += "".join(rng.choice(_INLINE) for _ in range(rng.randint(1, 12)))
        lines.append(line)
    return "\n".join(lines) + "\n"


def _inputs() -> list[str]:
    docs = [inp for f in sorted((ROOT / "tests/markdown/fixtures").glob("*.md")) for _, _, inp, _ in read_fixture_file(f)]
    docs += [p.read_text(encoding="utf-8") for p in sorted((ROOT / "content").rglob("*.md"))]
    rng = random.Random(11)
    return docs + [_random_doc(rng) for _ in range(1500)]


@pytest.fixture(scope="module")
def renderers() -> tuple[Renderer, Renderer]:
    fast = make_renderer()
    plain = make_renderer()
    plain.md = make_md(fast=False)
    return fast, plain


def test_fast_parser_renders_what_markdown_it_renders(renderers):
    fast, plain = renderers
    docs = _inputs()
    assert len(docs) > 500
    for doc in docs:
        assert render(fast, doc)[0] == render(plain, doc)[0], doc


def test_fast_paths_are_in_place():
    md = make_md()
    (dispatch,) = md.block.ruler.getRules("paragraph")
    assert dispatch.__name__ == "dispatch"
    assert md.helpers.parseLinkDestination is parse_link_destination
    assert md.inline.tokenize.__self__.rules_at("[") == [
        r.fn for r in md.inline.ruler.__rules__ if r.name in ("wikilink", "link", "footnote_ref")
    ]
