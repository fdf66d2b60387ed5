"""kb.toml: site settings. Every problem is reported at once, not one by one."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

BROWSER_MODELS = ("static", "full")  # the query encoder the site's search box uses
DEFAULT_IGNORE = [".obsidian/**", ".trash/**", ".git/**", ".kb-cache/**", "templates/**"]


class ConfigError(Exception):
    """kb.toml cannot be read or has invalid values; message names the file."""


@dataclass
class SearchConfig:
    enabled: bool = True
    model: str = ""  # empty: the packaged all-MiniLM-L6-v2
    pq_m: int = 0  # 0: chosen automatically from the vault size
    browser_model: str = "static"  # "full": ship the ONNX model + onnxruntime-web (kb.search.browser_model)


@dataclass
class Config:
    title: str = "My Notes"
    description: str = ""
    author: str = ""
    base_url: str = "http://localhost:8000/"  # absolute, with the path prefix
    language: str = "en"
    ignore: list[str] = field(default_factory=list)
    feed_items: int = 20
    # true: a single newline is a line break, as in Obsidian with "Strict line breaks" off;
    # false: CommonMark, where a single newline joins the lines (Obsidian's default, Hugo, Jekyll, MkDocs, Quartz);
    # None (not set): what the vault's own Obsidian settings say (line_breaks_of)
    line_breaks: bool | None = None
    # the folded "build problems" box on a note's page: for the author, not the visitors of a published
    # site, so kb serve always shows it and kb build only when asked
    problems_on_pages: bool = False
    # ```mermaid blocks drawn in the browser by mermaid, vendored from npm into static/mermaid/ (kb.emit.diagrams)
    mermaid: bool = True
    search: SearchConfig = field(default_factory=SearchConfig)
    path: Path | None = None  # the kb.toml this came from

    def __post_init__(self) -> None:
        self.base_url = normal_base_url(self.base_url)

    @property
    def prefix(self) -> str:
        """Path prefix of the site, always starting and ending with '/'."""
        from urllib.parse import urlparse

        return urlparse(self.base_url).path or "/"

    @property
    def ignore_globs(self) -> list[str]:
        return DEFAULT_IGNORE + list(self.ignore)


_OPTIONAL_BOOLS = {"line_breaks"}  # true, false, or unset (None: decided from the vault)


OBSIDIAN_APP = ".obsidian/app.json"  # the one Obsidian settings file kb reads


def line_breaks_of(config: Config, vault: Path) -> bool:
    """kb.toml's line_breaks, else the vault's Obsidian setting (obsidian_line_breaks);
    Obsidian's default (CommonMark) when app.json cannot be read."""
    if config.line_breaks is not None:
        return config.line_breaks
    try:
        return obsidian_line_breaks(vault)
    except ConfigError:
        return False


def obsidian_line_breaks(vault: Path) -> bool:
    """.obsidian/app.json writes "strictLineBreaks": false when "Strict line breaks" is turned
    off; Obsidian's default is on, so no file means False. ConfigError when the file is there
    but unreadable (kb serve and kb build report it; line_breaks_of then uses the default)."""
    path = vault / OBSIDIAN_APP
    try:
        app = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return False
    except (OSError, ValueError) as exc:  # ValueError: bad JSON or not UTF-8
        raise ConfigError(f"{path}: {exc}") from exc
    if not isinstance(app, dict):
        raise ConfigError(f"{path}: not a JSON object")
    return app.get("strictLineBreaks") is False


def _apply(obj: Any, data: dict[str, Any], where: str, problems: list[str]) -> None:
    known = {f.name: f for f in fields(obj) if f.name != "path"}
    for key, value in data.items():
        if key not in known:
            problems.append(f"{where}: unknown setting '{key}'")
            continue
        current = getattr(obj, key)
        if isinstance(current, SearchConfig):
            if isinstance(value, dict):
                _apply(current, value, f"{where} [search]", problems)
            else:
                problems.append(f"{where}: [search] must be a table")
        elif (isinstance(current, bool) or key in _OPTIONAL_BOOLS) and not isinstance(value, bool):
            problems.append(f"{where}: '{key}' must be true or false")
        elif isinstance(current, int) and not isinstance(current, bool) and not isinstance(value, int):
            problems.append(f"{where}: '{key}' must be an integer")
        elif isinstance(current, str) and not isinstance(value, str):
            problems.append(f"{where}: '{key}' must be a string")
        elif isinstance(current, list) and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            problems.append(f"{where}: '{key}' must be a list of strings")
        else:
            setattr(obj, key, value)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def normal_base_url(url: str) -> str:
    """The site's address as every page and feed writes it: the path percent-encoded
    ("/my notes/" -> "/my%20notes/") and ending with "/"."""
    from urllib.parse import quote, unquote, urlsplit, urlunsplit

    u = urlsplit(url)
    path = quote(unquote(u.path or "/"), safe="/")
    return urlunsplit((u.scheme, u.netloc, path if path.endswith("/") else path + "/", "", ""))


def load_config(path: Path | None, *, top_level: bool = False) -> Config:
    """Read kb.toml at `path` (None or missing file: defaults).

    top_level: the kb.toml of the working folder, which may also say `vault = "dir"`.
    """
    cfg = Config()
    if path is None or not path.is_file():
        return cfg
    data = _read_toml(path)
    if top_level:
        data.pop("vault", None)
    problems: list[str] = []
    _apply(cfg, data, str(path), problems)
    if cfg.search.browser_model not in BROWSER_MODELS:
        problems.append(f"{path} [search]: 'browser_model' must be one of {', '.join(map(repr, BROWSER_MODELS))}")
    if problems:
        raise ConfigError("\n".join(problems))
    cfg.base_url = normal_base_url(cfg.base_url)
    cfg.path = path
    return cfg


def find_vault(arg: str | None, cwd: Path) -> tuple[Path, Config]:
    """The vault to build: the argument, else the one ./kb.toml names, else content/."""
    if arg:
        vault = Path(arg)
        return vault.resolve(), load_config(vault / "kb.toml")
    local = cwd / "kb.toml"
    if local.is_file():
        vault_dir = _read_toml(local).get("vault")
        if isinstance(vault_dir, str):
            vault = (cwd / vault_dir).resolve()
            own = vault / "kb.toml"
            return vault, load_config(own) if own.is_file() else load_config(local, top_level=True)
        return cwd.resolve(), load_config(local, top_level=True)
    vault = cwd / "content"
    return vault.resolve(), load_config(vault / "kb.toml")
