"""Load stage: vault files -> Note records (frontmatter parsed, nothing rendered yet)."""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from kb.model import BuildContext, Diagnostic, Note
from kb.parallel import fork_map
from kb.paths import clean_permalink, path_slug
from kb.plaintext import heading_text

try:  # the C loader is several times faster on big vaults
    _Base: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _Base = yaml.SafeLoader


class FrontmatterLoader(_Base):  # type: ignore[misc,valid-type]
    """The safe loader, except that a timestamp no calendar has (`date: 2023-02-29`) stays text,
    which make_note reports, instead of a ValueError that PyYAML raises from the whole document."""


def _timestamp(loader: Any, node: yaml.Node) -> Any:
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


FrontmatterLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)  # on the subclass only

NOTE_EXT = ".md"
_FM_END = re.compile(r"^(?:---|\.\.\.)[ \t]*$", re.M)
_FIRST_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.M)
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)


def ignored(rel: str, globs: list[str]) -> bool:
    if any(part.startswith(".") for part in rel.split("/")):
        return True
    return any(fnmatch.fnmatch(rel, g) or fnmatch.fnmatch(rel + "/", g) for g in globs)


def output_globs(vault: Path, out: Path | None) -> list[str]:
    """An output folder inside the vault (`kb build --out site` run in the vault) is not vault content."""
    if out is None:
        return []
    try:
        rel = out.resolve().relative_to(vault.resolve()).as_posix()
    except ValueError:
        return []
    return [rel + "/**"] if rel != "." else []


def walk(vault: Path, globs: list[str]) -> tuple[list[str], list[str]]:
    """Vault-relative POSIX paths of notes and of other files, sorted, ignores applied."""
    notes: list[str] = []
    files: list[str] = []
    for root, dirs, names in os.walk(vault):
        rel_root = os.path.relpath(root, vault).replace(os.sep, "/")
        rel_root = "" if rel_root == "." else rel_root + "/"
        dirs[:] = sorted(d for d in dirs if not ignored(rel_root + d, globs))
        for name in names:
            rel = rel_root + name
            if ignored(rel, globs) or name == "kb.toml":
                continue
            (notes if name.lower().endswith(NOTE_EXT) else files).append(rel)
    return sorted(notes), sorted(files)


def split_frontmatter(text: str) -> tuple[str | None, str, int]:
    """-> (yaml text or None, body, 1-based line on which the body starts)."""
    if not text.startswith("---"):
        return None, text, 1
    first_nl = text.find("\n")
    if first_nl == -1 or text[:first_nl].strip() != "---":
        return None, text, 1
    m = _FM_END.search(text, first_nl + 1)
    if not m:
        return None, text, 1
    fm = text[first_nl + 1 : m.start()]
    end = m.end()
    if end < len(text) and text[end] == "\n":
        end += 1
    return fm, text[end:], text[:end].count("\n") + 1


_YAML_CONTEXT = {  # PyYAML's context -> what the user wrote on the line the message points at
    "while parsing a flow sequence": "the [ list on this line is not closed",
    "while parsing a flow mapping": "the { mapping on this line is not closed",
    "while scanning a quoted scalar": "the quoted text on this line is not closed",
    "while scanning a simple key": "this line is no 'key: value'",
    "while parsing a block collection": "the list on this line",
    "while parsing a block mapping": "the properties from this line",
}


def parse_yaml(fm: str, rel: str) -> tuple[dict[str, Any], Diagnostic | None]:
    try:
        data = yaml.load(fm, Loader=FrontmatterLoader)
    except yaml.YAMLError as exc:
        # an unclosed [ or quote is noticed lines later (problem_mark): the construct left open
        # (context_mark) is where the mistake is, so point there when there is one
        mark = getattr(exc, "context_mark", None) or getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1  # +1 for '---', +1 for 0-based
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if getattr(exc, "context", None) and getattr(exc, "context_mark", None) is not None:
            # PyYAML's "while parsing a flow sequence" is its grammar's name for what the user wrote
            problem = f"{_YAML_CONTEXT.get(exc.context, exc.context)}: {problem}"
        return {}, Diagnostic(rel, line, "warning", "frontmatter", f"invalid YAML frontmatter: {problem}; properties ignored")
    if data is None:
        return {}, None
    if not isinstance(data, dict):
        return {}, Diagnostic(rel, 2, "warning", "frontmatter", "frontmatter is not a mapping; properties ignored")
    return {str(k): v for k, v in data.items()}, None


def as_list(value: Any, spaces: bool = True) -> list[str]:
    """Frontmatter lists may be written as a list, a comma string or (tags: `spaces`) a space string.
    An alias may hold spaces, so `aliases: my other name` is one alias, as Obsidian reads it.
    A list in a list (`tags: [[foo]]`, a wikilink left unquoted) gives its items; a mapping gives nothing
    (its Python repr is no tag or alias)."""
    if value is None or isinstance(value, dict):
        return []
    if isinstance(value, (list, tuple)):
        out: list[str] = []
        for v in value:
            if isinstance(v, (list, tuple)):
                out += as_list(v, spaces)
            elif v is not None and not isinstance(v, dict) and str(v).strip():
                out.append(str(v).strip())
        return out
    text = str(value)
    parts = text.split(",") if "," in text or not spaces else text.split()
    return [p.strip() for p in parts if p.strip()]


