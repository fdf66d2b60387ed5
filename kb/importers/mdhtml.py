"""Raw HTML inside imported markdown (Jekyll/Hugo posts, .md files) is untrusted too.

markdown-it finds the HTML blocks and inline tags; only the ones holding something
dangerous (script, event handler, javascript: URL, unknown iframe, style) are
rewritten through the same nh3 sanitizer as feed HTML, and counted. Harmless HTML
(a <details>, a <div> wrapper) is left exactly as the author wrote it.
"""

from __future__ import annotations

import re
from collections import Counter

from markdown_it import MarkdownIt

from kb.importers.html2md import dangerous, known_embed, sanitize, watch_url

_MD = MarkdownIt("commonmark")
_IFRAME = re.compile(r"""\s*<iframe\b[^>]*?\bsrc=["']?(https?://[^"'\s>]+)[^>]*>\s*</iframe>\s*""", re.I)


def _embed_link(block: str) -> str | None:
    """A block that is just a YouTube/Vimeo iframe -> a markdown link (kb's sanitizer drops iframes)."""
    m = _IFRAME.fullmatch(block)
    if m and known_embed(m.group(1)):
        return f"[Embedded video]({watch_url(m.group(1))})\n"
    return None


def sanitize_markdown_html(body: str, removed: Counter) -> str:
    lines = body.split("\n")
    edits: list[tuple[int, int, str, str]] = []  # (first line, end line, old text, new text)
    for tok in _MD.parse(body):
        link = _embed_link(tok.content) if tok.type == "html_block" and tok.map else None
        if link:
            edits.append((tok.map[0], tok.map[1], tok.content, link))
        elif tok.type == "html_block" and tok.map and dangerous(tok.content):
            edits.append((tok.map[0], tok.map[1], tok.content, sanitize(tok.content, removed)))
        elif tok.type == "inline" and tok.map and tok.children:
            for child in tok.children:
                if child.type == "html_inline" and dangerous(child.content):
                    edits.append((tok.map[0], tok.map[1], child.content, sanitize(child.content, removed)))
    for start, end, old, new in sorted(edits, key=lambda e: -e[0]):
        chunk = "\n".join(lines[start:end])
        chunk = chunk.replace(old.rstrip("\n"), new.rstrip("\n"), 1)
        lines[start:end] = chunk.split("\n")
    return "\n".join(lines)
