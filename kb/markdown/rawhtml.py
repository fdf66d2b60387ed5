"""Raw HTML written in notes, sanitized where it appears instead of over the whole page.

Only raw HTML can carry scripts: everything else markdown-it emits is escaped.
So an html_block is cleaned on its own, and an inline block that holds
html_inline tokens is cleaned after rendering (inline tags such as
`<span>…</span>` need their partner in the same fragment). Cleaning a few small
fragments instead of every page that contains one HTML comment keeps builds of
big vaults fast (most obsidian-hub notes carry HTML comments).

An html_block that opens a tag closed in a later block (`<details>` … markdown
… `</details>`) cannot be cleaned alone; then `whole_page(tokens)` is true and
the caller cleans the rendered page in one piece instead (env["kb_raw_page"]).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import OptionsDict

from kb.sanitize import clean_html

_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)\b[^>]*?(/?)>")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def balanced(fragment: str) -> bool:
    depth: dict[str, int] = {}
    for close, name, selfclose in _TAG.findall(_COMMENT.sub("", fragment)):
        name = name.lower()
        if name in VOID or selfclose:
            continue
        depth[name] = depth.get(name, 0) + (-1 if close else 1)
    return not any(depth.values())


def whole_page(tokens: Sequence[Token]) -> bool:
    """True when some raw HTML block only makes sense together with later blocks."""
    return any(t.type == "html_block" and not _only_comment(t.content) and not balanced(t.content) for t in tokens)


def _only_comment(text: str) -> bool:
    t = text.strip()
    return t.startswith("<!--") and t.endswith("-->") and t.count("-->") == 1


class SafeRenderer(RendererHTML):
    def renderInline(self, tokens: Sequence[Token], options: OptionsDict, env: Any) -> str:
        out = super().renderInline(tokens, options, env)
        if not env.get("kb_raw_page") and any(t.type == "html_inline" for t in tokens):
            return clean_html(out)
        return out

    def html_block(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Any) -> str:
        content = tokens[idx].content
        if _only_comment(content):
            return ""
        return content if env.get("kb_raw_page") else clean_html(content)

    def html_inline(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Any) -> str:
        return tokens[idx].content  # the whole inline fragment is cleaned in renderInline
