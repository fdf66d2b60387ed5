"""Run per-note work on every core: markdown-it-py and Jinja are pure Python.

Workers are forked, so they inherit the whole BuildContext (sources, name index,
backlinks) without pickling it; each returns only what it computed. Small vaults,
and platforms without fork, run in-process.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Callable
from typing import Any, TypeVar

from kb.model import BuildContext, Diagnostic
from kb.transform.parse import Renderer, parse_note

T = TypeVar("T")
PARSED_FIELDS = ("html", "links", "tags", "headings", "block_ids", "attachments", "text")
MIN_ITEMS = 400  # below this, starting workers costs more than it saves

_JOB: Callable[[list[str]], Any] | None = None  # set in the parent just before fork; workers inherit it


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _run_job(chunk: list[str]) -> Any:
    assert _JOB is not None
    return _JOB(chunk)


def fork_map(job: Callable[[list[str]], T], items: list[str]) -> list[T]:
    """job(chunk) for interleaved chunks of items, in forked workers when it pays off."""
    global _JOB
    n = cpu_count()
    if n < 2 or len(items) < MIN_ITEMS or "fork" not in mp.get_all_start_methods():
        return [job(items)]
    chunks = [items[i :: n * 4] for i in range(n * 4)]  # interleaved: a similar mix of long and short notes
    _JOB = job
    try:
        with mp.get_context("fork").Pool(n) as pool:
            return pool.map(_run_job, chunks)
    finally:
        _JOB = None


def parse_parallel(ctx: BuildContext) -> None:
    renderer = Renderer(ctx)
    ctx.extra["renderer"] = renderer

    def job(paths: list[str]) -> list[tuple[str, dict[str, Any], list[Diagnostic]]]:
        out = []
        for p in paths:
            note = ctx.notes[p]
            diags = parse_note(renderer, note)
            out.append((p, {f: getattr(note, f) for f in PARSED_FIELDS}, diags))
        return out

    for chunk in fork_map(job, list(ctx.notes)):
        for path, fields, diags in chunk:
            note = ctx.notes[path]
            for f, v in fields.items():
                setattr(note, f, v)
            ctx.diagnostics.extend(diags)
