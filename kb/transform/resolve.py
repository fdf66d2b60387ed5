"""Vault-wide step: resolved targets, backlinks with context, tag index, attachments."""

from __future__ import annotations

import re

from kb.model import Backlink, BuildContext

_MD_NOISE = re.compile(r"(!?\[\[|\]\]|[*_`>#=]+|^\s*[-+] (\[.\] )?)")


def context_line(lines: list[str], body_line: int, line: int) -> str:
    i = line - body_line
    text = lines[i] if 0 <= i < len(lines) else ""
    text = _MD_NOISE.sub("", text).strip()
    return text[:240]


def resolve(ctx: BuildContext) -> None:
    renderer = ctx.extra["renderer"]
    for note in ctx.notes.values():
        for link in note.links:
            link.resolved = renderer.resolver.note(link.target, note.path)
    for note in ctx.notes.values():
        note.backlinks = []
    for note in ctx.notes.values():
        seen: set[str] = set()
        lines = note.source.split("\n") if note.links else []
        for link in note.links:
            dest = link.resolved
            if dest is None or dest == note.path or dest in seen or dest not in ctx.notes:
                continue
            seen.add(dest)
            ctx.notes[dest].backlinks.append(Backlink(note.path, context_line(lines, note.body_line, link.line)))
        ctx.attachments.update(note.attachments)
    tags: dict[str, list[str]] = {}
    for note in ctx.notes.values():
        for tag in note.tags:
            parts = tag.split("/")
            for i in range(1, len(parts) + 1):  # a note tagged a/b also lists under a
                bucket = tags.setdefault("/".join(parts[:i]), [])
                if not bucket or bucket[-1] != note.path:
                    bucket.append(note.path)
    ctx.tags = dict(sorted(tags.items()))
