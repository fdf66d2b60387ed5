"""Markdown -> plain text: for embeddings and BM25 (`strip_markup`), and for what a reader sees in
result snippets and backlink contexts (`for_display`)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from kb.mathtext import tex_as_text

_COMMENT = re.compile(r"<!--.*?-->|%%.*?%%", re.S)
_EMBED = re.compile(r"!\[\[[^\]]*\]\]|!\[[^\]]*\]\([^)]*\)")
_WIKILINK = re.compile(r"\[\[([^\]|#]*)(#[^\]|]*)?(?:\|([^\]]*))?\]\]")
_MDLINK = re.compile(r"\[((?:[^\[\]]|\[[^\]]*\])*)\]\([^)]*\)")  # link text may hold [brackets]: "[[Bug]: x](url)"
_TAG = re.compile(r"(?<!\\)<[^>\n]+>")  # not an escaped \<: std::vector\<int> is text
# the lookahead lists every character a mark can start with: most positions fail there at once
# instead of trying each alternative (2x faster on obsidian-hub, same matches)
# line starts: every level of quote marks ("> > " in a nested callout), then a list item's marker and any
# one-character task status ("- [/] ", as kb's markdown reads it); a "[x]" later in a line is text
# The quote runs are possessive (*+, ++): a space between two ">" fits either side, and backtracking
# over those splits took seconds for a line quoted 20 deep (an imported mail thread); nothing after
# them starts with ">", so giving none back matches the same
_MARKS = re.compile(r"(?=[*_~=`>\-+\d\s^])(^(?:\s{0,3}>\s?)*+(?:\s*[-*+]\s+\[[^\]\n]\]\s+|\s*[-*+]\s+|\s*\d+\.\s+)"
                    r"|^(?:\s{0,3}>\s?)++|\*\*|__|~~|==|`+|\^[\w-]+\s*$)", re.M)
_TABLE = re.compile(r"^\s*\|?[\s:|-]+\|[\s:|-]*$", re.M)
# *one-star* or _underscore_ emphasis around words (not snake_case, not "a * b"); strip_markup keeps
# these for the embeddings, result snippets drop them
_EMPHASIS = re.compile(r"(?<![\w*])([*_])(?=[^\s*_])(.+?)(?<=[^\s*_])\1(?![\w*])")
_WS = re.compile(r"\t[ \t]*| [ \t]+")  # runs of spaces and tabs that are not already one space
# for the eye only (snippets, backlink contexts): markup a reader should not see as characters
_DISPLAY_LINK = re.compile(r"!?\[\[([^\]|#]*)(?:#\^?([^\]|]*))?(?:\|([^\]]*))?\]\]")
# display math: $$…$$, or \[…\] when bracket_is_math; not after an escaped \\
_DISPLAY_MATH = re.compile(r"\$\$(.*?)\$\$|(?<!\\)\\\[(.*?)\\\]", re.S)  # $$…$$ (group 1) or \[…\] (group 2)
# inline math: $x$ (group 1), not "$5 and $10" or "$6 ... \\$"; or \(x\) (group 2), as kb's markdown reads both
_INLINE_MATH = re.compile(r"(?<![\\$])\$(?=\S)([^$\n]+?)(?<![\s\\])\$(?!\d)|(?<!\\)\\\(([^\n]*?)\\\)")
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")  # CommonMark's escapes, any ASCII punctuation (imports have many): \$ -> $
_PARKED = re.compile("[\ue000-\ue07f]")
_CALLOUT = re.compile(r"\[![\w-]+\][+-]?")
_GAP = "\x00"  # where markup was removed, until _close_gaps (notes hold no NUL); never in the output
_GAPS = re.compile("\x00+")
_GAP_PUNCT = re.compile("\x00[.,;:!?)]")
_PUNCT = frozenset(".,;:!?)")
_RULE = re.compile(r"^\s*([-*_])(?:\s*\1){2,}\s*$", re.M)
_ATX = re.compile(r"^\s{0,3}#{1,6}\s+", re.M)


def strip_markup(md: str) -> str:
    """Markdown -> plain text, good enough for embeddings and BM25 (code is kept: identifiers matter)."""
    # each pattern is tried only if the text has a character it needs: most sections lack most of them
    # what goes leaves a gap: a space, or nothing before punctuation ("see ![[x]]." -> "see.")
    if "%%" in md or "<!--" in md or "-->" in md:
        md = _COMMENT.sub(_GAP, md).replace("<!--", _GAP).replace("-->", _GAP)
    if "[" in md:
        md = _EMBED.sub(_GAP, md)
        md = _WIKILINK.sub(lambda m: m.group(3) or m.group(1) or (m.group(2) or "").lstrip("#"), md)
        md = _MDLINK.sub(r"\1", md)
    if "<" in md:
        md = _TAG.sub(_GAP, md)
    md = _close_gaps(md)
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
_MATHY = re.compile(r"[\\^_={}<>+]")
# footnotes: a reference [^1], an inline one ^[words], a definition's label "[^1]:" (its words stay)
_FOOTNOTE = re.compile(r"\[\^[^\]\s]+\]:?|\^\[[^\]]*\]")
_MATH_MODES = {"strip": ("", ""), "text": ("", ""), "mark": (MATH_OPEN, MATH_CLOSE)}  # what goes around the TeX


def for_display(text: str, math: str = "strip") -> str:
    """Plain text (strip_markup's output) cleaned for a one-line snippet: no single-star emphasis,
    callout markers, footnotes, rules or heading marks, and display math only as text ("text" mode);
    whitespace collapsed. Inline math: its TeX without the delimiters ("strip": headings, titles), as Unicode text
    (kb.mathtext, "text": search snippets: θ, x², a/b), or between MATH_OPEN and MATH_CLOSE ("mark": backlink contexts,
    which pages render with `math_in_text`). \\(…\\) and \\[…\\] are math as $…$ and $$…$$ are."""
    if "$$" in text or "\\[" in text:
        text = _DISPLAY_MATH.sub(_display_math(math), text)
    # inline TeX first: kept or marked, it is parked whole, so that the escape and emphasis rules below
    # leave it as written (\{, \%, \, and _ mean something else there); stripped (a title), it reads
    # as text. An escaped \$ never opens or closes it (_INLINE_MATH)
    if "$" in text or "\\(" in text:
        text = _INLINE_MATH.sub(_inline_math(math), text)
    text = park_escapes(text)  # before the footnote rule: an escaped \[^1\] is text
    if "^" in text:
        text = _FOOTNOTE.sub(_GAP, text)
    text = _CALLOUT.sub(" ", text)
    text = _RULE.sub(" ", text)
    text = _ATX.sub("", text)
    text = _EMPHASIS.sub(r"\2", text)
    text = _PARKED.sub(lambda m: chr(ord(m.group(0)) - 0xE000), text)
    return " ".join(_close_gaps(text).split())


def bracket_is_math(content: str, before: str = "") -> bool:
    """`\\[…\\]` is also markdown for an escaped "[…]": `\\[\\[Links\\]\\]` (an escaped
    wikilink) or `\\[1\\]` is text. Display math has a command or an operator."""
    return bool(content.strip()) and "\\[" not in content and not before.endswith("\\[") and bool(_MATHY.search(content))


def _display_math(math: str) -> Callable[[re.Match[str]], str]:
    """The replacement of one display formula, $$…$$ (group 1) or \\[…\\] (group 2): in "text" mode
    (search snippets) its Unicode text, parked as inline math is, else nothing. A \\[1\\] that is not
    math stays, for the escape rule; where the formula stood before punctuation, so does the space before it."""

    def sub(m: re.Match[str]) -> str:
        tex = m.group(1) if m.group(1) is not None else m.group(2)
        if m.group(2) is not None and not bracket_is_math(tex, m.string[max(0, m.start() - 2) : m.start()]):
            return m.group(0)
        if math == "text" and tex.strip():
            return _GAP + _park(tex_as_text(tex)) + _GAP
        return _GAP

    return sub


def _inline_math(math: str) -> Callable[[re.Match[str]], str]:
    """The replacement of one inline formula, $…$ (group 1) or \\(…\\) (group 2), in `math` mode."""
    before, after = _MATH_MODES[math]
    keep = math != "strip"
    shown = tex_as_text if math == "text" else (lambda tex: tex)

    def sub(m: re.Match[str]) -> str:
        tex = m.group(1)
        if tex is None:  # \\(…\\): a blank one is text; spaces inside are not part of the TeX
            tex = m.group(2).strip()
            if not tex:
                return m.group(0)
        return before + (_park(shown(tex)) if keep else tex) + after

    return sub


def _close_gaps(text: str) -> str:
    """Each run of _GAP (where markup was removed) as a space, but with no space before the punctuation
    that followed it: "and ![[x]]." reads "and.", not "and .". A loop over the gaps: a regex for the
    spaces before one is tried at every space of the text."""
    if _GAP not in text:
        return text
    if not _GAP_PUNCT.search(text):  # most gaps (obsidian-hub: 9 in 10): a space is all it takes
        return text.replace(_GAP, " ")
    parts = _GAPS.split(text)
    out = [parts[0]]
    for part in parts[1:]:
        if part[:1] in _PUNCT and part:
            while len(out) > 1 and not out[-1].strip(" \t"):  # spaces between two gaps
                out.pop()
            out[-1] = out[-1].rstrip(" \t")
        else:
            out.append(" ")
        out.append(part)
    return "".join(out)


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


# a code span: a run of backticks that no backslash escapes, up to the next run of the same length
# (CommonMark: a shorter or longer run does not close it); or an escaped backtick, outside any span
_CODE_SPAN = re.compile(r"\\`|(?<![\\`])(`+)(?!`)(.+?)(?<!`)\1(?!`)")


def code_spans_escaped(md: str) -> str:
    """`$HOME` or `\\(x\\)` in a code span is not math: escape its dollars and backslashes before
    strip_markup drops the backticks (for_display reads the escapes back as the characters)."""
    if "`" not in md or ("$" not in md and "\\" not in md):
        return md
    return _CODE_SPAN.sub(_escape_span, md)


def _escape_span(m: re.Match[str]) -> str:
    """A code span with its dollars and backslashes escaped. An escaped backtick ("\\`\\`$x$", TeX's
    opening quotes) is a backtick to show: parked, so that strip_markup neither drops it as a code mark
    nor leaves its backslash to escape what follows."""
    if m.group(1) is None:
        return _park("`")
    return m.group(0).replace("\\", "\\\\").replace("$", "\\$")
