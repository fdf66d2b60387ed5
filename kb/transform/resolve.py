"""Vault-wide step: resolved targets, backlinks with context, tag index, attachments."""

from __future__ import annotations

import re
from urllib.parse import unquote

from kb.model import Backlink, BuildContext, Link, Note
from kb.paths import anchor

_MD_NOISE = re.compile(r"(!?\[\[|\]\]|[*_`>#=]+|^\s*[-+] (\[.\] )?)")
_WIKI_ALIAS = re.compile(r"!?\[\[([^\]|]*)\\?\|([^\]]*)\]\]")  # [[target|alias]] -> alias
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")  # [text](url) -> text
_COMMENT = re.compile(r"%%.*?(%%|$)")  # %%comments%% never reach any output, snippets included


def context_line(source: str | list[str], body_line: int, line: int) -> str:
    """The link's source line as plain text. Pass the note's lines, already split, when
    asking for several links of one note."""
    lines = source.split("\n") if isinstance(source, str) else source
    i = line - body_line
    text = _COMMENT.sub("", lines[i]) if 0 <= i < len(lines) else ""
    text = _MD_LINK.sub(r"\1", _WIKI_ALIAS.sub(r"\2", text))
    text = _MD_NOISE.sub("", text).strip()
    return text[:240]


def missing_fragment(link: Link, target: Note) -> str:
    """'' when link.heading exists in target, else what is missing ("heading '#X'")."""
    frag = unquote(link.heading.split("#")[-1].strip())
    if not frag:
        return ""
    if frag.startswith("^"):
        return "" if frag[1:] in target.block_ids else f"block '#{frag}'"
    want = anchor(frag)
    if any(h.anchor == want or anchor(h.text) == want for h in target.headings):
        return ""
    return f"heading '#{frag}'"


def resolve(ctx: BuildContext) -> None:
    renderer = ctx.extra["renderer"]
    for note in ctx.notes.values():
        for link in note.links:
            link.resolved = renderer.resolver.note(link.target, note.path)
            target = ctx.notes.get(link.resolved or "")
            if target is None or not link.heading or link.embed:  # embeds warn while rendering
                continue
            missing = missing_fragment(link, target)
            if missing:
                ctx.warn(note.path, link.line, "missing-heading", f"{missing} not found in {target.path}; linking to the note")
    for note in ctx.notes.values():
        note.backlinks = []
    for note in ctx.notes.values():
        seen: set[str] = set()
        lines: list[str] | None = None
        for link in note.links:
            dest = link.resolved
            if dest is None or dest == note.path or dest in seen or dest not in ctx.notes:
                continue
            seen.add(dest)
            lines = lines if lines is not None else note.source.split("\n")
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
