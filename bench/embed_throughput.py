"""Embedding speed on a real vault (prints numbers; no asserts).

    python bench/embed_throughput.py [--vault ../shared/corpora/obsidian-hub] [--sample 600] [--work /tmp/kb-embed]

1. float32 sentence-transformers as it comes (its encode(), torch's default threads) vs kb's fast
   path (bfloat16 where the CPU supports it, CUDA when present), plus kb's encode loop in float32
   (to show what is not due to bf16), on the same sample of chunks, in this run, timed in
   interleaved rounds (--rounds) so a shared machine's changing load hits all alike: chunks/s,
   speed-up (wall per round, and CPU seconds), mean/min cosine to float32, and how many of each
   chunk's float32 top-10 neighbours (within the sample) are kept.
2. Rebuild after changing one note, with a warm cache: time and number of chunks re-embedded.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from kb.build import build, transform  # noqa: E402
from kb.config import Config  # noqa: E402
from kb.load import load  # noqa: E402
from kb.model import BuildContext  # noqa: E402
from kb.search.chunk import note_chunks  # noqa: E402
from kb.search.embed import MiniLM, packaged_model_path  # noqa: E402


def sample_chunks(vault: Path, n: int, count) -> tuple[list[str], list[str]]:  # noqa: ANN001
    """(texts, note paths) of n chunks drawn at random, or of all chunks for n <= 0."""
    ctx = BuildContext(vault=vault.resolve(), out=Path("/nonexistent"), config=Config())
    load(ctx)
    transform(ctx)
    chunks = [c for note in ctx.notes.values() for c in note_chunks(note, count)]
    rng = np.random.default_rng(0)
    if 0 < n < len(chunks):
        chunks = [chunks[i] for i in sorted(rng.choice(len(chunks), n, replace=False))]
    return [c.text for c in chunks], [c.path for c in chunks]


def labeled_hits(model: MiniLM, vecs: dict[str, np.ndarray], paths: list[str]) -> None:
    """hit@10 / MRR@10 of bench/queries.json over these chunk vectors (exact cosine, float32 query
    vectors): whether the faster vectors lose anything a user would see. Whole vault only."""
    from search_quality import metrics, note_top

    queries = json.loads((ROOT / "bench" / "queries.json").read_text())
    qv = model.encode([q["query"] for q in queries])
    relevant = [set(q["relevant"]) for q in queries]
    for name, v in vecs.items():
        h, mrr = metrics([note_top(v @ q, paths) for q in qv], relevant)
        print(f"labeled queries, exact search over {name} vectors: hit@10 {h:.3f} MRR@10 {mrr:.3f}")


class PlainST:
    """The baseline: sentence-transformers' own encode(), float32, torch's default thread count."""

    def __init__(self, model: MiniLM) -> None:
        self.model = model

    def encode(self, texts: list[str]) -> np.ndarray:
        torch.set_num_threads(self.model.max_threads)
        return self.model.model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)  # its default batch (32)


def interleaved(models: dict, texts: list[str], rounds: int) -> tuple[dict, dict, dict]:
    """Each round times every model on the whole sample, one after the other, so a change in the
    machine's load (other jobs on a shared box) hits all of them alike; wall and CPU seconds both."""
    for m in models.values():
        m.encode(texts[:16])  # warm-up
    wall: dict[str, list[float]] = {k: [] for k in models}
    cpu: dict[str, list[float]] = {k: [] for k in models}
    vecs: dict[str, np.ndarray] = {}
    for r in range(rounds):
        for k, m in models.items():
            t, c = time.perf_counter(), time.process_time()
            vecs[k] = m.encode(texts)
            wall[k].append(time.perf_counter() - t)
            cpu[k].append(time.process_time() - c)
        print(f"  round {r + 1}: " + ", ".join(f"{k} {len(texts) / wall[k][-1]:.1f}/s" for k in models)
              + f"  (load {os.getloadavg()[0]:.1f})", flush=True)
    return vecs, wall, cpu


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vault", default=str(next((p / "shared" / "corpora" / "obsidian-hub" for p in ROOT.parents
                                                 if (p / "shared" / "corpora" / "obsidian-hub").is_dir()), "")))
    ap.add_argument("--sample", type=int, default=600, help="chunks to embed (0: all of the vault's)")
    ap.add_argument("--work", default="/tmp/kb-embed")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--skip-rebuild", action="store_true")
    args = ap.parse_args()
    path = packaged_model_path()
    fp32 = MiniLM(path, precision="float32")
    texts, paths = sample_chunks(Path(args.vault), args.sample, fp32.count)
    fast = MiniLM(path)
    print(f"{len(texts)} chunks, device {fast.device}, {torch.get_num_threads()} threads, "
          f"load before {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    models = {"float32": PlainST(fp32), "float32+kb": fp32, fast.precision: fast}
    vecs, wall, cpu = interleaved(models, texts, args.rounds)
    ref, got = vecs["float32"], vecs[fast.precision]
    r32, rfast = len(texts) / np.sum(wall["float32"]) * args.rounds, len(texts) / np.sum(wall[fast.precision]) * args.rounds
    cpu_x = np.sum(cpu["float32"]) / np.sum(cpu[fast.precision])
    per_round = ", ".join(f"{a / b:.2f}" for a, b in zip(wall["float32"], wall[fast.precision], strict=True))
    cos = (ref * got).sum(1)
    rows = slice(0, min(len(texts), 2000))  # neighbours of at most 2,000 chunks among all: memory stays small
    nn_ref = np.argsort(-(ref[rows] @ ref.T), axis=1)[:, 1:11]
    nn_got = np.argsort(-(got[rows] @ got.T), axis=1)[:, 1:11]
    kept = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(nn_ref, nn_got, strict=True)])
    print(f"float32 (plain ST) {r32:7.1f} chunks/s")
    rkb = len(texts) / np.sum(wall["float32+kb"]) * args.rounds
    print(f"float32 + kb loop  {rkb:7.1f} chunks/s  x{rkb / (len(texts) / np.sum(wall['float32']) * args.rounds):.2f}"
          f"  (kb's encode loop and thread choice, float32: what is not bf16)  threads now {fp32.threads}/{fast.threads}")
    print(f"{fast.precision:<17} {rfast:7.1f} chunks/s  x{rfast / r32:.2f}  cosine mean {cos.mean():.5f} "
          f"min {cos.min():.5f}  top-10 kept {kept:.3f}")
    print(f"speed-up per round (wall) {per_round}; by CPU seconds x{cpu_x:.2f}")
    if args.sample <= 0:
        labeled_hits(fp32, vecs, paths)
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
