"""Bench `kb serve` on a copy of obsidian-hub (prints numbers; asserts nothing).

  python bench/serve_bench.py [VAULT] [--edits 20]

Measures, with a real `python -m kb serve --no-embed` process and a real
Server-Sent-Events client:
  * start -> first page served (cold: no previous site; warm: previous site on disk)
  * start -> fresh build served (the reload-all event)
  * save of one note -> its page rewritten on disk and the reload event received,
    median over N different notes, and for the note with the most backlinks
The vault is copied to a temp folder first; the original is never touched.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HUB = next((d / "shared" / "corpora" / "obsidian-hub" for d in ROOT.parents if (d / "shared" / "corpora").is_dir()), Path("obsidian-hub"))
sys.path.insert(0, str(ROOT))

from kb.config import load_config  # noqa: E402
from kb.load import walk  # noqa: E402
from kb.model import BuildContext  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Events(threading.Thread):
    """Reads /__kb/events and timestamps every event as it arrives."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port, self.got, self.cond = port, [], threading.Condition()

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port)
        conn.request("GET", "/__kb/events")
        r = conn.getresponse()
        event = ""
        while True:
            line = r.fp.readline()
            if not line:
                return
            line = line.decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                with self.cond:
                    self.got.append((time.perf_counter(), event, json.loads(line[6:])))
                    self.cond.notify_all()

    def wait(self, pred, since: int, timeout: float = 30.0):  # type: ignore[no-untyped-def]
        end = time.perf_counter() + timeout
        with self.cond:
            while time.perf_counter() < end:
                for item in self.got[since:]:
                    if pred(item):
                        return item
                self.cond.wait(0.05)
        return None


def get(port: int, path: str) -> int:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", path)
        status = conn.getresponse().status
        conn.close()
        return status
    except OSError:
        return 0


def start(vault: Path, out: Path, port: int, note_url: str) -> tuple[subprocess.Popen, float, float, float]:
    """-> (process, seconds to first 200 of the home page, of a note page, to the fresh build)."""
    t0 = time.perf_counter()
    log = open(out.parent / f"serve-{port}.log", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kb", "serve", str(vault), "--out", str(out), "--port", str(port), "--no-embed"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )
    first = None
    while first is None:
        if get(port, "/") == 200:
            first = time.perf_counter() - t0
        else:
            time.sleep(0.02)
    while get(port, note_url) != 200:
        time.sleep(0.02)
    note = time.perf_counter() - t0
    ev = Events(port)
    ev.start()
    ready = None
    while ready is None:  # the first build's end: "built ..." in the log (reload-all may precede our client)
        if "built " in (out.parent / f"serve-{port}.log").read_text():
            ready = time.perf_counter() - t0
        time.sleep(0.02)
    proc.events = ev  # type: ignore[attr-defined]
    return proc, first, note, ready


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=20)


def edit_once(vault: Path, out: Path, ev: Events, rel: str, url: str, n: int) -> float | None:
    marker = f"bench-edit-{n}-{time.time_ns()}"
    p = vault / rel
    text = p.read_text(encoding="utf-8", errors="replace")
    since = len(ev.got)
    t0 = time.perf_counter()
    tmp = p.with_name(f".{p.name}.bench")
    tmp.write_text(text + f"\n\n{marker}\n", encoding="utf-8")
    os.replace(tmp, p)  # an atomic save, as editors do
    hit = ev.wait(lambda e: e[1] == "reload" and url in e[2].get("urls", []), since)
    if hit is None:
        return None
    page = out / (url.strip("/") + "/index.html" if url.strip("/") else "index.html")
    if marker not in page.read_text(encoding="utf-8"):
        print(f"  !! {rel}: reload sent but page lacks the edit")
        return None
    return hit[0] - t0


def timed(ev: Events, action, url: str) -> float | None:  # type: ignore[no-untyped-def]
    since = len(ev.got)
    t0 = time.perf_counter()
    action()
    hit = ev.wait(lambda e: e[1] == "reload" and url in e[2].get("urls", []), since)
    return None if hit is None else hit[0] - t0


