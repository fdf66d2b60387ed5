"""RenderEnv: what the markdown plugins need from the vault while rendering one note.

markdown-it passes an `env` dict through every rule; kb puts one RenderEnv in
env["kb"]. Plugins record what they find (links, tags, headings) on it and ask
it to resolve names; they never touch other notes directly.
"""

from __future__ import annotations

import html
import posixpath
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote

from kb.model import Diagnostic, Heading, Link
from kb.paths import Resolver, anchor

IMAGE_EXT = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".avif", ".bmp"}
AUDIO_EXT = {".mp3", ".wav", ".ogg", ".m4a", ".flac", ".webm"}
VIDEO_EXT = {".mp4", ".mov", ".mkv", ".ogv"}
MEDIA_EXT = IMAGE_EXT | AUDIO_EXT | VIDEO_EXT | {".pdf"}  # phrasing content when embedded


@dataclass
class RenderEnv:
    path: str  # vault path of the note being rendered
    body_line: int  # file line of the first body line (1-based)
    resolver: Resolver
    url_of: Callable[[str], str]  # vault path of a note -> absolute site URL ("/prefix/slug/")
    file_url: Callable[[str], str]  # vault path of an attachment -> absolute site URL
    embed_html: Callable[[str, str, RenderEnv, int], str] | None = None  # (target, heading, env, line) -> html
    embed_stack: tuple[str, ...] = ()
    collect: bool = True  # False inside embeds: links there belong to the embedded note
    links: list[Link] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    headings: list[Heading] = field(default_factory=list)
    title_anchor: str = ""  # id of the leading H1 dropped for repeating the title (the page title takes it)
    block_ids: list[str] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    embeds: list[int] = field(default_factory=lambda: [0])  # shared by a page and its embeds: unique footnote ids
    # the MathML of each formula on the page (embeds too) -> its TeX, which the page's summary shows:
    # MathML read as text runs a formula together ("a2+b2" for $a^2+b^2$)
    formulas: dict[str, str] = field(default_factory=dict)
    root: tuple[str, int] = ("", 0)  # inside embeds: (page note, file line of its top-level embed)
    # vault path of a note -> (headings, block ids) of its page; None: link fragments are not checked
    anchors_of: Callable[[str], tuple[Sequence[Heading], Collection[str]]] | None = None

    def line(self, rel_line: int) -> int:
        """Body-relative 0-based line -> 1-based file line."""
        return self.body_line + rel_line

    def warn(self, rel_line: int, code: str, message: str, same_as: str = "") -> None:
        if self.collect:
            self.diagnostics.append(Diagnostic(self.path, self.line(rel_line), "warning", code, message, same_as))

    def warn_page(self, rel_line: int, code: str, message: str, same_as: str = "") -> None:
        """Report on the page being built even from inside an embed (e.g. an embed cycle)."""
        if self.collect:
            self.warn(rel_line, code, message, same_as)
        else:
            self.diagnostics.append(Diagnostic(self.root[0], self.root[1], "warning", code, message, same_as))

    def add_link(self, link: Link) -> None:
        if self.collect:
            self.links.append(link)

    def resolve_link(self, target: str, heading: str, rel_line: int, written: str, embed: bool = False) -> str | None:
        """-> href for a note link, or None (and a warning) when it does not resolve.
        `embed`: the caller reports a missing heading itself (kb.transform.parse.Renderer.embed)."""
        dest = self.resolver.note(target, self.path)
        if dest is None:
            self._warn_unresolved(target, rel_line, written)
            return None
        frag = self._fragment(dest, heading, rel_line, warn=not embed) if heading else ""
        # a bare #fragment only on the note's own page: inside an embed it would point into the host
        if dest == self.path and frag and self.embed_stack[:1] in ((), (dest,)):
            return frag
        return self.url_of(dest) + frag

    def _warn_unresolved(self, target: str, rel_line: int, written: str) -> None:
        """A dead link to a draft says so: 'unresolved' would send the user looking for a
        typo in a link that names an existing note."""
        if self.resolver.draft(target, self.path) is None:
            self.warn(rel_line, "unresolved-link", f"unresolved link {written}")
            return
        what = "embed of" if written.startswith("!") else "link to"  # `written` is the link as typed
        self.warn(rel_line, "draft-link", f"{what} a draft {written} (not published)")

    def _fragment(self, dest: str, heading: str, rel_line: int, warn: bool) -> str:
        """'#id' of the heading or block that `heading` names on dest's page; '' when the page has
        none (the link goes to the page's top rather than to a dead fragment), with a warning."""
        if self.anchors_of is None:
            return fragment(heading)
        # this page's own headings are known by now (core rules ran before rendering); inside an
        # embed a link to the embedded note goes to its page, which shows all of its headings
        own = dest == self.path and self.collect
        headings, blocks = (self.headings, self.block_ids) if own else self.anchors_of(dest)
        found = find_fragment(heading, headings, blocks)
        if found is None and warn:
            last = unquote(last_part(heading))
            what = "block" if last.startswith("^") else "heading"
            self.warn(rel_line, "missing-heading", f"{what} '#{last}' not found in {dest}; linking to the note")
        return found or ""

    def resolve_file(self, target: str, rel_line: int, written: str) -> str | None:
        dest = self.resolver.file(target, self.path)
        if dest is None:
            self.warn(rel_line, "unresolved-embed", f"unknown attachment {written}")
            return None
        if self.collect:
            self.attachments.append(dest)
        return self.file_url(dest)


