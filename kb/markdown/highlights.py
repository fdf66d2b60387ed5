"""==highlight== -> <mark>, a port of markdown-it-mark.

Uses the same delimiter machinery as ~~strikethrough~~, so emphasis nests
correctly inside and outside (`**==a==**`, `==*a*==`), and a lone `=` or an
equation like `a == b` with no closing pair stays text.
"""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from markdown_it.rules_inline.state_inline import Delimiter

_EQ = 0x3D


def _tokenize(state: StateInline, silent: bool) -> bool:
    if silent or state.src[state.pos] != "=":
        return False
    scanned = state.scanDelims(state.pos, True)
    length = scanned.length
    if length < 2:
        return False
    if length % 2:
        state.push("text", "", 0).content = "="
        length -= 1
    for _ in range(0, length, 2):
        state.push("text", "", 0).content = "=="
        state.delimiters.append(
            Delimiter(marker=_EQ, length=0, token=len(state.tokens) - 1, end=-1, open=scanned.can_open, close=scanned.can_close)
        )
    state.pos += scanned.length
    return True


def _pair(state: StateInline, delimiters: list[Delimiter]) -> None:
    lone: list[int] = []
    for start in delimiters:
        if start.marker != _EQ or start.end == -1:
            continue
        end = delimiters[start.end]
        for idx, nesting, kind in ((start.token, 1, "mark_open"), (end.token, -1, "mark_close")):
            tok = state.tokens[idx]
            tok.type, tok.tag, tok.nesting, tok.markup, tok.content = kind, "mark", nesting, "==", ""
        prev = state.tokens[end.token - 1]
        if prev.type == "text" and prev.content == "=":
            lone.append(end.token - 1)
    # an odd run `===` leaves one `=` before the pair: move it after the closing tags
    while lone:
        i = lone.pop()
        j = i + 1
        while j < len(state.tokens) and state.tokens[j].type == "mark_close":
            j += 1
        j -= 1
        if i != j:
            state.tokens[i], state.tokens[j] = state.tokens[j], state.tokens[i]


def _post_process(state: StateInline) -> None:
    _pair(state, state.delimiters)
    for meta in state.tokens_meta:
        if meta and "delimiters" in meta:
            _pair(state, meta["delimiters"])


def highlights_plugin(md: MarkdownIt) -> None:
    md.inline.ruler.before("emphasis", "mark", _tokenize)
    md.inline.ruler2.before("emphasis", "mark", _post_process)