def structural(vault: Path, ev: Events, ctx: BuildContext) -> None:
    """New note, rename, delete: the name index changes, so every link is re-resolved."""
    from kb.paths import path_slug

    rel = sorted(p for p, n in ctx.notes.items() if n.backlinks)[len(ctx.notes) // 3]
    new_rel = rel[:-3] + " renamed.md"
    ms = []
    t = timed(ev, lambda: (vault / "bench new note.md").write_text("# New\n[[" + rel[:-3] + "]]\n", encoding="utf-8"), "/bench-new-note/")
    ms.append(("new note", t))
    time.sleep(0.3)
    t = timed(ev, lambda: os.replace(vault / rel, vault / new_rel), "/" + path_slug(new_rel) + "/")
    ms.append((f"rename ({len(ctx.notes[rel].backlinks)} backlinks)", t))
    time.sleep(0.3)
    t = timed(ev, lambda: (vault / new_rel).unlink(), "/" + path_slug(new_rel) + "/")
    ms.append(("delete", t))
    print("structural edits (save -> reload event):", ", ".join(f"{k} {v * 1000:.0f} ms" if v else f"{k} (no reload seen)" for k, v in ms))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("vault", nargs="?", default=str(HUB))
    ap.add_argument("--edits", type=int, default=20)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kb-serve-bench-"))
    vault, out = work / "vault", work / "site"
    shutil.copytree(args.vault, vault)
    notes, _ = walk(vault, load_config(vault / "kb.toml").ignore_globs)
    print(f"vault: {args.vault} ({len(notes)} notes), copy in {work}")

    from kb.load import read_note

    start_note = "00 - Start here.md" if (vault / "00 - Start here.md").is_file() else notes[0]
    note_url = "/" + read_note(vault, start_note)[0].url  # type: ignore[union-attr]
    proc, first, note, ready = start(vault, out, free_port(), note_url)
    print(f"cold start (no previous site): home served {first:.2f} s, note page {note:.2f} s (previews), full build served {ready:.2f} s")
    stop(proc)
    port = free_port()
    proc, first, note, ready = start(vault, out, port, note_url)
    print(f"warm start (previous site on disk): home served {first:.2f} s, note page {note:.2f} s, fresh build served {ready:.2f} s")
    ev: Events = proc.events  # type: ignore[attr-defined]
    time.sleep(0.5)

    from kb.build import build
    from kb.config import Config

    ctx: BuildContext = build(vault, work / "scratch", Config(), embed=False).ctx  # for URLs and backlink counts
    shutil.rmtree(work / "scratch", ignore_errors=True)
    paths = [p for p in sorted(ctx.notes) if not ctx.notes[p].backlinks or len(ctx.notes[p].backlinks) < 50]
    step = max(1, len(paths) // args.edits)
    chosen = paths[::step][: args.edits]
    times = []
    for i, rel in enumerate(chosen):
        t = edit_once(vault, out, ev, rel, "/" + ctx.notes[rel].url, i)
        if t is None:
            print(f"  no reload for {rel}")
            continue
        times.append(t)
        time.sleep(0.15)
    print(f"edit -> page on disk + reload event: median {statistics.median(times) * 1000:.0f} ms, "
          f"min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f} over {len(times)} notes (includes 50 ms debounce)")
    hub = max(ctx.notes.values(), key=lambda n: len(n.backlinks))
    ht = [edit_once(vault, out, ev, hub.path, "/" + hub.url, 100 + i) for i in range(5)]
    ht = [t for t in ht if t is not None]
    if ht:
        print(f"note with most backlinks ({hub.path}, {len(hub.backlinks)} backlinks, {len(hub.links)} links): "
              f"median {statistics.median(ht) * 1000:.0f} ms over {len(ht)} edits")
    hubout = max(ctx.notes.values(), key=lambda n: len(n.links))
    ht = [edit_once(vault, out, ev, hubout.path, "/" + hubout.url, 200 + i) for i in range(3)]
    ht = [t for t in ht if t is not None]
    if ht:
        print(f"note with most links ({hubout.path}, {len(hubout.links)} links): median {statistics.median(ht) * 1000:.0f} ms")
    structural(vault, ev, ctx)
    stop(proc)
    log = (work / f"serve-{port}.log").read_text()
    rebuilt = [line for line in log.splitlines() if line.startswith("rebuilt ")]
    print("server log, last rebuilds:", *rebuilt[-4:], sep="\n  ")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
