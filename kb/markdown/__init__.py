"""make_md(): one MarkdownIt with every syntax kb supports, placed in an explicit order."""

from __future__ import annotations

import functools
import html
import re
from typing import Any

from markdown_it import MarkdownIt
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.footnote.index import render_footnote_anchor
from mdit_py_plugins.tasklists import tasklists_plugin
from pygments import highlight as pyg_highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from kb.markdown.blockids import blockids_plugin
from kb.markdown.callouts import callouts_plugin
from kb.markdown.comments import comments_plugin
from kb.markdown.embeds import embedded_ids_plugin, embeds_plugin
from kb.markdown.env import RenderEnv
from kb.markdown.fastpath import fastpath_plugin
from kb.markdown.headings import headings_plugin
from kb.markdown.highlights import highlights_plugin
from kb.markdown.images import images_plugin
from kb.markdown.lines import lines_plugin
from kb.markdown.math import math_plugin
from kb.markdown.rawhtml import SafeRenderer
from kb.markdown.tables import tables_plugin
from kb.markdown.tags import tags_plugin
from kb.markdown.tasks import tasks_plugin
from kb.markdown.urls import fast_normalize_link
from kb.markdown.wikilinks import wikilinks_plugin

_FORMATTER = HtmlFormatter(nowrap=True)


@functools.cache
def _lexer(name: str) -> Lexer | None:
    """One lexer per language: looking it up by name costs more than highlighting a short block."""
    try:
        return get_lexer_by_name(name)
    except ClassNotFound:
        return None


def highlight_code(code: str, lang: str, attrs: str) -> str:
    """Fenced code -> highlighted HTML at build time (Pygments, CSS classes)."""
    name = (lang or "").strip().split()[0] if lang else ""
    lexer = _lexer(name) if name else None
    body = pyg_highlight(code, lexer, _FORMATTER) if lexer else html.escape(code)
    cls = f' class="language-{html.escape(name, quote=True)}"' if name else ""
    return f'<pre class="highlight"><code{cls}>{body}</code></pre>\n'


# code blocks that Obsidian plugins run inside the app: a static page can only show their source, so it
# says what they are instead of passing a query off as code to read
PLUGIN_BLOCKS = {
    "dataview": "Dataview query", "dataviewjs": "DataviewJS script", "tasks": "Tasks query",
    "query": "Obsidian search query", "mermaid": "Mermaid diagram source",
}


def _plugin_fence(default: Any) -> Any:
    def render(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
        out = default(tokens, idx, options, env)
        name = tokens[idx].info.strip().split()[0].lower() if tokens[idx].info.strip() else ""
        what = PLUGIN_BLOCKS.get(name)
        if what is None:
            return out
        # a diagram is marked for templates/static/diagrams.js (kb.emit.diagrams), which draws it
        mark = ' data-diagram="mermaid"' if name == "mermaid" else ""
        return (f'<figure class="plugin-block"{mark}><figcaption>{what}: Obsidian shows its result, '
                f"this page its source</figcaption>{out}</figure>\n")

    return render


def make_md(line_breaks: bool = False, fast: bool = True) -> MarkdownIt:
    """The one parser. Order matters where rules compete for the same characters:

    block: comments and math before fences/paragraphs may interrupt paragraphs;
    core after "block": callouts, then block ids (a `^id` may follow a callout);
    inline: comments first (nothing inside them is parsed), math before escapes
    (so `\\(` is math), wikilinks before links, tags before text;
    core after "inline": line numbers, then embed unwrapping,
    heading ids and the heading list, and finally id removal inside embeds.
    """
    options = {"html": True, "typographer": False, "highlight": highlight_code, "linkify": True, "breaks": line_breaks}
    md = MarkdownIt("commonmark", options, renderer_cls=SafeRenderer)
    md.enable(["table", "strikethrough", "linkify"])
    # Obsidian links only URLs with a scheme; fuzzy matching would turn "notes.md" into http://notes.md
    md.linkify.set({"fuzzy_link": False, "fuzzy_email": False})
    # the inline "linkify" rule already links scheme://… URLs; without fuzzy matching the core
    # pass over every text token finds nothing more and costs ~10% of parse time
    md.core.ruler.disable("linkify")
    md.normalizeLink = fast_normalize_link  # type: ignore[method-assign]  # same result, ~10% less parse time
    md.add_render_rule("fence", _plugin_fence(md.renderer.rules["fence"]))
    md.use(comments_plugin)
    md.use(math_plugin)
    md.use(footnote_plugin)
    md.add_render_rule("footnote_anchor", _footnote_backref)
    md.use(tasklists_plugin, enabled=False)
    md.use(tasks_plugin)  # custom statuses [/] [-] [>] ...; runs before tasklists
    md.use(highlights_plugin)
    md.use(callouts_plugin)
    md.use(blockids_plugin)
    md.use(wikilinks_plugin)
    md.use(images_plugin)
    md.use(tags_plugin)
    md.use(lines_plugin)
    md.use(embeds_plugin)
    md.use(headings_plugin)
    md.use(embedded_ids_plugin)
    md.use(tables_plugin)
    if fast:  # fast=False: markdown-it's own code paths, for tests that compare the two
        md.use(fastpath_plugin)  # last: its dispatchers read the final rule lists
    return md


# the number ends the anchor: "#fnref2", an embedded note's "#fnref-e1-2", a second use "#fnref2:1"
_BACKREF = re.compile(r'href="#fnref[^":]*?(\d+)(?::(\d+))?" class="footnote-backref">')


def _footnote_backref(self: Any, tokens: Any, idx: int, options: Any, env: Any) -> str:
    """mdit's back link is a bare "↩": give it a name a screen reader can say, one per reference
    (a footnote cited twice has two: "Back to reference 1", "Back to reference 1, second use")."""
    out = render_footnote_anchor(self, tokens, idx, options, env)

    def name(m: re.Match[str]) -> str:
        use = f", use {int(m.group(2)) + 1}" if m.group(2) else ""
        return m.group(0).replace(">", f' aria-label="Back to reference {m.group(1)}{use}">')

    return _BACKREF.sub(name, out, count=1)


def render(md: MarkdownIt, source: str, kb: RenderEnv) -> str:
    env: dict[str, Any] = {"kb": kb}
    return md.render(source, env)
