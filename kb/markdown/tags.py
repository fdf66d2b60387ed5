"""Inline #tags and #nested/tags as a markdown-it inline rule.

A tag starts after whitespace or at the start of the text, and has at least one
character that is not a digit (Obsidian: #1984 is not a tag). Code spans, URLs
and link destinations never reach this rule, so tags are never found there.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from markdown_it.utils import OptionsDict

from kb.emit.pages import tag_url
from kb.load import normalize_tag
from kb.markdown.env import RenderEnv

_TAG = re.compile(r"#([^\W\d_][\w/-]*|[\w/-]*[^\W\d][\w/-]*)", re.UNICODE)


def _tag_rule(state: StateInline, silent: bool) -> bool:
    pos = state.pos
    if state.src[pos] != "#":
        return False
    if pos > 0 and not state.src[pos - 1].isspace() and state.src[pos - 1] not in "([":
        return False
    m = _TAG.match(state.src, pos)
    if not m:
        return False
    name = m.group(1).rstrip("/")
    if not silent:
        tok = state.push("kb_tag", "", 0)
        tok.content = name
        tok.meta = {"rel_line": state.src[:pos].count("\n")}
    state.pos = pos + 1 + len(name)
    return True


def render_tag(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: dict[str, Any]) -> str:
    name = tokens[idx].content
    kb: RenderEnv | None = env.get("kb")
    norm = normalize_tag(name)
    if kb is not None and kb.collect and norm not in kb.tags:
        kb.tags.append(norm)
    if kb is None or tokens[idx].meta.get("in_link"):  # no <a> inside an <a>
        return f'<span class="tag">#{html.escape(name)}</span>'
    href = html.escape(kb.url_of("") + tag_url(norm), quote=True)
    return f'<a class="tag" href="{href}">#{html.escape(name)}</a>'


def _mark_tags_in_links(state: StateCore) -> None:
    for block in state.tokens:
        depth = 0
        for child in block.children or ():
            if child.type == "link_open":
                depth += 1
            elif child.type == "link_close":
                depth -= 1
            elif child.type == "kb_tag" and depth > 0:
                child.meta["in_link"] = True


def tags_plugin(md: MarkdownIt) -> None:
    md.inline.ruler.after("text", "kb_tag", _tag_rule)  # `#` stops "text"
    md.core.ruler.after("inline", "kb_tags_in_links", _mark_tags_in_links)
    md.add_render_rule("kb_tag", render_tag)
