"""%%Obsidian comments%%: inline and multi-line block; never in the output.

The rules consume the comment without pushing tokens, so nothing inside it
(links, tags, math) is parsed, recorded or rendered. A block comment starts
with `%%` at the start of a line; left unclosed it hides the rest of its
container, as in Obsidian.
"""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.rules_inline import StateInline

MARK = "%%"


def _line_text(state: StateBlock, line: int) -> str:
    return state.src[state.bMarks[line] + state.tShift[line] : state.eMarks[line]]


def _block_rule(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
    if not state.src.startswith(MARK, state.bMarks[start_line] + state.tShift[start_line]):
        return False
    if state.sCount[start_line] - state.blkIndent >= 4:
        return False
    first = _line_text(state, start_line)
    close_line, trailing = end_line, ""
    at = first.find(MARK, 2)
    if at != -1:
        if first[at + 2 :].strip():
            return False  # `%%x%% text`: an inline comment inside a paragraph
        close_line = start_line
    else:
        for line in range(start_line + 1, end_line):
            text = _line_text(state, line)
            at = text.find(MARK)
            if at != -1:
                close_line, trailing = line, text[at + 2 :].strip()
                break
    if silent:
        return True
    state.line = min(close_line + 1, end_line)
    if trailing:  # text after the closing %% on the same line is kept as a paragraph
        state.push("paragraph_open", "p", 1).map = [close_line, close_line + 1]
        inline = state.push("inline", "", 0)
        inline.content, inline.map, inline.children = trailing, [close_line, close_line + 1], []
        state.push("paragraph_close", "p", -1)
    return True


def _inline_rule(state: StateInline, silent: bool) -> bool:
    pos = state.pos
    if not state.src.startswith(MARK, pos):
        return False
    end = state.src.find(MARK, pos + 2)
    if end == -1:
        return False
    state.pos = end + 2
    return True


def comments_plugin(md: MarkdownIt) -> None:
    md.block.ruler.after("fence", "kb_comment", _block_rule, {"alt": ["paragraph", "reference", "blockquote", "list"]})
    # `%` stops the "text" rule, so running after it sees every candidate at fewer calls
    md.inline.ruler.after("text", "kb_comment", _inline_rule)
