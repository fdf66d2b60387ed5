"""Shared fixtures: tiny vaults written from dicts, and a build helper."""

from __future__ import annotations

from pathlib import Path

import pytest

from kb.build import BuildResult, build
from kb.config import Config

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"


def write_vault(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")
    return root


@pytest.fixture
def make_site(tmp_path: Path):
    """make_site({'a.md': '...'}) -> BuildResult of that vault built into tmp_path/site."""

    def _make(files: dict[str, str | bytes], config: Config | None = None, embed: bool = False) -> BuildResult:
        vault = write_vault(tmp_path / "vault", files)
        return build(vault, tmp_path / "site", config or Config(base_url="https://example.org/"), embed=embed)

    return _make
