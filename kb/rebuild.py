"""Rebuilder: apply a batch of changed files to the BuildContext of the last good
build and rewrite only the pages kb.incremental.affected() names.

It reuses the pipeline's own steps: kb.load.read_note, kb.build.dedupe_slugs,
kb.transform.parse.Renderer, kb.transform.resolve's functions and the emitters
(with their subset arguments). Nothing here renders markdown or HTML itself.

Hook for other steps (the semantic index): if ctx.extra["on_rebuilt"] is set, it
is called as on_rebuilt(ctx, outcome) after every successful rebuild, in the
rebuild thread; it must return quickly and do slow work (embeddings) in a
thread of its own, serving the previous index until it is done.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from kb.build import dedupe_slugs, emit, mark_site, swap_in
from kb.diagnostics import unique_sorted
from kb.emit.common import write
from kb.emit.diagrams import MERMAID_DIR, diagram_files, prepare_diagrams
from kb.emit.feeds import emit_feeds
from kb.emit.pages import emit_lists, emit_notes, home_notes
from kb.incremental import Affected, NoteInfo, affected, snapshot, with_parents
from kb.load import read_note
from kb.model import Backlink, BuildContext, Diagnostic, Note
from kb.theme import make_env
from kb.transform.parse import Renderer
from kb.transform.resolve import resolve_links, set_summaries, tag_index

LOAD_CODES = {"frontmatter", "encoding", "read"}  # found by kb.load, not by parsing
SLUG_CODES = {"duplicate-slug"}
ATTACHMENT_CODES = {"unresolved-embed", "unresolved-link"}  # may resolve once a file appears
DRAFT_CODES = {"unresolved-link", "draft-link"}  # say whether a dead link names a draft


@dataclass
class Outcome:
    affected: Affected
    written: list[str] = field(default_factory=list)  # site-relative files written
    removed: list[str] = field(default_factory=list)
    reported: list[Diagnostic] = field(default_factory=list)  # problems of the notes just rebuilt
    fixed: list[str] = field(default_factory=list)  # notes whose problems went away
    kept: list[Diagnostic] = field(default_factory=list)  # edits refused; previous page kept
    seconds: float = 0.0

    def urls(self, prefix: str) -> list[str]:
        """URL paths whose content changed, as the browser sees them."""
        out = []
        for rel in self.written + self.removed:
            if rel.endswith("index.html"):
                out.append(prefix + rel[: -len("index.html")])
            else:
                out.append(prefix + rel)
        return sorted(set(out))


class Rebuilder:
    def __init__(self, ctx: BuildContext) -> None:
        self.ctx = ctx
        self.env = make_env(ctx.vault)
        self.load_diags: dict[str, list[Diagnostic]] = {}
        self.slug_diags: dict[str, list[Diagnostic]] = {}
        self.parse_diags: dict[str, list[Diagnostic]] = {}
        self.other_diags: list[Diagnostic] = []  # not about a published note (drafts, files)
        for d in ctx.diagnostics:
            if d.path not in ctx.notes:
                self.other_diags.append(d)
                continue
            kind = (
                self.load_diags if d.code in LOAD_CODES
                else self.slug_diags if d.code in SLUG_CODES
                else self.parse_diags
            )
            kind.setdefault(d.path, []).append(d)
        self._sync_problems(set(ctx.notes))
        self.info: dict[str, NoteInfo] = snapshot(ctx)

    # --- state -----------------------------------------------------------
    def problems_of(self, path: str) -> list[Diagnostic]:
        kinds = (self.load_diags, self.slug_diags, self.parse_diags)
        return unique_sorted(d for kind in kinds for d in kind.get(path, []))

    def _sync_problems(self, paths: set[str]) -> None:
        problems = self.ctx.extra.setdefault("problems", {})
        for p in paths:
            found = self.problems_of(p) if p in self.ctx.notes else []
            if found:
                problems[p] = found
            else:
                problems.pop(p, None)
        self.ctx.diagnostics = self.other_diags + [d for p in sorted(problems) for d in problems[p]]

    def _parse(self, note: Note) -> None:
        renderer: Renderer = self.ctx.extra["renderer"]
        try:
            self.parse_diags[note.path] = renderer.parse(note)
        except Exception as exc:  # same rule as parse_all: one broken note never stops the others
            self.parse_diags[note.path] = [Diagnostic(note.path, note.body_line, "error", "parse", f"could not render: {exc!r}")]
        resolve_links(note, renderer.resolver)

    # --- one batch -------------------------------------------------------
    def _reload(self, rels: set[str], out: Outcome) -> tuple[set[str], bool]:
        """Re-read changed notes into ctx.notes -> (notes really changed, link names changed)."""
        ctx, changed, names = self.ctx, set(), False
        drafts: dict[str, list[str]] = ctx.extra.setdefault("drafts", {})
        for rel in sorted(rels):
            note, diags = read_note(ctx.vault, rel)
            old = ctx.notes.get(rel)
            unreadable = note is None and (ctx.vault / rel).exists()
            was_clean = not any(d.code == "encoding" for d in self.load_diags.get(rel, []))
            if unreadable or (old is not None and was_clean and any(d.code == "encoding" for d in diags)):
                # unreadable, or half-written (not UTF-8 yet): keep serving the previous page.
                # A note that was never valid UTF-8 is rebuilt as kb build does it.
                out.kept.extend(diags)
                continue
            if note is not None and note.draft:
                drafts[rel] = note.aliases
                note = None
            else:
                drafts.pop(rel, None)
            if old is not None and note is not None and old.digest == note.digest:
                continue  # saved without a change
            changed.add(rel)
            self.parse_diags.pop(rel, None)
            if note is None:
                self.load_diags.pop(rel, None)
                names |= ctx.notes.pop(rel, None) is not None
                continue
            self.load_diags[rel] = [d for d in diags if d.code in LOAD_CODES]
            if old is None or old.aliases != note.aliases:
                names = True
            if old is not None:  # filled by later steps, carried until they run again
                note.backlinks, note.related = old.backlinks, old.related
            ctx.notes[rel] = note
        if names:  # keep ctx.notes sorted by path, in place: the Renderer holds this dict
            items = sorted(ctx.notes.items())
            ctx.notes.clear()
            ctx.notes.update(items)
        return changed, names

    def _files(self, files: set[str]) -> tuple[set[str], bool]:
        """Attachments added or removed -> (notes to re-parse, resolver must change)."""
        ctx = self.ctx
        known = set(ctx.extra.get("files", []))
        present = {f for f in files if (ctx.vault / f).is_file()}
        now = (known - files) | present
        dirty: set[str] = set()
        if now == known:
            return dirty, False
        ctx.extra["files"] = sorted(now)
        gone = known - now
        for p, note in ctx.notes.items():
            if not gone.isdisjoint(note.attachments) or any(d.code in ATTACHMENT_CODES for d in self.parse_diags.get(p, [])):
                dirty.add(p)
        return dirty, True

    def _slugs(self, changed: set[str], names: bool) -> set[str]:
        """Re-run dedupe_slugs when URLs may collide differently -> notes whose URL moved."""
        ctx = self.ctx
        if not names and all(ctx.notes[p].slug == self.info[p].slug for p in changed if p in ctx.notes and p in self.info):
            # same notes, same wanted URLs: the last dedupe still holds (it costs ~10 ms on 6,571 notes)
            for p in changed:
                if p in ctx.notes:
                    ctx.notes[p].extra["base_slug"] = ctx.notes[p].slug
            return set()
        old = {p: n.slug for p, n in ctx.notes.items()}
        saved, ctx.diagnostics = ctx.diagnostics, []
        dedupe_slugs(ctx)
        found, ctx.diagnostics = ctx.diagnostics, saved
        self.slug_diags = {}
        for d in found:
            self.slug_diags.setdefault(d.path, []).append(d)
        return {p for p, n in ctx.notes.items() if p in self.info and old[p] != n.slug}

    def _backlinks(self, before: dict[str, NoteInfo], after: dict[str, NoteInfo], paths: set[str]) -> None:
        """Move the backlinks of notes whose outgoing links changed (`paths`: every
        note whose NoteInfo was replaced or removed)."""
        notes = self.ctx.notes
        touched: set[str] = set()
        for p in sorted(paths):
            old, cur = before.get(p), after.get(p)
            if old is cur or (old and cur and old.out == cur.out):
                continue
            for dest, _ in old.out if old else ():
                if dest in notes:
                    notes[dest].backlinks = [b for b in notes[dest].backlinks if b.source != p]
                    touched.add(dest)
            for dest, context in cur.out if cur else ():
                notes[dest].backlinks.append(Backlink(p, context))
                touched.add(dest)
        for dest in touched:  # the order a full build gives: by source path
            notes[dest].backlinks.sort(key=lambda b: b.source)

    def apply(self, notes: set[str], files: set[str] = frozenset()) -> Outcome:  # type: ignore[assignment]
        start = time.perf_counter()
        ctx = self.ctx
        out = Outcome(Affected())
        before = self.info
        shown = {p: n.summary for p, n in ctx.notes.items()}  # an edited note is loaded anew, with no summary yet
        had_problems = {p for p in notes if p in ctx.extra.get("problems", {})}
        drafts = dict(ctx.extra.get("drafts", {}))
        changed, names = self._reload(notes, out)
        dirty, file_names = self._files(set(files))
        names |= file_names
        if ctx.extra["drafts"] != drafts:  # a dead link may now name a draft, or no longer
            names = True
            dirty |= {p for p in ctx.notes if any(d.code in DRAFT_CODES for d in self.parse_diags.get(p, []))}
        moved = self._slugs(changed, names)
        if names:
            ctx.extra["renderer"] = Renderer(ctx, md=ctx.extra["renderer"].md)  # new name index, same parser
        renderer: Renderer = ctx.extra["renderer"]
        fresh = (changed | dirty) & set(ctx.notes)
        for p in sorted(fresh):
            self._parse(ctx.notes[p])
            ctx.attachments.update(ctx.notes[p].attachments)
        rerouted: set[str] = set()
        if names:  # a note came, went or changed aliases: links elsewhere may now resolve differently
            for p, note in ctx.notes.items():
                resolve_links(note, renderer.resolver)
                if p in before and tuple(link.resolved for link in note.links) != before[p].targets:
                    rerouted.add(p)
        self._sync_problems(fresh | moved | (changed - set(ctx.notes)))
        after = dict(before)
        gone = {p for p in changed if p in before and p not in ctx.notes}
        for p in gone:
            del after[p]
        refresh = fresh | moved | rerouted
        after.update(snapshot(ctx, refresh))
        a = affected(before, after, changed | dirty)
        out.affected = a
        for p in sorted(a.reparse - fresh):  # embedders and linkers of moved pages
            self._parse(ctx.notes[p])
        self._sync_problems(a.reparse)
        after.update(snapshot(ctx, a.reparse - fresh))
        self._backlinks(before, after, refresh | gone | a.reparse)
        a.render |= set_summaries(ctx.notes)  # a line that became shared, or no longer, changes other pages
        # and the lists that show a note's summary where it has no description (templates/macros.html):
        # its tag pages, and the home page if it is among the notes there
        listed = {p for p, n in ctx.notes.items() if n.summary != shown.get(p, n.summary) and not n.description}
        if listed:
            a.tags |= with_parents(t for p in listed for t in ctx.notes[p].tags)
            a.home = any(n.path in listed for n in home_notes(ctx.notes.values()))
        if a.tags or a.lists:
            ctx.tags = tag_index(ctx.notes)
        self.info = after
        copy = {f for p in fresh for f in ctx.notes[p].attachments} | (set(files) & ctx.attachments)
        try:
            self._emit(a, out, copy)
        except BaseException:  # a broken template: the pages wait for the fix, the search index need not
            self._notify(out)
            raise
        self._report(out, (fresh | a.reparse) & set(ctx.notes), had_problems)
        out.seconds = time.perf_counter() - start
        self._notify(out)
        return out

    def _notify(self, out: Outcome) -> None:
        hook = self.ctx.extra.get("on_rebuilt")
        if hook:
            try:
                hook(self.ctx, out)
            except Exception as exc:  # a plugin's bug must not cost a full rebuild
                out.reported.append(Diagnostic("on_rebuilt", 0, "error", "hook", repr(exc)))

    def apply_related(self, related: dict[str, list[str]]) -> tuple[list[str], set[str]]:
        """Related-notes lists from the search thread: re-render the pages whose list differs from
        what they show -> (written, those notes). The snapshot learns them too, so a retitled note
        later re-renders the pages that list it."""
        ctx = self.ctx
        only = {p for p, rel in related.items() if p in ctx.notes and list(ctx.notes[p].related) != list(rel)}
        for p in only:
            ctx.notes[p].related = related[p]
        self.info.update(snapshot(ctx, only))
        return emit_notes(ctx, self.env, only=only), only

    def _emit(self, a: Affected, out: Outcome, attachments: set[str]) -> None:
        ctx = self.ctx
        self._diagrams(out)
        out.written += emit_notes(ctx, self.env, only=a.render)
        if a.tags or a.lists or a.home:
            out.written += emit_lists(ctx, self.env, tags=a.tags, pages=a.lists, home=a.home)
        if a.feeds:
            out.written += emit_feeds(ctx)
        for rel in sorted(a.removed):
            target = ctx.out / rel
            if target.is_file():
                target.unlink()
                out.removed.append(rel)
                _prune_empty(target.parent, ctx.out)
        for rel in sorted(attachments):
            out.written += _copy_if_changed(ctx.vault / rel, ctx.out, rel)
        # attachments no note embeds any more leave the site, as a build leaves them out (a file gone from
        # the vault is in no note's list: _files had those notes parsed again)
        used = {f for note in ctx.notes.values() for f in note.attachments}
        for rel in sorted(ctx.attachments - used):
            target = ctx.out / rel
            if target.is_file():
                target.unlink()
                out.removed.append(rel)
                _prune_empty(target.parent, ctx.out)
        ctx.attachments &= used

    def _diagrams(self, out: Outcome) -> None:
        """The vault's first mermaid diagram brings mermaid into the site; the last one gone takes it out."""
        ctx = self.ctx
        had = bool(ctx.extra.get("mermaid"))
        if prepare_diagrams(ctx) and not had:
            out.written += [write(ctx.out, rel, data) for rel, data in diagram_files(ctx).items()]
        elif had and not ctx.extra["mermaid"] and (ctx.out / MERMAID_DIR).is_dir():
            shutil.rmtree(ctx.out / MERMAID_DIR)
            out.removed.append(MERMAID_DIR + "/")

    def _report(self, out: Outcome, rebuilt: set[str], had: set[str]) -> None:
        problems = self.ctx.extra.get("problems", {})
        out.reported.extend(unique_sorted(d for p in rebuilt for d in problems.get(p, [])))  # a cycle once
        out.fixed = sorted(p for p in had if p not in problems)

    # --- everything ------------------------------------------------------
    def rerender_all(self) -> list[str]:
        """Templates changed: write every page again from the parsed notes, into a
        temporary folder swapped in whole, so a template error changes nothing."""
        ctx = self.ctx
        out_dir = ctx.out
        tmp = out_dir.with_name(f".{out_dir.name}.tmp-serve")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        ctx.out = tmp
        try:
            # problems come from ctx.diagnostics, kept in sync by _sync_problems; the search
            # index does not depend on templates: keep the served one (kb.search.live owns it)
            written = emit(ctx, search=False)
            mark_site(tmp)
            if (out_dir / "search").is_dir():
                shutil.copytree(out_dir / "search", tmp / "search")
            ctx.out = out_dir
            swap_in(tmp, out_dir)
        except BaseException:
            ctx.out = out_dir
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        self.env = make_env(ctx.vault)
        return written


def _prune_empty(folder: Path, root: Path) -> None:
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def _copy_if_changed(src: Path, out: Path, rel: str) -> list[str]:
    dest = out / rel
    try:
        st = src.stat()
    except OSError:
        return []
    if dest.is_file():
        d = dest.stat()
        if d.st_size == st.st_size and d.st_mtime_ns == st.st_mtime_ns:  # the copy keeps the source's time
            return []
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.tmp")
    shutil.copyfile(src, tmp)
    os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))  # so a file restored with an older time is seen as changed
    os.replace(tmp, dest)
    return [rel]
