"""Parse step: markdown -> HTML, links, tags, headings for every note.

Link targets are resolved while rendering, against the name index of the whole
vault (built from the load stage alone), so each note is parsed exactly once.
"""

from __future__ import annotations

import html
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

from markdown_it import MarkdownIt

from kb.config import line_breaks_of
from kb.markdown import make_md
from kb.markdown.env import RenderEnv, embed_key
from kb.markdown.rawhtml import whole_page
from kb.model import BuildContext, Diagnostic, Heading, Link, Note
from kb.parallel import fork_map
from kb.paths import Resolver, anchor
from kb.plaintext import fence_after, heading_text
from kb.sanitize import clean_html
from kb.transform.htmltext import opening

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t#]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")


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
        if end >= 0 and _LIST_ITEM.match(lines[end]):  # the item with its sub-items, as Obsidian embeds it
            indent = len(lines[end]) - len(lines[end].lstrip())
            stop = end + 1
            while stop < len(lines) and lines[stop].strip() and len(lines[stop]) - len(lines[stop].lstrip()) > indent:
                stop += 1
            return textwrap.dedent("\n".join(lines[end:stop]))  # a nested item is not indented code
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
    fence, in_comment = "", False
    start, level = -1, 0
    for i, ln in enumerate(lines):
        is_fence, fence = fence_after(ln, fence) if not in_comment else (False, fence)
        if is_fence or fence:
            continue
        if "%%" in ln and (in_comment or ln.lstrip().startswith("%%")):
            # a %% block comment: headings inside it are not headings (kb.markdown.comments)
            in_comment = (ln.count("%%") % 2 == 1) != in_comment
            continue
        found = None if in_comment else _heading_at(lines, i)
        if found is None:
            continue
        n, text = found
        if start >= 0 and n <= level:
            return "\n".join(lines[start:i])
        # the id comes from the words shown ("## See [[Other|the other]]" is #see-the-other)
        if start < 0 and want in (anchor(heading_text(text)), anchor(text)):
            start, level = i, n
    return "\n".join(lines[start:]) if start >= 0 else ""


def _heading_at(lines: list[str], i: int) -> tuple[int, str] | None:
    """(level, markdown) of an ATX heading on line i, or of a one-line setext heading (text, then ===/---)."""
    m = _HEADING.match(lines[i])
    if m:
        return len(m.group(1)), m.group(2)
    ln = lines[i]
    if (i + 1 < len(lines) and ln.strip() and (i == 0 or not lines[i - 1].strip()) and _SETEXT.match(lines[i + 1])
            and not _LIST_ITEM.match(ln) and not ln.lstrip().startswith(">")):
        return (1 if lines[i + 1].strip()[0] == "=" else 2), ln.strip()
    return None


class Renderer:
    """Renders notes against one vault index; shared by build, serve and embeds."""

    def __init__(self, ctx: BuildContext, md: MarkdownIt | None = None) -> None:
        self.ctx = ctx
        self.md = md or make_md(line_breaks=line_breaks_of(ctx.config, ctx.vault))
        notes = ctx.notes
        self.resolver = Resolver(
            list(notes), {p: n.aliases for p, n in notes.items()}, ctx.extra.get("files", []), ctx.extra.get("drafts"),
        )
        prefix = ctx.config.prefix
        self.url_of: Callable[[str], str] = lambda p: prefix + notes[p].url if p else prefix
        self.file_url: Callable[[str], str] = lambda p: prefix + quote(p)
        self._anchors: dict[str, tuple[Note, tuple[list[Heading], list[str]]]] = {}

    def anchors_of(self, dest: str) -> tuple[list[Heading], list[str]]:
        """Headings and block ids of dest's page, for links to them. Parsed here from its source
        (once per version of the note): notes render in any order, on several cores, so its own
        parse may not have run yet."""
        note = self.ctx.notes[dest]
        hit = self._anchors.get(dest)
        if hit is None or hit[0] is not note:
            env = self.env_for(note)
            self.md.parse(note.source, {"kb": env})
            hit = self._anchors[dest] = (note, (env.headings, env.block_ids))
        return hit[1]

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
            anchors_of=self.anchors_of,
        )

    def to_html(self, source: str, env: RenderEnv, title: str = "") -> str:
        """Render one note (or an embedded part). A leading H1 equal to `title` is dropped:
        the page template already shows the title."""
        menv: dict = {"kb": env}
        if not env.collect:  # embedded: footnote ids must not clash with the host page's
            env.embeds[0] += 1
            menv["docId"] = f"e{env.embeds[0]}"
        tokens = self.md.parse(source, menv)
        if title and len(tokens) > 2 and tokens[0].type == "heading_open" and tokens[0].tag == "h1" and heading_text(tokens[1].content) == heading_text(title):
            env.title_anchor = str(tokens[0].attrGet("id") or "")  # links to that heading land on the page title
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
        env = self.env_for(target, collect=False, stack=parent.embed_stack + (embed_key(dest, heading),))
        env.embeds, env.diagnostics, env.formulas = parent.embeds, parent.diagnostics, parent.formulas
        env.root = parent.root if not parent.collect else (parent.path, parent.line(line))
        # a whole-note embed drops the note's leading H1 as its page does: the embed's link already names it
        return self.to_html(source, env, "" if heading else target.title)

    def render_note(self, note: Note) -> ParseResult:
        """Everything the parse step gives one note; never raises (a broken note becomes
        an error diagnostic and its source shown as preformatted text)."""
        env = self.env_for(note)
        try:
            page = self.to_html(note.source, env, note.title)
        except Exception as exc:  # one broken note must never stop the build
            err = Diagnostic(note.path, note.body_line, "error", "parse", f"could not render: {exc!r}")
            return ParseResult(f"<pre>{html.escape(note.source)}</pre>", diagnostics=[err])
        tags = list(note.tags) + [t for t in dict.fromkeys(env.tags) if t not in note.tags]
        return ParseResult(
            page, env.links, tags, env.headings, env.block_ids, sorted(set(env.attachments)), env.diagnostics,
            env.title_anchor, opening(page, formulas=env.formulas),
        )

    def parse(self, note: Note) -> list[Diagnostic]:
        """Render `note` and store the results on it; -> its diagnostics."""
        return self.render_note(note).apply(note)


@dataclass
class ParseResult:
    html: str
    links: list[Link] = field(default_factory=list)
    tags: list[str] | None = None  # None: leave the note's (frontmatter) tags
    headings: list[Heading] = field(default_factory=list)
    block_ids: list[str] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    title_anchor: str = ""
    opening: tuple[str, ...] = ()

    def apply(self, note: Note) -> list[Diagnostic]:
        note.html, note.opening, note.links = self.html, self.opening, self.links
        if self.tags is not None:
            note.tags = self.tags
        note.headings, note.block_ids, note.attachments = self.headings, self.block_ids, self.attachments
        note.title_anchor = self.title_anchor
        return self.diagnostics


def parse_all(ctx: BuildContext, meanwhile: Callable[[], None] | None = None) -> None:
    """Parse every note, on every core for big vaults (kb.parallel); `meanwhile()` runs in
    this process while the workers parse."""
    renderer = Renderer(ctx)
    ctx.extra["renderer"] = renderer
    notes = list(ctx.notes.values())

    def job(paths: list[str]) -> list[ParseResult]:
        return [renderer.render_note(ctx.notes[p]) for p in paths]

    results = [r for chunk in fork_map(job, [n.path for n in notes], meanwhile) for r in chunk]
    for note, result in zip(notes, results, strict=True):
        ctx.diagnostics.extend(result.apply(note))
