"""One `kb serve` run: the first build, the file watcher, the rebuild loop and the
HTTP server, tied together.

Threads: watchdog's observer calls notify() for every file event; one rebuild
thread takes a batch once events have been quiet for `debounce` seconds and
applies it; HTTP threads only read files and the error state. Events that come
while a batch is being applied wait in `pending` for the next batch, and every
batch reads the files as they are on disk then, so the last saved state of
every file always ends up in the site.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from kb.build import BuildError, build, template_error
from kb.config import OBSIDIAN_APP, Config, ConfigError, find_vault, obsidian_line_breaks
from kb.diagnostics import plural, report
from kb.emit.assets import emit_assets
from kb.load import NOTE_EXT, ignored, output_globs, walk
from kb.model import BuildContext
from kb.rebuild import Outcome, Rebuilder
from kb.search.live import LiveSearch
from kb.serve.early import EarlySite
from kb.serve.http import SiteServer
from kb.theme import default_theme_dir

NOTE, FILE, THEME, CONFIG, RELATED = "note", "file", "theme", "config", "related"
MAX_WAIT = 0.5  # seconds a batch may be held back by a stream of events


@dataclass
class State:
    errors: list[str] = field(default_factory=list)  # whole-site problems (template, kb.toml)
    pages: dict[str, list[str]] = field(default_factory=dict)  # URL -> edits refused on that page
    notice: str = ""
    ready: bool = False


class _Events(FileSystemEventHandler):
    def __init__(self, session: Session) -> None:
        self.session = session

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        if event.is_directory:
            if event.event_type != "modified":
                self.session.notify_scan(os.fsdecode(event.src_path))
            return
        self.session.notify(os.fsdecode(event.src_path))
        dest = getattr(event, "dest_path", "")
        if dest:
            self.session.notify(os.fsdecode(dest))


class Session:
    def __init__(
        self,
        vault: Path,
        out: Path,
        config: Config,
        *,
        host: str = "127.0.0.1",
        port: int = 8000,
        embed: bool = True,
        debounce: float = 0.05,
        vault_arg: str | None = None,
        quiet: bool = False,
    ) -> None:
        self.vault, self.out, self.config = vault.resolve(), out.resolve(), replace(config, problems_on_pages=True)
        self.embed, self.debounce, self.quiet = embed, debounce, quiet
        # to find kb.toml again as the CLI did ("": from the working folder's kb.toml)
        self.vault_arg, self.cwd = str(self.vault) if vault_arg is None else vault_arg, Path.cwd()
        self.config_path = config.path.resolve() if config.path else self.vault / "kb.toml"
        self.theme = default_theme_dir().resolve()
        self.state = State()
        self.rebuilder: Rebuilder | None = None
        self.live: LiveSearch | None = None  # the search index, refreshed in its own thread
        self.said: set[str] = set()  # search notices printed this session (no embeddings): once each
        self.related_updates: dict[str, list[str]] = {}
        self.early: EarlySite | None = None
        self.pending: dict[str, str] = {}
        self.rescan = False
        self.last_event = 0.0
        self.busy = False
        self.batches = 0
        self._cond = threading.Condition()
        self._stop = False
        self.http = SiteServer((host, port), self.out, config.prefix, self._state_json)
        self.observer = Observer()
        self._threads: list[threading.Thread] = []

    # --- lifecycle -------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self.http.server_address[:2]
        return f"http://{host}:{port}{self.config.prefix}"

    def start(self) -> None:
        """Serve at once (the previous build, if any, until the first build is done)."""
        if (self.out / "index.html").is_file():
            self.state.notice = "kb serve: building… this page is from the previous build"
        self._thread(lambda: self.http.serve_forever(poll_interval=0.1), "kb-http")
        handler = _Events(self)
        self.observer.schedule(handler, str(self.vault), recursive=True)
        if self.vault not in self.theme.parents and self.theme != self.vault:
            self.observer.schedule(handler, str(self.theme), recursive=True)
        if self.vault not in self.config_path.parents and self.config_path.parent.is_dir():
            self.observer.schedule(handler, str(self.config_path.parent), recursive=False)  # ./kb.toml naming the vault
        self.observer.start()  # before the first build, so no edit made during it is lost
        self._thread(self._loop, "kb-rebuild")

    def _thread(self, target, name: str) -> None:  # type: ignore[no-untyped-def]
        t = threading.Thread(target=target, name=name, daemon=True)
        t.start()
        self._threads.append(t)

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self.observer.stop()
        if self.live:
            self.live.stop()
        self.http.hub.close()
        self.http.shutdown()
        self.http.server_close()
        self.observer.join(timeout=5)
        for t in self._threads:
            t.join(timeout=10)

    def wait_idle(self, quiet: float = 0.4, timeout: float = 60.0) -> bool:
        """Block until the first build is done, nothing is pending and no event came
        for `quiet` seconds (tests; watchdog may deliver events a little late)."""
        start = time.monotonic()
        end = start + timeout
        with self._cond:
            while time.monotonic() < end:
                idle = self.state.ready and not self.busy and not self.pending and not self.rescan
                if idle and time.monotonic() - max(self.last_event, start) >= quiet:
                    return True
                self._cond.wait(0.05)
        return False

    # --- events ----------------------------------------------------------
    def classify(self, abspath: str) -> tuple[str, str] | None:
        p = Path(abspath)
        if p == self.out or self.out in p.parents:
            return None
        if p == self.config_path:
            return CONFIG, "kb.toml"
        if self.theme in p.parents:
            return THEME, p.relative_to(self.theme).as_posix()
        try:
            rel = p.relative_to(self.vault).as_posix()
        except ValueError:
            return None
        if rel in ("kb.toml", OBSIDIAN_APP):  # app.json: Obsidian's line-break setting (the rest of .obsidian is ignored)
            return CONFIG, rel
        if rel.startswith("templates/"):
            return THEME, rel
        if ignored(rel, self.config.ignore_globs):
            return None  # includes editors' hidden temp files (.#x.md, .x.md.swp)
        return (NOTE if rel.lower().endswith(NOTE_EXT) else FILE), rel

    def notify(self, abspath: str) -> None:
        kind = self.classify(abspath)
        if kind is None:
            return
        with self._cond:
            self.pending[kind[1] if kind[0] in (NOTE, FILE) else f"{kind[0]}:{kind[1]}"] = kind[0]
            self.last_event = time.monotonic()
            self._cond.notify_all()

    def notify_scan(self, abspath: str) -> None:
        """A folder appeared, moved or went: its notes send no events of their own."""
        kind = self.classify(abspath)
        if kind is None or kind[0] != NOTE and kind[0] != FILE:
            return  # the site itself (when --out is inside the vault), ignored or theme folders
        with self._cond:
            self.rescan = True
            self.last_event = time.monotonic()
            self._cond.notify_all()

    # --- the rebuild thread ----------------------------------------------
    def _loop(self) -> None:
        self._full_build(first=True)
        while True:
            with self._cond:
                while not self._stop and not (self.pending or self.rescan):
                    self._cond.wait()
                if self._stop:
                    return
                # merge bursts (an editor's save is several events), but never wait more
                # than MAX_WAIT: a sync tool writing for minutes must not stall the preview
                first = time.monotonic()
                while (wait := self.debounce - (time.monotonic() - self.last_event)) > 0 and time.monotonic() - first < MAX_WAIT:
                    self._cond.wait(wait)
                batch, self.pending = self.pending, {}
                rescan, self.rescan = self.rescan, False
                self.busy = True
            try:
                self._process(batch, rescan)
            except Exception:  # the server must outlive any bug in a rebuild
                self._say(f"kb serve: rebuild failed, trying a full build:\n{traceback.format_exc()}", err=True)
                self._full_build()
            finally:
                with self._cond:
                    self.busy = False
                    self.batches += 1
                    self._cond.notify_all()

    def _process(self, batch: dict[str, str], rescan: bool) -> None:
        kinds = set(batch.values())
        # an Obsidian setting other than line breaks changed, and nothing else (a folder rescan counts;
        # the search thread's related notes, which may land in the same batch, are applied either way)
        if not rescan and set(batch) - {f"{RELATED}:"} == {f"{CONFIG}:{OBSIDIAN_APP}"} and self._same_line_breaks():
            if RELATED in kinds:
                self._related()
            return None
        if CONFIG in kinds or self.rebuilder is None:
            return self._full_build()
        if RELATED in kinds:
            self._related()
        notes = {rel for rel, k in batch.items() if k == NOTE}
        files = {rel for rel, k in batch.items() if k == FILE}
        if rescan:
            notes, files = self._scan(notes, files)
        if any(not (self.vault / rel).exists() for rel in notes):
            time.sleep(0.1)  # delete + recreate, or an editor's rename: give the file a moment
        import jinja2

        try:
            if notes or files:
                self._after(self.rebuilder.apply(notes, files), notes)
        except jinja2.TemplateError as exc:  # pages stay as they were; fixing the template re-renders all
            return self._template_error(exc)
        theme = [rel for rel, k in batch.items() if k == THEME]
        if theme and all("/static/" in f"/{rel.partition(':')[2]}" for rel in theme):
            self._static()  # CSS/JS only: no page changes
        elif theme:
            self._rerender_all()

    def _scan(self, notes: set[str], files: set[str]) -> tuple[set[str], set[str]]:
        """A folder was created, moved or deleted: compare the vault with what we know."""
        assert self.rebuilder is not None
        ctx = self.rebuilder.ctx
        on_disk_notes, on_disk_files = walk(self.vault, self.config.ignore_globs + output_globs(self.vault, self.out))
        known = set(ctx.notes) | set(ctx.extra.get("drafts", []))
        notes |= set(on_disk_notes) ^ known
        files |= set(on_disk_files) ^ set(ctx.extra.get("files", []))
        return notes, files

    def _after(self, outcome: Outcome, notes: set[str]) -> None:
        assert self.rebuilder is not None
        ctx = self.rebuilder.ctx
        prefix = self.config.prefix
        for d in outcome.reported:
            self._say(d.format(), err=True)
        for d in outcome.kept:
            self._say(f"{d.format()} (kept the previous page)", err=True)
        for p in outcome.fixed:
            self._say(f"{p}: problems fixed")
        refused_paths = {d.path for d in outcome.kept}
        read_ok = (outcome.affected.reparse | notes) - refused_paths  # incl. a save back to the old text
        rebuilt = {prefix + ctx.notes[p].url for p in read_ok if p in ctx.notes}
        old_pages = dict(self.state.pages)
        for url in rebuilt:
            self.state.pages.pop(url, None)
        refused: dict[str, list[str]] = {}
        for d in outcome.kept:
            if d.path in ctx.notes:
                refused.setdefault(prefix + ctx.notes[d.path].url, []).append(f"{d.format()} — showing the previous version")
        self.state.pages.update(refused)
        urls = outcome.urls(prefix)
        if self.state.pages != old_pages:
            self.http.hub.send("state", self._state_json())
        if urls:
            self.http.hub.send("reload", {"urls": urls})
            n = sum(1 for u in outcome.written if u.endswith(".html"))
            self._say(f"rebuilt {plural(n, 'page')} in {outcome.seconds * 1000:.0f} ms")

    def _full_build(self, first: bool = False) -> None:
        try:
            if not first:
                self.vault, config = find_vault(self.vault_arg, self.cwd)
                self.config = replace(config, problems_on_pages=True)  # the preview shows each note's problems
                self.http.prefix = self.config.prefix
            cold = first and not (self.out / "index.html").is_file()
            # the setting read once and pinned, so the build and later note edits use what was checked
            config = replace(self.config, line_breaks=self._line_breaks(first))
            # never wait for the model here: kb.search.live embeds in the background
            extra: dict[str, object] = {"said": self.said, **({"on_loaded": self._preview} if cold else {}),
                                        "search_by_meaning": self.embed}  # kb.search.live embeds it later
            result = build(self.vault, self.out, config, embed=False, extra=extra)
        except Exception as exc:  # BuildError, ConfigError, or a bug: keep serving either way
            if not isinstance(exc, (BuildError, ConfigError)):
                self._say(traceback.format_exc(), err=True)
            self.state.errors = [f"kb serve: {exc}"]
            self.state.notice = ""
            self._say(f"kb serve: error: {exc} (still serving the last good site)", err=True)
            self.http.hub.send("state", self._state_json())
            self.state.ready = True
            return
        finally:
            self._end_preview()
        result.ctx.extra.pop("on_loaded", None)
        report(result.diagnostics)
        self._say(result.summary())
        self.rebuilder = Rebuilder(result.ctx)
        self._start_search(result.ctx)
        self.state = State(ready=True)
        self.http.hub.send("state", self._state_json())
        self.http.hub.send("reload", {"all": True, "urls": []})

    def _line_breaks(self, first: bool) -> bool:
        """kb.toml's line_breaks, else .obsidian/app.json's. A broken app.json while serving is
        a config problem like a broken kb.toml (the last good site stays); at start kb serve
        builds as kb build does, with Obsidian's default, and says why."""
        if self.config.line_breaks is not None:
            return self.config.line_breaks
        try:
            return obsidian_line_breaks(self.vault)
        except ConfigError as exc:
            if not first:
                raise
            self._say(f"kb serve: warning: {exc} (using Obsidian's default: strict line breaks)", err=True)
            return False

    def _same_line_breaks(self) -> bool:
        """Obsidian rewrites app.json when any of its settings changes (or kb.toml overrides it):
        no rebuild unless the line-break setting kb reads changed."""
        if self.rebuilder is None or self.state.errors:
            return False  # a full build clears the problems shown (or shows them again)
        try:
            return self._line_breaks(first=False) == self.rebuilder.ctx.config.line_breaks
        except ConfigError:
            return False  # the full build reports it

    def _preview(self, ctx: BuildContext) -> None:
        """Called by the first build once notes are loaded (cold start only)."""
        self.early = EarlySite(ctx, self.out.with_name(f".{self.out.name}.preview"))
        self.http.fallback = self.early.prepare
        self.state.notice = "kb serve: building… this is a preview without backlinks; it reloads when the site is ready"
        self.http.hub.send("reload", {"all": True, "urls": []})  # tabs showing "building" get the preview

    def _end_preview(self) -> None:
        self.http.fallback = None
        if self.early is not None:
            self.early.close()
            self.early = None

    def _on_related(self, related: dict[str, list[str]]) -> None:
        """From the search thread: queue the pages whose related notes changed."""
        with self._cond:
            self.related_updates.update(related)
            self.pending["related:"] = RELATED
            self._cond.notify_all()

    def _related(self) -> None:
        assert self.rebuilder is not None
        with self._cond:
            updates, self.related_updates = self.related_updates, {}
        # a new search/ is in place: open pages drop the index files they read (search.js refresh),
        # since a page that is not reloaded would otherwise mix them with the new ones
        self.http.hub.send("search", {})
        written, changed = self.rebuilder.apply_related(updates)
        ctx = self.rebuilder.ctx
        urls = sorted(self.config.prefix + ctx.notes[p].url for p in changed)
        if urls:
            self.http.hub.send("reload", {"urls": urls})
            self._say(f"search index updated; related notes rewritten on {plural(len(written), 'page')}")

    def _start_search(self, ctx: BuildContext) -> None:
        """Search runs beside the rebuilds: the first build wrote a lexical index at once,
        embeddings (cached by content) follow in the background."""
        if self.live:
            self.live.stop()
        self.live = LiveSearch(self.vault, self.out, self.config, embed=self.embed, apply_related=self._on_related,
                               said=self.said)
        ctx.extra["on_rebuilt"] = self.live.schedule
        if self.embed and self.config.search.enabled:
            self.live.schedule(ctx)

    def _static(self) -> None:
        assert self.rebuilder is not None
        ctx = self.rebuilder.ctx
        written = emit_assets(ctx)
        static = ctx.out / "static"
        for f in sorted(static.rglob("*")) if static.is_dir() else ():  # a theme file removed leaves the site too
            rel = f.relative_to(ctx.out).as_posix()
            if f.is_file() and rel not in written and rel not in ctx.attachments:
                f.unlink()
        self._say(f"theme files changed: copied {len(written)} files")
        self.http.hub.send("reload", {"all": True, "urls": []})

    def _rerender_all(self) -> None:
        assert self.rebuilder is not None
        import jinja2

        try:
            written = self.rebuilder.rerender_all()
        except (jinja2.TemplateError, BuildError) as exc:  # BuildError: the template fails on every note
            return self._template_error(exc)
        self.state.errors = []
        self._say(f"templates changed: rewrote {len(written)} files")
        self.http.hub.send("state", self._state_json())
        self.http.hub.send("reload", {"all": True, "urls": []})

    def _template_error(self, exc: Exception) -> None:
        msg = str(exc) if isinstance(exc, BuildError) else template_error(exc)
        self.state.errors = [msg]
        self._say(f"{msg} (still serving the last good pages)", err=True)
        self.http.hub.send("state", self._state_json())

    # --- output ----------------------------------------------------------
    def _state_json(self) -> dict:
        s = self.state
        return {"errors": s.errors, "pages": s.pages, "notice": s.notice, "ready": s.ready}

    def _say(self, text: str, err: bool = False) -> None:
        if not self.quiet or err:
            print(text, file=sys.stderr if err else sys.stdout, flush=True)
