"""HTML pages: one per note, home, tag index and tag pages, archive, 404."""

from __future__ import annotations

import functools
import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Set
from typing import Any

import jinja2
from markupsafe import Markup

from kb.emit.common import page_path, write
from kb.emit.diagrams import has_diagram
from kb.load import NOTE_EXT
from kb.model import BuildContext, Note
from kb.paths import slugify
from kb.plaintext import math_as_written, math_in_text


def by_date(notes: Iterable[Note]) -> list[Note]:
    """Newest first; undated notes last, by title, so the order is stable."""
    notes = list(notes)  # read twice below: a generator would leave the undated notes out
    dated = sorted((n for n in notes if n.date), key=lambda n: (n.date, n.path), reverse=True)
    undated = sorted((n for n in notes if not n.date), key=lambda n: (n.title.lower(), n.path))
    return dated + undated


def tag_url(tag: str) -> str:
    return "tags/" + "/".join(_tag_slug(p) for p in tag.split("/")) + "/"


def _tag_slug(part: str) -> str:
    """A tag part that is already a slug is its own URL; any other gets a hash of itself, so that
    `#_under` or `#c++` can never take the page of `#under` or `#c` (they slugify alike)."""
    slug = slugify(part)
    if slug == part:
        return slug
    return f"{slug or 'tag'}-{hashlib.sha1(part.encode()).hexdigest()[:6]}"


def title_key(title: str) -> str:
    """What two titles have in common when a reader would take them for the same one: case and
    spacing aside."""
    return " ".join(title.split()).lower()


def shared_titles(notes: Iterable[Note]) -> frozenset[str]:
    """The title_key of every title that more than one note has."""
    counts = Counter(title_key(n.title) for n in notes)
    return frozenset(k for k, c in counts.items() if c > 1)


def tell_apart(note: Note, shared: Set[str]) -> str:
    """What a list shows after `note`'s title when other notes have the same title, '' when none has:
    its vault path without the extension. The folder alone would not do: obsidian-hub has a folder
    of people pages titled "Obsidian", told apart only by their file names."""
    if title_key(note.title) not in shared:
        return ""
    return note.path[: -len(NOTE_EXT)] if note.path.lower().endswith(NOTE_EXT) else note.path


def base_context(ctx: BuildContext, shared: Set[str] | None = None) -> dict[str, Any]:
    """`shared`: shared_titles(ctx.notes.values()), passed in by callers that render many pages."""
    if shared is None:
        shared = shared_titles(ctx.notes.values())
    # embeddings are made before any page (related notes need them): without them the box finds words only
    # (kb serve builds without them and embeds in the background: it says so in ctx.extra)
    by_meaning = getattr(ctx.extra.get("search"), "vectors", None) is not None or bool(ctx.extra.get("search_by_meaning"))
    return {"site": ctx.config, "prefix": ctx.config.prefix, "tag_url": tag_url, "search": ctx.config.search.enabled,
            "search_by_meaning": by_meaning,
            "where_of": functools.partial(tell_apart, shared=shared)}  # the templates' lists call it


def note_context(ctx: BuildContext, note: Note, shared: Set[str] | None = None) -> dict[str, Any]:
    from kb.markdown.math import inline_mathml  # here: kb.markdown imports this module (tag_url)

    notes = ctx.notes
    base = base_context(ctx, shared)
    where_of = base["where_of"]
    backlinks = [
        {"title": notes[b.source].title, "url": notes[b.source].url, "where": where_of(notes[b.source]),
         "context": math_as_written(b.context),
         "context_html": Markup(math_in_text(b.context, inline_mathml))}  # plain text, and HTML with MathML
        for b in sorted(note.backlinks, key=lambda b: (notes[b.source].title.lower(), b.source))
        if b.source in notes
    ]
    related = [{"title": notes[p].title, "url": notes[p].url, "where": where_of(notes[p])}
               for p in note.related if p in notes]
    problems = ctx.extra.get("problems", {}).get(note.path, []) if ctx.config.problems_on_pages else []
    diagrams = bool(ctx.extra.get("mermaid")) and has_diagram(note)  # the page loads static/diagrams.js
    return {**base, "note": note, "backlinks": backlinks, "related": related, "problems": problems,
            "diagrams": diagrams}


