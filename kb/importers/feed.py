"""RSS 2.0 / Atom feeds (file or http(s) URL) -> ImportedItems, via feedparser."""

from __future__ import annotations

import hashlib
import html
import re
import urllib.request
from collections import Counter
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import feedparser

from kb.importers.body import summary_of
from kb.importers.html2md import html_to_markdown
from kb.importers.item import ImportedItem, normalize_tags
from kb.importers.text import text_to_markdown

_TAG = re.compile(r"<[^>]+>")
USER_AGENT = "kb-import/0.1 (+https://github.com/)"


class SourceError(Exception):
    """The whole source is unusable (missing, not a feed): the message names it."""


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def fetch(source: str) -> tuple[bytes, dict[str, str]]:
    """Bytes of a file or http(s) URL, with the HTTP headers feedparser uses (charset, base URL)."""
    if is_url(source):
        req = urllib.request.Request(source, headers={"User-Agent": USER_AGENT})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - http(s) only, checked above
                headers = {k.lower(): v for k, v in resp.headers.items()}
                headers.setdefault("content-location", resp.geturl())
                return resp.read(), headers
        except OSError as exc:
            raise SourceError(f"{source}: cannot fetch: {exc}") from exc
    try:
        return Path(source).read_bytes(), {}
    except OSError as exc:
        raise SourceError(f"{source}: cannot read: {exc.strerror}") from exc


def read_source(source: str) -> bytes:
    return fetch(source)[0]


def _problem(source: str, exc: Any) -> str:
    line = getattr(exc, "getLineNumber", lambda: 0)() if exc is not None else 0
    where = f"{source}:{line}" if line else source
    why = getattr(exc, "getMessage", lambda: str(exc))() if exc is not None else "no RSS or Atom entries found"
    return f"{where}: {why}"


def parse_feed(source: str, data: bytes, headers: dict[str, str], warnings: list[str]) -> Any:
    # sanitize_html=False: kb sanitizes itself (nh3) and counts what it removes
    # resolve_relative_uris=False: its rewrite also turns a bare `alt` into alt="alt"; html2md resolves them
    parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False, response_headers=headers or None)
    exc = parsed.get("bozo_exception")
    if not parsed.entries and (parsed.bozo or not parsed.version):
        where, why = _problem(source, exc).split(": ", 1)
        raise SourceError(f"{where}: not a valid RSS/Atom feed: {why}")
    if parsed.bozo and exc is not None:
        warnings.append(f"{_problem(source, exc)} (feed is not well-formed; imported the entries that could be read)")
    return parsed


def iso_date(entry: Any) -> str:
    """The entry's date as ISO 8601 with the timezone the feed gave (RFC 822 or ISO input)."""
    for key in ("published", "updated", "created"):
        raw = entry.get(key)
        if not raw:
            continue
        try:
            return parsedate_to_datetime(raw).isoformat()
        except (TypeError, ValueError):
            pass
        try:
            return datetime.fromisoformat(raw.replace("Z", "+00:00")).isoformat()
        except ValueError:
            pass
        parsed = entry.get(f"{key}_parsed")
        if parsed:
            return datetime(*parsed[:6], tzinfo=UTC).isoformat()
    return ""


def plain(value: str, detail: Any) -> str:
    """A title/summary field as plain text (feeds may put HTML in it)."""
    if detail is not None and "html" in str(detail.get("type", "")):
        value = _TAG.sub("", value)
        value = html.unescape(value)
    return " ".join(value.split())


def body_html(entry: Any) -> tuple[str, str, str]:
    """The fullest content (content:encoded / atom content over description/summary): its text, its
    type and the base URL its relative links are relative to (xml:base, else the feed's URL)."""
    candidates: list[tuple[str, str, str]] = []
    for c in entry.get("content", []) or []:
        candidates.append((c.get("value", ""), c.get("type", "text/html"), c.get("base", "") or ""))
    if entry.get("summary"):
        detail = entry.get("summary_detail", {})
        candidates.append((entry["summary"], detail.get("type", "text/html"), detail.get("base", "") or ""))
    if not candidates:
        return "", "text/html", ""
    return max(candidates, key=lambda c: len(c[0]))


