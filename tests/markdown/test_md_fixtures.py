"""Every syntax kb renders, as markdown-it fixture files: title / input / expected HTML.

Inputs are rendered by the real Renderer against the small vault in mdvault.py,
so links, embeds and attachments resolve as in a build.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from markdown_it.utils import read_fixture_file

sys.path.insert(0, str(Path(__file__).parent))
from mdvault import make_renderer, render  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
CASES = [
    pytest.param(inp, expected, id=f"{f.stem}:{line}:{title}")
    for f in sorted(FIXTURES.glob("*.md"))
    for line, title, inp, expected in read_fixture_file(f)
]
RENDERER = make_renderer()


@pytest.mark.parametrize(("source", "expected"), CASES)
def test_fixture(source: str, expected: str) -> None:
    html, _ = render(RENDERER, source)
    assert html.rstrip() == expected.rstrip()


def test_every_syntax_has_fixtures() -> None:
    names = {f.stem for f in FIXTURES.glob("*.md")}
    assert {"highlights", "comments", "callouts", "blockids", "math", "wikilinks", "tags", "images", "embeds", "misc"} <= names
