"""build(): the whole pipeline, load -> transform -> emit, written atomically.

Every command reuses this: `kb build` calls build(), `kb serve` keeps the
BuildContext and re-runs parts of it, `kb search` reads what it wrote.
"""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from kb.config import OBSIDIAN_APP, Config, ConfigError, obsidian_line_breaks
from kb.diagnostics import by_note, plural, unique_sorted
from kb.emit.assets import emit_assets
from kb.emit.common import fresh_output
from kb.emit.diagrams import prepare_diagrams
from kb.emit.feeds import emit_feeds
from kb.emit.pages import emit_lists, emit_notes, shared_titles, template_where
from kb.load import load
from kb.model import BuildContext, Diagnostic
from kb.parallel import fork_map
from kb.paths import umask
from kb.search.pipeline import emit_search
from kb.search.pipeline import preload as search_preload
from kb.search.pipeline import related as search_related
from kb.theme import make_env
from kb.transform.parse import parse_all
from kb.transform.publish import publish
from kb.transform.resolve import resolve


class BuildError(Exception):
    """The build cannot complete (no vault, broken template...): nothing was replaced."""


@dataclass
class BuildResult:
    ctx: BuildContext
    diagnostics: list[Diagnostic]
    pages: int
    seconds: float
    written: list[str] = field(default_factory=list)

    @property
    def warnings(self) -> int:
        return len(self.diagnostics)

    def summary(self) -> str:
        return (
            f"built {plural(len(self.ctx.notes), 'note')}, {plural(self.pages, 'page')}, "
            f"{plural(self.warnings, 'warning')} in {self.seconds:.2f} s -> {self.ctx.out}"
        )


SITE_MARK = ".kb-site"  # in every built site: what lets the next build replace that folder whole


# URLs the site's own pages use: a note never takes them (kb.emit.pages, feeds, assets, search)
RESERVED_TREES = {"tags", "static", "search"}  # and everything below them
RESERVED_EXACT = {"", "archive", "404"}  # home, archive/, 404 (slugs have no dots, so no file name can clash)


def reserved_slug(slug: str) -> bool:
    return slug in RESERVED_EXACT or slug.split("/")[0] in RESERVED_TREES


def _renamed(base: str, i: int) -> str:
    """The i-th alternative to `base`: a reserved tree's notes move to a sibling tree ('tags/x' ->
    'tags-2/x'), so the generated pages below it keep their URLs; others get a suffix."""
    first, _, rest = base.partition("/")
    if first in RESERVED_TREES and rest:
        return f"{first}-{i}/{rest}"
    return f"{base or 'index'}-{i}"


def dedupe_slugs(ctx: BuildContext) -> None:
    """Two notes with one URL, or a note on a URL of the site's own pages: the later path (sorted)
    gets -2, -3... and a warning."""
    taken: dict[str, str] = {}
    for note in ctx.notes.values():
        # kept so that `kb serve` can re-run this step after notes come and go
        base = note.extra.setdefault("base_slug", note.slug)
        slug, i = base, 1
        while slug in taken or reserved_slug(slug):
            i += 1
            slug = _renamed(base, i)
        note.slug = slug
        if slug != base:
            other = taken.get(base, "a page of the site itself")
            ctx.warn(note.path, 1, "duplicate-slug", f"URL '{base}/' already used by {other}; using '{slug}/'")
        taken[slug] = note.path


def transform(ctx: BuildContext) -> None:
    """Per-note and vault-wide steps, in order."""
    publish(ctx)
    dedupe_slugs(ctx)
    on_loaded = ctx.extra.get("on_loaded")  # kb serve: preview pages while the rest runs
    if on_loaded:
        on_loaded(ctx)
    parse_all(ctx, meanwhile=lambda: search_preload(ctx))  # the embedding model loads while notes are parsed
    resolve(ctx)
    search_related(ctx)  # chunks, embeddings, note.related (kb.search)


def emit(ctx: BuildContext, *, search: bool = True) -> list[str]:
    """All output. search=False leaves out search/ (kb serve refreshes it in the background)."""
    env = make_env(ctx.vault)
    ctx.extra["problems"] = by_note(ctx.diagnostics)
    prepare_diagrams(ctx)  # before the pages: those with a diagram load mermaid if the site has it
    search_files: list[str] = []
    # the search index is written by this process while the workers write the note pages
    before = len(ctx.diagnostics)
    written = emit_notes_parallel(ctx, env, meanwhile=(lambda: search_files.extend(emit_search(ctx))) if search else None)
    broken = [d for d in ctx.diagnostics[before:] if d.code == "template"]
    if ctx.notes and {d.path for d in broken} >= set(ctx.notes):
        # not one note page could be rendered: the template is broken, not the notes; fail like a
        # template syntax error does, so the last good site stays (kb serve keeps serving it)
        del ctx.diagnostics[before:]  # one error says it all
        where, _, what = broken[0].message.removeprefix("page failed in ").partition(": ")
        raise BuildError(f"{where}: template error: {what} (every note page failed)")
    written += search_files
    written += emit_lists(ctx, env)
    written += emit_feeds(ctx)
    written += emit_assets(ctx)
    return written


