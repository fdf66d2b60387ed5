"""Preview pages while the first build of a cold start is still running.

Parsing a big vault takes most of a build (obsidian-hub: ~11 of ~18 s on two
cores), so waiting for it means a blank browser. Once the notes are loaded
(titles, dates, slugs, sources: under a second), any one page can be rendered
on request with the pipeline's own Renderer and emitters, into a scratch
folder. Such a page lacks what needs every note parsed (backlinks, inline tags,
tag pages); the live-reload notice says so, and the tab reloads with the full
page when the build is done. A warm start serves the previous site instead.
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import replace
from pathlib import Path

from kb.emit.assets import emit_assets
from kb.emit.pages import emit_lists, emit_notes
from kb.model import BuildContext, Diagnostic
from kb.theme import make_env
from kb.transform.parse import Renderer


class EarlySite:
    def __init__(self, ctx: BuildContext, out: Path) -> None:
        # copies: the build thread is about to fill in the real notes
        notes = {p: replace(n, tags=list(n.tags), links=[], extra=dict(n.extra)) for p, n in ctx.notes.items()}
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        self.ctx = BuildContext(vault=ctx.vault, out=out, config=ctx.config, notes=notes)
        self.ctx.extra.update(files=list(ctx.extra.get("files", [])), problems={})
        self.by_url = {n.url: p for p, n in notes.items()}
        self._lock = threading.Lock()
        self._done: set[str] = set()
        self._env = None

    @property
    def out(self) -> Path:
        return self.ctx.out

    def prepare(self, rel: str) -> Path | None:
        """Write the page `rel` (site-relative request path) if it is one we can
        preview; -> the folder to serve it from."""
        key = rel[: -len("index.html")] if rel.endswith("index.html") else rel
        if key and not key.endswith("/"):
            key += "/"
        with self._lock:
            if self._env is None:
                self._env = make_env(self.ctx.vault)
                self.ctx.extra["renderer"] = Renderer(self.ctx)
                emit_assets(self.ctx)  # theme CSS/JS, so previews look right
                emit_lists(self.ctx, self._env, tags=set(), pages=True)  # home, archive, 404
            path = self.by_url.get(key)
            if path is not None and path not in self._done:
                note = self.ctx.notes[path]
                try:
                    self.ctx.extra["renderer"].parse(note)
                except Exception as exc:  # the real build reports it properly
                    self.ctx.extra["problems"][path] = [Diagnostic(path, note.body_line, "error", "parse", repr(exc))]
                emit_notes(self.ctx, self._env, only={path})
                self._done.add(path)
        return self.out

    def close(self) -> None:
        shutil.rmtree(self.out, ignore_errors=True)
