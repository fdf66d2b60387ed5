"""Heading ids and the Note's heading list, from the heading's visible text.

Like mdit-py-plugins' anchors (unique slugs: `intro`, `intro-1`), but the text a
heading is named by includes its wikilinks (label as shown), tags and inline
math source, as Obsidian names headings: `## See [[Foo]]` is linked as
`[[note#See Foo]]` and gets id "see-foo", not "see".
"""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

from kb.markdown.env import RenderEnv
from kb.model import Heading
from kb.paths import anchor


def heading_text(children: list[Token]) -> str:
    parts = []
    for child in children:
        if child.type in ("text", "code_inline", "math_inline"):
            parts.append(child.content)
        elif child.type == "wikilink":
            meta = child.meta
            parts.append(meta["alias"] or meta["target"] or meta["heading"])
        elif child.type == "kb_tag":
            parts.append("#" + child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts).strip()


def unique(slug: str, taken: set[str]) -> str:
    result, i = slug, 1
    while result in taken:
        result = f"{slug}-{i}"
        i += 1
    taken.add(result)
    return result


def _headings(state: StateCore) -> None:
    kb: RenderEnv | None = state.env.get("kb")
    tokens = state.tokens
    taken = {str(t.attrGet("id")) for t in tokens if t.type == "heading_open" and t.attrGet("id")}
    for i, tok in enumerate(tokens):
        if tok.type != "heading_open":
            continue
        inline = tokens[i + 1]
        text = heading_text(inline.children or [])
        if not tok.attrGet("id"):
            tok.attrSet("id", unique(anchor(text), taken))
        if kb is not None and kb.collect:
            line = kb.line(tok.map[0]) if tok.map else 0
            kb.headings.append(Heading(int(tok.tag[1]), text, str(tok.attrGet("id")), line, inline.content))


def headings_plugin(md: MarkdownIt) -> None:
    md.core.ruler.push("kb_headings", _headings)
