"""[[wikilinks]] and ![[embeds]] as a markdown-it inline rule.

Forms: [[note]], [[note|alias]], [[note#Heading]], [[note#^block]], [[#Heading]],
![[note]], ![[note#Heading]], ![[image.png|300]], ![[image.png|300x200]].
Inside tables Obsidian writes the alias pipe as \\|, which is accepted too.
Also rewrites ordinary markdown links to notes ([x](other.md)) to their pages.
"""

from __future__ import annotations

import html
import posixpath
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from markdown_it.utils import OptionsDict

from kb.markdown.env import ALT_SIZE, MEDIA_EXT, RenderEnv, embed_key, media_html
from kb.model import Link

MAX_EMBED_DEPTH = 8
_SIZE = re.compile(r"^\d+(x\d+)?$")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def split_target(inner: str) -> tuple[str, str, str]:
    """'note#Heading|alias' -> ('note', 'Heading', 'alias')."""
    inner = inner.replace("\\|", "|")
    target, _, alias = inner.partition("|")
    target, _, heading = target.partition("#")
    return target.strip(), heading.strip(), alias.strip()


def _wikilink_rule(state: StateInline, silent: bool) -> bool:
    src, pos = state.src, state.pos
    embed = src.startswith("![[", pos)
    if not (embed or src.startswith("[[", pos)):
        return False
    start = pos + (3 if embed else 2)
    end = src.find("]]", start)
    if end == -1:
        return False
    inner = src[start:end]
    if not inner.strip() or "\n" in inner or "[[" in inner:
        return False
    if not silent:
        target, heading, alias = split_target(inner)
        tok = state.push("wikilink", "", 0)
        tok.content = src[pos : end + 2]
        tok.meta = {
            "target": target,
            "heading": heading,
            "alias": alias,
            "embed": embed,
            "rel_line": src[:pos].count("\n"),
        }
    state.pos = end + 2
    return True


def is_attachment(target: str, kb: RenderEnv) -> bool:
    """A file, not a note: it exists as one, or has a media extension ("v1.2 notes" is a note)."""
    ext = posixpath.splitext(target)[1].lower()
    if ext in ("", ".md"):
        return False
    return ext in MEDIA_EXT or kb.resolver.file(target, kb.path) is not None


def _line_of(tokens: Sequence[Token], idx: int) -> int:
    """Body-relative line of inline child idx: the parent map is fixed up by kb.markdown.lines."""
    return int(tokens[idx].meta.get("line", tokens[idx].meta.get("rel_line", 0)))


def render_wikilink(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: dict[str, Any]) -> str:
    tok = tokens[idx]
    kb: RenderEnv | None = env.get("kb")
    m = tok.meta
    target, heading, alias, embed = m["target"], m["heading"], m["alias"], m["embed"]
    shown = " > ".join(h.strip() for h in heading.split("#") if h.strip())  # [[A#B#C]] reads "A > B > C", as in Obsidian
    label = alias or (target + (" > " + shown if shown else "") if target else shown.lstrip("^"))
    if kb is None:
        return html.escape(label)
    line = _line_of(tokens, idx)
    written = tok.content
    if embed and is_attachment(target, kb):
        url = kb.resolve_file(target, line, written)
        if url is None:
            return f'<span class="unresolved embed" title="missing attachment">{html.escape(written)}</span>'
        if _SIZE.match(alias):  # ![[x.png|300]]: a size, no text
            return media_html(url, target, alias, "")
        m = ALT_SIZE.match(alias)  # ![[x.png|A red box|300]]
        return media_html(url, target, m.group(2), m.group(1).strip()) if m else media_html(url, target, "", alias)
    if is_attachment(target, kb) and kb.resolver.file(target, kb.path):
        url = kb.resolve_file(target, line, written)
        return f'<a class="internal attachment" href="{html.escape(url or "", quote=True)}">{html.escape(label)}</a>'
    kb.add_link(Link(target=target, heading=heading, alias=alias, embed=embed, line=kb.line(line)))
    transclude = embed and kb.embed_html is not None and not m.get("in_title")  # see kb.markdown.embeds
    href = kb.resolve_link(target, heading, line, written, embed=transclude)
    if href is None:
        return f'<span class="unresolved" title="unresolved link">{html.escape(label)}</span>'
    if transclude:
        dest = kb.resolver.note(target, kb.path) or kb.path
        key = embed_key(dest, heading)
        if key in kb.embed_stack:
            # each page that meets a cycle says how it got there; the cycle itself, from its first entry
            # whichever page met it, tells a report that these are one problem (kb.diagnostics.unique_sorted)
            cycle = kb.embed_stack[kb.embed_stack.index(key) :]
            start = cycle.index(min(cycle))
            same = " -> ".join(cycle[start:] + cycle[:start])
            kb.warn_page(line, "embed-cycle", f"embed cycle: {' -> '.join(kb.embed_stack + (key,))}", same_as=same)
            return f'<div class="embed cycle">embed cycle: <a href="{html.escape(href, quote=True)}">{html.escape(label)}</a></div>'
        if len(kb.embed_stack) > MAX_EMBED_DEPTH:  # a long chain of embeds: stop, link instead
            kb.warn_page(line, "embed-depth", f"embeds nested deeper than {MAX_EMBED_DEPTH}: {dest} not embedded")
            return f'<a class="internal" href="{html.escape(href, quote=True)}">{html.escape(label)}</a>'
        inner = kb.embed_html(dest, heading, kb, line)
        return (
            f'<div class="embed" data-src="{html.escape(dest, quote=True)}">'
            f'<a class="embed-link" href="{html.escape(href, quote=True)}">{html.escape(label)}</a>{inner}</div>'
        )
    return f'<a class="internal" href="{html.escape(href, quote=True)}">{html.escape(label)}</a>'


