"""Small helpers shared by the emitters: safe writes inside the output folder."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_FRESH: set[str] = set()  # output folders no reader can see yet (see fresh_output)


@contextmanager
def fresh_output(out: Path) -> Iterator[None]:
    """Within this block, files under `out` are written in place, without temp file + rename.

    kb.build writes a full build into a new temporary folder that nobody serves until it is
    swapped in whole, so per-file atomicity buys nothing there and costs a rename per file
    (~8,800 on obsidian-hub). Forked workers inherit the setting.
    """
    _FRESH.add(str(out))
    try:
        yield
    finally:
        _FRESH.discard(str(out))


def safe_rel(rel: str) -> str:
    """`rel` normalised; ValueError if it is absolute or climbs out with '..'.

    Checked on the string, not with resolve(): kb itself creates every folder under
    the output (no symlinks to follow), and resolve() costs syscalls per page.
    """
    norm = posixpath.normpath(rel.replace("\\", "/"))
    if norm.startswith(("/", "../")) or norm in ("..", ".") or "\0" in norm:
        raise ValueError(f"refusing to write outside the site: {rel}")
    return norm


def _make_dir(path: str) -> None:
    """os.makedirs(path, exist_ok=True) in one system call when the parent exists (a page's folder
    usually is new and its parent is not): file system calls are most of the cost of writing pages."""
    try:
        os.mkdir(path)
    except FileExistsError:
        if not os.path.isdir(path):
            raise
    except FileNotFoundError:
        os.makedirs(path, exist_ok=True)


def _same_bytes(path: str, payload: bytes) -> bool:
    try:
        if os.path.getsize(path) != len(payload):
            return False
        with open(path, "rb") as f:
            return f.read() == payload
    except OSError:
        return False


def link_unchanged_candidates(src: Path, dest: Path) -> None:
    """Hard-link every file under `src` to the same place under `dest`, so that `write`
    finds the ones whose bytes did not change and leaves them: kb serve's search refresh
    builds a new search/ folder and would otherwise rewrite the 37 MB browser model each time."""
    if not src.is_dir():
        return
    for path in src.rglob("*"):
        if path.is_file() and not path.is_symlink():
            target = dest / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, target)
            except OSError:  # another file system, or links not allowed: the files get written
                return


def write(out: Path, rel: str, data: str | bytes) -> str:
    """Write `rel` under `out`; refuses any path that would escape it."""
    target = os.path.join(out, safe_rel(rel))
    _make_dir(os.path.dirname(target))
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if str(out) in _FRESH:
        with open(target, "wb") as f:
            f.write(payload)
        return rel
    if _same_bytes(target, payload):  # kb serve: an unchanged page (or search/model/) is left alone
        return rel
    # temp file + rename: `kb serve` rewrites pages in the served site, and a
    # reader must see either the old page or the new one, never half of one
    tmp = os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(payload)
    os.replace(tmp, target)
    return rel


def page_path(url: str) -> str:
    """'notes/a/' -> 'notes/a/index.html'; '' -> 'index.html'."""
    return (url + "index.html") if url else "index.html"
