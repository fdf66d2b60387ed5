"""kb's in-browser search next to Pagefind on the same built site (prints numbers; no asserts).

    python bench/pagefind_compare.py [--site /tmp/kb-bench/site] [--queries bench/queries.json]
                                     [--work /tmp/kb-pagefind] [--limit N]

Needs a full kb build of obsidian-hub (with embeddings: kb's search box needs its index). By
default it copies --site (e.g. what bench/search_quality.py left in /tmp/kb-bench/site) to
--work/site, so another run rebuilding that folder cannot change the numbers mid-way; with no
site there it builds the vault itself (first build embeds ~33k chunks: slow).
Pagefind comes from npm (`npm install pagefind` into bench/.node/, git-ignored; the package
ships its binary as a platform optional dependency) and indexes the same HTML pages.

For each query a fresh browser context (cold cache) loads the site's home page, then
  kb        types the query into #search-input, waits for the result list, reads the top 10 hrefs;
  pagefind  imports /pagefind/pagefind.js (Pagefind's own JS API), runs search(), and loads
            data() for the top 10 results (URL + excerpt, what a result list shows).
The HTTP server (127.0.0.1, a thread) logs every response body: bytes raw, and gzip (the body's
own size if it is already gzip, as Pagefind's files are; else gzip.compress at level 6).
Counted: kb = everything under /search/ + static/search.js; Pagefind = everything under
/pagefind/ (JS, wasm, entry, meta, index chunks, fragments). For kb it then runs the same search 5 times
more in that page (every part already fetched: pure work) and reports the median. hit@10 is at note level: result
URLs map to vault paths through kb's own chunk metadata (search/meta/*.json).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import shutil
import subprocess
import sys
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"]
NODE = ROOT / "bench" / ".node"


class Log:
    """Response bodies served, by URL path; reset between queries."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: list[tuple[str, int, int]] = []

    def add(self, path: str, body: bytes) -> None:
        gz = len(body) if body[:2] == b"\x1f\x8b" else len(gzip.compress(body, 6))
        with self.lock:
            self.items.append((path, len(body), gz))

    def take(self) -> list[tuple[str, int, int]]:
        with self.lock:
            out, self.items = self.items, []
        return out


def serve(root: Path, log: Log) -> tuple[ThreadingHTTPServer, str]:
    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, *a: object) -> None:  # quiet
            pass

        def copyfile(self, source, outputfile) -> None:  # noqa: ANN001
            body = source.read()
            log.add(unquote(urlsplit(self.path).path), body)
            outputfile.write(body)

        def end_headers(self) -> None:
            self.send_header("Cache-Control", "no-store")
            super().end_headers()

    Handler.extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".wasm": "application/wasm",
                              ".js": "text/javascript", ".mjs": "text/javascript"}
    srv = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}/"


def site_stamp(site: Path) -> str:
    """Digest of the files that change with kb's code or index: a copy made from an older build is redone."""
    h = hashlib.sha256()
    for rel in ("search/manifest.json", "search/index.bin", "search/notes.bin", "search/enc/rows/1000.bin",
                "static/search.js"):
        f = site / rel
        h.update(rel.encode() + (f.read_bytes() if f.is_file() else b"-"))
    return h.hexdigest()


def ensure_site(args: argparse.Namespace, work: Path) -> Path:
    site = work / "site"
    src = Path(args.site)
    if (src / "search" / "manifest.json").is_file():
        stamp = work / "site-stamp.txt"
        if (site / "search" / "manifest.json").is_file() and stamp.is_file() and stamp.read_text() == site_stamp(src):
            return site
        print(f"copying {src} -> {site}", flush=True)
        shutil.rmtree(site, ignore_errors=True)
        shutil.copytree(src, site)
        stamp.write_text(site_stamp(src))
        return site
    if (site / "search" / "manifest.json").is_file():
        return site
    from kb.build import build
    from kb.config import Config

    vault = work / "vault"
    if not vault.exists():
        shutil.copytree(args.vault, vault)
    print(f"building {vault} (with embeddings) -> {site}", flush=True)
    build(vault, site, Config())
    return site


