"""Vault-wide step: resolved targets, backlinks with context, tag index, attachments, summaries.

Split into small functions so `kb serve` can re-run them for a few notes
(kb.rebuild) instead of the whole vault.
"""

from __future__ import annotations

import re

from kb.model import Backlink, BuildContext, Note
from kb.paths import Resolver
from kb.plaintext import code_spans_escaped, cut_marked, display_links, for_display, strip_comments, strip_markup
from kb.transform.htmltext import summaries

CONTEXT_MAX = 240  # characters of a backlink's context
# a line that starts a block of its own: a paragraph's wrapped lines stop above and below it
_BLOCK_START = re.compile(r"^\s*(?:#{1,6}(?:\s|$)|```|~~~|>|[-*+]\s|\d+[.)]\s|\||\$\$|%%|(?:[-*_]\s*){3,}$)")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s")  # its wrapped lines below it belong to it
_ONE_LINE = re.compile(r"^\s*(?:#{1,6}(?:\s|$)|\|)")  # a heading or a table row: the next line is not its


def paragraph_of(lines: list[str], i: int) -> tuple[int, int]:
    """(first, last) line of the paragraph or list item that holds line i: a hard-wrapped sentence
    reads whole. Lines that start a block of their own (heading, list item, quote, fence…) end it."""
    first = i
    while first > 0 and lines[first - 1].strip() and not _BLOCK_START.match(lines[first]) \
            and not (_BLOCK_START.match(lines[first - 1]) and not _LIST_ITEM.match(lines[first - 1])):
        first -= 1
    last = i
    while not _ONE_LINE.match(lines[i]) and last + 1 < len(lines) and lines[last + 1].strip() \
            and not _BLOCK_START.match(lines[last + 1]):
        last += 1
    return first, last


def context_line(source: str | list[str], body_line: int, line: int, target: str = "", breaks: bool = False) -> str:
    """The text around a link: its paragraph (or list item) as plain text, at most CONTEXT_MAX
    characters; when longer, from a little before the link (its `target` as written, else its
    line) with "…" in front. With `breaks` (a single newline shows as a line break) its line only.
    Pass the note's lines, already split, when asking for several links."""
    lines = source.split("\n") if isinstance(source, str) else source
    i = line - body_line
    if not 0 <= i < len(lines):
        return ""
    first, last = (i, i) if breaks else paragraph_of(lines, i)
    raw = " ".join(ln.strip() for ln in lines[first : last + 1])
    text = _as_text(raw)
    if len(text) > CONTEXT_MAX:
        line_at = len(" ".join(ln.strip() for ln in lines[first : i + 1])) - len(lines[i].strip())
        start = _window_start(raw, line_at + max(lines[i].strip().find(target) if target else 0, 0))
        if start:
            text = "…" + _as_text(raw[start:])
    return cut_marked(text, CONTEXT_MAX)


def _as_text(md: str) -> str:
    # %%comments%% never reach any output, snippets included (an unclosed one hides the rest);
    # the same plain text as search snippets; links read as their alias or "note › heading"
    return for_display(strip_markup(display_links(code_spans_escaped(strip_comments(md).replace("\\|", "|")))), math="mark")


def _window_start(raw: str, link_at: int) -> int:
    """Where a context window that shows the link at `link_at` may start: a space up to 80
    characters before it, outside a formula, a link and a code span (0: the paragraph's start)."""
    for k in range(max(link_at - 80, 0), link_at + 1):
        head = raw[:k]
        if k and raw[k - 1] == " " and head.count("$") % 2 == 0 and head.count("[[") == head.count("]]") \
                and head.count("`") % 2 == 0:
            return k
    return 0


def resolve_links(note: Note, resolver: Resolver) -> None:
    for link in note.links:
        link.resolved = resolver.note(link.target, note.path)


def outgoing(note: Note, notes: dict[str, Note], breaks: bool = False) -> dict[str, str]:
    """Target path -> backlink context, for the first link to each other note."""
    out: dict[str, str] = {}
    lines: list[str] | None = None  # split once per note: splitting per link was O(links x size)
    for link in note.links:
        dest = link.resolved
        if dest is None or dest == note.path or dest in out or dest not in notes:
            continue
        if lines is None:
            lines = note.source.split("\n")
        out[dest] = context_line(lines, note.body_line, link.line, link.target or link.heading, breaks)
    return out


def tag_index(notes: dict[str, Note]) -> dict[str, list[str]]:
    tags: dict[str, list[str]] = {}
    for note in notes.values():
        for tag in note.tags:
            parts = tag.split("/")
            for i in range(1, len(parts) + 1):  # a note tagged a/b also lists under a
                bucket = tags.setdefault("/".join(parts[:i]), [])
                if not bucket or bucket[-1] != note.path:
                    bucket.append(note.path)
    return dict(sorted(tags.items()))


def line_breaks(ctx: BuildContext) -> bool:
    """Whether the vault's single newlines show as line breaks (the markdown renderer's setting)."""
    renderer = ctx.extra.get("renderer")
    return bool(renderer and renderer.md.options.get("breaks"))


def resolve(ctx: BuildContext) -> None:
    renderer = ctx.extra["renderer"]
    for note in ctx.notes.values():
        resolve_links(note, renderer.resolver)
        note.backlinks = []
    breaks = line_breaks(ctx)
    for note in ctx.notes.values():
        for dest, context in outgoing(note, ctx.notes, breaks).items():
            ctx.notes[dest].backlinks.append(Backlink(note.path, context))
        ctx.attachments.update(note.attachments)
    ctx.tags = tag_index(ctx.notes)
    set_summaries(ctx.notes)


def set_summaries(notes: dict[str, Note]) -> set[str]:
    """Give each note its summary (kb.transform.htmltext.summaries) -> the notes whose summary changed.
    Vault-wide: a note's edit can make a line shared, or no longer, and so change other notes' pages."""
    new = summaries({p: note.opening for p, note in notes.items()})
    changed = {p for p, text in new.items() if notes[p].summary != text}
    for p in changed:
        notes[p].summary = new[p]
    return changed
