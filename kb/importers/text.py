"""Plain text and markdown files -> one ImportedItem each."""

from __future__ import annotations

import re
from pathlib import Path

from ftfy import fix_encoding

from kb.diagnostics import plural
from kb.importers.body import summary_of
from kb.importers.codeblocks import code_spans, fenced_blocks
from kb.importers.html2md import escape_text
from kb.importers.item import ImportedItem

# Page chrome a scraper leaves behind: dropped only when a whole line is exactly one of
# these and it sits in the first or last few lines, so prose that mentions them stays.
CHROME = {
    "skip to content", "skip to main content", "jump to content", "skip to navigation",
    "toggle navigation", "toggle menu", "open menu", "close menu", "menu", "search",
    "back to top", "scroll to top", "powered by wordpress",
}
_EDGE = 3
MAX_TITLE = 150
_MD_SIGNS = re.compile(r"^(#{1,6} |[-*+] |\d+\. |> |```|~~~)|\[[^\]]+\]\([^)]+\)|\*\*[^*]+\*\*", re.M)
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")


def looks_like_markdown(text: str) -> bool:
    lines = text[:20000].split("\n")
    # a pasted snippet's `# comment` lines are not headings: a .txt post with code stays text
    code = {i for a, b in code_spans(lines) for i in range(a, b)}
    prose = "\n".join(ln for i, ln in enumerate(lines) if i not in code)
    return len(_MD_SIGNS.findall(prose)) >= 3


def drop_chrome(lines: list[str]) -> tuple[list[str], list[str]]:
    """-> (lines kept, lines dropped). Only near the top or bottom of the text."""
    content = [i for i, ln in enumerate(lines) if ln.strip()]
    edge = set(content[:_EDGE] + content[-_EDGE:])
    dropped = [lines[i].strip() for i in sorted(edge) if lines[i].strip().lower() in CHROME]
    kept = [ln for i, ln in enumerate(lines) if not (i in edge and ln.strip().lower() in CHROME)]
    return kept, dropped


# LaTeX as MathJax pages write it, left in text scraped from them: \( inline \) and \[ display \]
_TEX = re.compile(r"\\\((.+?)\\\)|\\\[(.+?)\\\]")


def _escape_line(line: str) -> str:
    """Escape a line's text; its \\( \\) and \\[ \\] math becomes kb's $...$ and $$...$$, kept as written."""
    out, pos = [], 0
    for m in _TEX.finditer(line):
        tex = (m.group(1) or m.group(2)).strip()
        if not tex or "$" in tex:  # not math kb can hold: stays text
            continue
        out.append(escape_text(line[pos : m.start()]))
        out.append(f"${tex}$" if m.group(1) is not None else f"$${tex}$$")
        pos = m.end()
    out.append(escape_text(line[pos:]))
    return re.sub(r"\\#(?=\w)", "#", "".join(out))