def normalize_tag(tag: str) -> str:
    """'#Project/Alpha ' -> 'project/alpha'. Tags are case-insensitive in Obsidian."""
    tag = tag.strip().lstrip("#").strip().lower()
    tag = re.sub(r"\s+", "-", tag)
    return "/".join(p for p in tag.split("/") if p)


def parse_date(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip().replace("Z", "+00:00")
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt


def date_property(meta: dict[str, Any], keys: tuple[str, ...], fm: str | None, rel: str, diags: list[Diagnostic]) -> datetime | None:
    """The first of `keys` that is set, as a date; one that is no date is reported (at its line)
    rather than dropped in silence, and the note goes without it."""
    key = next((k for k in keys if meta.get(k) not in (None, "")), None)
    if key is None:
        return None
    value = parse_date(meta[key])
    if value is None:
        line = next((i + 2 for i, ln in enumerate((fm or "").split("\n")) if re.match(rf"{re.escape(key)}\s*:", ln)), 2)
        text = str(meta[key]).strip()
        why = "is no day of the calendar" if re.fullmatch(r"\d{4}-\d\d?-\d\d?", text) else "is not a date (write YYYY-MM-DD)"
        diags.append(Diagnostic(rel, line, "warning", "frontmatter", f"{key}: {text!r} {why}; the note goes without it"))
    return value


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1")
    return bool(value)


def first_h1(body: str) -> str:
    """The note's leading H1: the first heading, if it is level 1 and near the top.

    An H1 further down (after other headings or several paragraphs) is a section,
    not the title; e.g. a footer "# This note in GitHub" under the content.
    """
    text = _FENCE.sub("", body)
    m = _FIRST_HEADING.search(text)
    if not m or m.group(1) != "#":
        return ""
    if len([ln for ln in text[: m.start()].split("\n") if ln.strip()]) > 3:
        return ""
    return heading_text(m.group(2))  # "# About [[dataview|Dataview]]" -> "About Dataview"


def decode(raw: bytes, rel: str) -> tuple[str, Diagnostic | None]:
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        diag = Diagnostic(rel, line, "warning", "encoding", f"not valid UTF-8 (byte {exc.start}); undecodable bytes replaced")
        return raw.decode("utf-8", errors="replace"), diag


def make_note(rel: str, raw: bytes) -> tuple[Note, list[Diagnostic]]:
    """One file's bytes -> Note. Never raises on bad content: problems become diagnostics."""
    diags: list[Diagnostic] = []
    text, d = decode(raw, rel)
    if d:
        diags.append(d)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    fm, body, body_line = split_frontmatter(text)
    meta: dict[str, Any] = {}
    if fm is not None:
        meta, d = parse_yaml(fm, rel)
        if d:
            diags.append(d)
    title = str(meta.get("title") or "").strip() or first_h1(body) or Path(rel).stem
    slug_value = meta.get("permalink") or meta.get("slug")
    slug = clean_permalink(str(slug_value)) if slug_value else path_slug(rel)
    draft = _truthy(meta.get("draft", False)) or ("publish" in meta and not _truthy(meta["publish"]))
    note = Note(
        path=rel,
        source=body,
        body_line=body_line,
        meta=meta,
        title=title,
        slug=slug,
        aliases=as_list(meta.get("aliases") or meta.get("alias"), spaces=False),
        date=date_property(meta, ("date", "created"), fm, rel, diags),
        updated=date_property(meta, ("updated", "modified", "lastmod"), fm, rel, diags),
        draft=draft,
        digest=hashlib.sha256(raw).hexdigest(),
        description=str(meta.get("description") or meta.get("summary") or "").strip(),
    )
    # a tag needs a non-digit, as inline (`#1984` is not a tag in Obsidian, in frontmatter either)
    note.tags = [t for t in (normalize_tag(t) for t in as_list(meta.get("tags") or meta.get("tag"))) if t and not t.isdigit()]
    return note, diags


def read_note(vault: Path, rel: str) -> tuple[Note | None, list[Diagnostic]]:
    try:
        raw = (vault / rel).read_bytes()
    except OSError as exc:
        return None, [Diagnostic(rel, 0, "error", "read", f"cannot read: {exc.strerror}")]
    return make_note(rel, raw)


def load(ctx: BuildContext) -> None:
    """Fill ctx.notes (drafts included; the publish step drops them) and list other files."""
    note_paths, files = walk(ctx.vault, ctx.config.ignore_globs + output_globs(ctx.vault, ctx.extra.get("site_dir")))
    vault = ctx.vault

    def job(rels: list[str]) -> list[tuple[str, Note | None, list[Diagnostic]]]:
        return [(rel, *read_note(vault, rel)) for rel in rels]

    for part in fork_map(job, note_paths):  # YAML and title scans on every core for big vaults
        for rel, note, diags in part:
            ctx.diagnostics.extend(diags)
            if note is not None:
                ctx.notes[rel] = note
    ctx.extra["files"] = files
