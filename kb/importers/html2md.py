"""Untrusted HTML -> clean markdown: count what is dangerous, sanitize (nh3), convert (markdownify).

Order matters: LaTeX is protected first (math.py), then nh3 removes scripts,
event handlers, javascript: URLs, styles and unknown iframes, then markdownify
converts what is left. Entities are decoded exactly once, by the HTML parser;
text that shows `&lt;script&gt;` stays visible text, never markup.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import partial
from html.parser import HTMLParser
from urllib.parse import urljoin, urlparse

import nh3
from markdownify import ATX, BACKSLASH, MarkdownConverter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from kb.importers.math import MathGuard, unrender_math

TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "details", "div", "dl", "dt",
    "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "iframe", "img", "ins",
    "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "section", "article", "span", "strike", "strong",
    "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul", "var",
    # harmless wrappers: unwrapped by the converter, not worth reporting as removed
    "small", "cite", "time", "header", "footer", "main", "nav", "center", "font", "big", "tt", "dfn",
    "address", "hgroup", "picture", "source", "label", "colgroup", "col", "wbr", "bdi", "bdo", "aside",
}
ATTRS = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "iframe": {"src", "title"},
    "pre": {"class", "data-lang", "data-language"},
    "code": {"class", "data-lang", "data-language"},
    "div": {"class"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto"}
# iframes worth keeping (as a link): the rest are removed and counted
EMBED_HOSTS = ("youtube.com", "youtube-nocookie.com", "youtu.be", "vimeo.com", "player.vimeo.com")
_URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "poster", "background", "data"}
_CTRL = re.compile(r"[\x00-\x20]+")
_SCHEME = re.compile(r"([a-z][a-z0-9+.-]*):")


def known_embed(src: str) -> bool:
    host = (urlparse(src).hostname or "").lower()
    return any(host == h or host.endswith("." + h) for h in EMBED_HOSTS)


class _Counter(HTMLParser):
    """Counts what the sanitizer is about to remove, so the report can say it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.removed: Counter = Counter()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.removed[f"{tag} elements"] += 1
        elif tag == "iframe":
            src = dict(attrs).get("src") or ""
            if not (urlparse(src).scheme in ("http", "https") and known_embed(src)):
                self.removed["iframes from unknown hosts"] += 1
        elif tag not in TAGS and tag not in ("html", "body", "head"):
            self.removed["other elements"] += 1
        for name, value in attrs:
            if name.startswith("on"):
                self.removed["event handlers"] += 1
            elif name == "style":
                self.removed["style attributes"] += 1
            elif name in _URL_ATTRS and value:
                m = _SCHEME.match(_CTRL.sub("", value).lower())  # browsers ignore blanks in "jav\tascript:"
                if m and m.group(1) not in URL_SCHEMES:
                    self.removed[f"{m.group(1)}: URLs"] += 1

    handle_startendtag = handle_starttag


def _filter_attr(base: str, tag: str, attr: str, value: str) -> str | None:
    # an iframe from an unknown host keeps no src: inert, and the converter drops it
    if tag == "iframe" and attr == "src" and not known_embed(value):
        return None
    # a relative link or image of a web page means the page's site (kb does it, not feedparser, whose
    # rewrite also turned a bare `alt` into alt="alt"); a URL with a scheme is left to url_schemes
    if base and attr in ("href", "src") and value and not _SCHEME.match(value.lower()):
        return urljoin(base, value)
    return value


def dangerous(fragment: str) -> bool:
    """True when sanitizing would remove something worth reporting."""
    counter = _Counter()
    counter.feed(fragment)
    counter.close()
    return any(k != "other elements" for k in counter.removed)


def sanitize(fragment: str, removed: Counter, base: str = "") -> str:
    counter = _Counter()
    counter.feed(fragment)
    counter.close()
    removed.update(counter.removed)
    return nh3.clean(
        fragment,
        tags=TAGS,
        attributes=ATTRS,
        url_schemes=URL_SCHEMES,
        strip_comments=True,
        link_rel=None,
        attribute_filter=partial(_filter_attr, base if base.startswith(("http://", "https://")) else ""),
        clean_content_tags={"script", "style", "noscript", "template", "object", "embed", "svg", "math"},
    )


_LANG_ATTR = re.compile(r"^(?:language|lang|highlight-source|highlight)-([\w+#.-]+)$")
_NOT_LANG = {"hljs", "highlight", "chroma", "code", "sourcecode", "prettyprint", "codehilite", "notranslate"}


