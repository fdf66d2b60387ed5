"""Jinja2 environment: the vault's templates/ override the default theme file by file."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import jinja2

import kb


def default_theme_dir() -> Path:
    """templates/ shipped inside the wheel (kb/templates), else the repository's."""
    pkg = Path(kb.__file__).parent
    for cand in (pkg / "templates", pkg.parent / "templates"):
        if (cand / "base.html").is_file():
            return cand
    raise FileNotFoundError("default theme not found (kb/templates or ./templates)")


def theme_dirs(vault: Path) -> list[Path]:
    dirs = []
    if (vault / "templates").is_dir():
        dirs.append(vault / "templates")
    dirs.append(default_theme_dir())
    return dirs


class ThemeLoader(jinja2.FileSystemLoader):
    """FileSystemLoader whose undecodable file is a template error naming the file and line (a
    UnicodeDecodeError is not one, so it failed every page one by one instead of the build)."""

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str | None, object]:
        try:
            return super().get_source(environment, template)
        except UnicodeDecodeError as exc:
            path = next((Path(d) / template for d in self.searchpath if (Path(d) / template).is_file()), Path(template))
            line = exc.object[: exc.start].count(b"\n") + 1
            raise jinja2.TemplateSyntaxError(
                f"not UTF-8 text ({exc.reason} at byte {exc.start}); save the file as UTF-8", line, template, str(path)
            ) from None


def _date(value: datetime | None, fmt: str = "%Y-%m-%d") -> str:
    return value.strftime(fmt) if value else ""


def make_env(vault: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=ThemeLoader([str(d) for d in theme_dirs(vault)]),
        autoescape=jinja2.select_autoescape(["html", "xml"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["date"] = _date
    return env
