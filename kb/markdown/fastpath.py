"""Faster paths through markdown-it-py with the same output.

markdown-it-py is pure Python and parsing is the largest part of a build. At
every line start the block parser tries each block rule in turn, and each rule
pays for a debug-log call and an indentation check before it looks at the one
character that decides it; a paragraph re-runs most of them on each of its lines
to see whether the paragraph ends there. Likewise the inline parser tries all
twenty inline rules at every character that ends a run of plain text. Here
dispatchers look at that one character and run only the rules that can start
with it. The link destination scanner walks a URL one character at a time
through a helper call; a regex does the plain run.

Obsidian-hub (6,571 notes), serial parse: 6.3 -> 4.8 s. Everything here returns
what the original code returns (tests/test_markdown_fastpath.py compares both on
the fixtures, the demo vault and generated inputs; `diff -r` of the two sites of
obsidian-hub is empty).
"""

from __future__ import annotations

import logging
import re
from types import SimpleNamespace

from markdown_it import MarkdownIt, helpers
from markdown_it.common.utils import unescapeAll
from markdown_it.helpers.parse_link_destination import _Result
from markdown_it.rules_block import StateBlock
from markdown_it.rules_core import StateCore
from markdown_it.rules_core.normalize import normalize as plain_normalize
from markdown_it.rules_inline import StateInline

# block rule -> the characters its line must start with (after indentation) for it to match
BLOCK_FIRST_CHARS = {
    "math_block": "$",
    "math_bracket_block": "\\",
    "fence": "`~",
    "kb_comment": "%",
    "blockquote": ">",
    "hr": "*-_",
    "list": "*-+0123456789",
    "footnote_def": "[",
    "reference": "[",
    "html_block": "<",
    "heading": "#",
}

# inline rule -> the characters it can start at; "text" matches every other character
INLINE_FIRST_CHARS = {
    "kb_tag": "#",
    "kb_comment": "%",
    "linkify": ":",
    "newline": "\n",
    "math_inline": "$",
    "math_bracket": "\\",
    "escape": "\\",
    "backticks": "`",
    "strikethrough": "~",
    "mark": "=",
    "emphasis": "_*",
    "wikilink": "[!",
    "link": "[",
    "image": "!",
    "footnote_inline": "^",
    "footnote_ref": "[",
    "autolink": "<",
    "html_inline": "<",
    "entity": "&",
}

_MD_LOGGERS = (
    "markdown_it.rules_block.reference",
    "markdown_it.rules_block.html_block",
    "markdown_it.rules_block.paragraph",
    "markdown_it.rules_block.blockquote",
    "markdown_it.rules_block.fence",
    "markdown_it.rules_block.heading",
    "markdown_it.rules_block.lheading",
    "markdown_it.rules_block.hr",
    "markdown_it.rules_block.code",
    "markdown_it.rules_block.list",
)


class BlockDispatch:
    """Each chain of block rules (the main one and the 'this ends a paragraph' ones) becomes
    one function that runs, in order, only the rules the line's first character allows.

    markdown-it asks the ruler for a chain by name (`getRules`); this instance's ruler
    answers with [dispatcher], so every caller, the block parser and the rules that check
    for terminators alike, goes through it.
    """

    def __init__(self, md: MarkdownIt) -> None:
        self.md = md
        self.plain_get_rules = md.block.ruler.getRules
        self.chains: dict[str, tuple[list, list]] = {}

    def get_rules(self, chain: str = "") -> list:
        rules = self.plain_get_rules(chain)
        got = self.chains.get(chain)
        if got is None or got[0] is not rules:  # new, or the ruler changed since
            got = self.chains[chain] = (rules, [self._dispatcher(rules)])
        return got[1]

    def _dispatcher(self, rules: list):  # noqa: ANN202 - a markdown-it block rule
        names = {r.fn: r.name for r in self.md.block.ruler.__rules__}
        firsts = [BLOCK_FIRST_CHARS.get(names.get(fn, "")) for fn in rules]
        by_char: dict[str, list] = {"": rules}  # a line with nothing on it: every rule decides

        def dispatch(state: StateBlock, line: int, end_line: int, silent: bool) -> bool:
            pos = state.bMarks[line] + state.tShift[line]
            ch = state.src[pos] if pos < state.eMarks[line] else ""
            chosen = by_char.get(ch)
            if chosen is None:
                chosen = by_char[ch] = [fn for fn, first in zip(rules, firsts, strict=True) if first is None or ch in first]
            for rule in chosen:
                if rule(state, line, end_line, silent):
                    return True
            return False

        return dispatch


