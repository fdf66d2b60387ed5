"""Theme static files, Pygments CSS and the attachments notes reference."""

from __future__ import annotations

import shutil

from pygments.formatters import HtmlFormatter

from kb.emit.common import write
from kb.model import BuildContext
from kb.theme import theme_dirs


def pygments_css() -> str:
    light = HtmlFormatter(style="default").get_style_defs(".highlight")
    dark = HtmlFormatter(style="monokai").get_style_defs(":root[data-theme=dark] .highlight")
    # without JavaScript there is no data-theme: follow the system setting
    system = HtmlFormatter(style="monokai").get_style_defs(":root:not([data-theme]) .highlight")
    return f"{light}\n{dark}\n@media (prefers-color-scheme: dark) {{\n{system}\n}}\n"


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
    for rel in sorted(ctx.attachments):
        src = ctx.vault / rel
        dest = ctx.out / rel
        if src.is_file():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
            written.append(rel)
    return written
