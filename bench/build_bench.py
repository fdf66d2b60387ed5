"""Cold-build benchmark on obsidian-hub: kb vs Hugo on the same notes, in one run.

Prints kb's wall time, notes/s, peak RSS, the problems it reported, and its time
as a ratio to Hugo's (machines here are noisy; the ratio is the number to watch).
Hugo gets the same markdown files with minimal layouts; notes whose frontmatter
is invalid YAML are left out of Hugo's copy, because Hugo aborts on the first one.

Usage: python bench/build_bench.py [VAULT] [--runs 3]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VAULT = ROOT.parent / "shared" / "corpora" / "obsidian-hub"
LAYOUT = "<!doctype html><html><head><title>{{ .Title }}</title></head><body><h1>{{ .Title }}</h1>%s</body></html>\n"


def run_kb(vault: Path, out: Path) -> tuple[float, float, str]:
    """One cold kb build in a fresh process -> (seconds, peak RSS MB of the largest kb process, output)."""
    # GNU time reports the peak RSS of kb and its workers alone (getrusage here would mix in Hugo's)
    t = time.perf_counter()
    timer = ["/usr/bin/time", "-f", "KB_MAXRSS_KB=%M"] if Path("/usr/bin/time").exists() else []  # Debian: apt install time
    proc = subprocess.run(
        [*timer, sys.executable, "-m", "kb", "build", str(vault), "--out", str(out), "--no-embed"],
        cwd=ROOT, capture_output=True, text=True,
    )
    secs = time.perf_counter() - t
    m = re.search(r"KB_MAXRSS_KB=(\d+)", proc.stderr)
    rss = int(m.group(1)) / 1024 if m else float("nan")
    if proc.returncode != 0:
        sys.exit(f"kb build failed:\n{proc.stderr[-2000:]}")
    return secs, rss, proc.stderr + proc.stdout


def hugo_site(vault: Path, skip: set[str], dest: Path) -> int:
    content = dest / "content"
    count = 0
    for f in sorted(vault.rglob("*.md")):
        rel = f.relative_to(vault).as_posix()
        if rel in skip or any(p.startswith(".") for p in rel.split("/")):
            continue
        target = content / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        # Hugo reads `aliases` as redirect paths; Obsidian's are names, so rename the key
        text = f.read_bytes()
        if text.startswith(b"---"):
            head, sep, rest = text[3:].partition(b"\n---")
            text = b"---" + re.sub(rb"(?m)^aliases:", b"obsidian_aliases:", head) + sep + rest
        target.write_bytes(text)
        count += 1
    layouts = dest / "layouts" / "_default"
    layouts.mkdir(parents=True)
    (layouts / "single.html").write_text(LAYOUT % "{{ .Content }}")
    listing = LAYOUT % '<ul>{{ range .Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}</ul>'
    (layouts / "list.html").write_text(listing)
    (dest / "layouts" / "index.html").write_text(listing)
    (dest / "hugo.toml").write_text('baseURL = "http://example.org/"\ntitle = "bench"\n')
    return count


def run_hugo(site: Path) -> float:
    shutil.rmtree(site / "public", ignore_errors=True)
    t = time.perf_counter()
    proc = subprocess.run(["hugo", "--quiet", "-s", str(site), "-d", str(site / "public")], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"hugo failed:\n{proc.stderr[-2000:]}")
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("vault", nargs="?", type=Path, default=DEFAULT_VAULT)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    vault: Path = args.vault
    notes = sum(1 for p in vault.rglob("*.md") if not any(s.startswith(".") for s in p.relative_to(vault).parts))
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = Path(tmp)
        kb_times, rss, log = [], 0.0, ""
        hugo_times: list[float] = []
        hsite = tmpd / "hugo"
        for i in range(args.runs):
            secs, r, log = run_kb(vault, tmpd / "site")
            kb_times.append(secs)
            rss = max(rss, r)
            if i == 0:
                bad = set(re.findall(r"^(.+?):\d+: warning\[frontmatter\]", log, re.M))
                hugo_notes = hugo_site(vault, bad, hsite)
            hugo_times.append(run_hugo(hsite))
        summary = [ln for ln in log.splitlines() if ln.startswith("built ")]
        fm = len(re.findall(r"warning\[frontmatter\]", log))
        unresolved = len(re.findall(r"warning\[unresolved-link\]", log))
        embeds = len(re.findall(r"warning\[unresolved-embed\]", log))
        built = len(list((tmpd / "site").rglob("index.html")))
    kb_s, hugo_s = statistics.median(kb_times), statistics.median(hugo_times)
    print(f"vault: {vault} ({notes} notes)")
    print(f"kb:   {summary[-1] if summary else '?'}")
    print(f"kb cold build (median of {args.runs}, fresh process, --no-embed): {kb_s:.2f} s  runs={[round(t, 2) for t in kb_times]}")
    print(f"kb notes/s: {notes / kb_s:.0f}")
    print(f"kb peak RSS (largest process): {rss:.0f} MB")
    print(f"kb reported: {fm} invalid frontmatter, {unresolved} unresolved links, {embeds} unresolved embeds")
    print(f"kb pages written (index.html files): {built}")
    print(f"hugo {hugo_notes} notes (minimal layouts; {notes - hugo_notes} with invalid frontmatter left out): "
          f"{hugo_s:.2f} s  runs={[round(t, 2) for t in hugo_times]}")
    pairs = [k / h for k, h in zip(kb_times, hugo_times, strict=True)]  # each kb run next to the Hugo run after it
    print(f"ratio kb/hugo: {kb_s / hugo_s:.2f}x  (target <= 2.0, goal 1.0); per run {[round(r, 2) for r in pairs]}, "
          f"median {statistics.median(pairs):.2f}x")


if __name__ == "__main__":
    main()