def emit_notes_parallel(ctx: BuildContext, env, meanwhile: Callable[[], None] | None = None) -> list[str]:
    """Note pages are most of the output: render them on every core (and run `meanwhile` here)."""

    shared = shared_titles(ctx.notes.values())  # counted once here, not in each worker's task

    def job(paths: list[str]) -> tuple[list[str], list[Diagnostic]]:
        before = len(ctx.diagnostics)
        written = emit_notes(ctx, env, only=set(paths), shared=shared)
        return written, ctx.diagnostics[before:]

    written: list[str] = []
    for w, diags in fork_map(job, list(ctx.notes), meanwhile):
        written += w
        ctx.diagnostics.extend(diags)
    return sorted(written)


def swap_in(tmp: Path, out: Path) -> None:
    """Replace `out` by `tmp` with renames only, so readers never see half a site.

    The old tree is deleted by a detached `rm` process: on a big vault deleting
    thousands of files takes a second that the user should not wait for.
    Leftovers of an interrupted deletion are removed by the next build.
    """
    for stale in out.parent.glob(f".{out.name}.old-*"):
        shutil.rmtree(stale, ignore_errors=True)
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        os.replace(out, old)
    os.replace(tmp, out)
    if old is not None:
        try:
            subprocess.Popen(["rm", "-rf", "--", str(old)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        except OSError:
            shutil.rmtree(old, ignore_errors=True)


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while building.

    A build keeps millions of objects alive to its end (sources, HTML, links, chunks) and
    makes little cyclic garbage, so the collector's full passes over the growing heap found
    nothing to free and cost 1.4-1.9 s on obsidian-hub. Reference counting still frees
    everything else. The collector is restored as it was (kb serve builds many times).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def build(vault: Path, out: Path, config: Config, *, embed: bool = True, extra: dict | None = None) -> BuildResult:
    with gc_paused():
        return _build(vault, out, config, embed=embed, extra=extra)


def template_error(exc: Exception) -> str:
    """'<file>:<line>: template error: <what>' for a Jinja error: a syntax error knows its file and
    line, a runtime one (undefined attribute) only its traceback does."""
    import jinja2

    if isinstance(exc, jinja2.TemplateNotFound):  # its name is the missing file; where it was asked for is in the traceback
        return f"{template_where(exc) or 'template:0'}: template error: template {exc.name!r} not found"
    where = getattr(exc, "filename", None) or getattr(exc, "name", None)
    where = f"{where}:{getattr(exc, 'lineno', None) or 0}" if where else template_where(exc) or "template:0"
    return f"{where}: template error: {exc}"


def mark_site(folder: Path) -> None:
    (folder / SITE_MARK).write_text("built by kb: `kb build` replaces this folder whole\n", encoding="utf-8")


def check_output(vault: Path, out: Path) -> None:
    """A build replaces `out` whole, so it must be a folder kb built (or new, or empty), and must
    not hold the vault. BuildError otherwise: nothing is deleted."""
    vault, out = vault.resolve(), out.resolve()
    if out == vault or out in vault.parents:
        raise BuildError(f"{out}: the output folder holds the vault {vault}; a build replaces its output "
                         "folder whole, so choose another (default: site/)")
    if out.exists() and not out.is_dir():
        raise BuildError(f"{out}: exists and is not a folder; choose another output folder")
    # static/kb.js: sites built before the mark existed
    if out.is_dir() and any(out.iterdir()) and not (out / SITE_MARK).is_file() and not (out / "static" / "kb.js").is_file():
        raise BuildError(f"{out}: not empty and not a site kb built (no {SITE_MARK} file); a build replaces its "
                         "output folder whole, so choose a new or empty folder, or remove this one yourself")


def pin_line_breaks(ctx: BuildContext) -> None:
    """Decide line breaks once for the build (kb.toml's, else .obsidian/app.json's) and keep the answer in
    ctx.config, so the parser (kb.config.line_breaks_of) does not read the file again. A broken app.json
    is reported, and the build goes on with Obsidian's default, strict line breaks."""
    if ctx.config.line_breaks is not None:
        return
    try:
        breaks = obsidian_line_breaks(ctx.vault)
    except ConfigError as exc:
        ctx.warn(OBSIDIAN_APP, 0, "config", f"{str(exc).removeprefix(str(ctx.vault / OBSIDIAN_APP) + ': ')}; "
                 "using Obsidian's default (strict line breaks)")
        breaks = False
    ctx.config = replace(ctx.config, line_breaks=breaks)


def _build(vault: Path, out: Path, config: Config, *, embed: bool, extra: dict | None) -> BuildResult:
    start = time.perf_counter()
    if not vault.is_dir():
        raise BuildError(f"{vault}: vault folder not found")
    out = out.resolve()
    check_output(vault, out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    ctx = BuildContext(vault=vault.resolve(), out=tmp, config=config)
    ctx.extra["embed"] = embed
    ctx.extra["site_dir"] = out
    ctx.extra.update(extra or {})
    try:
        load(ctx)
        pin_line_breaks(ctx)
        transform(ctx)
        with fresh_output(tmp):
            written = emit(ctx)
        mark_site(tmp)
        os.chmod(tmp, 0o777 & ~umask())  # mkdtemp made it 0700: a folder gets what mkdir gives
        swap_in(tmp, out)
    except BaseException as exc:  # Ctrl-C too: no half-built folder is left beside the site
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, BuildError) or not isinstance(exc, Exception):
            raise
        import jinja2

        if isinstance(exc, jinja2.TemplateError):
            raise BuildError(template_error(exc)) from exc
        raise
    ctx.out = out
    diags = unique_sorted(ctx.diagnostics)
    pages = sum(1 for w in written if w.endswith(".html"))
    return BuildResult(ctx, diags, pages, time.perf_counter() - start, written)
