"""The full model in the browser (`[search] browser_model = "full"`): sizes, Chromium latency, quality.

    python bench/browser_model.py [--vault ../shared/corpora/obsidian-hub] [--work /tmp/kb-bench-fullmodel]
                                  [--seed-cache DIR] [--queries bench/queries.json]

Builds the vault (copied to --work; its .kb-cache keeps embeddings and the ONNX export between runs;
--seed-cache copies another vault's .kb-cache in first) with browser_model = "full", then prints:
  - sizes of search/model/: the ONNX model and the onnxruntime-web runtime, raw and gzip
  - ONNX vs torch float32 query vectors (cosine, mean/min) for the int8 file, Python onnxruntime
  - headless Chromium, served from localhost (so no network time): cold load of the model (first focus ->
    ready, fresh profile), the first query once loaded, then per-query encode and whole-search latency
  - hit@10 / MRR@10 at note level on the labeled queries for: the browser with the full model,
    Python onnxruntime with the same ONNX file (what `kb search --full-model` runs on such a site), the
    same model in torch (what it runs on a site without a shipped model), `kb search` (default static
    encoder); and how often the browser's top note equals each Python one's
"""

from __future__ import annotations

import argparse
import functools
import json
import shutil
import statistics
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kb.build import build  # noqa: E402
from kb.config import Config, SearchConfig  # noqa: E402
from kb.search import browser_model as bm  # noqa: E402
from kb.search.embed import load_embedder, packaged_model_path  # noqa: E402
from kb.search.query import SiteIndex  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from search_quality import HUB, metrics  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def sizes(site: Path) -> None:
    model_dir = site / "search" / "model"
    entry = json.loads((site / "search" / "manifest.json").read_text())["browser_model"]
    print(f"model: {entry['precision']} ONNX, onnxruntime-web {entry['runtime_version']}")
    total_raw = total_gz = 0
    for f in sorted(model_dir.iterdir()):
        data = f.read_bytes()
        gz = bm.gzip_size(data)
        total_raw, total_gz = total_raw + len(data), total_gz + gz
        print(f"  {f.name:<32}{len(data) / 1e6:>8.2f} MB raw{gz / 1e6:>8.2f} MB gzip")
    print(f"  {'all of search/model/':<32}{total_raw / 1e6:>8.2f} MB raw{total_gz / 1e6:>8.2f} MB gzip")


