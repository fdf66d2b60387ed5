"""Theme static files, Pygments CSS and the attachments notes reference."""

from __future__ import annotations

import re
import shutil

from pygments.formatters import HtmlFormatter

from kb.emit.common import write
from kb.emit.diagrams import diagram_files
from kb.model import BuildContext
from kb.theme import theme_dirs

# the theme's code backgrounds (templates/static/style.css --code-bg), which .highlight uses
CODE_BG_LIGHT, CODE_BG_DARK = "#f4f2ec", "#1d2024"
MIN_CONTRAST = 4.5  # WCAG AA for text
_COLOR = re.compile(r"(?<![-\w])color: #([0-9a-fA-F]{6}|[0-9a-fA-F]{3})\b")


def pygments_css() -> str:
    light = readable(HtmlFormatter(style="default").get_style_defs(".highlight"), CODE_BG_LIGHT)
    dark = HtmlFormatter(style="monokai").get_style_defs(":root[data-theme=dark] .highlight")
    # without JavaScript there is no data-theme: follow the system setting
    system = HtmlFormatter(style="monokai").get_style_defs(":root:not([data-theme]) .highlight")
    dark, system = readable(dark, CODE_BG_DARK), readable(system, CODE_BG_DARK)
    return f"{light}\n{dark}\n@media (prefers-color-scheme: dark) {{\n{system}\n}}\n"


def readable(css: str, background: str) -> str:
    """Every text colour of a Pygments stylesheet at MIN_CONTRAST or more against `background`:
    a colour short of it (Pygments' default has comments at 4.3:1 on the theme's code background)
    is moved towards black, or white on a dark background, in small steps, keeping its hue."""
    bg = _rgb(background)
    towards = (0.0, 0.0, 0.0) if _luminance(bg) > 0.18 else (1.0, 1.0, 1.0)

    def fix(m: re.Match[str]) -> str:
        rgb = _rgb(m.group(1))
        if _contrast(rgb, bg) >= MIN_CONTRAST:
            return m.group(0)
        for step in range(1, 51):
            # judged as written: rounded to whole 0-255 values
            c = tuple(round((x + (t - x) * step / 50) * 255) / 255 for x, t in zip(rgb, towards, strict=True))
            if _contrast(c, bg) >= MIN_CONTRAST:
                break
        return "color: #" + "".join(f"{round(x * 255):02x}" for x in c)

    # a rule with a background of its own (line numbers, errors) is read against that one
    return "\n".join(line if "background" in line else _COLOR.sub(fix, line) for line in css.split("\n"))


def _rgb(hexcolor: str) -> tuple[float, float, float]:
    h = hexcolor.lstrip("#")
    h = "".join(ch * 2 for ch in h) if len(h) == 3 else h
    return (int(h[0:2], 16) / 255, int(h[2:4], 16) / 255, int(h[4:6], 16) / 255)


def _luminance(rgb: tuple[float, ...]) -> float:
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def emit_assets(ctx: BuildContext) -> list[str]:
    written = []
    seen: set[str] = set()
    for d in theme_dirs(ctx.vault):  # vault overrides first: first one wins
        static = d / "static"
        if not static.is_dir():
            continue
        for f in sorted(static.rglob("*")):
            rel = "static/" + f.relative_to(static).as_posix()
            if f.is_file() and rel not in seen:
                seen.add(rel)
                written.append(write(ctx.out, rel, f.read_bytes()))
    written.append(write(ctx.out, "static/pygments.css", pygments_css()))
    written += [write(ctx.out, rel, data) for rel, data in diagram_files(ctx).items()]
    for rel in sorted(ctx.attachments):
        src = ctx.vault / rel
        dest = ctx.out / rel
        if src.is_file():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
            written.append(rel)
    return written
