"""Long unbroken words in table cells may break anywhere, and nothing else may.

A table is as wide as the sum of its columns' narrowest widths, and a cell's narrowest width is its
longest word: one 80-character identifier or URL in a cell made that column 640 px wide and squeezed
every other column to a word per line (the table then scrolls). `overflow-wrap: anywhere` on the
whole cell would also split "Plugin" into "Pl-ug-in" on a phone, so only the long words get it: each
word of LONG_WORD+ characters in a cell's text becomes `<span class="long-word">` (style.css), and
an inline code span holding one gets the class itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import OptionsDict

LONG_WORD = 24  # characters; longer than nearly every English word, shorter than most URLs and hashes
_LONG = re.compile(rf"\S{{{LONG_WORD},}}")


def _mark_long_words(state: StateCore) -> None:
    in_cell = 0
    for tok in state.tokens:
        if tok.type in ("td_open", "th_open"):
            in_cell += 1
        elif tok.type in ("td_close", "th_close"):
            in_cell -= 1
        elif in_cell and tok.type == "inline" and tok.children:
            tok.children = [part for child in tok.children for part in _split(child)]


def _split(tok: Token) -> list[Token]:
    if tok.type == "code_inline" and _LONG.search(tok.content):
        tok.attrJoin("class", "long-word")
        return [tok]
    if tok.type != "text" or not _LONG.search(tok.content):
        return [tok]
    out: list[Token] = []
    last = 0
    for m in _LONG.finditer(tok.content):
        if m.start() > last:
            out.append(_text_like(tok, "text", tok.content[last : m.start()]))
        out.append(_text_like(tok, "kb_long_word", m.group(0)))
        last = m.end()
    if last < len(tok.content):
        out.append(_text_like(tok, "text", tok.content[last:]))
    return out


def _text_like(tok: Token, kind: str, content: str) -> Token:
    new = Token(kind, "", 0)
    new.content, new.meta = content, dict(tok.meta or {})
    return new


def _render_long_word(self: object, tokens: Sequence[Token], idx: int, options: OptionsDict, env: object) -> str:
    return f'<span class="long-word">{escapeHtml(tokens[idx].content)}</span>'  # as a text token is escaped


def tables_plugin(md: MarkdownIt) -> None:
    md.core.ruler.push("kb_long_words", _mark_long_words)
    md.add_render_rule("kb_long_word", _render_long_word)
