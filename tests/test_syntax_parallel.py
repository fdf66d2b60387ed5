"""Parsing in forked workers (big vaults) gives exactly the serial result."""

from __future__ import annotations

from pathlib import Path

from conftest import write_vault

from kb.build import build
from kb.config import Config


def files_of(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()}


def test_parallel_parse_matches_serial(tmp_path, monkeypatch):
    notes = {
        f"n{i:02d}.md": f"---\ndate: 2024-01-{i % 28 + 1:02d}\ntags: [t{i % 3}]\n---\n# N{i}\n"
        f"Link [[n{(i + 1) % 30:02d}]] [[missing{i}]] #inline/t{i % 2} $x^{i}$ ^b{i}\n\n![[n{(i + 2) % 30:02d}#^b{(i + 2) % 30}]]\n"
        for i in range(30)
    }
    notes["bad.md"] = "---\ntags: [unclosed\n---\n$\\frac{$\n"
    vault = write_vault(tmp_path / "vault", notes)
    results = {}
    for jobs in ("1", "2"):
        monkeypatch.setenv("KB_JOBS", jobs)
        r = build(vault, tmp_path / f"site{jobs}", Config(base_url="https://example.org/"), embed=False)
        results[jobs] = ([d.format() for d in r.diagnostics], files_of(tmp_path / f"site{jobs}"), r)
    assert results["1"][0] == results["2"][0] and len(results["1"][0]) > 30
    assert results["1"][1] == results["2"][1]
    serial, parallel = results["1"][2].ctx.notes, results["2"][2].ctx.notes
    assert [n.tags for n in serial.values()] == [n.tags for n in parallel.values()]
    assert [[b.source for b in n.backlinks] for n in serial.values()] == [[b.source for b in n.backlinks] for n in parallel.values()]
    assert parallel["n01.md"].block_ids == ["b1"] and "inline/t1" in parallel["n01.md"].tags
