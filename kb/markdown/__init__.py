"""make_md(): one MarkdownIt with every syntax kb supports, placed in an explicit order."""

from __future__ import annotations

import html
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.tasklists import tasklists_plugin
from pygments import highlight as pyg_highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from kb.markdown.env import RenderEnv
from kb.markdown.lines import lines_plugin
from kb.markdown.tags import tags_plugin
from kb.markdown.wikilinks import wikilinks_plugin
from kb.model import Heading
from kb.paths import anchor

_FORMATTER = HtmlFormatter(nowrap=True)


def highlight_code(code: str, lang: str, attrs: str) -> str:
    """Fenced code -> highlighted HTML at build time (Pygments, CSS classes)."""
    name = (lang or "").strip().split()[0] if lang else ""
    try:
        lexer = get_lexer_by_name(name) if name else None
    except ClassNotFound:
        lexer = None
    body = pyg_highlight(code, lexer, _FORMATTER) if lexer else html.escape(code)
    cls = f' class="language-{html.escape(name, quote=True)}"' if name else ""
    return f'<pre class="highlight"><code{cls}>{body}</code></pre>\n'


def _collect_headings(state: StateCore) -> None:
    kb: RenderEnv | None = state.env.get("kb")
    if kb is None or not kb.collect:
        return
    toks = state.tokens
    for i, tok in enumerate(toks):
        if tok.type == "heading_open":
            text = "".join(c.content for c in (toks[i + 1].children or []) if c.type in ("text", "code_inline"))
            line = kb.line(tok.map[0]) if tok.map else 0
            kb.headings.append(Heading(int(tok.tag[1]), text.strip(), str(tok.attrGet("id") or ""), line))


def make_md() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True, "typographer": False, "highlight": highlight_code})
    md.enable(["table", "strikethrough"])
    md.use(footnote_plugin)
    md.use(tasklists_plugin, enabled=False)
    md.use(wikilinks_plugin)
    md.use(tags_plugin)
    md.use(lines_plugin)
    md.use(anchors_plugin, min_level=1, max_level=6, slug_func=anchor)
    md.core.ruler.push("kb_headings", _collect_headings)
    return md


def render(md: MarkdownIt, source: str, kb: RenderEnv) -> str:
    env: dict[str, Any] = {"kb": kb}
    return md.render(source, env)
