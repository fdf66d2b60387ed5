"""Block ids: `text ^my-id` at the end of a paragraph or list item (or of one of its lines).

The marker is removed from the text and becomes id="^my-id" on the block (the
<li> when the paragraph opens a list item), so `[[note#^my-id]]` lands there.
A paragraph holding only `^my-id` names the block just before it (a table,
list or quote), as in Obsidian. Ids are recorded in env["kb"].block_ids.
Runs between "block" and "inline", so the marker never reaches inline parsing.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

from kb.markdown.env import RenderEnv

# at the end of a line: usually the paragraph's last, but Obsidian also takes one that ends
# an earlier line of the block (a list item whose text continues below it)
_TRAILING = re.compile(r"(?:^|[ \t])\^([A-Za-z0-9-]+)[ \t]*$", re.M)
_ALONE = re.compile(r"^\^([A-Za-z0-9-]+)$")


def _previous_block(tokens: list[Token], i: int) -> Token | None:
    """The open token of the sibling block that ends right before tokens[i]."""
    if i == 0:
        return None
    prev = tokens[i - 1]
    if prev.nesting == 0:
        return prev if prev.block and prev.type != "inline" else None  # fence, hr, code block, math
    if prev.nesting != -1:
        return None
    depth = 0
    for j in range(i - 1, -1, -1):
        depth += tokens[j].nesting
        if depth == 0:
            return tokens[j]
    return None


def _record(state: StateCore, block_id: str) -> None:
    kb: RenderEnv | None = state.env.get("kb")
    if kb is not None and kb.collect and block_id not in kb.block_ids:
        kb.block_ids.append(block_id)


def _block_ids(state: StateCore) -> None:
    tokens = state.tokens
    i = 1
    while i < len(tokens):
        tok = tokens[i]
        # both patterns need a "^": most paragraphs are skipped without running them
        if tok.type != "inline" or tokens[i - 1].type != "paragraph_open" or "^" not in tok.content:
            i += 1
            continue
        alone = _ALONE.match(tok.content.strip())
        if alone:
            target = _previous_block(tokens, i - 1)
            if target is not None:
                if target.type == "html_block":
                    # raw HTML (an <iframe>) renders as written, without attributes: a div around it holds the id
                    target.content = f'<div id="^{alone.group(1)}">\n{target.content.rstrip()}\n</div>\n'
                else:
                    target.attrSet("id", "^" + alone.group(1))
                _record(state, alone.group(1))
                del tokens[i - 1 : i + 2]
                continue
        m = _TRAILING.search(tok.content)
        if m and m.start(1) > 1:
            tok.content = (tok.content[: m.start()].rstrip() + tok.content[m.end() :]).strip()
            holder = tokens[i - 2] if i >= 2 and tokens[i - 2].type == "list_item_open" else tokens[i - 1]
            holder.attrSet("id", "^" + m.group(1))
            _record(state, m.group(1))
        i += 1


def blockids_plugin(md: MarkdownIt) -> None:
    # after callouts when they are on, so `^id` after a callout names the callout
    after = "kb_callouts" if "kb_callouts" in md.core.ruler.get_all_rules() else "block"
    md.core.ruler.after(after, "kb_block_ids", _block_ids)
