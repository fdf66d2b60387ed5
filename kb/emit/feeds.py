"""RSS 2.0 and Atom feeds with full content, sitemap.xml and robots.txt."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import quote
from xml.sax.saxutils import escape

from kb.emit.common import write
from kb.emit.pages import by_date, tag_url
from kb.markdown.math import standard_enclosures
from kb.model import BuildContext, Note

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _abs(ctx: BuildContext, url: str) -> str:
    # percent-encoded: sitemaps and feed readers want URIs (a slug may keep its accents: /café/)
    return ctx.config.base_url + quote(url, safe="/%")


def absolutize(html: str, ctx: BuildContext, page: str = "") -> str:
    """Feed readers need absolute URLs: root-relative hrefs, srcs and <object data> (a PDF embed)
    get the site origin, and a link to a #fragment (footnotes, headings) the page's own URL `page`."""
    from urllib.parse import urlparse

    u = urlparse(ctx.config.base_url)
    origin = f"{u.scheme}://{u.netloc}"
    for attr in ("href", "src", "data"):  # ' data="/' only: a data-* attribute is no URL
        html = html.replace(f' {attr}="/', f' {attr}="{origin}/')
    return html.replace('href="#', f'href="{escape(page)}#') if page else html


def feed_html(n: Note, ctx: BuildContext) -> str:
    """A note's page HTML as a feed reader needs it: absolute URLs, and \\boxed or \\cancel as standard
    <menclose> (the pages' <mrow class> is drawn by style.css, which a reader does not have)."""
    return absolutize(standard_enclosures(n.html), ctx, _abs(ctx, n.url))


def feed_notes(ctx: BuildContext) -> list[Note]:
    return [n for n in by_date(ctx.notes.values()) if n.date][: ctx.config.feed_items]


def rss(ctx: BuildContext) -> str:
    cfg = ctx.config
    items = []
    notes = feed_notes(ctx)
    for n in notes:
        link = escape(_abs(ctx, n.url))
        cats = "".join(f"<category>{escape(t)}</category>" for t in n.tags)
        items.append(
            f"<item><title>{escape(n.title)}</title><link>{link}</link>"
            f'<guid isPermaLink="true">{link}</guid><pubDate>{format_datetime(n.date or EPOCH)}</pubDate>'
            f"{cats}<description>{escape(feed_html(n, ctx))}</description></item>"
        )
    # no dated note: no lastBuildDate (optional in RSS) rather than 1970 (the build time would break determinism)
    last = f"<lastBuildDate>{format_datetime(notes[0].date)}</lastBuildDate>" if notes and notes[0].date else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>'
        f"<title>{escape(cfg.title)}</title><link>{escape(cfg.base_url)}</link>"
        f"<description>{escape(cfg.description or cfg.title)}</description><language>{escape(cfg.language)}</language>"
        f'{last}<atom:link href="{escape(cfg.base_url)}rss.xml" rel="self" type="application/rss+xml"/>'
        + "".join(items)
        + "</channel></rss>\n"
    )


def atom(ctx: BuildContext) -> str:
    cfg = ctx.config
    notes = feed_notes(ctx)
    updated = max(((n.updated or n.date) for n in notes), default=EPOCH)
    entries = []
    for n in notes:
        link = escape(_abs(ctx, n.url), {'"': "&quot;"})
        cats = "".join(f'<category term="{escape(t, {chr(34): "&quot;"})}"/>' for t in n.tags)
        entries.append(
            f"<entry><title>{escape(n.title)}</title><link href=\"{link}\"/><id>{link}</id>"
            f"<published>{(n.date or EPOCH).isoformat()}</published><updated>{(n.updated or n.date or EPOCH).isoformat()}</updated>"
            f'{cats}<content type="html">{escape(feed_html(n, ctx))}</content></entry>'
        )
    author = f"<author><name>{escape(cfg.author or cfg.title)}</name></author>"
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(cfg.title)}</title><id>{escape(cfg.base_url)}</id>"
        f'<link href="{escape(cfg.base_url)}"/><link rel="self" href="{escape(cfg.base_url)}atom.xml"/>'
        f"<updated>{updated.isoformat()}</updated>{author}" + "".join(entries) + "</feed>\n"
    )


def sitemap(ctx: BuildContext) -> str:
    # every page a reader can land on: home, notes, tag index and tag pages, archive (not the 404)
    lists = ["tags/", "archive/"] + [tag_url(t) for t in ctx.tags]
    urls = [""] + sorted(set(lists) | {n.url for n in ctx.notes.values()})
    # a note's own date (updated, else date) as <lastmod>: from the vault, so the sitemap stays reproducible
    changed = {n.url: n.updated or n.date for n in ctx.notes.values() if n.updated or n.date}
    body = []
    for u in urls:
        lastmod = f"<lastmod>{changed[u].date().isoformat()}</lastmod>" if u in changed else ""
        body.append(f"<url><loc>{escape(_abs(ctx, u))}</loc>{lastmod}</url>")
    return '<?xml version="1.0" encoding="utf-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">' + "".join(body) + "</urlset>\n"


def emit_feeds(ctx: BuildContext) -> list[str]:
    return [
        write(ctx.out, "rss.xml", rss(ctx)),
        write(ctx.out, "atom.xml", atom(ctx)),
        write(ctx.out, "sitemap.xml", sitemap(ctx)),
        write(ctx.out, "robots.txt", f"User-agent: *\nAllow: /\nSitemap: {ctx.config.base_url}sitemap.xml\n"),
    ]
