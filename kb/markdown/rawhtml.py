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

import html
import re
from collections.abc import Sequence
from typing import Any

from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import OptionsDict

from kb.markdown.images import is_local
from kb.sanitize import attributes, clean_html

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
        tok = tokens[idx]
        content = local_sources(content, env, tok.map[0] if tok.map else 0)
        return content if env.get("kb_raw_page") else clean_html(content)

    def html_inline(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: Any) -> str:
        # the whole inline fragment is cleaned in renderInline
        return local_sources(tokens[idx].content, env, int((tokens[idx].meta or {}).get("line", 0)))


_MEDIA_TAG = re.compile(r"""<(?:img|source|video|audio)\b(?:[^>"']|"[^"]*"|'[^']*')*>""", re.I)  # a quoted ">" stays inside
# src="…", src='…' or src=… (unquoted, which HTML allows and the sanitizer later quotes); poster= is a
# video's picture, fetched like a src
_SRC = re.compile(r"""(\s)((?:src|poster)\s*=\s*)(?:(["'])([^"'<>]*)\3|([^\s"'<>`=]+))""", re.I)


def local_sources(content: str, env: Any, line: int) -> str:
    """`<img src="pics/a.png">` in raw HTML: a vault file, found and copied like ![](pics/a.png)."""
    kb = env.get("kb")
    if kb is None or not _MEDIA_TAG.search(content):
        return content

    missing: list[str] = []

    def one(m: re.Match[str]) -> str:
        src = html.unescape(m.group(4) if m.group(3) else m.group(5))
        if not is_local(src):
            return m.group(0)
        attr = m.group(2).split("=")[0].strip()
        url = kb.resolve_file(src.split("#")[0].split("?")[0], line, f'{attr}="{src}"')
        if url is None:  # warned; no request for a file the site lacks (or one outside it: ../../etc/passwd)
            missing.append(src)
            return m.group(1)
        return f'{m.group(1)}{m.group(2)}"{html.escape(url, quote=True)}"'

    def tag(t: re.Match[str]) -> str:
        missing.clear()
        out = _SRC.sub(one, t.group(0))
        if missing and t.group(0)[1:4].lower() == "img" and not _SRC.search(out):  # <img> or <IMG>
            # an <img> needs a src: shown as a missing attachment, as ![alt](missing.png) is
            label = attributes(t.group(0)).get("alt") or missing[0]
            return f'<span class="unresolved embed" title="missing attachment">{html.escape(label)}</span>'
        return out

    return _MEDIA_TAG.sub(tag, content)
