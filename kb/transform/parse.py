"""Parse step: markdown -> HTML, links, tags, headings for every note.

Link targets are resolved while rendering, against the name index of the whole
vault (built from the load stage alone), so each note is parsed exactly once.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from markdown_it import MarkdownIt

from kb.markdown import make_md
from kb.markdown.env import RenderEnv
from kb.model import BuildContext, Diagnostic, Note
from kb.paths import Resolver, anchor
from kb.sanitize import clean_html

_TAGS_RE = re.compile(r"<[^>]+>")
_WS = re.compile(r"\s+")
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t#]*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


def html_to_text(fragment: str) -> str:
    return _WS.sub(" ", html.unescape(_TAGS_RE.sub(" ", fragment))).strip()


def section(source: str, heading: str) -> str:
    """The part of `source` under `heading` (or the block ending with ^id) for embeds."""
    lines = source.split("\n")
    if heading.startswith("^"):
        mark = " " + heading
        for i, ln in enumerate(lines):
            if ln.rstrip().endswith(mark) or ln.strip() == heading:
                start = i
                while start > 0 and lines[start - 1].strip():
                    start -= 1
                return "\n".join(lines[start : i + 1])
        return ""
    want = anchor(heading.split("#")[-1])
    in_fence = False
    start, level = -1, 0
    for i, ln in enumerate(lines):
        if _FENCE.match(ln):
            in_fence = not in_fence
            continue
        m = None if in_fence else _HEADING.match(ln)
        if not m:
            continue
        if start >= 0 and len(m.group(1)) <= level:
            return "\n".join(lines[start:i])
        if start < 0 and anchor(m.group(2)) == want:
            start, level = i, len(m.group(1))
    return "\n".join(lines[start:]) if start >= 0 else ""


class Renderer:
    """Renders notes against one vault index; shared by build, serve and embeds."""

    def __init__(self, ctx: BuildContext, md: MarkdownIt | None = None) -> None:
        self.ctx = ctx
        self.md = md or make_md()
        notes = ctx.notes
        self.resolver = Resolver(list(notes), {p: n.aliases for p, n in notes.items()}, ctx.extra.get("files", []))
        prefix = ctx.config.prefix
        self.url_of: Callable[[str], str] = lambda p: prefix + notes[p].url if p else prefix
        self.file_url: Callable[[str], str] = lambda p: prefix + p

    def env_for(self, note: Note, collect: bool = True, stack: tuple[str, ...] = ()) -> RenderEnv:
        return RenderEnv(
            path=note.path,
            body_line=note.body_line,
            resolver=self.resolver,
            url_of=self.url_of,
            file_url=self.file_url,
            embed_html=self.embed,
            embed_stack=stack or (note.path,),
            collect=collect,
        )

    def to_html(self, source: str, env: RenderEnv) -> str:
        tokens = self.md.parse(source, {"kb": env})
        out = self.md.renderer.render(tokens, self.md.options, {"kb": env})
        raw = any(
            t.type == "html_block" or (t.children and any(c.type == "html_inline" for c in t.children)) for t in tokens
        )
        return clean_html(out) if raw else out

    def embed(self, dest: str, heading: str, parent: RenderEnv) -> str:
        target = self.ctx.notes.get(dest)
        if target is None:
            return ""
        source = section(target.source, heading) if heading else target.source
        if heading and not source:
            parent.warn(0, "unresolved-embed", f"no section '{heading}' in {dest}")
            return ""
        env = self.env_for(target, collect=False, stack=parent.embed_stack + (dest,))
        return self.to_html(source, env)

    def parse(self, note: Note) -> list:
        env = self.env_for(note)
        note.html = self.to_html(note.source, env)
        note.links = env.links
        for t in env.tags:
            if t not in note.tags:
                note.tags.append(t)
        note.headings = env.headings
        note.block_ids = env.block_ids
        note.attachments = sorted(set(env.attachments))
        note.text = html_to_text(note.html)
        return env.diagnostics


def parse_note(renderer: Renderer, note: Note) -> list:
    """Parse one note; a note that fails to render becomes an error diagnostic, never a crash."""
    try:
        return renderer.parse(note)
    except Exception as exc:  # one broken note must never stop the build
        note.html = f"<pre>{html.escape(note.source)}</pre>"
        note.text = note.source
        return [Diagnostic(note.path, note.body_line, "error", "parse", f"could not render: {exc!r}")]


def parse_all(ctx: BuildContext) -> None:
    renderer = Renderer(ctx)
    ctx.extra["renderer"] = renderer
    for note in ctx.notes.values():
        ctx.diagnostics.extend(parse_note(renderer, note))
