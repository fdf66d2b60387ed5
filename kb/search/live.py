"""The search index under `kb serve`: refreshed in a background thread.

Typing never waits for the model: the rebuild thread only snapshots the notes
(`schedule`, the Rebuilder's on_rebuilt hook) and goes on; this thread chunks and
embeds them (cached by content, the model loaded once), writes a new `search/`
beside the site and swaps it in with renames, so visitors keep the previous index
until the new one is complete. Notes whose related list changed are handed back
to the rebuild thread (`apply_related`), which re-renders their pages.
"""

from __future__ import annotations

import copy
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kb.config import Config
from kb.emit.common import link_unchanged_candidates
from kb.model import BuildContext, Note
from kb.search.pipeline import emit_search, related


class LiveSearch:
    RETRAIN_SHARE = 0.1  # retrain the codebooks once this share of chunks is new or gone since they were trained

    def __init__(
        self,
        vault: Path,
        out: Path,
        config: Config,
        *,
        embed: bool,
        apply_related: Callable[[dict[str, list[str]]], None],
        debounce: float = 0.3,
        said: set[str] | None = None,
    ) -> None:
        self.vault, self.out, self.config, self.embed = vault, out, config, embed
        # notices printed so far (kb.search.pipeline._say_once): kb serve shares its session's set
        self.said: set[str] = said if said is not None else set()
        self.apply_related, self.debounce = apply_related, debounce
        self.embedder: Any = None  # loaded on the first refresh, kept for the session
        # the kb.search.quantize.Quantized last trained, the encoder rows fit for it, the chunk ids it was trained on
        self.quantizer: Any = None
        self.rows: Any = None
        self.trained_ids: set[str] = set()
        self.chunk_memo: dict[str, tuple] = {}  # each note's chunks, re-cut only when the note changes
        self._pending: dict[str, Note] | None = None
        self._busy = False
        self._stop = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._loop, name="kb-search", daemon=True)
        self._thread.start()

    def schedule(self, ctx: BuildContext, outcome: object = None) -> None:
        """Snapshot the notes for the next refresh (cheap: shallow copies)."""
        notes = {p: copy.copy(n) for p, n in ctx.notes.items()}
        with self._cond:
            self._pending = notes
            self._cond.notify_all()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """For tests and benchmarks: True once no refresh is pending or running."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending is None and not self._busy, timeout)

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._stop or self._pending is not None)
                if self._stop:
                    return
                self._cond.wait(self.debounce)  # an edit burst: refresh once, for the last state
                notes, self._pending = self._pending, None
                self._busy = True
            try:
                if notes is not None:
                    self._refresh(notes)
            except Exception as exc:  # noqa: BLE001 - the server must outlive a failed refresh
                print(f"kb search: index refresh failed: {exc!r}; serving the previous index", flush=True)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _refresh(self, notes: dict[str, Note]) -> None:
        work = self.out.with_name(f".{self.out.name}.search-tmp")
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        link_unchanged_candidates(self.out / "search" / "model", work / "search" / "model")
        ctx = BuildContext(vault=self.vault, out=work, config=self.config, notes=notes)
        ctx.extra.update(embed=self.embed, embedder=self.embedder, chunk_memo=self.chunk_memo, said=self.said)
        try:
            related(ctx)
            self.embedder = ctx.extra.get("embedder") or self.embedder
            self._offer_quantizer(ctx)
            drop_unwritten(work / "search" / "model", work, set(emit_search(ctx)))
            self._keep_quantizer(ctx)
            swap_dir(work / "search", self.out / "search")
        finally:
            shutil.rmtree(work, ignore_errors=True)
        # every list: the rebuild thread compares them with what its pages show now (comparing here, with
        # this snapshot, missed a return to lists an earlier refresh had just replaced)
        self.apply_related({p: n.related for p, n in notes.items()})

    def _offer_quantizer(self, ctx: BuildContext) -> None:
        """Let emit_search code the vectors with the codebooks of an earlier refresh, and keep the
        encoder rows fit for them (training takes ~9 s of CPU on obsidian-hub and the rows 1.4 s,
        beside the page rebuilds, after every edit) while the chunks are mostly those they were trained on."""
        state = ctx.extra.get("search")
        if self.quantizer is None or state is None:
            return
        ids = {c.id for c in state.chunks}
        if len(ids ^ self.trained_ids) <= self.RETRAIN_SHARE * len(self.trained_ids):
            ctx.extra.update(reuse_quantizer=self.quantizer, reuse_rows=self.rows)

    def _keep_quantizer(self, ctx: BuildContext) -> None:
        state = ctx.extra.get("search")
        q = getattr(state, "quantized", None)
        if q is not None and (self.quantizer is None or q.codebooks is not self.quantizer.codebooks):  # trained now
            self.quantizer, self.rows, self.trained_ids = q, state.rows, {c.id for c in state.chunks}


def drop_unwritten(folder: Path, out: Path, written: set[str]) -> None:
    """Remove what was linked into `folder` from the old index but not written this time."""
    for path in sorted(folder.rglob("*"), reverse=True):  # files before their folders
        if path.is_dir() and not any(path.iterdir()):
            path.rmdir()
        elif path.is_file() and path.relative_to(out).as_posix() not in written:
            path.unlink()
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


def swap_dir(new: Path, dest: Path) -> None:
    """Put `new` at `dest` with two renames; the old tree is deleted afterwards."""
    old = dest.with_name(f".{dest.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if dest.exists():
        os.replace(dest, old)
    os.replace(new, dest)
    shutil.rmtree(old, ignore_errors=True)
