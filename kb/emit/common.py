"""Small helpers shared by the emitters: safe writes inside the output folder."""

from __future__ import annotations

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
    target.write_bytes(data)
    return rel


def page_path(url: str) -> str:
    """'notes/a/' -> 'notes/a/index.html'; '' -> 'index.html'."""
    return (url + "index.html") if url else "index.html"
