"""Raw HTML inside notes is cleaned with nh3 (Rust's ammonia): scripts, event
handlers, javascript: URLs and styles never reach the site.

Only notes whose markdown actually contains raw HTML pay for this; everything
markdown-it itself produces is already escaped.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import nh3

MATHML = {
    "math", "mi", "mn", "mo", "ms", "mspace", "mtext", "mrow", "mfrac", "msqrt", "mroot", "mstyle",
    "merror", "mpadded", "mphantom", "msub", "msup", "msubsup", "munder", "mover", "munderover",
    "mtable", "mtr", "mtd", "semantics", "annotation", "menclose", "mmultiscripts", "mprescripts", "none",
}
EXTRA_TAGS = {
    "details", "summary", "input", "figure", "figcaption", "mark", "audio", "video", "source",
    "object", "iframe", "section", "aside", "kbd", "sup", "sub", "abbr", "del", "ins", "s", "u", "span", "div",
}
TAGS = set(nh3.ALLOWED_TAGS) | MATHML | EXTRA_TAGS
GENERIC_ATTRS = {
    "class", "id", "title", "lang", "dir", "width", "height", "align", "colspan", "rowspan",
    "alt", "src", "href", "type", "checked", "disabled", "open", "controls", "loading", "data",
    "display", "xmlns", "mathvariant", "stretchy", "fence", "separator", "accent", "accentunder",
    "columnalign", "rowspacing", "columnspacing", "displaystyle", "scriptlevel", "encoding",
    "lspace", "rspace", "minsize", "maxsize", "movablelimits", "linethickness", "start", "reversed",
    "data-callout", "data-callout-fold", "data-src", "data-line", "aria-hidden", "aria-label", "role",
    # what kb itself writes into a fragment that is cleaned as a whole: task statuses, and the
    # attributes latex2mathml emits (a paragraph with both raw HTML and math is cleaned in one piece)
    "data-task", "data-callout-metadata", "notation", "mathcolor", "mathbackground", "mathsize", "rowalign",
    "columnlines", "rowlines", "frame", "framespacing", "equalrows", "equalcolumns", "largeop", "symmetric",
    "form", "depth", "voffset", "linebreak", "style",
    # a YouTube embed: kb's own (kb.markdown.images.web_embed) asks for fullscreen in `allow`; a pasted
    # one often by `allowfullscreen`. _attribute keeps an iframe's src to that one host
    "allow", "allowfullscreen", "referrerpolicy",
}
VIDEO_EMBED = "https://www.youtube-nocookie.com/embed/"
_SCHEME = re.compile(r"^\s*[a-zA-Z][a-zA-Z0-9+.-]*:|^\s*//")


def _attribute(tag: str, attr: str, value: str) -> str | None:
    """An iframe may show only a YouTube video (no other site inside a note's page), and an object only
    a file of the site itself (a PDF embed), not another site's page."""
    if tag == "iframe" and attr == "src" and not value.startswith(VIDEO_EMBED):
        return None
    if tag == "object" and attr == "data" and _SCHEME.match(value):
        return None
    return value


_OPTIONS = dict(
    tags=TAGS,
    attributes={"*": GENERIC_ATTRS},
    # obsidian://: "Open in Obsidian" links (obsidian-hub has 2,919); like mailto:, it only hands the link
    # to an app the visitor has, and the browser asks first
    url_schemes={"http", "https", "mailto", "tel", "obsidian"},
    link_rel=None,  # no target= is allowed, so rel=noopener is moot; on an <a> left without href it is invalid
    strip_comments=True,
    attribute_filter=_attribute,
    # markdown-it writes column alignment as style="text-align:…"; nothing else of CSS gets through
    filter_style_properties={"text-align"},
)
# nh3 >= 0.3 builds the sanitizer once: 6 us a fragment instead of 53 us converting these sets on
# every call (obsidian-hub cleans ~9,500 fragments)
_CLEANER = nh3.Cleaner(**_OPTIONS) if hasattr(nh3, "Cleaner") else None


_EMPTY_IFRAME = re.compile(r"<iframe(?![^>]*\ssrc=)[^>]*>.*?</iframe>", re.S)


_IFRAME = re.compile(r"""<iframe\b((?:[^>"']|"[^"]*"|'[^']*')*)>.*?</iframe\s*>""", re.S | re.I)
# one attribute of a tag: name="…", name='…' or name=… (unquoted, which HTML allows)
_ATTR = re.compile(r"""\s([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'<>`=]+))""")
_YOUTUBE = re.compile(r"^(?:https?:)?//(?:www\.)?youtube(?:-nocookie)?\.com/embed/", re.I)


def attributes(tag: str) -> dict[str, str]:
    """Raw HTML `<tag a="1" b=2>` (or just its attributes) -> {"a": "1", "b": "2"}, names lower-cased,
    values unescaped; the first of a repeated name wins, as in a browser."""
    out: dict[str, str] = {}
    for a in _ATTR.finditer(tag):
        out.setdefault(a.group(1).lower(), html.unescape(next((g for g in a.groups()[1:] if g is not None), "")))
    return out


def _iframe(m: re.Match[str]) -> str:
    """A YouTube player from youtube.com plays from youtube-nocookie.com, as kb's own video embeds do;
    another site's page (Airtable, a calendar) becomes a link to it rather than vanishing."""
    attrs = attributes(m.group(1))
    src = _YOUTUBE.sub(VIDEO_EMBED, attrs.get("src", "").strip())
    if src.startswith(VIDEO_EMBED):
        return _ATTR.sub(lambda a: f' src="{html.escape(src, quote=True)}"' if a.group(1).lower() == "src" else a.group(0), m.group(0))
    try:
        host = urlsplit(src).hostname if src.lower().startswith(("http://", "https://")) else None
    except ValueError:  # "http://[bad": no page to link to
        host = None
    if not host:
        return ""
    label = attrs.get("title") or f"Embedded page from {host}"
    return f'<a class="embed-external" href="{html.escape(src, quote=True)}">{html.escape(label)}</a>'


def clean_html(fragment: str) -> str:
    if "<iframe" in fragment.lower():
        fragment = _IFRAME.sub(_iframe, fragment)
    out = _CLEANER.clean(fragment) if _CLEANER is not None else nh3.clean(fragment, **_OPTIONS)
    # an iframe whose src was not allowed is an empty box: drop it
    return _EMPTY_IFRAME.sub("", out) if "<iframe" in out else out
