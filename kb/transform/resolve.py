"""Vault-wide step: resolved targets, backlinks with context, tag index, attachments, summaries.

Split into small functions so `kb serve` can re-run them for a few notes
(kb.rebuild) instead of the whole vault.
"""

from __future__ import annotations

from kb.model import Backlink, BuildContext, Note
from kb.paths import Resolver
from kb.plaintext import code_spans_escaped, cut_marked, display_links, for_display, strip_comments, strip_markup
from kb.transform.htmltext import summaries


def context_line(source: str | list[str], body_line: int, line: int) -> str:
    """The link's source line as plain text. Pass the note's lines, already split, when
    asking for several links of one note."""
    lines = source.split("\n") if isinstance(source, str) else source
    i = line - body_line
    # %%comments%% never reach any output, snippets included (an unclosed one hides the rest of the line)
    text = strip_comments(lines[i]) if 0 <= i < len(lines) else ""
    # the same plain text as search snippets; links read as their alias or "note › heading"
    return cut_marked(for_display(strip_markup(display_links(code_spans_escaped(text.replace("\\|", "|")))), math="mark"), 240)


def resolve_links(note: Note, resolver: Resolver) -> None:
    for link in note.links:
        link.resolved = resolver.note(link.target, note.path)


def outgoing(note: Note, notes: dict[str, Note]) -> dict[str, str]:
    """Target path -> backlink context, for the first link to each other note."""
    out: dict[str, str] = {}
    lines: list[str] | None = None  # split once per note: splitting per link was O(links x size)
    for link in note.links:
        dest = link.resolved
        if dest is None or dest == note.path or dest in out or dest not in notes:
            continue
        if lines is None:
            lines = note.source.split("\n")
        out[dest] = context_line(lines, note.body_line, link.line)
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


def resolve(ctx: BuildContext) -> None:
    renderer = ctx.extra["renderer"]
    for note in ctx.notes.values():
        resolve_links(note, renderer.resolver)
        note.backlinks = []
    for note in ctx.notes.values():
        for dest, context in outgoing(note, ctx.notes).items():
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
