"""Core rule: give inline tokens an absolute body line.

markdown-it inline tokens carry no line (markdown-it-py #219). Each kb inline
rule stores its offset inside the inline block in meta["rel_line"]; this rule,
placed after "inline", adds the parent block's map[0].
"""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore


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
    md.core.ruler.after("inline", "kb_lines", _fix_lines)
