"""Obsidian's task statuses beyond `[ ]` and `[x]`: `- [/] half done`, `- [-] cancelled`,
`- [>] deferred`, `- [?] question`, `- [!] important` ... Obsidian draws any character other
than a space as a ticked box and puts it in `data-task` for themes to style; kb does the same.
mdit-py-plugins' tasklists handles `[ ]`/`[x]`/`[X]` (it runs after this rule); every task item
gets `data-task` on its `<li>` here ("" when open).
"""

from __future__ import annotations

import re
from html import escape

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

_MARK = re.compile(r"\[([^\]\n])\] ")
_CHECKBOX = '<input class="task-list-item-checkbox" checked="checked" disabled="disabled" type="checkbox">'


# what a screen reader says for a box (its only name: the box itself is not a label of the task's text);
# Obsidian's own two and the statuses themes commonly draw, else the character itself
STATUS_NAMES = {"": "to do", "x": "done", "X": "done", "/": "in progress", "-": "cancelled", ">": "forwarded",
                "<": "scheduled", "?": "question", "!": "important", "*": "star", '"': "quote"}


def tasks_plugin(md: MarkdownIt) -> None:
    md.core.ruler.before("github-tasklists", "kb_task_status", _task_status)
    md.core.ruler.after("github-tasklists", "kb_task_labels", _task_labels)


def _task_labels(state: StateCore) -> None:
    """Every task box gets an aria-label naming its status: a bare disabled checkbox has no name,
    and a ticked box for `[-]` would read as "checked" where the note says cancelled."""
    tokens = state.tokens
    for i in range(2, len(tokens)):
        item, tok = tokens[i - 2], tokens[i]
        status = item.attrGet("data-task") if item.type == "list_item_open" else None
        if status is None or tok.type != "inline" or not tok.children or tok.children[0].type != "html_inline":
            continue
        box = tok.children[0]
        if box.content.startswith("<input") and "aria-label" not in box.content:
            name = STATUS_NAMES.get(str(status), f"status {status}")
            box.content = box.content.replace("<input ", f'<input aria-label="{escape(name)}" ', 1)


def _task_status(state: StateCore) -> None:
    tokens = state.tokens
    for i in range(2, len(tokens)):
        tok = tokens[i]
        if not (tok.type == "inline" and tokens[i - 1].type == "paragraph_open"
                and tokens[i - 2].type == "list_item_open" and tok.children):
            continue
        m = _MARK.match(tok.content)
        first = tok.children[0]
        if not m or first.type != "text" or not first.content.startswith(m.group(0)):
            continue
        status = m.group(1)
        tokens[i - 2].attrSet("data-task", "" if status == " " else status)
        if status in " xX":
            continue  # left to the tasklists plugin, which runs next
        first.content = first.content[3:]
        tok.content = tok.content[3:]
        box = Token("html_inline", "", 0)
        box.content = _CHECKBOX
        tok.children.insert(0, box)
        tokens[i - 2].attrSet("class", "task-list-item")
        parent = _parent_list(tokens, i - 2)
        if parent >= 0:
            tokens[parent].attrSet("class", "contains-task-list")


def _parent_list(tokens: list[Token], index: int) -> int:
    level = tokens[index].level - 1
    for j in range(index - 1, -1, -1):
        if tokens[j].level == level:
            return j
    return -1
