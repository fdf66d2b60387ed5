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

from kb.markdown.blockids import blockids_plugin
from kb.markdown.callouts import callouts_plugin
from kb.markdown.comments import comments_plugin
from kb.markdown.embeds import embedded_ids_plugin, embeds_plugin
from kb.markdown.env import RenderEnv
from kb.markdown.highlights import highlights_plugin
from kb.markdown.images import images_plugin
from kb.markdown.lines import lines_plugin
from kb.markdown.math import math_plugin
from kb.markdown.rawhtml import SafeRenderer
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
    """The one parser. Order matters where rules compete for the same characters:

    block: comments and math before fences/paragraphs may interrupt paragraphs;
    core after "block": callouts, then block ids (a `^id` may follow a callout);
    inline: comments first (nothing inside them is parsed), math before escapes
    (so `\\(` is math), wikilinks before links, tags before text;
    core after "inline": line numbers, then embed unwrapping, headings, and
    finally id removal inside embeds.
    """
    options = {"html": True, "typographer": False, "highlight": highlight_code, "linkify": True}
    md = MarkdownIt("commonmark", options, renderer_cls=SafeRenderer)
    md.enable(["table", "strikethrough", "linkify"])
    # Obsidian links only URLs with a scheme; fuzzy matching would turn "notes.md" into http://notes.md
    md.linkify.set({"fuzzy_link": False, "fuzzy_email": False})
    # the inline "linkify" rule already links scheme://… URLs; without fuzzy matching the core
    # pass over every text token finds nothing more and costs ~10% of parse time
    md.core.ruler.disable("linkify")
    md.use(comments_plugin)
    md.use(math_plugin)
    md.use(footnote_plugin)
    md.use(tasklists_plugin, enabled=False)
    md.use(highlights_plugin)
    md.use(callouts_plugin)
    md.use(blockids_plugin)
    md.use(wikilinks_plugin)
    md.use(images_plugin)
    md.use(tags_plugin)
    md.use(lines_plugin)
    md.use(embeds_plugin)
    md.use(anchors_plugin, min_level=1, max_level=6, slug_func=anchor)
    md.core.ruler.push("kb_headings", _collect_headings)
    md.use(embedded_ids_plugin)
    return md


def render(md: MarkdownIt, source: str, kb: RenderEnv) -> str:
    env: dict[str, Any] = {"kb": kb}
    return md.render(source, env)
