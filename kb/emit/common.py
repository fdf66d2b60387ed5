"""Small helpers shared by the emitters: safe writes inside the output folder."""

from __future__ import annotations

import os
from pathlib import Path


def write(out: Path, rel: str, data: str | bytes) -> str:
    """Write `rel` under `out`; refuses any path that would escape it."""
    target = (out / rel).resolve()
    root = out.resolve()
    if root != target and root not in target.parents:
        raise ValueError(f"refusing to write outside the site: {rel}")
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    # temp file + rename: `kb serve` rewrites pages in the served site, and a
    # reader must see either the old page or the new one, never half of one
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return rel


def page_path(url: str) -> str:
    """'notes/a/' -> 'notes/a/index.html'; '' -> 'index.html'."""
    return (url + "index.html") if url else "index.html"
