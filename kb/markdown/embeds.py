"""Block-level structure for ![[note]] embeds.

A transcluded note is a <div>, which may not sit inside a <p>. This core rule
(after "inline") splits a paragraph around each note embed, so an embed alone
on its line becomes a block of its own and text around an inline embed stays in
paragraphs before and after it. Image, audio, video and PDF embeds are phrasing
content and stay inline. A note embed in a heading or a callout title, where a
<div> may not go (an <h2>, a <summary>), is marked `in_title` and rendered as a link.

A second rule, last in the core chain, removes ids from embedded content
(headings, block ids): the host page has its own, and ids must be unique.
"""

from __future__ import annotations

import posixpath

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

from kb.markdown.env import MEDIA_EXT, RenderEnv

_BREAKS = {"softbreak", "hardbreak"}


def is_block_embed(tok: Token, kb: RenderEnv | None = None) -> bool:
    """A note embed that will be transcluded as a <div>. With `kb`, one that renders inline instead
    is not: a target that resolves to no note (an "unresolved" <span>), or no transclusion here."""
    if tok.type != "wikilink" or not tok.meta.get("embed"):
        return False
    if posixpath.splitext(tok.meta["target"])[1].lower() in MEDIA_EXT:
        return False
    return kb is None or (kb.embed_html is not None and kb.resolver.note(tok.meta["target"], kb.path) is not None)


def _trim(children: list[Token]) -> list[Token]:
    def blank(t: Token) -> bool:
        return t.type in _BREAKS or (t.type == "text" and not t.content.strip())

    while children and blank(children[0]):
        children = children[1:]
    while children and blank(children[-1]):
        children = children[:-1]
    return children


def _paragraph(open_tok: Token, inline: Token, children: list[Token], first: bool) -> list[Token]:
    p_open = Token("paragraph_open", "p", 1, map=inline.map, block=True, level=open_tok.level)
    if first and open_tok.attrs:
        p_open.attrs = dict(open_tok.attrs)
    text = Token("inline", "", 0, map=inline.map, level=inline.level, children=children, block=True)
    return [p_open, text, Token("paragraph_close", "p", -1, block=True, level=open_tok.level)]


def _split(tokens: list[Token], i: int, kb: RenderEnv | None) -> list[Token]:
    open_tok, inline = tokens[i - 1], tokens[i]
    out: list[Token] = []
    segment: list[Token] = []
    for child in inline.children or []:
        if not is_block_embed(child, kb):
            segment.append(child)
            continue
        if _trim(segment):
            out += _paragraph(open_tok, inline, _trim(segment), not out)
        segment = []
        child.block = True
        out.append(child)
    if _trim(segment):
        out += _paragraph(open_tok, inline, _trim(segment), not out)
    return out


_TITLES = {"heading_open", "callout_title_open"}


def _unwrap(state: StateCore) -> None:
    tokens = state.tokens
    kb: RenderEnv | None = state.env.get("kb")
    i = len(tokens) - 2
    while i > 0:
        tok = tokens[i]
        if tok.type == "inline" and tokens[i - 1].type in _TITLES:
            for child in tok.children or []:
                if is_block_embed(child, kb):
                    child.meta["in_title"] = True
        elif (
            tok.type == "inline"
            and tokens[i - 1].type == "paragraph_open"
            and not tokens[i - 1].hidden
            and any(is_block_embed(c, kb) for c in tok.children or [])
        ):
            tokens[i - 1 : i + 2] = _split(tokens, i, kb)
        i -= 1


def _drop_embedded_ids(state: StateCore) -> None:
    kb: RenderEnv | None = state.env.get("kb")
    if kb is None or kb.collect:
        return
    for tok in state.tokens:
        if tok.attrs and "id" in tok.attrs:
            del tok.attrs["id"]


def embeds_plugin(md: MarkdownIt) -> None:
    md.core.ruler.after("kb_lines", "kb_embeds", _unwrap)


def embedded_ids_plugin(md: MarkdownIt) -> None:
    """Register last, after every rule that sets ids."""
    md.core.ruler.push("kb_embedded_ids", _drop_embedded_ids)
