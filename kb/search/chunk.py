"""Notes -> chunks: split at headings, at most MAX_PIECES word pieces, markup stripped.

Each chunk is prefixed with the note title and heading path, so a section that never
names its subject still carries it. Chunk ids are `path#anchor:ordinal` and stay the
same across builds as long as the heading and the order of parts under it do.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from kb.model import Note
from kb.paths import anchor as make_anchor
from kb.plaintext import _MARKS, _WS, code_spans_escaped, fence_after, for_display, heading_text, strip_comments, strip_markup  # noqa: F401 - _MARKS, _WS: tests check them here
from kb.transform.htmltext import cut_at_word, template_floor

MAX_PIECES = 254  # the model's 256 minus [CLS] and [SEP]
SNIPPET_MAX = 200  # characters of a result's snippet, "…" included

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t#]*$")


@dataclass(frozen=True)  # kb serve shares chunks between index refreshes (pipeline.chunk_all memo)
class Chunk:
    id: str  # stable: note path + '#' + heading anchor + ':' + ordinal
    path: str  # vault path of the note
    heading: str  # heading text ("" for the part before the first heading)
    anchor: str  # heading anchor ("" for the top)
    text: str  # what gets embedded: title / heading path, then the plain text
    snippet: str  # the first words of the plain text, for result lists


def sections(source: str) -> list[tuple[list[str], str]]:
    """[(heading path, markdown body)] in order; the first has an empty path."""
    out: list[tuple[list[str], str]] = []
    stack: list[tuple[int, str]] = []
    buf: list[str] = []
    fence = ""
    for ln in source.split("\n"):
        is_fence, fence = fence_after(ln, fence)
        if is_fence:
            buf.append("")
            continue
        m = None if fence else _HEADING.match(ln)
        if m:
            out.append(([h for _, h in stack], "\n".join(buf)))
            buf = []
            level = len(m.group(1))
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, heading_text(m.group(2))))
        else:
            buf.append(ln)
    out.append(([h for _, h in stack], "\n".join(buf)))
    return out


# one paragraph of a part: its index, and the slice of its words when it was too long to take whole
_Span = tuple[int, slice | None]


def _split_long(paras: list[str], budget: int, count: Callable[[str], int]) -> list[list[_Span]]:
    """Pack paragraphs into parts of at most `budget` pieces; split oversize paragraphs by words.
    A part is given by the paragraphs it covers (`_part_texts` writes it), so that the same layout can
    be read from a second text with the same paragraphs and words (the snippet's, code spans escaped)."""
    parts: list[list[_Span]] = []
    cur: list[_Span] = []
    used = 0
    for i, p in enumerate(paras):
        n = count(p)
        span: _Span = (i, None)
        if n > budget:
            words = p.split()
            start = pn = 0
            for j, w in enumerate(words):
                wn = count(w)
                if j > start and pn + wn > budget:
                    if cur:
                        parts.append(cur)
                        cur, used = [], 0
                    parts.append([(i, slice(start, j))])
                    start, pn = j, 0
                pn += wn
            if not words:
                continue
            span, n = (i, slice(start, None)), pn
        if cur and used + n > budget:
            parts.append(cur)
            cur, used = [], 0
        cur.append(span)
        used += n
    if cur:
        parts.append(cur)
    return parts


def _part_texts(layout: list[list[_Span]], paras: list[str]) -> list[str]:
    """The text of each part of _split_long's layout of `paras`: whole paragraphs as written, a long
    one's words one space apart (each long paragraph split once, however many parts it fills)."""
    words: dict[int, list[str]] = {}

    def text(i: int, cut: slice | None) -> str:
        if cut is None:
            return paras[i]
        if i not in words:
            words[i] = paras[i].split()
        return " ".join(words[i][cut])

    return ["\n".join(text(i, cut) for i, cut in part) for part in layout]


def _paragraphs(text: str) -> list[str]:
    return [p for p in re.split(r"\n\s*\n", text) if p.strip()] or [""]


def _same_words(a: list[str], b: list[str]) -> bool:
    """Whether a layout of `a` reads the same in `b`: as many paragraphs, each with as many words."""
    return len(a) == len(b) and all(len(x.split()) == len(y.split()) for x, y in zip(a, b, strict=True))


def note_chunks(note: Note, count: Callable[[str], int]) -> list[Chunk]:
    """The chunks of one note; `count(text)` gives the number of word pieces."""
    chunks: list[Chunk] = []
    by_text: dict[str, list[str]] = {}
    for h in note.headings:  # the anchors the page really uses (duplicates get suffixes there)
        by_text.setdefault(heading_text(h.text), []).append(h.anchor)
    rendered = {h.anchor for h in note.headings}
    seen: dict[str, int] = {}
    # comments first: a heading inside %% ... %% is not on the page, and neither is its text
    for path, body in sections(strip_comments(note.source)):
        heading = path[-1] if path else ""
        queue = by_text.get(heading)
        if path == [note.title] and queue and queue[0] == note.title_anchor:
            # the leading H1 that repeats the title is shown as the page title (kb.transform.parse):
            # its chunks link to the top of the page and show no heading of their own
            queue.pop(0)
            anc = heading = ""
        elif queue:
            anc = queue.pop(0)
        else:  # a heading the page has no id for (only in an embed, say): the top of the page
            guess = make_anchor(heading) if path else ""
            anc = guess if not note.headings or guess in rendered else ""
        text = strip_markup(body)
        prefix = " > ".join([note.title, *path])
        # a title-only section (a leading H1 right before a subheading) stays a chunk: its vector is the
        # title's, which short queries match well (dropping the 24 of obsidian-hub retrained the quantizer:
        # default hit@10 0.655 -> 0.621, within the quantizer-seed spread 0.621-0.678)
        if not text and not path:
            continue
        paras = _paragraphs(text)
        budget = max(32, MAX_PIECES - count(prefix) - 1)
        layout = _split_long(paras, budget, count)
        parts = _part_texts(layout, paras)
        # `\(x\)` or `$HOME` in a code span is not math: strip_markup has dropped the backticks, so a
        # section with such code shows its snippets from its markdown with those escaped, each part from
        # the same paragraphs and words (escaping adds neither; if it ever did, from the stripped text)
        escaped = code_spans_escaped(body)
        shown = _paragraphs(strip_markup(escaped)) if escaped != body else paras
        shown_parts = _part_texts(layout, shown) if shown is not paras and _same_words(paras, shown) else parts
        for part, display in zip(parts, shown_parts, strict=True):
            ordinal = seen.get(anc, 0)
            seen[anc] = ordinal + 1
            # for the eye only: the embedded text keeps the markup it has
            plain = for_display(display, math="text")
            snippet = cut_at_word(plain, SNIPPET_MAX)  # "… the error…", not "… the error.…"
            chunks.append(Chunk(f"{note.path}#{anc}:{ordinal}", note.path, heading, anc, f"{prefix}\n{part}".strip(), snippet))
    if not chunks:  # a note with only a title still deserves to be found
        chunks.append(Chunk(f"{note.path}#:0", note.path, "", "", note.title, ""))
    return chunks


def boilerplate_as_note_top(chunks: list[Chunk], titles: dict[str, str]) -> list[Chunk]:
    """Show a template section as the note itself: a section found word for word (below the title) in a
    tenth of the notes or more, and in at least 20, links to the note's top with the note's first snippet.

    obsidian-hub closes 6,545 of 6,571 notes with "# This note in GitHub / Edit In GitHub | Copy this note",
    and 67 of 1,450 results of the bench queries showed that heading and snippet. Only what the result shows
    changes: the text stays embedded and indexed as it is, because what such a chunk matches is its note's
    title. Replacing its text with the title alone was measured worse (obsidian-hub, 3 quantizer seeds:
    exact MiniLM hit@10 0.747 -> 0.724, the default 0.693 -> 0.617), and leaving it out too (chunk_all).

    A chunk with no text of its own (a section of embeds only, the top of a note that opens with a
    heading) is shown the same way: what it matches is its note's title and its heading, and a result
    with an empty snippet told nothing."""
    floor = template_floor(len(titles))
    bodies = [c.text.removeprefix(titles.get(c.path, "")) for c in chunks]
    notes_with: dict[str, set[str]] = {}
    for c, body in zip(chunks, bodies, strict=True):
        notes_with.setdefault(body, set()).add(c.path)
    template = [len(notes_with[body]) >= floor or not c.snippet for c, body in zip(chunks, bodies, strict=True)]
    if not any(template):
        return chunks
    first_snippet: dict[str, str] = {}
    for c, is_template in zip(chunks, template, strict=True):
        if not is_template:
            first_snippet.setdefault(c.path, c.snippet)
    return [replace(c, heading="", anchor="", snippet=first_snippet.get(c.path, "")) if is_template else c
            for c, is_template in zip(chunks, template, strict=True)]