def global_guid(raw: str, feed_id: str) -> str:
    """Entry ids are only unique within their feed: '42' from two blogs must not meet in one vault."""
    if is_url(raw) or raw.startswith(("urn:", "tag:")) or not feed_id:
        return raw
    return f"{feed_id}#{raw}"


def entry_item(entry: Any, index: int, removed: Counter, feed_id: str = "") -> ImportedItem:
    title = plain(entry.get("title", ""), entry.get("title_detail")) or f"Untitled entry {index}"
    raw, ctype, base = body_html(entry)
    if "html" in ctype:  # relative links: to xml:base or the feed's URL, else to the post's own page
        body = html_to_markdown(raw, removed, base if is_url(base) else entry.get("link", ""))
    else:  # text/plain content: every character literal
        body = text_to_markdown(raw)
    cats = [str(t.get("term") or t.get("label") or "") for t in entry.get("tags", []) or []]
    cats = [c for c in cats if c.strip()]
    link = entry.get("link", "")
    guid = entry.get("id") or link or "sha1:" + hashlib.sha1(f"{title}|{iso_date(entry)}".encode()).hexdigest()
    guid = global_guid(str(guid), feed_id)
    summary = entry.get("summary", "")
    if summary and summary != raw:  # a separate, shorter description exists
        description = plain(summary, entry.get("summary_detail"))
    else:  # the content is all there is (Hugo's RSS puts it in <description>): derive one
        description = summary_of(body)
    extra: dict[str, Any] = {}
    images = [e.get("href") for e in entry.get("enclosures", []) if str(e.get("type", "")).startswith("image/")]
    if images and is_url(images[0]):
        extra["image"] = images[0]  # the post's cover image (Hashnode, WordPress), kept as a remote link
    return ImportedItem(
        title=title,
        body_markdown=body,
        guid=str(guid),
        source_url=link if is_url(link) else "",
        date=iso_date(entry),
        author=entry.get("author", ""),
        description=description,
        tags=normalize_tags(cats),
        original_categories=cats,
        extra=extra,
        label=f"entry {index} ({title!r})",
    )


_CDATA = re.compile(rb"<!\[CDATA\[.*?\]\]>", re.S)
_ENTRY_END = re.compile(rb"</(?:[\w-]+:)?(?:item|entry)\s*>", re.I)


def closed_entries(data: bytes) -> int:
    """How many <item>/<entry> elements the feed closes (outside complete CDATA sections)."""
    return len(_ENTRY_END.findall(_CDATA.sub(b"", data)))


def feed_items(source: str, removed: Counter, errors: list[str], warnings: list[str]) -> list[ImportedItem]:
    data, headers = fetch(source)
    parsed = parse_feed(source, data, headers, warnings)
    feed_id = parsed.feed.get("link") or parsed.feed.get("id") or ""
    entries = list(parsed.entries)
    closed = closed_entries(data) if parsed.bozo else len(entries)
    # a feed cut off inside its last entries (a truncated download): feedparser still returns what it
    # read of them, a post without its end, which must not become (or overwrite) a note
    for i in range(closed + 1, len(entries) + 1):
        title = entries[i - 1].get("title", "")
        warnings.append(f"{source}: entry {i} ({title!r}) is cut off (the feed ends inside it); not imported")
    entries = entries[:closed]
    items: list[ImportedItem] = []
    for i, entry in enumerate(entries, 1):
        try:
            items.append(entry_item(entry, i, removed, feed_id))
        except Exception as exc:  # one broken entry never stops the others
            title = entry.get("title", "") if hasattr(entry, "get") else ""
            errors.append(f"{source}: entry {i} ({title!r}): {type(exc).__name__}: {exc}")
    return items


def looks_like_feed(head: bytes) -> bool:
    text = head[:4096].decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n").lower()
    return text.startswith("<?xml") or "<rss" in text or "<feed" in text or "<rdf:rdf" in text