def code_language(pre) -> str:
    """Language of a <pre>: class language-x / lang-x, data-lang, or a bare lexer name (hljs)."""
    for el in (pre, pre.find("code")):
        if el is None:
            continue
        for attr in ("data-lang", "data-language"):
            if el.get(attr):
                return str(el.get(attr)).strip().lower()
        classes = el.get("class") or []
        for cls in classes:
            m = _LANG_ATTR.match(cls)
            if m:
                return m.group(1).lower()
        for cls in classes:
            if cls.lower() not in _NOT_LANG and _is_lexer(cls):
                return cls.lower()
    return ""


def _is_lexer(name: str) -> bool:
    try:
        get_lexer_by_name(name.lower())
    except ClassNotFound:
        return False
    return True


_ESC_CHARS = re.compile(r"([\\`*_$|])")
# '[' only where it could start a link or a [[wikilink]]; an entity, not '\[' (which
# a LaTeX-aware renderer could read as display math)
_ESC_BRACKET = re.compile(r"\[(?=\[|[^\]\n]*\]\s*[(\[:])")
_ESC_ENTITY = re.compile(r"&(?=#?\w+;)")
_ESC_TAG = re.compile(r"<(?=[A-Za-z/!?])")
_ESC_LINE_START = re.compile(r"(^|\n)([ \t]*)([#>+=-])")
_ESC_ORDERED = re.compile(r"(^|\n)([ \t]*\d{1,9})([.)])(?=\s|$)")  # '1. x' -> '1\. x', not a list
_ESC_HASHTAG = re.compile(r"(^|[\s(\[])#(?=\w)")  # where kb.markdown.tags starts a tag


def escape_text(text: str) -> str:
    """Escape what markdown (or kb's #tags, [[links]] and $math$) would otherwise interpret."""
    text = _ESC_CHARS.sub(r"\\\1", text)
    text = _ESC_ENTITY.sub("&amp;", text)
    text = _ESC_BRACKET.sub("&#91;", text)  # after the '&' escape, or it would be undone
    text = _ESC_TAG.sub(r"\\<", text)
    text = _ESC_HASHTAG.sub(r"\1\\#", text)
    text = _ESC_ORDERED.sub(r"\1\2\\\3", text)
    return _ESC_LINE_START.sub(r"\1\2\\\3", text)


class Converter(MarkdownConverter):
    """markdownify with kb's escaping and embeds turned into links."""

    def escape(self, text: str, parent_tags: set[str]) -> str:
        if not text:
            return text
        return escape_text(text)

    def convert_img(self, el, text: str, parent_tags: set[str]) -> str:
        # a pixel size becomes Obsidian's ![alt|300](src) / ![alt|300x200](src), which kb renders
        md = super().convert_img(el, text, parent_tags)
        if not md.startswith("!["):  # an image inside a heading or such: its alt text only
            return md
        alt = str(el.get("alt") or "").replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
        w, h = str(el.get("width") or "").strip(), str(el.get("height") or "").strip()
        size = (w + (f"x{h}" if h.isdigit() else "")) if w.isdigit() else ""
        title = str(el.get("title") or "").replace('"', '\\"')
        title = ' "' + title + '"' if title else ""
        return f"![{alt}{'|' + size if size else ''}]({el.get('src') or ''}{title})"

    def convert_iframe(self, el, text: str, parent_tags: set[str]) -> str:
        src = str(el.get("src") or "")
        if not (src.startswith(("http://", "https://")) and known_embed(src)):
            return ""
        return f"\n\n[{escape_text(el.get('title') or 'Embedded video')}]({watch_url(src)})\n\n"


def watch_url(src: str) -> str:
    """https://www.youtube.com/embed/ID?x -> https://www.youtube.com/watch?v=ID (links, not embeds)."""
    u = urlparse(src)
    m = re.match(r"/embed/([\w-]+)", u.path)
    if m and "youtube" in (u.hostname or ""):
        return f"https://www.youtube.com/watch?v={m.group(1)}"
    if "vimeo" in (u.hostname or ""):
        vid = re.search(r"/video/(\d+)", u.path)
        if vid:
            return f"https://vimeo.com/{vid.group(1)}"
    return src


def html_to_markdown(fragment: str, removed: Counter, base: str = "") -> str:
    """`base`: the http(s) URL relative links and images are relative to (none: left as they are)."""
    guard = MathGuard()
    protected = guard.protect(unrender_math(fragment))
    clean = sanitize(protected, removed, base)
    md = Converter(
        heading_style=ATX,
        bullets="-",
        newline_style=BACKSLASH,
        code_language_callback=code_language,
        keep_inline_images_in=["a", "td", "th", "li", "span", "figure"],
        table_infer_header=True,
        escape_misc=False,
    ).convert(clean)
    md = guard.restore(md)
    md = re.sub(r"[ \t]+\n", "\n", md)
    md = re.sub(r"\n{3,}", "\n\n", md)
    return md.strip() + "\n"
