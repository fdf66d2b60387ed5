"""Markdown images `![alt](img/a.png)` pointing into the vault.

A local src is resolved through the vault's Resolver (relative to the note,
then by file name) to the copied attachment's URL; a local file that does not
exist renders as a visible unresolved marker and a warning instead of a broken
<img>. Obsidian's size syntax in the alt text works too: `![alt|300](a.png)`,
`![alt|300x200](a.png)`. Non-image attachments (PDF, audio) get the same
element an ![[embed]] would produce.
"""

from __future__ import annotations

import html
import posixpath
import re
from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import OptionsDict

from kb.markdown.env import ALT_SIZE, IMAGE_EXT, RenderEnv, media_html

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_YOUTUBE = re.compile(
    r"^https?://(?:www\.|m\.)?(?:youtube\.com/(?:watch\?(?:[^#]*&)?v=|embed/|shorts/|live/)|youtu\.be/)([A-Za-z0-9_-]{11})"
    r"(?:[^#]*?[?&]t=(\d+)s?\b)?"
)


def web_embed(src: str, alt: str) -> str | None:
    """`![](https://www.youtube.com/watch?v=…)` is a video player in Obsidian, not an image: the same
    here (youtube-nocookie, loaded lazily). None for any other URL (an image)."""
    m = _YOUTUBE.match(src)
    if not m:
        return None
    start = f"?start={m.group(2)}" if m.group(2) else ""
    title = html.escape(alt or "YouTube video", quote=True)
    # fullscreen only in `allow`: with `allowfullscreen` too, Chromium logs "Allow attribute will take
    # precedence over 'allowfullscreen'" on every page with a video
    return (f'<iframe class="embed-video" src="https://www.youtube-nocookie.com/embed/{m.group(1)}{start}" title="{title}" '
            'loading="lazy" allow="encrypted-media; fullscreen; picture-in-picture" '
            'referrerpolicy="strict-origin-when-cross-origin"></iframe>')


def is_local(src: str) -> bool:
    return bool(src) and not _SCHEME.match(src) and not src.startswith(("//", "#"))


def render_image(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: dict[str, Any]) -> str:
    tok = tokens[idx]
    kb: RenderEnv | None = env.get("kb")
    alt = self.renderInlineAsText(tok.children or [], options, env)
    size = ""
    m = ALT_SIZE.match(alt)
    if m:
        alt, size = m.group(1).strip(), m.group(2)
    src = str(tok.attrGet("src") or "")
    video = web_embed(src, alt)
    if video is not None:
        return video
    if kb is not None and is_local(src):
        path = src.split("#")[0].split("?")[0]
        line = int((tok.meta or {}).get("line", 0))
        url = kb.resolve_file(path, line, f"![{alt}]({src})")
        if url is None:
            return f'<span class="unresolved embed" title="missing attachment">{html.escape(alt or src)}</span>'
        if posixpath.splitext(path)[1].lower() not in IMAGE_EXT:
            return media_html(url, path, size, alt)
        tok.attrSet("src", url)
    tok.attrs["alt"] = alt
    if size:
        w, _, h = size.partition("x")
        tok.attrSet("width", w)
        if h:
            tok.attrSet("height", h)
    # like the ![[embed]] images (kb.markdown.env): a long note's images below the fold wait until scrolled to
    tok.attrSet("loading", "lazy")
    return self.renderToken(tokens, idx, options, env)


def images_plugin(md: MarkdownIt) -> None:
    md.add_render_rule("image", render_image)