def browser_runs(site: Path, queries: list[str]) -> dict:
    from playwright.sync_api import sync_playwright

    srv = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{srv.server_address[1]}/"
    out: dict = {}
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=ARGS)
            loads = []
            for _ in range(3):  # a fresh context each time: nothing in the HTTP cache
                ctx = b.new_context()
                page = ctx.new_page()
                page.goto(url)
                t = time.perf_counter()
                page.click("#search-input")
                page.wait_for_function("kbSearch.site.modelState === 'ready' || kbSearch.site.modelState === 'failed'",
                                       timeout=300000, polling=20)
                loads.append((time.perf_counter() - t) * 1000)
                if page.evaluate("kbSearch.site.modelState") != "ready":
                    raise SystemExit("the model did not load: " + page.evaluate("kbSearch.site.modelError"))
                first = page.evaluate("""q => { const t = performance.now();
                    return kbSearch.site.search(q, 10).then(() => performance.now() - t); }""", queries[0])
                out.setdefault("first", []).append(first)
                ctx.close()
            out["load"] = loads
            page = b.new_page()
            page.goto(url)
            page.click("#search-input")
            page.wait_for_function("kbSearch.site.modelState === 'ready'", timeout=300000)
            page.evaluate("q => kbSearch.site.search(q, 10)", queries[0])  # warm-up
            res = page.evaluate("""async qs => {
                const out = [];
                for (const q of qs) {
                  const t0 = performance.now();
                  const v = await kbSearch.site.fullModel.encode(q);
                  const t1 = performance.now();
                  const r = await kbSearch.site.search(q, 10);
                  const t2 = performance.now();
                  out.push({encode: t1 - t0, search: t2 - t1, paths: r.map(x => x.path), vec: Array.from(v)});
                }
                return out;
            }""", queries)
            out["queries"] = res
            out["static"] = page.evaluate("""async qs => {  // the same queries with the static encoder
                const fm = kbSearch.site.fullModel, out = [];
                kbSearch.site.fullModel = null;
                for (const q of qs) {
                  const t0 = performance.now();
                  await kbSearch.site.search(q, 10);
                  out.push(performance.now() - t0);
                }
                kbSearch.site.fullModel = fm;
                return out;
            }""", queries)
            b.close()
    finally:
        srv.shutdown()
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vault", default=HUB)
    ap.add_argument("--queries", default=str(ROOT / "bench" / "queries.json"))
    ap.add_argument("--work", default="/tmp/kb-bench-fullmodel")
    ap.add_argument("--seed-cache", default="", help="copy this .kb-cache into the work vault first (saves embedding)")
    ap.add_argument("--no-build", action="store_true", help="use the site already in --work")
    args = ap.parse_args()
    labeled = json.loads(Path(args.queries).read_text())
    qtexts = [q["query"] for q in labeled]
    relevant = [set(q["relevant"]) for q in labeled]
    work = Path(args.work)
    vault, site = work / "vault", work / "site"
    if not args.no_build:
        if vault.exists():
            for p in vault.iterdir():
                if p.name != ".kb-cache":
                    shutil.rmtree(p) if p.is_dir() else p.unlink()
        shutil.copytree(args.vault, vault, dirs_exist_ok=True)
        if args.seed_cache and not (vault / ".kb-cache").exists():
            shutil.copytree(args.seed_cache, vault / ".kb-cache")
        t = time.perf_counter()
        res = build(vault, site, Config(search=SearchConfig(browser_model="full")))
        print(f"build: {time.perf_counter() - t:.1f} s, {len(res.ctx.notes)} notes")
    sizes(site)

    index = SiteIndex(site)
    entry = index.manifest["browser_model"]
    onnx_file = site / "search" / entry["model"]
    ids = [[entry["cls"], *index.token_ids(q)[: entry["max_tokens"] - 2], entry["sep"]] for q in qtexts]
    ref, ref_ids = bm.reference_vectors(packaged_model_path(), qtexts)
    same_ids = sum(a == b for a, b in zip(ids, ref_ids, strict=True))
    t = time.perf_counter()
    ovecs = bm.onnx_encode(onnx_file, ids)
    py_ms = (time.perf_counter() - t) * 1000 / len(ids)
    cos = (ovecs * ref).sum(1)
    print(f"\nONNX ({entry['precision']}, Python onnxruntime) vs torch float32, {len(qtexts)} queries: "
          f"cosine mean {cos.mean():.4f}, min {cos.min():.4f}; {py_ms:.1f} ms/query; "
          f"tokens identical to the HF tokenizer for {same_ids}/{len(ids)}")

    br = browser_runs(site, qtexts)
    bvecs = np.array([r["vec"] for r in br["queries"]])
    enc = [r["encode"] for r in br["queries"]]
    srch = [r["search"] for r in br["queries"]]
    print("\nChromium (headless, localhost, 1 wasm thread):")
    print(f"  cold load, first focus -> model ready: {' / '.join(f'{x:.0f}' for x in br['load'])} ms (3 fresh profiles)")
    print(f"  first query once loaded (encode + search): {' / '.join(f'{x:.0f}' for x in br['first'])} ms")
    print(f"  per query, loaded: encode median {statistics.median(enc):.1f} ms (p90 {np.percentile(enc, 90):.1f}), "
          f"whole search median {statistics.median(srch):.1f} ms (p90 {np.percentile(srch, 90):.1f})")
    print(f"  static encoder, same page, same queries (index parts now cached): whole search median "
          f"{statistics.median(br['static']):.1f} ms (p90 {np.percentile(br['static'], 90):.1f})")
    rot = np.stack([index.rotate(v) for v in ovecs])
    bc = (bvecs * rot).sum(1)
    print(f"  browser vs Python onnxruntime query vectors (rotated): cosine mean {bc.mean():.5f}, min {bc.min():.5f}")

    embedder = load_embedder("")
    tvecs = embedder.encode(qtexts)
    runs: dict[str, list[list[str]]] = {
        "browser full": [r["paths"] for r in br["queries"]],
        "kb --full-model": [[r.path for r in index.search(q, vector=v)] for q, v in zip(qtexts, rot, strict=True)],
        "torch model": [[r.path for r in index.search(q, vector=index.rotate(v))] for q, v in zip(qtexts, tvecs, strict=True)],
        "kb default": [[r.path for r in index.search(q)] for q in qtexts],
    }
    print(f"\n{len(qtexts)} labeled queries, note level (all fused with BM25 as the site does)")
    print(f"{'query encoder':<18}{'hit@10':>8}{'MRR@10':>8}")
    for name, ranked in runs.items():
        h, mrr = metrics(ranked, relevant)
        print(f"{name:<18}{h:>8.3f}{mrr:>8.3f}")
    for name in ("kb --full-model", "torch model"):
        other = runs[name]
        top1 = sum(a[:1] == b[:1] for a, b in zip(runs["browser full"], other, strict=True))
        overlap = np.mean([len(set(a[:10]) & set(b[:10])) / max(len(b[:10]), 1) for a, b in zip(runs["browser full"], other, strict=True)])
        same = sum(a == b for a, b in zip(runs["browser full"], other, strict=True))
        print(f"browser vs {name}: same top note {top1}/{len(qtexts)}, top-10 overlap {overlap:.3f}, identical top 10 {same}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