def _retag(tokens: Sequence[Token], idx: int, tag: str) -> None:
    """Change the tag of link_open tokens[idx] and of its matching link_close."""
    tokens[idx].tag = tag
    depth = 0
    for tok in tokens[idx + 1 :]:
        if tok.type == "link_open":
            depth += 1
        elif tok.type == "link_close":
            if depth == 0:
                tok.tag = tag
                return
            depth -= 1


def render_link_open(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: dict[str, Any]) -> str:
    """[text](other.md) and [text](Other%20Note.md#Heading) point at the rendered page."""
    tok = tokens[idx]
    kb: RenderEnv | None = env.get("kb")
    href = str(tok.attrGet("href") or "")
    if kb is not None and href.startswith("#") and len(href) > 1:
        # [text](#Section%20B): Obsidian's markdown-link form of a heading in this note. Resolved
        # as [[#Section B]] is: matched against this note's headings and blocks, and a missing one
        # warns and links to the note's top; inside an embed it points at the embedded note's page
        # (and warns only when that note is built itself), never into the host page
        new = kb.resolve_link("", unquote(href[1:]), _line_of(tokens, idx), f"[…]({href})")
        tok.attrSet("href", new or href)  # never None: "" is the note itself
    elif kb is not None and href and not _SCHEME.match(href) and not href.startswith(("#", "//")):
        path, _, frag = href.partition("#")
        frag = unquote(frag)  # markdown links percent-encode the heading: #Heading%20with%20colon
        ext = posixpath.splitext(path)[1].lower()
        line = _line_of(tokens, idx)
        if ext in ("", ".md"):
            kb.add_link(Link(target=path, heading=frag, line=kb.line(line)))
            new = kb.resolve_link(path, frag, line, f"[…]({href})")
            if new is None:  # a visible marker, never a dead link
                tok.attrs = {"class": "unresolved", "title": "unresolved link"}
                _retag(tokens, idx, "span")
            else:
                tok.attrSet("href", new)
                tok.attrSet("class", "internal")
        else:
            url = kb.resolve_file(path, line, f"[…]({href})")
            if url is None:  # a missing attachment: a visible marker, never a dead link
                tok.attrs = {"class": "unresolved", "title": "missing attachment"}
                _retag(tokens, idx, "span")
            else:
                tok.attrSet("href", url)
    return self.renderToken(tokens, idx, options, env)


def wikilinks_plugin(md: MarkdownIt) -> None:
    md.inline.ruler.before("link", "wikilink", _wikilink_rule)
    md.add_render_rule("wikilink", render_wikilink)
    md.add_render_rule("link_open", render_link_open)
