"""Small helpers shared by the emitters: safe writes inside the output folder."""

from __future__ import annotations

import os
import posixpath
from pathlib import Path


def safe_rel(rel: str) -> str:
    """`rel` normalised; ValueError if it is absolute or climbs out with '..'.

    Checked on the string, not with resolve(): kb itself creates every folder under
    the output (no symlinks to follow), and resolve() costs syscalls per page.
    """
    norm = posixpath.normpath(rel.replace("\\", "/"))
    if norm.startswith(("/", "../")) or norm in ("..", ".") or "\0" in norm:
        raise ValueError(f"refusing to write outside the site: {rel}")
    return norm


def write(out: Path, rel: str, data: str | bytes) -> str:
    """Write `rel` under `out`; refuses any path that would escape it."""
    target = os.path.join(out, safe_rel(rel))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    # temp file + rename: `kb serve` rewrites pages in the served site, and a
    # reader must see either the old page or the new one, never half of one
    tmp = os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)
    os.replace(tmp, target)
    return rel


def page_path(url: str) -> str:
    """'notes/a/' -> 'notes/a/index.html'; '' -> 'index.html'."""
    return (url + "index.html") if url else "index.html"
