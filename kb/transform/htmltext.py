"""A rendered note's HTML as text: all of it (`html_to_text`), or the opening prose a page's
<meta name="description"> shows (`opening` per note, then `summaries` over the vault: text that a
tenth of the notes share, such as a template footer, describes none of them).

Only block-level elements separate words: "<a>Second note</a>," is "Second note,", not
"Second note ,", and "x<sup>2</sup>" is "x2". A summary shows a formula kb rendered as text (θ, x², a/b:
kb.mathtext), not as its MathML's run-together text.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Mapping
from html.parser import HTMLParser

from kb.mathtext import tex_as_text

# elements that start a new line of text; every other tag (a, code, em, span, sup, math …) is inline
BLOCK = frozenset(
    "address article aside blockquote br dd details div dl dt figcaption figure footer h1 h2 h3 h4 h5 h6 "
    "header hr li main nav ol p pre section summary table tbody td tfoot th thead tr ul".split()
)
# not prose: a summary leaves these out with all they hold (headings, tables, code, diagrams and their
# captions, the callout's or embed's title, the folded details' label)
_SKIP_TAGS = frozenset("figure h1 h2 h3 h4 h5 h6 nav pre script style summary table template".split())
_SKIP_CLASSES = frozenset({"footnote-ref", "footnotes", "callout-title", "embed-link", "plugin-block"})
_VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)[^>]*>")
_WS = re.compile(r"\s+")
_MATH = re.compile(r"<math\b[^>]*>.*?</math>", re.S)  # MathML has no <math> inside a <math>
SUMMARY_MAX = 160  # about what search engines show of a description
OPENING_MAX = 4 * SUMMARY_MAX  # what a note keeps of its opening: enough left when shared text is dropped


def template_floor(notes: int) -> int:
    """In how many notes text must appear, word for word, to be a template's and not a note's own:
    a tenth of the notes, and at least 20 (so a small vault's few equal lines stay theirs)."""
    return max(20, notes // 10)


def html_to_text(fragment: str) -> str:
    """All the text of `fragment`, one space between blocks and none added around inline elements."""
    text = _TAG.sub(lambda m: " " if m.group(2).lower() in BLOCK else "", fragment)
    return _WS.sub(" ", html.unescape(text)).strip()


def opening(fragment: str, limit: int = OPENING_MAX, formulas: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The text of each of the first paragraphs and list items of `fragment`, until more than `limit`
    characters. `formulas` (RenderEnv.formulas: the MathML of a formula -> its TeX) gives the TeX each
    formula shows as text from: its MathML's text runs it together ("a2+b2" for $a^2+b^2$, not "a² + b²").
    MathML it does not name (raw HTML) reads as text."""
    if formulas and "<math" in fragment:
        fragment = _formulas_as_text(fragment, formulas)
    parser = _Prose(limit)
    for at in range(0, len(fragment), 4096):  # a note's opening is enough: stop reading there
        parser.feed(fragment[at : at + 4096])
        if parser.enough():
            break
    parser.close()
    return tuple(parser.blocks)


def summaries(openings: Mapping[str, tuple[str, ...]], limit: int = SUMMARY_MAX) -> dict[str, str]:
    """Each note's summary from its opening blocks, leaving out blocks that `template_floor` of the notes
    share: obsidian-hub closes 6,545 notes with "Edit In GitHub | Copy this note | Download this vault",
    and 3,209 of its pages' descriptions ended with it, the whole description for notes of a few words."""
    floor = template_floor(len(openings))
    counts = Counter(block for blocks in openings.values() for block in set(blocks))
    shared = {block for block, n in counts.items() if n >= floor}
    return {path: cut_at_word(" ".join(b for b in blocks if b not in shared), limit) for path, blocks in openings.items()}


def _formulas_as_text(fragment: str, formulas: Mapping[str, str]) -> str:
    """`fragment` with each formula that `formulas` names as text from its TeX, escaped: it is read as HTML."""

    def tex(m: re.Match[str]) -> str:
        source = formulas.get(m.group(0))
        return m.group(0) if source is None else html.escape(tex_as_text(source), quote=False)

    return _MATH.sub(tex, fragment)


def cut_at_word(text: str, limit: int) -> str:
    """`text`, or its words that fit in `limit` characters with "…" after them."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]  # and the "…"
    if text[limit - 1] != " " and " " in head:
        head = head.rsplit(" ", 1)[0]
    return head.rstrip(" ,;:.-–—(") + "…"


class _Prose(HTMLParser):
    """Collects the text of each block outside skipped elements, block by block."""

    def __init__(self, limit: int) -> None:
        super().__init__(convert_charrefs=True)
        self.limit = limit
        self.blocks: list[str] = []
        self.size = 0
        self.words: list[str] = []  # the text of the block being read
        self.prose = False  # whether it has text besides #tags: a line of tags only is metadata
        self.open: list[tuple[str, bool, bool]] = []  # (tag, skipped, a #tag link) of each open element

    def enough(self) -> bool:
        return self.size > self.limit

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in BLOCK:
            self.end_block()
        if tag in _VOID:
            return
        classes = set((dict(attrs).get("class") or "").split())
        self.open.append((tag, tag in _SKIP_TAGS or bool(classes & _SKIP_CLASSES), tag == "a" and "tag" in classes))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in BLOCK:
            self.end_block()

    def handle_endtag(self, tag: str) -> None:
        if tag in BLOCK:
            self.end_block()
        for i in range(len(self.open) - 1, -1, -1):  # a stray end tag closes nothing
            if self.open[i][0] == tag:
                del self.open[i:]
                break

    def handle_data(self, data: str) -> None:
        if not any(skipped for _, skipped, _ in self.open):
            self.words.append(data)
            self.prose = self.prose or (bool(data.strip()) and not any(is_tag for _, _, is_tag in self.open))

    def end_block(self) -> None:
        text = " ".join("".join(self.words).split())
        prose, self.words, self.prose = self.prose, [], False
        if text and prose and not self.enough():
            self.blocks.append(text)
            self.size += len(text) + 1

    def close(self) -> None:
        super().close()
        self.end_block()