def render_note(ctx: BuildContext, env: jinja2.Environment, note: Note, shared: Set[str] | None = None) -> str:
    return env.get_template("note.html").render(**note_context(ctx, note, shared))


def template_where(exc: BaseException) -> str:
    """'<template file>:<line>' of the innermost template code `exc` passed through ('' if none):
    Jinja maps the frames of compiled templates to their files and lines."""
    where = ""
    tb = exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith((".html", ".xml")):
            where = f"{name}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where


def emit_notes(ctx: BuildContext, env: jinja2.Environment, only: set[str] | None = None,
               shared: Set[str] | None = None) -> list[str]:
    """`shared`: shared_titles of the vault, when the caller has it (kb.build's workers each
    write a slice of the pages: one count of the titles serves them all)."""
    if shared is None:
        shared = shared_titles(ctx.notes.values())
    written = []
    for note in ctx.notes.values():
        if only is not None and note.path not in only:
            continue
        try:
            written.append(write(ctx.out, page_path(note.url), render_note(ctx, env, note, shared)))
        except jinja2.TemplateError:
            raise
        except Exception as exc:  # a single bad page never stops the others
            where = template_where(exc)
            if where:  # the template failed on this note (kb.build.emit fails the build when it fails on all)
                ctx.error(note.path, note.body_line, "template", f"page failed in {where}: {exc!r}")
            else:
                ctx.error(note.path, note.body_line, "render", f"page failed: {exc!r}")
    return written


def tag_tree(ctx: BuildContext) -> list[dict[str, Any]]:
    return [{"name": t, "url": tag_url(t), "count": len(paths), "depth": t.count("/")} for t, paths in ctx.tags.items()]


HOME_NOTES = 20  # the most recent notes the home page lists


def home_notes(notes: Iterable[Note]) -> list[Note]:
    return by_date(notes)[:HOME_NOTES]


def emit_lists(ctx: BuildContext, env: jinja2.Environment, tags: set[str] | None = None, pages: bool = True,
               home: bool = False) -> list[str]:
    """Home, tag index, tag pages, archive and 404. `kb serve` passes the tags whose
    pages changed (None: all), pages=False when home/index/archive are unchanged, and home=True
    when only the home page is (a summary it shows)."""
    base = base_context(ctx, shared_titles(ctx.notes.values()))  # once for all these pages
    notes = by_date(ctx.notes.values())
    tree = tag_tree(ctx)
    written = []
    if pages or home:
        written.append(write(ctx.out, "index.html", env.get_template("index.html").render(**base, notes=notes[:HOME_NOTES], tags=tree, total=len(notes))))
        written.append(write(ctx.out, "tags/index.html", env.get_template("tags.html").render(**base, tags=tree)))
    for tag, paths in ctx.tags.items():
        if tags is not None and tag not in tags:
            continue
        children = [t for t in tree if t["name"].startswith(tag + "/") and t["depth"] == tag.count("/") + 1]
        page = env.get_template("tag.html").render(**base, tag=tag, notes=by_date(ctx.notes[p] for p in paths), children=children)
        written.append(write(ctx.out, page_path(tag_url(tag)), page))
    if not pages:
        return written
    years: dict[int, dict[int, list[Note]]] = defaultdict(lambda: defaultdict(list))
    for n in notes:
        if n.date:
            years[n.date.year][n.date.month].append(n)
    archive = [(y, [(m, years[y][m]) for m in sorted(years[y], reverse=True)]) for y in sorted(years, reverse=True)]
    undated = [n for n in notes if not n.date]
    written.append(write(ctx.out, "archive/index.html", env.get_template("archive.html").render(**base, archive=archive, undated=undated)))
    written.append(write(ctx.out, "404.html", env.get_template("404.html").render(**base)))
    return written
