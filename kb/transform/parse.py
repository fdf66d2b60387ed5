"""Parse step: markdown -> HTML, links, tags, headings for every note.

Link targets are resolved while rendering, against the name index of the whole
vault (built from the load stage alone), so each note is parsed exactly once.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from urllib.parse import quote

from markdown_it import MarkdownIt

from kb.markdown import make_md
from kb.markdown.env import RenderEnv
from kb.markdown.rawhtml import whole_page
from kb.model import BuildContext, Note
from kb.paths import Resolver, anchor
from kb.sanitize import clean_html

_TAGS_RE = re.compile(r"<[^>]+>")
_WS = re.compile(r"\s+")
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t#]*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


def html_to_text(fragment: str) -> str:
    return _WS.sub(" ", html.unescape(_TAGS_RE.sub(" ", fragment))).strip()


_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s")


def _block_section(lines: list[str], block: str) -> str:
    """Lines of the block whose id is `block` ('^id'): a list item alone, else its paragraph."""
    mark = " " + block
    for i, ln in enumerate(lines):
        end = i
        if ln.strip() == block:  # the id on its own line names the block above it
            end = i - 1
            while end >= 0 and not lines[end].strip():
                end -= 1
        elif not ln.rstrip().endswith(mark):
            continue
        if end >= 0 and _LIST_ITEM.match(lines[end]):
            return lines[end]
        start = end
        while start > 0 and lines[start - 1].strip():
            start -= 1
        return "\n".join(lines[start : end + 1])
    return ""


def section(source: str, heading: str) -> str:
    """The part of `source` under `heading` (or the block ending with ^id) for embeds."""
    lines = source.split("\n")
    if heading.startswith("^"):
        return _block_section(lines, heading)
    want = anchor(heading.split("#")[-1])
    in_fence = in_comment = False
    start, level = -1, 0
    for i, ln in enumerate(lines):
        if _FENCE.match(ln) and not in_comment:
            in_fence = not in_fence
            continue
        if not in_fence and "%%" in ln and (in_comment or ln.lstrip().startswith("%%")):
            # a %% block comment: headings inside it are not headings (kb.markdown.comments)
            in_comment = (ln.count("%%") % 2 == 1) != in_comment
            continue
        m = None if in_fence or in_comment else _HEADING.match(ln)
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
        self.file_url: Callable[[str], str] = lambda p: prefix + quote(p)

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

    def to_html(self, source: str, env: RenderEnv, title: str = "") -> str:
        """Render one note (or an embedded part). A leading H1 equal to `title` is dropped:
        the page template already shows the title."""
        menv: dict = {"kb": env}
        if not env.collect:  # embedded: footnote ids must not clash with the host page's
            env.embeds[0] += 1
            menv["docId"] = f"e{env.embeds[0]}"
        tokens = self.md.parse(source, menv)
        if title and len(tokens) > 2 and tokens[0].type == "heading_open" and tokens[0].tag == "h1" and tokens[1].content.strip() == title.strip():
            del tokens[:3]
        # raw HTML is sanitized fragment by fragment by kb.markdown.rawhtml.SafeRenderer,
        # or here in one piece when a raw block spans markdown (<details> ... </details>)
        menv["kb_raw_page"] = whole_page(tokens)
        out = self.md.renderer.render(tokens, self.md.options, menv)
        return clean_html(out) if menv["kb_raw_page"] else out

    def embed(self, dest: str, heading: str, parent: RenderEnv, line: int = 0) -> str:
        target = self.ctx.notes.get(dest)
        if target is None:
            return ""
        source = section(target.source, heading) if heading else target.source
        if heading and not source:
            what = "block" if heading.startswith("^") else "heading"
            parent.warn(line, "missing-heading", f"{what} '#{heading}' not found in {dest} (embed)")
            return ""
        env = self.env_for(target, collect=False, stack=parent.embed_stack + (dest,))
        env.embeds, env.diagnostics = parent.embeds, parent.diagnostics
        env.root = parent.root if not parent.collect else (parent.path, parent.line(line))
        return self.to_html(source, env)

    def parse(self, note: Note) -> list:
        env = self.env_for(note)
        note.html = self.to_html(note.source, env, note.title)
        note.links = env.links
        for t in env.tags:
            if t not in note.tags:
                note.tags.append(t)
        note.headings = env.headings
        note.block_ids = env.block_ids
        note.attachments = sorted(set(env.attachments))
        note.text = html_to_text(note.html)
        return env.diagnostics


def parse_all(ctx: BuildContext) -> None:
    renderer = Renderer(ctx)
    ctx.extra["renderer"] = renderer
    for note in ctx.notes.values():
        try:
            ctx.diagnostics.extend(renderer.parse(note))
        except Exception as exc:  # one broken note must never stop the build
            ctx.error(note.path, note.body_line, "parse", f"could not render: {exc!r}")
            note.html = f"<pre>{html.escape(note.source)}</pre>"
            note.text = note.source
