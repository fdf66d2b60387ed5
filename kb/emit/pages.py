"""HTML pages: one per note, home, tag index and tag pages, archive, 404."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import jinja2
from markupsafe import Markup

from kb.emit.common import page_path, write
from kb.emit.diagrams import has_diagram
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


def base_context(ctx: BuildContext) -> dict[str, Any]:
    state = ctx.extra.get("search")
    # embeddings are made before any page (related notes need them): without them the box finds words only
    by_meaning = getattr(state, "vectors", None) is not None
    return {"site": ctx.config, "prefix": ctx.config.prefix, "tag_url": tag_url, "search": ctx.config.search.enabled,
            "search_by_meaning": by_meaning}


def note_context(ctx: BuildContext, note: Note) -> dict[str, Any]:
    from kb.markdown.math import inline_mathml  # here: kb.markdown imports this module (tag_url)

    notes = ctx.notes
    backlinks = [
        {"title": notes[b.source].title, "url": notes[b.source].url, "context": math_as_written(b.context),
         "context_html": Markup(math_in_text(b.context, inline_mathml))}  # plain text, and HTML with MathML
        for b in sorted(note.backlinks, key=lambda b: (notes[b.source].title.lower(), b.source))
        if b.source in notes
    ]
    related = [{"title": notes[p].title, "url": notes[p].url} for p in note.related if p in notes]
    problems = ctx.extra.get("problems", {}).get(note.path, []) if ctx.config.problems_on_pages else []
    diagrams = bool(ctx.extra.get("mermaid")) and has_diagram(note)  # the page loads static/diagrams.js
    return {**base_context(ctx), "note": note, "backlinks": backlinks, "related": related, "problems": problems,
            "diagrams": diagrams}


def render_note(ctx: BuildContext, env: jinja2.Environment, note: Note) -> str:
    return env.get_template("note.html").render(**note_context(ctx, note))


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


def emit_notes(ctx: BuildContext, env: jinja2.Environment, only: set[str] | None = None) -> list[str]:
    written = []
    for note in ctx.notes.values():
        if only is not None and note.path not in only:
            continue
        try:
            written.append(write(ctx.out, page_path(note.url), render_note(ctx, env, note)))
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


def emit_lists(ctx: BuildContext, env: jinja2.Environment, tags: set[str] | None = None, pages: bool = True) -> list[str]:
    """Home, tag index, tag pages, archive and 404. `kb serve` passes the tags whose
    pages changed (None: all) and pages=False when home/index/archive are unchanged."""
    base = base_context(ctx)
    notes = by_date(ctx.notes.values())
    tree = tag_tree(ctx)
    written = []
    if pages:
        written.append(write(ctx.out, "index.html", env.get_template("index.html").render(**base, notes=notes[:20], tags=tree, total=len(notes))))
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
