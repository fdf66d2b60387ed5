"""Highlighted code is readable: every Pygments text colour meets WCAG AA (4.5:1) on the theme's code background."""

from __future__ import annotations

import re
from pathlib import Path

from kb.emit.assets import CODE_BG_DARK, CODE_BG_LIGHT, _contrast, _rgb, pygments_css

STYLE = Path(__file__).resolve().parents[1] / "templates" / "static" / "style.css"


def test_code_backgrounds_are_the_themes() -> None:
    css = STYLE.read_text()
    assert f"--code-bg: {CODE_BG_LIGHT};" in css
    assert f"--code-bg: {CODE_BG_DARK};" in css


def test_every_highlight_colour_meets_aa() -> None:
    css = pygments_css()
    light, dark = css.split(":root[data-theme=dark]", 1)
    checked = 0
    for part, bg in ((light, CODE_BG_LIGHT), (dark, CODE_BG_DARK)):
        for line in part.split("\n"):
            if "background" in line or ".w " in line:  # own background; whitespace shows no colour
                continue
            for colour in re.findall(r"(?<![-\w])color: (#[0-9a-fA-F]{3,6})\b", line):
                checked += 1
                assert _contrast(_rgb(colour), _rgb(bg)) >= 4.5, (line, bg)
    assert checked > 100
    # Pygments' default comment colour (#3D7B7B, 4.3:1 here) is darkened, keeping its hue
    assert "#3D7B7B" not in light and "#3b7676" in light
