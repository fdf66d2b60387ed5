"""Notes -> chunks: split at headings, at most MAX_PIECES word pieces, markup stripped.

Each chunk is prefixed with the note title and heading path, so a section that never
names its subject still carries it. Chunk ids are `path#anchor:ordinal` and stay the
same across builds as long as the heading and the order of parts under it do.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from kb.model import Note
from kb.paths import anchor as make_anchor

MAX_PIECES = 254  # the model's 256 minus [CLS] and [SEP]

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t#]*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_COMMENT = re.compile(r"<!--.*?-->|%%.*?%%", re.S)
_EMBED = re.compile(r"!\[\[[^\]]*\]\]|!\[[^\]]*\]\([^)]*\)")
_WIKILINK = re.compile(r"\[\[([^\]|#]*)(#[^\]|]*)?(?:\|([^\]]*))?\]\]")
_MDLINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_TAG = re.compile(r"<[^>\n]+>")
# the lookahead lists every character a mark can start with: most positions fail there at once
# instead of trying each alternative (2x faster on obsidian-hub, same matches)
_MARKS = re.compile(r"(?=[*_~=`>\-+\d\s^])(^(?:\s{0,3}>\s?|\s*[-*+]\s+\[[ xX]\]\s+|\s*[-*+]\s+|\s*\d+\.\s+)|\*\*|__|~~|==|`+|\^[\w-]+\s*$)", re.M)
_TABLE = re.compile(r"^\s*\|?[\s:|-]+\|[\s:|-]*$", re.M)
# *one-star* or _underscore_ emphasis around words (not snake_case, not "a * b"); strip_markup keeps
# these for the embeddings, result snippets drop them
_EMPHASIS = re.compile(r"(?<![\w*])([*_])(?=[^\s*_])(.+?)(?<=[^\s*_])\1(?![\w*])")
_WS = re.compile(r"\t[ \t]*| [ \t]+")  # runs of spaces and tabs that are not already one space


@dataclass(frozen=True)  # kb serve shares chunks between index refreshes (pipeline.chunk_all memo)
class Chunk:
    id: str  # stable: note path + '#' + heading anchor + ':' + ordinal
    path: str  # vault path of the note
    heading: str  # heading text ("" for the part before the first heading)
    anchor: str  # heading anchor ("" for the top)
    text: str  # what gets embedded: title / heading path, then the plain text
    snippet: str  # the first words of the plain text, for result lists


def strip_markup(md: str) -> str:
    """Markdown -> plain text, good enough for embeddings and BM25 (code is kept: identifiers matter)."""
    # each pattern is tried only if the text has a character it needs: most sections lack most of them
    if "%%" in md or "<!--" in md or "-->" in md:
        md = _COMMENT.sub(" ", md).replace("<!--", " ").replace("-->", " ")
    if "[" in md:
        md = _EMBED.sub(" ", md)
        md = _WIKILINK.sub(lambda m: m.group(3) or m.group(1) or (m.group(2) or "").lstrip("#"), md)
        md = _MDLINK.sub(r"\1", md)
    if "<" in md:
        md = _TAG.sub(" ", md)
    if "|" in md:
        md = _TABLE.sub("", md)
    md = _MARKS.sub("", md)
    md = md.replace("|", " ")
    # one regex pass over the whole text, not one per line: _WS never spans a newline
    return "\n".join([ln.strip() for ln in _WS.sub(" ", md).split("\n")]).strip()


def sections(source: str) -> list[tuple[list[str], str]]:
    """[(heading path, markdown body)] in order; the first has an empty path."""
    out: list[tuple[list[str], str]] = []
    stack: list[tuple[int, str]] = []
    buf: list[str] = []
    in_fence = False
    for ln in source.split("\n"):
        if _FENCE.match(ln):
            in_fence = not in_fence
            buf.append(ln if not _FENCE.match(ln) else "")
            continue
        m = None if in_fence else _HEADING.match(ln)
        if m:
            out.append(([h for _, h in stack], "\n".join(buf)))
            buf = []
            level = len(m.group(1))
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, strip_markup(m.group(2))))
        else:
            buf.append(ln)
    out.append(([h for _, h in stack], "\n".join(buf)))
    return out


def _split_long(paras: list[str], budget: int, count: Callable[[str], int]) -> list[str]:
    """Pack paragraphs into parts of at most `budget` pieces; split oversize paragraphs by words."""
    parts: list[str] = []
    cur: list[str] = []
    used = 0
    for p in paras:
        n = count(p)
        if n > budget:
            words = p.split()
            piece: list[str] = []
            pn = 0
            for w in words:
                wn = count(w)
                if piece and pn + wn > budget:
                    paras_piece = " ".join(piece)
                    if cur:
                        parts.append("\n".join(cur))
                        cur, used = [], 0
                    parts.append(paras_piece)
                    piece, pn = [], 0
                piece.append(w)
                pn += wn
            p, n = " ".join(piece), pn
            if not p:
                continue
        if cur and used + n > budget:
            parts.append("\n".join(cur))
            cur, used = [], 0
        cur.append(p)
        used += n
    if cur:
        parts.append("\n".join(cur))
    return parts


def note_chunks(note: Note, count: Callable[[str], int]) -> list[Chunk]:
    """The chunks of one note; `count(text)` gives the number of word pieces."""
    chunks: list[Chunk] = []
    by_text: dict[str, list[str]] = {}
    for h in note.headings:  # the anchors the page really uses (duplicates get suffixes there)
        by_text.setdefault(strip_markup(h.text), []).append(h.anchor)
    seen: dict[str, int] = {}
    for path, body in sections(note.source):
        heading = path[-1] if path else ""
        queue = by_text.get(heading)
        anc = (queue.pop(0) if queue else make_anchor(heading)) if path else ""
        text = strip_markup(body)
        prefix = " > ".join([note.title, *path])
        if not text and not path:
            continue
        paras = [p for p in re.split(r"\n\s*\n", text) if p.strip()] or [""]
        budget = max(32, MAX_PIECES - count(prefix) - 1)
        for part in _split_long(paras, budget, count):
            ordinal = seen.get(anc, 0)
            seen[anc] = ordinal + 1
            plain = _EMPHASIS.sub(r"\2", part.replace("\n", " ").strip())  # for the eye only: the embedded text keeps it
            snippet = plain[:200].rsplit(" ", 1)[0] + "…" if len(plain) > 200 else plain
            chunks.append(Chunk(f"{note.path}#{anc}:{ordinal}", note.path, heading, anc, f"{prefix}\n{part}".strip(), snippet))
    if not chunks:  # a note with only a title still deserves to be found
        chunks.append(Chunk(f"{note.path}#:0", note.path, "", "", note.title, ""))
    return chunks
