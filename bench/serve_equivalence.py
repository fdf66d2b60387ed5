"""Incremental rebuilds vs a full build at scale (prints; asserts nothing).

  python bench/serve_equivalence.py [VAULT]

Copies the vault (default: obsidian-hub), builds it, applies five kinds of edit
with kb.rebuild.Rebuilder (body edit adding a link to the most linked note,
title change of that note, rename, delete, new note with tag and embed), then
builds the edited vault from scratch and compares every file byte for byte.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
HUB = next((d / "shared" / "corpora" / "obsidian-hub" for d in ROOT.parents if (d / "shared" / "corpora").is_dir()), Path("obsidian-hub"))

from kb.build import build  # noqa: E402
from kb.config import Config  # noqa: E402
from kb.rebuild import Rebuilder  # noqa: E402


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def main() -> None:
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else HUB
    work = Path(tempfile.mkdtemp(prefix="kb-equiv-"))
    vault = work / "vault"
    shutil.copytree(src, vault)
    cfg = Config()
    ctx = build(vault, work / "site", cfg, embed=False).ctx
    rb = Rebuilder(ctx)
    notes = sorted(ctx.notes)
    hub = max(ctx.notes.values(), key=lambda n: len(n.backlinks)).path
    a, b, c, d = (notes[i * len(notes) // 5] for i in range(1, 5))
    moved = b[:-3] + " moved.md"
    steps = [
        ("body edit + link to hub", {a}, lambda: (vault / a).write_text((vault / a).read_text() + f"\nnew [[{Path(hub).stem}]]\n")),
        ("title change of hub", {hub}, lambda: (vault / hub).write_text("# Renamed Hub\n" + (vault / hub).read_text())),
        ("rename", {b, moved}, lambda: os.replace(vault / b, vault / moved)),
        ("delete", {c}, lambda: (vault / c).unlink()),
        ("new note", {"brand new.md"}, lambda: (vault / "brand new.md").write_text(f"---\ntags: [fresh]\ndate: 2030-01-01\n---\n# New\n[[{Path(d).stem}]] ![[{Path(hub).stem}]]\n")),
    ]
    for name, changed, edit in steps:
        edit()
        t = time.perf_counter()
        out = rb.apply(changed)
        print(f"{name}: {(time.perf_counter() - t) * 1000:.0f} ms, {len(out.written)} files written, {len(out.removed)} removed")
    got, want = files(ctx.out), files(build(vault, work / "fresh", cfg, embed=False).ctx.out)
    differing = sorted(r for r in want if r in got and got[r] != want[r])
    print(f"after the edits: {len(want)} files in a full build; missing {sorted(set(want) - set(got))[:5]}, "
          f"extra {sorted(set(got) - set(want))[:5]}, differing {len(differing)} {differing[:5]}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