def ensure_pagefind(site: Path) -> float:
    """Index the site with Pagefind (npm); returns the seconds it took, 0 if already indexed."""
    if (site / "pagefind" / "pagefind.js").is_file():
        return 0.0
    exe = NODE / "node_modules" / ".bin" / "pagefind"
    if not exe.exists():
        NODE.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "pagefind"], cwd=NODE, check=True)
    t = time.perf_counter()
    subprocess.run([str(exe), "--site", str(site)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def url_to_path(site: Path) -> dict[str, str]:
    """Site-relative note URL ('a/b/') -> vault path, from kb's chunk metadata."""
    out: dict[str, str] = {}
    for f in (site / "search" / "meta").glob("*.json"):
        for path, url, *_ in json.loads(f.read_text(encoding="utf-8"))["notes"].values():
            out[url] = path
    return out


def note_of(href: str, base: str, urls: dict[str, str]) -> str | None:
    rel = unquote(urlsplit(href).path)
    rel = rel[len(urlsplit(base).path):] if rel.startswith(urlsplit(base).path) else rel.lstrip("/")
    rel = rel.removesuffix("index.html")
    return urls.get(rel)


KB_JS = """async q => {
  const input = document.getElementById('search-input');
  input.focus();
  input.value = q;
  input.dispatchEvent(new Event('input', {bubbles: true}));
  const list = document.getElementById('search-results');
  const t0 = performance.now();
  while (list.getAttribute('data-query') !== q) {
    if (performance.now() - t0 > 60000) throw new Error('kb: no results for ' + q);
    await new Promise(r => setTimeout(r, 20));
  }
  return Array.from(list.querySelectorAll('a')).map(a => a.getAttribute('href'));
}"""

# Once a query's parts are loaded, the same search again is pure work in the page (lookup tables, code
# scans, BM25, fusion): the "results in <= 50 ms after the index is loaded". Median of 5.
KB_WARM_JS = """async q => {
  const times = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await window.kbSearch.site.search(q, 10);
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[2];
}"""

PF_JS = """async q => {
  const pf = await import('/pagefind/pagefind.js');
  await pf.options({excerptLength: 30});
  const r = await pf.search(q);
  const top = await Promise.all(r.results.slice(0, 10).map(x => x.data()));
  return top.map(d => d.url);
}"""


def run_engine(browser, base: str, log: Log, js: str, q: str,  # noqa: ANN001
               warm_js: str = "") -> tuple[list[str], list[tuple[str, int, int]], float, float]:
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(base, wait_until="load")
    log.take()  # page load itself (HTML, CSS, theme JS) is not counted ...
    t = time.perf_counter()
    hrefs = page.evaluate(js, q)
    took = time.perf_counter() - t
    time.sleep(0.05)
    items = log.take()
    warm = page.evaluate(warm_js, q) if warm_js else 0.0
    ctx.close()
    return hrefs, items, took, warm


def metrics(ranked: list[list[str | None]], relevant: list[set[str]]) -> tuple[float, float]:
    hit = mrr = 0.0
    for got, rel in zip(ranked, relevant, strict=True):
        seen: list[str] = []
        for p in got:
            if p and p not in seen:
                seen.append(p)
        ranks = [i for i, p in enumerate(seen[:10]) if p in rel]
        hit += bool(ranks)
        mrr += 1 / (ranks[0] + 1) if ranks else 0.0
    return hit / len(ranked), mrr / len(ranked)


def main() -> int:
    ap = argparse.ArgumentParser()
    shared = next((p / "shared" / "corpora" / "obsidian-hub" for p in ROOT.parents
                   if (p / "shared" / "corpora" / "obsidian-hub").is_dir()), Path(""))
    ap.add_argument("--vault", default=str(shared))
    ap.add_argument("--site", default="/tmp/kb-bench/site")
    ap.add_argument("--queries", default=str(ROOT / "bench" / "queries.json"))
    ap.add_argument("--work", default="/tmp/kb-pagefind")
    ap.add_argument("--limit", type=int, default=0, help="only the first N queries")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    site = ensure_site(args, work)
    secs = ensure_pagefind(site)
    if secs:
        print(f"pagefind indexed the site in {secs:.1f} s")
    pf_bytes = sum(f.stat().st_size for f in (site / "pagefind").rglob("*") if f.is_file())
    kb_bytes = sum(f.stat().st_size for f in (site / "search").rglob("*") if f.is_file())
    print(f"index on disk: kb search/ {kb_bytes / 1e6:.1f} MB, pagefind/ {pf_bytes / 1e6:.1f} MB")
    queries = json.loads(Path(args.queries).read_text(encoding="utf-8"))
    if args.limit:
        queries = queries[: args.limit]
    urls = url_to_path(site)
    log = Log()
    srv, base = serve(site, log)
    from playwright.sync_api import sync_playwright

    res: dict[str, dict[str, list]] = {e: {"raw": [], "gz": [], "n": [], "ms": [], "warm": [], "ranked": []} for e in ("kb", "pf")}
    t_all = time.perf_counter()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        print(f"{'query':<52} {'kb gz kB':>8} {'raw':>6} {'req':>4} {'hit':>3}   {'pf gz kB':>8} {'raw':>6} "
              f"{'req':>4} {'hit':>3}")
        for q in queries:
            row = []
            for eng, js, warm_js, keep in (
                    ("kb", KB_JS, KB_WARM_JS, lambda u: u.startswith("/search/") or u.endswith("/search.js")),
                    ("pf", PF_JS, "", lambda u: u.startswith("/pagefind/"))):
                hrefs, items, took, warm = run_engine(browser, base, log, js, q["query"], warm_js)
                counted = [(u, r, g) for u, r, g in items if keep(u)]
                r = res[eng]
                r["raw"].append(sum(x[1] for x in counted))
                r["gz"].append(sum(x[2] for x in counted))
                r["n"].append(len(counted))
                r["ms"].append(took * 1e3)
                r["warm"].append(warm)
                r["ranked"].append([note_of(h, base, urls) for h in hrefs[:10]])
                hit = any(n in q["relevant"] for n in r["ranked"][-1])
                row.append(f"{r['gz'][-1] / 1e3:8.0f} {r['raw'][-1] / 1e3:6.0f} {len(counted):4} {'y' if hit else '-':>3}")
            print(f"{q['query'][:52]:<52} {row[0]}   {row[1]}", flush=True)
        browser.close()
    srv.shutdown()
    rel = [set(q["relevant"]) for q in queries]
    print(f"\n{len(queries)} queries in {time.perf_counter() - t_all:.0f} s; cold first query per fresh browser context")
    for eng, name in (("kb", "kb (semantic+BM25)"), ("pf", "Pagefind 1.x")):
        r = res[eng]
        h, m = metrics(r["ranked"], rel)
        unmapped = sum(x is None for lst in r["ranked"] for x in lst)
        print(f"{name:<19} gzip mean {np.mean(r['gz']) / 1e3:6.0f} kB max {max(r['gz']) / 1e3:6.0f} kB | raw mean "
              f"{np.mean(r['raw']) / 1e3:6.0f} kB max {max(r['raw']) / 1e3:6.0f} kB | requests mean "
              f"{np.mean(r['n']):.0f} | query-to-results mean {np.mean(r['ms']):.0f} ms | hit@10 {h:.3f} "
              f"MRR@10 {m:.3f} | unmapped result URLs {unmapped}")
    warm = res["kb"]["warm"]
    print(f"kb, the same query again once its parts are loaded (median of 5 in the page): mean {np.mean(warm):.1f} ms, "
          f"p95 {np.percentile(warm, 95):.1f} ms, max {max(warm):.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
