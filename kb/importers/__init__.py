"""`kb import SOURCE`: feeds, Jekyll/Hugo posts and text files -> notes in the vault.

Each source kind produces ImportedItems (feed.py, posts.py, text.py); writer.py
writes them. After that, `kb build` treats them like any hand-written note.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kb.importers.feed import SourceError, feed_items, is_url, looks_like_feed, read_source
from kb.importers.item import KEPT, ImportedItem, Report
from kb.importers.mdhtml import sanitize_markdown_html
from kb.importers.posts import POST_EXT, FrontmatterError, post_files, post_item, split_post
from kb.importers.text import looks_like_markdown, text_item
from kb.importers.writer import Writer

__all__ = ["ImportedItem", "Report", "detect", "import_source", "run_import"]

FEED_FORMATS = {"rss", "atom", "feed"}


def detect(source: str) -> str:
    """Kind of a source: 'feed', 'jekyll', 'hugo', 'markdown' or 'text'."""
    if is_url(source):
        return "feed"
    path = Path(source)
    if not path.exists():
        raise SourceError(f"{source}: no such file or folder")
    if path.is_dir():
        if (path / "_posts").is_dir() or path.name == "_posts":
            return "jekyll"
        return "hugo"  # content/ folder, or any folder of posts with frontmatter
    try:
        with path.open("rb") as fh:
            head = fh.read(8192)
    except OSError as exc:
        raise SourceError(f"{source}: cannot read: {exc.strerror}") from exc
    if looks_like_feed(head):
        return "feed"
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    if text.startswith("+++\n"):
        return "hugo"
    if text.startswith("---\n"):
        try:
            meta, _body, _fmt = split_post(path.read_text(encoding="utf-8-sig"))
        except Exception:  # noqa: BLE001 - not valid frontmatter: not a post
            meta = {}
        if meta:
            return "jekyll" if "layout" in meta or path.parent.name == "_posts" else "hugo"
    if path.suffix.lower() in POST_EXT or looks_like_markdown(text):
        return "markdown"
    return "text"


def _post_items(source: str, path: Path, kind: str, report: Report) -> list[ImportedItem]:
    root = next((path / d for d in ("_posts", "content") if (path / d).is_dir()), path)
    files = post_files(root)
    if not files:
        raise SourceError(f"{source}: no posts (*.md) found")
    base = root if root.is_dir() else root.parent
    items: list[ImportedItem] = []
    for f in files:
        try:
            item, warns = post_item(f, base, kind)
        except FrontmatterError as exc:
            report.errors.append(f"{f}:{exc.line}: {exc}")
            continue
        except Exception as exc:  # one broken post never stops the others
            report.errors.append(f"{f}: {type(exc).__name__}: {exc}")
            continue
        report.warnings.extend(warns)
        item.body_markdown = sanitize_markdown_html(item.body_markdown, report.removed)
        if root.is_file() and not is_url(item.source_url):
            item.source_url = source
        items.append(item)
    return items


def collect(source: str, kind: str, title: str | None, report: Report) -> list[ImportedItem]:
    """The items of a source; per-entry problems go to report.errors, a bad source raises SourceError."""
    if kind == "feed":
        return feed_items(source, report.removed, report.errors, report.warnings)
    path = Path(source)
    if not path.exists():
        raise SourceError(f"{source}: no such file or folder")
    if kind in ("jekyll", "hugo"):
        return _post_items(source, path, kind, report)
    raw = read_source(source).decode("utf-8", errors="replace")
    item, warns = text_item(path, raw, kind, title)
    report.warnings.extend(warns)
    if kind == "markdown":  # plain text was escaped whole; markdown may carry raw HTML
        item.body_markdown = sanitize_markdown_html(item.body_markdown, report.removed)
    item.source_url = source
    return [item]


def import_source(source: str, into: Path, *, fmt: str | None = None, title: str | None = None,
                  dry_run: bool = False, force: bool = False) -> Report:
    """Import one source into `into`; the Report says what happened. Raises SourceError."""
    report = Report()
    kind = "feed" if fmt in FEED_FORMATS else fmt or detect(source)
    items = collect(source, kind, title, report)
    if title and len(items) == 1:
        items[0].title = title
    writer = Writer(into, report, dry_run=dry_run, force=force)
    for item in items:
        try:
            writer.write(item)
        except Exception as exc:  # a note that cannot be written must not stop the rest
            report.errors.append(f"{source}: {item.label}: cannot write note: {exc}")
    return report


def default_into() -> Path:
    from kb.config import find_vault

    return find_vault(None, Path.cwd())[0]


def print_report(report: Report, dry_run: bool) -> None:
    for label, paths in (("create", report.created), ("update", report.updated)):
        for p in paths:
            print(f"would {label}: {p}" if dry_run else f"{label}d: {p}")
    for p in report.kept:
        print(f"kept ({KEPT}): {p}")
    for p, reason in report.skipped:
        print(f"{reason}: {p}")
    for w in report.warnings:
        print(f"warning: {w}", file=sys.stderr)
    for e in report.errors:
        print(f"error: {e}", file=sys.stderr)
    if report.removed_line():
        print(report.removed_line())
    print(("dry run, nothing written: " if dry_run else "") + report.summary())


def run_import(args: argparse.Namespace) -> int:
    """CLI entry: exit 0 when anything could be imported, 1 otherwise."""
    into = Path(args.into) if args.into else default_into()
    if not args.into and not into.is_dir():
        print(f"kb import: error: vault folder {into} not found; pass --into DIR", file=sys.stderr)
        return 2
    if into.exists() and not into.is_dir():  # --into names a note, not the folder to write notes into
        print(f"kb import: error: --into {into} is a file; pass the vault folder (or a folder in it)", file=sys.stderr)
        return 2
    try:
        report = import_source(args.source, into, fmt=args.format, title=args.title,
                               dry_run=args.dry_run, force=args.force)
    except SourceError as exc:
        print(f"kb import: error: {exc}", file=sys.stderr)
        return 1
    print_report(report, args.dry_run)
    return 0 if report.imported_any() else 1
