"""kb.markdown.fastpath vs markdown-it-py's own code paths on a real vault (exit status 1 if any HTML differs).

  python bench/fastpath_equivalence.py [VAULT] [--seeds DIR]

Renders every note of the vault (default: obsidian-hub) and every markdown file of the seeds
folder twice with the real Renderer, once with make_md() and once with make_md(fast=False), and
prints the notes whose HTML differs (there should be none) and both parse times. Run it after
upgrading markdown-it-py or mdit-py-plugins, or after touching kb/markdown/fastpath.py.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = next((d / "shared" / "corpora" for d in ROOT.parents if (d / "shared" / "corpora").is_dir()), Path("corpora"))

from kb.build import BuildContext, dedupe_slugs  # noqa: E402
from kb.config import Config  # noqa: E402
from kb.load import load  # noqa: E402
from kb.markdown import make_md  # noqa: E402
from kb.transform.parse import Renderer  # noqa: E402
from kb.transform.publish import publish  # noqa: E402


def render_all(renderer: Renderer, sources: dict[str, str]) -> tuple[dict[str, str], float]:
    out, start = {}, time.perf_counter()
    for path, note in renderer.ctx.notes.items():
        out[path] = renderer.to_html(sources[path], renderer.env_for(note), note.title)
    return out, time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("vault", nargs="?", default=str(SHARED / "obsidian-hub"))
    ap.add_argument("--seeds", default=str(SHARED / "seeds"))
    args = ap.parse_args()
    ctx = BuildContext(vault=Path(args.vault).resolve(), out=Path("/nonexistent"), config=Config())
    load(ctx)
    publish(ctx)
    dedupe_slugs(ctx)
    sources = {p: n.source for p, n in ctx.notes.items()}
    extra = {f"seed:{p.name}": p.read_text(encoding="utf-8", errors="replace")
             for p in sorted(Path(args.seeds).glob("*")) if p.is_file()}
    fast, plain = Renderer(ctx), Renderer(ctx, make_md(fast=False))
    got, t_fast = render_all(fast, sources)
    want, t_plain = render_all(plain, sources)
    differ = [p for p in got if got[p] != want[p]]
    here = next(iter(ctx.notes.values()))
    for name, text in extra.items():  # the seeds (RSS, HTML, LaTeX, Jekyll), parsed as if they were a note
        if fast.to_html(text, fast.env_for(here)) != plain.to_html(text, plain.env_for(here)):
            differ.append(name)
    print(f"{len(got)} notes + {len(extra)} seed files from {args.vault}")
    print(f"parse, one core: fast paths {t_fast:.2f} s, markdown-it's own {t_plain:.2f} s (x{t_plain / t_fast:.2f})")
    print(f"differing HTML: {len(differ)}" + (": " + ", ".join(differ[:10]) if differ else ""))
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
