"""Finishing touches on an imported note's markdown body, shared by every source kind.

`demote_headings`: a post whose sections are H1s (`# Introduction`, `# Method`...) would show
several headings as large as the page title, and kb's "Contents" lists only H2 and below, so
such pages got none. An imported note always has a title of its own (frontmatter), shown as
the page's H1, so its body's headings move one level down. Notes users write are not touched:
this runs on import only (writer.note_text).

`summary_of`: a listing shows a note's `description`. Feeds like Hugo's carry no summary apart
from the content, and posts often have none in their frontmatter; the blog engines themselves
then derive one (Hugo: the text before <!--more-->, else the opening words; Jekyll: the first
paragraph). This does the same, so every imported post gets a summary on the home page.

Both read the body with kb's own block parser, so code (fenced, indented), math blocks and
%%comments%% are never taken for headings or prose, exactly as `kb build` will see them.
"""

from __future__ import annotations

import html
import re
from functools import cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

from kb.plaintext import heading_text, park_escapes
from kb.transform.htmltext import cut_at_word

# container marks (blockquote '>', list bullets/numbers, indentation) before an ATX heading's #s
_ATX = re.compile(r"^((?:[ \t]*(?:>|[-+*][ \t]|\d{1,9}[.)][ \t]))*[ \t]*)(#{1,6})(?=[ \t]|$)")
_SETEXT_H1 = re.compile(r"=+(?=[ \t]*$)")
MORE = "<!--more-->"  # Hugo's (and many Jekyll sites') summary divider
SUMMARY_MIN = 120  # characters: a short first paragraph ("Paper: X (2021)") is followed by the next
SUMMARY_MAX = 250  # about what Hashnode's own RSS descriptions hold


def _metadata(text: str) -> bool:
    """A short line that is not a sentence: a "Key: value" line, a date, a count."""
    return len(text) < 80 and not text.rstrip().endswith((".", "!", "?", "…", '."', ".)"))


@cache
def _md() -> MarkdownIt:
    from kb.markdown import make_md  # the build's parser: its math, comment and footnote blocks

    return make_md()


def _blocks(body: str) -> list[Token]:
    """Block tokens only: inline parsing (links, tags) needs a vault and is not needed here."""
    md = _md()
    tokens: list[Token] = []
    md.block.parse(body, md, {}, tokens)
    return tokens


def _leading_title(tokens: list[Token], title: str) -> Token | None:
    """The body's first block when it is an H1 repeating the title (the page drops it; see
    kb.transform.parse.Renderer.to_html)."""
    if len(tokens) > 1 and tokens[0].type == "heading_open" and tokens[0].tag == "h1" and tokens[0].level == 0:
        if heading_text(tokens[1].content) == heading_text(title):
            return tokens[0]
    return None


def _rewrite(lines: list[str], tok: Token, inline: Token) -> list[str] | None:
    """The heading's lines one level lower, or None when they cannot be rewritten safely."""
    assert tok.map is not None
    first, end = tok.map
    level = int(tok.tag[1])
    if tok.markup == "=":  # setext H1: a '-' underline makes it a setext H2, in any container
        under = lines[end - 1]
        return lines[first : end - 1] + [_SETEXT_H1.sub(lambda m: "-" * len(m.group(0)), under, count=1)]
    if tok.markup == "-":  # setext H2 has no setext H3: written as an ATX heading
        if tok.level:  # inside a blockquote or list: its container marks would have to be rebuilt
            return None
        text = " ".join(inline.content.split())
        # a trailing '#' would be read as an ATX closing sequence: close it explicitly
        return [f"{'#' * (level + 1)} {text}" + (" #" if text.endswith("#") else "")]
    m = _ATX.match(lines[first])
    if not m:
        return None
    marks = "#" * min(len(m.group(2)) + 1, 6)
    return [lines[first][: m.start(2)] + marks + lines[first][m.end(2) :]]


def demote_headings(body: str, title: str) -> str:
    """Every heading one level down (H6 stays H6) when the body's top heading level is H1 and the
    note has a title of its own. A leading H1 that repeats the title is dropped instead (the page
    shows the title once). Idempotent: the result has no H1 left to demote."""
    if not title or ("#" not in body and "=" not in body):  # no heading possible: skip the parse
        return body
    tokens = _blocks(body)
    lines = body.split("\n")
    skip = _leading_title(tokens, title)
    edits: list[tuple[int, int, list[str]]] = []  # (first line, end line, new lines)
    levels: list[int] = []
    for i, tok in enumerate(tokens):
        if tok.type != "heading_open" or tok is skip or tok.map is None:
            continue
        new = _rewrite(lines, tok, tokens[i + 1])
        # only headings that can be rewritten count: one that cannot stays as it is, and must not
        # make a second run demote the others again
        if new is not None:
            edits.append((tok.map[0], tok.map[1], new))
            levels.append(int(tok.tag[1]))
    if min(levels, default=0) != 1:
        return body
    if skip is not None and skip.map is not None:
        end = skip.map[1]
        while end < len(lines) and not lines[end].strip():
            end += 1
        edits.append((skip.map[0], end, []))
    for first, end, new in sorted(edits, key=lambda e: -e[0]):
        lines[first:end] = new
    return "\n".join(lines)


def summary_of(body: str) -> str:
    """Plain-text summary of a post: its text before <!--more-->, else its opening run of
    paragraphs (until SUMMARY_MIN characters, or a list, heading or code ends the run), cut to
    SUMMARY_MAX at a word. '' when the post opens with no prose."""
    head = _before_more(body)
    more = head is not None
    tokens = _blocks(head if head is not None else body)
    words: list[str] = []
    for i, tok in enumerate(tokens):
        if tok.level != 0 or tok.type.endswith("_close") or tok.type == "inline":
            continue
        if tok.type != "paragraph_open":
            if words and not more:  # "...two approaches:" then a list: the list is not summary prose
                break
            continue
        text = html.unescape(heading_text(park_escapes(tokens[i + 1].content)))
        if not more and _metadata(text):  # "Release date : Dec 23, 2024", "Serves 8": not what a post says
            continue
        words += text.split()
        if not more and len(" ".join(words)) >= SUMMARY_MIN:
            break
    return cut_at_word(" ".join(words), SUMMARY_MAX + 1)  # the words that fit, then "…"


def _before_more(body: str) -> str | None:
    """The body up to its first <!--more--> outside code, or None when it has none."""
    if MORE not in body:
        return None
    lines = body.split("\n")
    code = {i for t in _blocks(body) if t.type in ("fence", "code_block") and t.map for i in range(*t.map)}
    for i, line in enumerate(lines):
        if MORE in line and i not in code:
            return "\n".join([*lines[:i], line.split(MORE, 1)[0]])
    return None
