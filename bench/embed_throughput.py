"""Embedding speed on a real vault (prints numbers; no asserts).

    python bench/embed_throughput.py [--vault ../shared/corpora/obsidian-hub] [--sample 600] [--work /tmp/kb-embed]

1. float32 sentence-transformers vs kb's fast path (bfloat16 where the CPU supports it, CUDA when
   present) on the same sample of chunks, in this run: chunks/s, speed-up, mean/min cosine to
   float32, and how many of each chunk's float32 top-10 neighbours (within the sample) are kept.
2. Rebuild after changing one note, with a warm cache: time and number of chunks re-embedded.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kb.build import build, transform  # noqa: E402
from kb.config import Config  # noqa: E402
from kb.load import load  # noqa: E402
from kb.model import BuildContext  # noqa: E402
from kb.search.chunk import note_chunks  # noqa: E402
from kb.search.embed import MiniLM, packaged_model_path  # noqa: E402


def sample_chunks(vault: Path, n: int, count) -> list[str]:  # noqa: ANN001
    ctx = BuildContext(vault=vault.resolve(), out=Path("/nonexistent"), config=Config())
    load(ctx)
    transform(ctx)
    texts = [c.text for note in ctx.notes.values() for c in note_chunks(note, count)]
    rng = np.random.default_rng(0)
    return [texts[i] for i in sorted(rng.choice(len(texts), min(n, len(texts)), replace=False))]


def timed(model: MiniLM, texts: list[str]) -> tuple[np.ndarray, float]:
    model.encode(texts[:16])  # warm-up
    t = time.perf_counter()
    v = model.encode(texts)
    return v, len(texts) / (time.perf_counter() - t)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vault", default=str(next((p / "shared" / "corpora" / "obsidian-hub" for p in ROOT.parents
                                                 if (p / "shared" / "corpora" / "obsidian-hub").is_dir()), "")))
    ap.add_argument("--sample", type=int, default=600)
    ap.add_argument("--work", default="/tmp/kb-embed")
    ap.add_argument("--skip-rebuild", action="store_true")
    args = ap.parse_args()
    path = packaged_model_path()
    fp32 = MiniLM(path, precision="float32")
    texts = sample_chunks(Path(args.vault), args.sample, fp32.count)
    ref, r32 = timed(fp32, texts)
    fast = MiniLM(path)
    got, rfast = timed(fast, texts)
    cos = (ref * got).sum(1)
    nn_ref = np.argsort(-(ref @ ref.T), axis=1)[:, 1:11]
    nn_got = np.argsort(-(got @ got.T), axis=1)[:, 1:11]
    kept = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(nn_ref, nn_got, strict=True)])
    print(f"{len(texts)} chunks, device {fast.device}")
    print(f"float32           {r32:7.1f} chunks/s")
    print(f"{fast.precision:<17} {rfast:7.1f} chunks/s  x{rfast / r32:.2f}  cosine mean {cos.mean():.5f} "
          f"min {cos.min():.5f}  top-10 kept {kept:.3f}")
    if args.skip_rebuild:
        return 0
    work = Path(args.work)
    vault = work / "vault"
    if not vault.exists():
        shutil.copytree(args.vault, vault)
    t = time.perf_counter()
    r = build(vault, work / "site", Config())
    first = time.perf_counter() - t
    print(f"build (cache as found): {first:.1f} s, embedded {r.ctx.extra['search'].embedder.calls} chunks")
    note = sorted(vault.rglob("*.md"))[len(list(vault.rglob("*.md"))) // 2]
    note.write_text(note.read_text(encoding="utf-8") + f"\n\nEdited at {time.time()}: one more paragraph.\n",
                    encoding="utf-8")
    t = time.perf_counter()
    r = build(vault, work / "site", Config())
    print(f"rebuild after changing {note.relative_to(vault)}: {time.perf_counter() - t:.1f} s, "
          f"embedded {r.ctx.extra['search'].embedder.calls} chunks of {len(r.ctx.extra['search'].chunks)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
