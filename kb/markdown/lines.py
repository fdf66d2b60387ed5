"""Line numbers for inline tokens.

markdown-it inline tokens carry no line (markdown-it-py #219). Inline rules
store their offset inside the inline block in meta["rel_line"] (kb's own rules
directly, built-in ones through `with_line`); a core rule placed after
"inline" adds the parent block's map[0] as meta["line"].
"""

from __future__ import annotations

from collections.abc import Callable

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline

InlineRule = Callable[[StateInline, bool], bool]


def with_line(rule: InlineRule, first: str = "") -> InlineRule:
    """Wrap an inline rule so each token it pushes records the line it started on.
    `first`: the characters the rule can start at (a cheap pre-check; "" = any)."""

    def wrapped(state: StateInline, silent: bool) -> bool:
        if first and state.src[state.pos] not in first:
            return False
        n = len(state.tokens)
        start = state.pos
        ok = rule(state, silent)
        if ok and not silent and len(state.tokens) > n:
            rel = state.src.count("\n", 0, start)
            for tok in state.tokens[n:]:
                if tok.meta is None:
                    tok.meta = {}
                tok.meta.setdefault("rel_line", rel)
        return ok

    return wrapped


def _fix_lines(state: StateCore) -> None:
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        base = block.map[0] if block.map else 0
        for child in block.children:
            if child.meta is None:
                child.meta = {}
            rel = child.meta.get("rel_line")
            if rel is None and child.type == "link_open":
                rel = 0
            if rel is not None:
                child.meta["line"] = base + rel


def lines_plugin(md: MarkdownIt) -> None:
    for name, first in (("link", "["), ("image", "!"), ("autolink", "<"), ("linkify", ":")):
        rules = md.inline.ruler.get_all_rules()
        if name in rules:
            idx = rules.index(name)
            md.inline.ruler.at(name, with_line(md.inline.ruler.__rules__[idx].fn, first))
    md.core.ruler.after("inline", "kb_lines", _fix_lines)
