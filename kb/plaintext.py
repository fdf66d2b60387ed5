"""Markdown -> plain text: for embeddings and BM25 (`strip_markup`), and for what a reader sees in
result snippets and backlink contexts (`for_display`)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

_COMMENT = re.compile(r"<!--.*?-->|%%.*?%%", re.S)
_EMBED = re.compile(r"!\[\[[^\]]*\]\]|!\[[^\]]*\]\([^)]*\)")
_WIKILINK = re.compile(r"\[\[([^\]|#]*)(#[^\]|]*)?(?:\|([^\]]*))?\]\]")
_MDLINK = re.compile(r"\[((?:[^\[\]]|\[[^\]]*\])*)\]\([^)]*\)")  # link text may hold [brackets]: "[[Bug]: x](url)"
_TAG = re.compile(r"(?<!\\)<[^>\n]+>")  # not an escaped \<: std::vector\<int> is text
# the lookahead lists every character a mark can start with: most positions fail there at once
# instead of trying each alternative (2x faster on obsidian-hub, same matches)
_MARKS = re.compile(r"(?=[*_~=`>\-+\d\s^])(^(?:\s{0,3}>\s?|\s*[-*+]\s+\[[ xX]\]\s+|\s*[-*+]\s+|\s*\d+\.\s+)|\*\*|__|~~|==|`+|\^[\w-]+\s*$)", re.M)
_TABLE = re.compile(r"^\s*\|?[\s:|-]+\|[\s:|-]*$", re.M)
# *one-star* or _underscore_ emphasis around words (not snake_case, not "a * b"); strip_markup keeps
# these for the embeddings, result snippets drop them
_EMPHASIS = re.compile(r"(?<![\w*])([*_])(?=[^\s*_])(.+?)(?<=[^\s*_])\1(?![\w*])")
_WS = re.compile(r"\t[ \t]*| [ \t]+")  # runs of spaces and tabs that are not already one space
# for the eye only (snippets, backlink contexts): markup a reader should not see as characters
_DISPLAY_LINK = re.compile(r"!?\[\[([^\]|#]*)(?:#\^?([^\]|]*))?(?:\|([^\]]*))?\]\]")
_DISPLAY_MATH = re.compile(r"\$\$.*?\$\$", re.S)
_INLINE_MATH = re.compile(r"(?<![\\$])\$(?=\S)([^$\n]+?)(?<![\s\\])\$(?!\d)")  # $x$, not "$5 and $10" or "$6 ... \\$"
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")  # CommonMark's escapes, any ASCII punctuation (imports have many): \$ -> $
_PARKED = re.compile("[\ue000-\ue07f]")
_CALLOUT = re.compile(r"\[![\w-]+\][+-]?")
_RULE = re.compile(r"^\s*([-*_])(?:\s*\1){2,}\s*$", re.M)
_ATX = re.compile(r"^\s{0,3}#{1,6}\s+", re.M)


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


_FENCED = re.compile(r"^[ \t]*(```|~~~).*?(?:^[ \t]*\1[^\n]*$|\Z)", re.M | re.S)
_HIDDEN = re.compile(r"%%.*?(?:%%|\Z)|<!--.*?(?:-->|\Z)", re.S)  # unclosed: hides the rest, as in Obsidian
_FOOTREF = re.compile(r"\[\^[^\]\s]+\]")


_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")  # any indent: fences inside list items


def fence_after(line: str, fence: str) -> tuple[bool, str]:
    """Line-by-line fence tracking: `fence` is the open fence's marker run ("" outside one). ->
    (is `line` a fence line, the fence open after it). A fence closes only with the same character,
    at least as many of them, and nothing after: "```" inside a "~~~" block is code, as in CommonMark."""
    m = _FENCE.match(line)
    if not m:
        return False, fence
    run = m.group(1)
    if not fence:
        return True, run
    if run[0] == fence[0] and len(run) >= len(fence) and not line.strip()[len(run) :].strip():
        return True, ""
    return False, fence


def strip_comments(md: str) -> str:
    """%%comments%% and <!-- comments --> removed from a whole note (outside fenced code), so that a
    heading or text inside one is not taken for the note's own. A comment that spanned lines leaves
    a line break, one inside a line a space."""
    if "%%" not in md and "<!--" not in md:
        return md
    out, pos = [], 0
    for m in _FENCED.finditer(md):
        out.append(_HIDDEN.sub(_blank, md[pos : m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(_HIDDEN.sub(_blank, md[pos:]))
    return "".join(out)


def _blank(m: re.Match[str]) -> str:
    return "\n" if "\n" in m.group(0) else " "


def heading_text(md: str) -> str:
    """A heading's markdown as the words a reader sees: links as their text, no footnote marks,
    emphasis or code marks. The title a note takes from its leading H1."""
    return for_display(strip_markup(_FOOTREF.sub("", md)))


def display_links(md: str) -> str:
    """Wikilinks as a reader would say them: [[A#B]] -> "A › B", [[A|alias]] -> "alias"."""
    return _DISPLAY_LINK.sub(lambda m: m.group(3) or " › ".join(x for x in (m.group(1), m.group(2)) if x), md)


def park_escapes(md: str) -> str:
    """A markdown escape (\\$, \\*, \\<) stands for its character, which no markup rule may take for
    markup: parked as a private-use character, which for_display turns back. Call it before
    strip_markup where escaped '<' must not read as a tag."""
    return _ESCAPED.sub(lambda m: _park(m.group(1)), md) if "\\" in md else md


def _park(text: str) -> str:
    """Every ASCII character of `text` as its private-use twin (for_display turns them back)."""
    return "".join(chr(0xE000 + ord(c)) if ord(c) < 0x80 else c for c in text)


MATH_OPEN, MATH_CLOSE = "\ue100", "\ue101"  # around inline TeX in for_display(math="mark") text
_MARKED_MATH = re.compile("\ue100(.*?)\ue101")
_MATH_MODES = {"strip": ("", ""), "keep": ("$", "$"), "mark": (MATH_OPEN, MATH_CLOSE)}  # what goes around the TeX


def for_display(text: str, math: str = "strip") -> str:
    """Plain text (strip_markup's output) cleaned for a one-line snippet: no single-star emphasis,
    callout markers, rules, heading marks or display math; whitespace collapsed. Inline math: its TeX
    without the dollars ("strip": headings, titles), as written ("keep": search snippets), or between
    MATH_OPEN and MATH_CLOSE ("mark": backlink contexts, which pages render with `math_in_text`)."""
    text = _DISPLAY_MATH.sub(" ", text)
    # inline TeX first: kept or marked, it is parked whole, so that the escape and emphasis rules below
    # leave it as written (\{, \%, \, and _ mean something else there); stripped (a title), it reads
    # as text. An escaped \$ never opens or closes it (_INLINE_MATH)
    if "$" in text:
        before, after = _MATH_MODES[math]
        keep = math != "strip"
        text = _INLINE_MATH.sub(lambda m: before + (_park(m.group(1)) if keep else m.group(1)) + after, text)
    text = park_escapes(text)
    text = _CALLOUT.sub(" ", text)
    text = _RULE.sub(" ", text)
    text = _ATX.sub("", text)
    text = _EMPHASIS.sub(r"\2", text)
    text = _PARKED.sub(lambda m: chr(ord(m.group(0)) - 0xE000), text)
    return " ".join(text.split())


def math_in_text(text: str, render: Callable[[str], str | None]) -> str:
    """HTML of for_display(…, math="mark") text: each marked formula as `render(tex)` gives it (MathML),
    the rest escaped; a formula that fails to render shows as its escaped `$…$` source."""
    out: list[str] = []
    last = 0
    for m in _MARKED_MATH.finditer(text):
        out.append(html.escape(text[last : m.start()]))
        out.append(render(m.group(1)) or html.escape(f"${m.group(1)}$"))
        last = m.end()
    out.append(html.escape(text[last:]))
    return "".join(out)


def cut_marked(text: str, limit: int) -> str:
    """The first `limit` characters of for_display(…, math="mark") text, never half a formula."""
    text = text[:limit]
    if text.count(MATH_OPEN) > text.count(MATH_CLOSE):
        text = text[: text.rindex(MATH_OPEN)].rstrip()
    return text


def math_as_written(text: str) -> str:
    """for_display(…, math="mark") text as plain text: each formula back between dollars."""
    return _MARKED_MATH.sub(r"$\1$", text)


_CODE_SPAN = re.compile(r"(`+)(.+?)\1")


def dollars_in_code_escaped(md: str) -> str:
    """`$HOME` in a code span is not math: escape its dollars before strip_markup drops the backticks."""
    return _CODE_SPAN.sub(lambda m: m.group(0).replace("$", "\\$"), md) if "`" in md and "$" in md else md
