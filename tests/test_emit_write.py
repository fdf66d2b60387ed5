"""kb.emit.common.write: in place inside a full build's fresh folder, temp file + rename elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kb.emit.common import fresh_output, write


@pytest.fixture
def renames(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The temp files write() renamed into place."""
    seen: list[str] = []
    real = os.replace

    def spy(src, dst) -> None:  # noqa: ANN001 - os.replace's own signature
        if str(src).endswith(".tmp"):
            seen.append(str(dst))
        real(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    return seen


def test_full_build_writes_in_place(make_site, renames: list[str]):
    result = make_site({"a.md": "# A\n\nsee [[b]]", "b.md": "# B"})
    assert (result.ctx.out / "a" / "index.html").is_file() and renames == []
    assert not list(result.ctx.out.rglob("*.tmp"))


def test_writes_into_a_served_site_stay_atomic(tmp_path: Path, renames: list[str]):
    write(tmp_path, "a/index.html", "old")
    with fresh_output(tmp_path / "other"):
        write(tmp_path, "a/index.html", "new")
    assert (tmp_path / "a" / "index.html").read_text() == "new"
    assert renames == [str(tmp_path / "a" / "index.html")] * 2
    with fresh_output(tmp_path):
        write(tmp_path, "b/c/index.html", "in place")
    write(tmp_path, "d.html", "after the block")
    assert len(renames) == 3 and (tmp_path / "b" / "c" / "index.html").read_text() == "in place"


def test_build_process_flushes_its_report_and_keeps_its_exit_status(tmp_path: Path):
    """`kb build` as its own process skips interpreter teardown (kb.cli.main): nothing printed is lost."""
    import subprocess
    import sys

    vault = tmp_path / "v"
    vault.mkdir()
    (vault / "a.md").write_text("---\ntitle: [\n---\nsee [[nowhere]]\n", encoding="utf-8")
    root = Path(__file__).resolve().parents[1]
    cmd = [sys.executable, "-m", "kb", "build", str(vault), "--out", str(tmp_path / "site"), "--no-embed", "--strict"]
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    assert proc.returncode == 1
    assert "a.md:3: warning[frontmatter]" in proc.stderr
    assert "a.md:4: warning[unresolved-link]" in proc.stderr and "--strict: 2 warnings" in proc.stderr
    assert proc.stdout.startswith("built 1 note, ") and (tmp_path / "site" / "a" / "index.html").is_file()


def test_unchanged_bytes_are_not_rewritten(tmp_path: Path, renames: list[str]):
    write(tmp_path, "a.html", "same")
    before = os.stat(tmp_path / "a.html").st_ino
    write(tmp_path, "a.html", "same")
    assert os.stat(tmp_path / "a.html").st_ino == before and len(renames) == 1
    write(tmp_path, "a.html", "sAme")
    assert (tmp_path / "a.html").read_text() == "sAme" and len(renames) == 2


def test_linked_files_are_kept_when_unchanged_and_the_old_ones_never_touched(tmp_path: Path):
    from kb.emit.common import link_unchanged_candidates

    old, new = tmp_path / "old", tmp_path / "new"
    write(old, "model/big.onnx", b"\x00" * 1000)
    write(old, "model/ort.wasm", b"wasm v1")
    link_unchanged_candidates(old / "model", new / "model")
    write(new, "model/big.onnx", b"\x00" * 1000)
    write(new, "model/ort.wasm", b"wasm v2")
    assert os.stat(new / "model/big.onnx").st_ino == os.stat(old / "model/big.onnx").st_ino
    assert (new / "model/ort.wasm").read_bytes() == b"wasm v2"
    assert (old / "model/ort.wasm").read_bytes() == b"wasm v1"  # what visitors are being served
