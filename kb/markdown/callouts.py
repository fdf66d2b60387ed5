"""Obsidian callouts: `> [!note] Title`, `> [!tip]- Folded`, `> [!warning]+ Open`.

A core rule between "block" and "inline" turns a blockquote whose first line
is `[!type]` into

    <div class="callout" data-callout="type"><div class="callout-title">Title</div>
    <div class="callout-content">...</div></div>

or, when foldable, <details class="callout"> with a <summary> title (`+`
starts open). Nested callouts are blockquotes inside the content, so the same
pass handles them. The title is an inline token, so it may hold markdown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import OptionsDict

# [!type|metadata]: themes style on the metadata (data-callout-metadata, as Obsidian writes it)
_HEAD = re.compile(r"^\[!([\w-]+)(?:\|([^\]]*))?\]([+-]?)[ \t]*(.*)$")


def _close_index(tokens: list[Token], i: int) -> int:
    level = tokens[i].level
    for j in range(i + 1, len(tokens)):
        if tokens[j].type == "blockquote_close" and tokens[j].level == level:
            return j
    return len(tokens) - 1


def _title_tokens(kind: str, fold: str, title: str, line_map: list[int] | None) -> list[Token]:
    tag = "summary" if fold else "div"
    op = Token("callout_title_open", tag, 1, attrs={"class": "callout-title"}, block=True)
    inline = Token("inline", "", 0, content=title or kind[:1].upper() + kind[1:], children=[])
    inline.map = line_map
    return [op, inline, Token("callout_title_close", tag, -1, block=True)]


def _convert(tokens: list[Token], i: int) -> bool:
    if i + 2 >= len(tokens) or tokens[i + 1].type != "paragraph_open" or tokens[i + 2].type != "inline":
        return False
    para = tokens[i + 2]
    first, _, rest = para.content.partition("\n")
    m = _HEAD.match(first.strip())
    if not m:
        return False
    kind, meta, fold, title = m.group(1).lower(), (m.group(2) or "").strip(), m.group(3), m.group(4).strip()
    j = _close_index(tokens, i)
    open_tok, close_tok = tokens[i], tokens[j]
    tag = "details" if fold else "div"
    open_tok.type, open_tok.tag = "callout_open", tag
    open_tok.attrs = {"class": "callout", "data-callout": kind}
    if meta:
        open_tok.attrs["data-callout-metadata"] = meta
    if fold:
        open_tok.attrs["data-callout-fold"] = fold
        if fold == "+":
            open_tok.attrs["open"] = ""
    open_tok.meta = {"callout": kind, "fold": fold}
    close_tok.type, close_tok.tag = "callout_close", tag
    head_map = [para.map[0], para.map[0] + 1] if para.map else None
    body = tokens[i + 4 : j]
    if rest.strip():
        para.content = rest
        para.map = [para.map[0] + 1, para.map[1]] if para.map else None
        body = tokens[i + 1 : i + 4] + body
    new = _title_tokens(kind, fold, title, head_map)
    if body:
        new += [Token("callout_content_open", "div", 1, attrs={"class": "callout-content"}, block=True), *body]
        new.append(Token("callout_content_close", "div", -1, block=True))
    tokens[i + 1 : j] = new
    return True


def _callouts(state: StateCore) -> None:
    tokens = state.tokens
    i = 0
    while i < len(tokens):
        if tokens[i].type == "blockquote_open":
            _convert(tokens, i)
        i += 1


def _title_open(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: dict[str, Any]) -> str:
    # the title's words in one box: the title row is a flex row (icon, title, fold marker), where each
    # bare text run and link would otherwise be an item of its own and wrap apart
    return self.renderToken(tokens, idx, options, env) + '<span class="callout-title-text">'


def _title_close(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: dict[str, Any]) -> str:
    return "</span>" + self.renderToken(tokens, idx, options, env)


def callouts_plugin(md: MarkdownIt) -> None:
    md.core.ruler.after("block", "kb_callouts", _callouts)
    md.add_render_rule("callout_title_open", _title_open)
    md.add_render_rule("callout_title_close", _title_close)