def embed_key(dest: str, heading: str) -> str:
    """What an embed shows, as its entry on the embed stack: a note, or one part of it. A cycle is the
    same key inside itself; another section of the same note is not one (Obsidian shows it)."""
    return dest + ("#" + heading.strip().lower() if heading else "")


def last_part(heading: str) -> str:
    """'Parent#Child' -> 'Child': a link's heading path names its last heading."""
    parts = [p.strip() for p in heading.split("#") if p.strip()]
    return parts[-1] if parts else ""


def fragment(heading: str) -> str:
    """'#Heading' part of a link -> '#id' on the target page ('Parent#Child' -> the child's id)."""
    last = last_part(heading)
    # ids are "^id" as written; in the URL the caret is percent-encoded ("^" is not
    # a valid fragment character) and browsers decode it to find the element
    return "#" + ("%5E" + last[1:] if last.startswith("^") else anchor(last))


def find_fragment(heading: str, headings: Sequence[Heading], block_ids: Collection[str]) -> str | None:
    """'#Heading' part of a link -> '#id' of that heading (or block) among a page's, or None.

    A heading is named by its id, its visible words or its markdown as written (Obsidian
    spells links by the latter: [[n#See Other the other]] for `## See [[Other|the other]]`,
    whose id is "see-the-other"), case and punctuation aside, percent-encoded or not.
    The first heading wins among equals, as on the page (`## Intro` twice: "intro", "intro-1").
    """
    last = last_part(heading)
    if not last:
        return ""
    for name in dict.fromkeys((last, unquote(last))):
        if name.startswith("^"):
            if name[1:] in block_ids:
                return fragment(name)
            continue
        want = anchor(name)
        for named in _NAMED_BY:
            for h in headings:
                if named(h) == want:
                    return "#" + h.anchor
    return None


# how a link may name a heading, in order of precedence
_NAMED_BY: tuple[Callable[[Heading], str], ...] = (
    lambda h: h.anchor,  # its id, "intro-1" for a second "## Intro" included
    lambda h: anchor(h.text),
    lambda h: anchor(h.source) if h.source else "",
)


# "alt text|300" or "alt text|300x200": Obsidian's size after an image's text (![alt|300](x.png), ![[x.png|alt|300]])
ALT_SIZE = re.compile(r"^(.*?)\|\s*(\d+(?:x\d+)?)\s*$", re.S)


def media_html(url: str, name: str, size: str, alt: str) -> str:
    """HTML for an embedded attachment by its extension; size is '300' or '300x200'."""
    ext = posixpath.splitext(name)[1].lower()
    u = html.escape(url, quote=True)
    a = html.escape(alt or posixpath.basename(name), quote=True)
    dims = ""
    if size:
        w, _, h = size.partition("x")
        if w.isdigit():
            dims += f' width="{w}"'
        if h.isdigit():
            dims += f' height="{h}"'
    if ext in IMAGE_EXT:
        return f'<img src="{u}" alt="{a}"{dims} loading="lazy">'
    if ext in AUDIO_EXT:
        return f'<audio controls src="{u}"></audio>'
    if ext in VIDEO_EXT:
        return f'<video controls src="{u}"{dims}></video>'
    if ext == ".pdf":
        return f'<object class="embed-pdf" data="{u}" type="application/pdf"{dims}><a href="{u}">{a}</a></object>'
    return f'<a class="attachment" href="{u}">{a}</a>'