class InlineDispatch:
    """The inline rules worth trying at a character, in the ruler's order.

    markdown-it tries every inline rule (twenty here) at each character that stops
    the text rule; most reject it at once, but each try is a Python call. A rule
    not listed in INLINE_FIRST_CHARS is always tried.
    """

    def __init__(self, md: MarkdownIt) -> None:
        self.md = md
        self.rules: list = []
        self.names: list[str] = []
        self.by_char: dict[str, list] = {}

    def table(self) -> dict[str, list]:
        """char -> rules to try, filled as characters come; emptied when the ruler changed."""
        rules = self.md.inline.ruler.getRules("")
        if rules is not self.rules:
            names = {r.fn: r.name for r in self.md.inline.ruler.__rules__}
            self.rules, self.names, self.by_char = rules, [names.get(fn, "") for fn in rules], {}
        return self.by_char

    def rules_at(self, ch: str) -> list:
        table = self.table()
        got = table.get(ch)
        if got is None:
            got = table[ch] = [fn for fn, name in zip(self.rules, self.names, strict=True) if self._may_start(name, ch)]
        return got

    def _may_start(self, name: str, ch: str) -> bool:
        if name == "text":
            return not self.md.inline.terminator_re.match(ch)
        first = INLINE_FIRST_CHARS.get(name)
        return first is None or ch in first

    def tokenize(self, state: StateInline) -> None:
        """markdown_it.parser_inline.ParserInline.tokenize, trying only rules_at(char)."""
        end = state.posMax
        max_nesting = state.md.options["maxNesting"]
        src = state.src
        by_char = self.table()
        while state.pos < end:
            pos = state.pos
            ok = False
            if state.level < max_nesting:
                rules = by_char.get(src[pos])
                if rules is None:
                    rules = self.rules_at(src[pos])
                for rule in rules:
                    ok = rule(state, False)
                    if ok:
                        if state.pos <= pos:
                            raise RuntimeError("inline rule didn't increment state.pos")
                        break
            if ok:
                if state.pos >= end:
                    break
                continue
            state.append_pending(src[state.pos])
            state.pos += 1
        if state.pending:
            state.pushPending()

    def skip_token(self, state: StateInline) -> None:
        """markdown_it.parser_inline.ParserInline.skipToken, trying only rules_at(char)."""
        pos = state.pos
        cache = state.cache
        if pos in cache:
            state.pos = cache[pos]
            return
        ok = False
        if state.level < state.md.options["maxNesting"]:
            rules = self.rules_at(state.src[pos]) if pos < len(state.src) else self.md.inline.ruler.getRules("")
            for rule in rules:
                state.level += 1
                ok = rule(state, True)
                state.level -= 1
                if ok:
                    if state.pos <= pos:
                        raise RuntimeError("inline rule didn't increment state.pos")
                    break
        else:
            state.pos = state.posMax
        if not ok:
            state.pos += 1
        cache[pos] = state.pos


_PLAIN_DEST = re.compile(r"[^\x00-\x20\x7f\\()]+")


def parse_link_destination(string: str, pos: int, maximum: int) -> _Result:
    """markdown_it.helpers.parseLinkDestination, with plain runs matched by a regex."""
    if pos < len(string) and string[pos] == "<":
        return helpers.parseLinkDestination(string, pos, maximum)
    start, level, length = pos, 0, len(string)
    while pos < maximum:
        m = _PLAIN_DEST.match(string, pos, maximum)
        if m:
            pos = m.end()
            if pos >= maximum:
                break
        if pos >= length:  # markdown-it reads past the end as "no character": the end
            break
        c = string[pos]
        if c == "\\":
            if pos + 1 < maximum:
                if pos + 1 < length and string[pos + 1] == " ":
                    break
                pos += 2
            else:
                pos += 1
        elif c == "(":
            level += 1
            if level > 32:
                return _Result()
            pos += 1
        elif c == ")":
            if level == 0:
                break
            level -= 1
            pos += 1
        else:  # a space or control character ends the destination
            break
    result = _Result()
    if start == pos or level != 0:
        return result
    result.str = unescapeAll(string[start:pos])
    result.pos = pos
    result.ok = True
    return result


class _NoDebug:
    """Stands in for markdown-it's per-rule loggers, which only ever log at debug level."""

    def debug(self, *args: object, **kwargs: object) -> None:
        pass


def silence_debug_logs() -> None:
    """Each block rule logs 'entering <rule>' at debug level on every call (about 1.6
    million calls on a 6,500-note vault). Nothing in kb ever enables that level, so the
    call is dropped, unless the user has turned debug logging on for markdown_it."""
    if logging.getLogger("markdown_it").isEnabledFor(logging.DEBUG):
        return
    import importlib

    for name in _MD_LOGGERS:
        module = importlib.import_module(name)
        if isinstance(getattr(module, "LOGGER", None), logging.Logger):
            module.LOGGER = _NoDebug()  # type: ignore[attr-defined]


def normalize(state: StateCore) -> None:
    """markdown-it's "normalize" core rule (CRLF/CR -> LF, NUL -> U+FFFD), which runs two regex
    substitutions over every source, even when it has no CR or NUL (0.13 s on obsidian-hub)."""
    if "\r" in state.src or "\0" in state.src:
        plain_normalize(state)


def fastpath_plugin(md: MarkdownIt) -> None:
    """Last plugin: the dispatchers see the final rule lists."""
    md.core.ruler.at("normalize", normalize)
    md.block.ruler.getRules = BlockDispatch(md).get_rules  # type: ignore[method-assign]  # this instance only
    dispatch = InlineDispatch(md)
    md.inline.tokenize = dispatch.tokenize  # type: ignore[method-assign]  # this instance only
    md.inline.skipToken = dispatch.skip_token  # type: ignore[method-assign]
    md.helpers = SimpleNamespace(  # type: ignore[assignment]  # per instance: the module stays as it is
        parseLinkDestination=parse_link_destination,
        parseLinkLabel=helpers.parseLinkLabel,
        parseLinkTitle=helpers.parseLinkTitle,
    )
    silence_debug_logs()