def text_to_markdown(text: str) -> str:
    """Plain text: every line is a paragraph (scraped text has one paragraph per line);
    blank-line runs collapse; markdown characters are escaped so the text shows as written.
    `#word` hashtags stay tags; \\( \\) and \\[ \\] LaTeX becomes math. Runs of source
    code become fenced blocks, kept as written (see kb.importers.codeblocks). A short line that
    introduces a paragraph, a list or code becomes a `##` heading (`is_heading`; a title right
    above its first subsection's is one too, `_parents`), and lines
    that start with a bullet (•, ◦, ▪, -, *) or a number ("1.") become list items."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    parts: list[tuple[str, str]] = []  # (kind, markdown): kind "p", "h", "item" or "code"
    pos = 0
    for start, end, block in fenced_blocks(lines):
        parts += _prose(lines[pos:start])
        parts.append(("code", block))
        pos = end
    parts += _prose(lines[pos:])
    heads = {i for i, (kind, md) in enumerate(parts)
             if kind == "h" and is_heading(md, parts[i + 1] if i + 1 < len(parts) else ("", ""))}
    parents = _parents(parts, heads)  # not counted below: a title and its first subsection are one section
    if len(heads) < 2:  # one lone short line before a paragraph is likelier a byline than a section
        heads, parents = set(), set()
    out: list[str] = []
    for i, (kind, md) in enumerate(parts):
        nxt = parts[i + 1] if i + 1 < len(parts) else ("", "")
        # both lines of a pair are `##`: a `###` under it would leave the sections after it (its
        # siblings, which the text does not mark as such) one level above their first sibling
        out.append("## " + md if i in heads | parents else md)
        # items of one list stay together (a tight list); everything else is its own block
        out.append("\n" if kind == "item" and nxt[0] == "item" else "\n\n")
    return "".join(out).rstrip("\n") + "\n"


_BULLET = re.compile(r"^(?:[•◦▪‣·]|[-*](?=\s))\s*")
_NUMBERED = re.compile(r"^(\d{1,3})[.)]\s+(?=\S)")
# a heading: a short line that starts like a title and does not end like a sentence or a lead-in
_HEADING_LINE = re.compile(r"^[A-Z0-9][^\n]{0,79}$")
_SENTENCE_END = (".", ",", ";", ":", "!", "…", '"', "'")
_PLACEHOLDERS = {"image", "figure", "video", "photo", "embed"}  # what a scraper leaves for a lost picture
# short lines that are not section titles: dates, numbers (page numbers), bylines and credits,
# salutations and one-word replies, and first-person sentences
_NOT_HEADING = re.compile(
    r"^(?:[\d\s./:,-]+|(?:\d{1,2}\s+)?(?:jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)\.?\s+\d[\d\s,]*"
    r"|(?:\d{1,2}\s+)?(?:january|february|march|april|may|june|july|august|september|october|november|december)\s+\d[\d\s,]*"
    r"|(?:photo|image|picture|illustration|video)\s+(?:by|credit|courtesy|source)\b.*|(?:credit|source|via)\s*:.*"
    r"|(?:posted|written|published|updated)\s+(?:by|on)\b.*"
    r"|(?:dear|hi|hey|regards|sincerely)\b.{0,30}|(?:yes|no|ok|okay)[!.,]?|i\s.*)$",
    re.I,
)


def _prose(lines: list[str]) -> list[tuple[str, str]]:
    """Lines outside code as ("item", "- …") for bullets and numbers, else ("h", line) when the line
    could be a heading (text_to_markdown decides, as it needs the next block) and ("p", line)."""
    out: list[tuple[str, str]] = []
    for raw in lines:
        ln = raw.strip()
        if not ln:
            continue
        bullet, numbered = _BULLET.match(ln), _NUMBERED.match(ln)
        if bullet and ln[bullet.end() :]:
            out.append(("item", "- " + _escape_line(ln[bullet.end() :])))
        elif numbered:
            out.append(("item", f"{numbered.group(1)}. " + _escape_line(ln[numbered.end() :])))
        else:
            out.append(("h" if _could_head(ln) else "p", _escape_line(ln)))
    return out


def _could_head(line: str) -> bool:
    words = line.split()
    if not _HEADING_LINE.match(line) or len(words) > 12 or line.endswith(_SENTENCE_END) or ". " in line:
        return False
    if line.lower() in _PLACEHOLDERS or line.startswith(("\\(", "\\[", "$")) or _NOT_HEADING.match(line):
        return False
    # a longer line reads as a title only when it is one in form: a question, or mostly capitalised words
    capitalised = sum(w.lstrip("([\"'")[:1].isupper() for w in words)
    return len(words) <= 7 or line.endswith("?") or 2 * capitalised >= len(words)


def is_heading(line: str, nxt: tuple[str, str]) -> bool:
    """A heading candidate is one when what follows is what a heading introduces: a paragraph clearly
    longer than itself, a list or code. A run of short lines (a reference list, an address, a
    poem) stays paragraphs, and so does the last line."""
    kind, md = nxt
    if kind in ("item", "code"):
        return True
    return kind in ("p", "h") and len(md) >= max(60, len(line) + 20)


def _parents(parts: list[tuple[str, str]], heads: set[int]) -> set[int]:
    """Section titles followed directly by their first subsection's title ("Estimation", then the
    heading "Poisson Regression"): is_heading refuses them, as a short line follows. Only a run of
    exactly two such lines after a longer paragraph, a list or code: the first of a longer run of
    short lines (references, an address, credits, a poem) stays a paragraph, and so do two lines
    opening the text (likelier a subtitle and a byline). -> the titles' indices."""
    return {i for i in range(1, len(parts) - 2)
            if parts[i][0] == "h" and i not in heads and i + 1 in heads
            and parts[i + 2][0] != "h" and not _short(parts[i - 1])}


def _short(part: tuple[str, str]) -> bool:
    """A line that may belong to a run of short lines; a lost picture's placeholder does not."""
    kind, md = part
    return kind == "h" or kind == "p" and len(md) < 60 and md.lower() not in _PLACEHOLDERS


def first_line_title(lines: list[str]) -> tuple[str, int]:
    """Title from the first non-empty line (heading marks and link syntax removed) and its index."""
    for i, ln in enumerate(lines):
        if ln.strip():
            m = _HEADING.match(ln.strip())
            title = m.group(2) if m else ln.strip()
            return _LINK.sub(r"\1", title).strip(), i
    return "", -1


def text_item(path: Path, raw: str, kind: str, title: str | None) -> tuple[ImportedItem, list[str]]:
    """-> (item, warnings). kind is 'text' or 'markdown'."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    warnings: list[str] = []
    # UTF-8 read as another encoding somewhere before it reached the file ("ðŸ”¥" for 🔥): ftfy undoes
    # exactly that and leaves correct text, curly quotes included, alone
    repaired = fix_encoding(text)
    if repaired != text:
        warnings.append(f"{path}: repaired {plural(_changed_lines(text, repaired), 'mis-decoded line')} (mojibake)")
        text = repaired
    lines, dropped = drop_chrome(text.split("\n"))
    warnings += [f"{path}: dropped page chrome line {d!r}" for d in dropped]
    inferred, first = first_line_title(lines)
    if kind == "markdown":
        m = _HEADING.match(lines[first].strip()) if first >= 0 else None
        if not title and m and len(m.group(1)) == 1:
            lines = lines[:first] + lines[first + 1 :]  # the H1 becomes the title, not a duplicate
        body = "\n".join(lines).strip() + "\n"
    else:
        if not title and first >= 0 and len(lines[first].strip()) <= MAX_TITLE:
            lines = lines[:first] + lines[first + 1 :]  # a short first line is the title
        elif not title and first >= 0:
            inferred = inferred[:MAX_TITLE].rsplit(" ", 1)[0] + "…"  # a paragraph: stays in the body too
        body = text_to_markdown("\n".join(lines))
    item = ImportedItem(
        title=title or inferred or path.stem,
        body_markdown=body,
        description=summary_of(body),  # the home page lists it, as it does an imported post's
        guid=f"file:{path.name}",
        source_url=str(path),
        label=str(path),
    )
    return item, warnings


def _changed_lines(a: str, b: str) -> int:
    return sum(x != y for x, y in zip(a.split("\n"), b.split("\n"), strict=False))
