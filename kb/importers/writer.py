"""The one writer: ImportedItem -> note file in the vault, idempotently.

The note's frontmatter keeps `guid`, `source` and `import_hash` (sha256 of the
note text kb wrote, with the import_hash line left out). On re-import the
existing note is found by guid:
  same hash as the new text                -> unchanged (the feed did not change), or kept
                                              when the file was edited since (it is left as is)
  file still hashes to its import_hash     -> updated (nobody edited it)
  otherwise                                -> skipped: edited since import (--force overwrites)
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kb.importers.body import demote_headings
from kb.importers.item import ImportedItem, Report
from kb.load import parse_yaml, split_frontmatter
from kb.paths import slugify, umask

HASH_KEY = "import_hash"
_HASH_LINE = re.compile(rf"^{HASH_KEY}:[^\n]*\n", re.M)
_APOSTROPHES = re.compile(r"['’`]")
MAX_SLUG = 80


def note_text(item: ImportedItem) -> str:
    """The note file's full text, import_hash last in the frontmatter."""
    meta: dict[str, Any] = {"title": item.title}
    for key, value in (
        ("date", item.date),
        ("source", item.source_url),
        ("guid", item.guid),
        ("author", item.author),
        ("description", item.description),
        ("tags", item.tags),
        ("categories", item.original_categories),
    ):
        if value:
            meta[key] = value
    for key, value in item.extra.items():
        if key not in meta and key != HASH_KEY:
            meta[key] = value
    fm = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000)
    # demoted here, where every source kind's body is finalised: the hash below covers the note as
    # written, so a re-import compares like with like (unchanged / updated / edited since import)
    body = demote_headings(item.body_markdown, item.title)
    body = body if body.endswith("\n") else body + "\n"
    unhashed = f"---\n{fm}---\n\n{body}"
    return with_hash(unhashed)


def content_hash(text_without_hash: str) -> str:
    return "sha256:" + hashlib.sha256(text_without_hash.encode("utf-8")).hexdigest()


def with_hash(unhashed: str) -> str:
    fm_end = unhashed.index("\n---\n", 4) + 1
    return unhashed[:fm_end] + f"{HASH_KEY}: {content_hash(unhashed)}\n" + unhashed[fm_end:]


def stored_hash(text: str) -> tuple[str, str]:
    """-> (import_hash written in the file, hash of the file as it is now without that line)."""
    fm, _body, _line = split_frontmatter(text)
    if fm is None:
        return "", ""
    m = re.search(rf"^{HASH_KEY}:[ \t]*(\S+)[ \t]*$", fm, re.M)
    if not m:
        return "", ""
    return m.group(1), content_hash(_HASH_LINE.sub("", text, count=1))


def slug_for(title: str) -> str:
    """'Don't use raw embeddings' -> 'dont-use-raw-embeddings' (no path separators, bounded)."""
    text = _APOSTROPHES.sub("", unicodedata.normalize("NFKC", title))
    slug = slugify(text) or "untitled"
    if len(slug) > MAX_SLUG:
        slug = slug[:MAX_SLUG].rsplit("-", 1)[0] or slug[:MAX_SLUG]
    return slug


def guid_index(into: Path) -> dict[str, Path]:
    """guid -> note for every note kb imported before (notes with an import_hash)."""
    index: dict[str, Path] = {}
    if not into.is_dir():
        return index
    for path in sorted(into.rglob("*.md")):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if HASH_KEY not in text:
            continue
        fm, _b, _l = split_frontmatter(text.replace("\r\n", "\n"))
        if fm is None:
            continue
        meta, _diag = parse_yaml(fm, str(path))
        guid = meta.get("guid")
        if guid:
            index.setdefault(str(guid), path)
    return index


def inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def atomic_write(path: Path, text: str) -> None:
    """Replace `path` by `text` so a reader sees the old note or the new one, never half.

    mkstemp's temp file is 0600, and os.replace would hand that mode to the note: an
    imported note must get a normal file's mode (0666 less the umask), and a note being
    replaced keeps the mode the user gave it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _mode_for(path: Path) -> int:
    """The existing file's permission bits, or what open() would give a new file."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return 0o666 & ~umask()


def vault_of(into: Path) -> Path:
    """The vault `into` is part of, for naming notes in messages: `--into vault/imported` must
    report 'imported/post.md', which the user can find, not 'post.md'. The nearest folder up
    from `into` with a kb.toml (or the vault that kb.toml names); `into` itself without one."""
    from kb.config import ConfigError, find_vault

    here = into.resolve()
    for folder in (here, *here.parents):
        if (folder / "kb.toml").is_file():
            try:
                vault = find_vault(None, folder)[0]
            except ConfigError:  # a broken kb.toml still marks the vault's folder
                return folder
            return vault if inside(here, vault) else folder
    return here


@dataclass
class Writer:
    into: Path
    report: Report
    dry_run: bool = False
    force: bool = False

    def __post_init__(self) -> None:
        self.index = guid_index(self.into)
        self.taken: set[Path] = set()
        self.vault = vault_of(self.into)

    def rel(self, path: Path) -> str:
        """How messages name a note: its path in the vault."""
        return path.resolve().relative_to(self.vault).as_posix() if inside(path, self.vault) else str(path)

    def new_path(self, item: ImportedItem) -> Path:
        base = slug_for(item.title)
        n = 1
        while True:
            name = f"{base}.md" if n == 1 else f"{base}-{n}.md"
            path = self.into / name
            if path not in self.taken and not path.exists():
                break
            n += 1
        if not inside(path, self.into):  # cannot happen with slugify; checked because it must never happen
            raise ValueError(f"refusing to write outside {self.into}: {path}")
        return path

    def write(self, item: ImportedItem) -> str:
        """Save one item; returns what happened ('created', 'updated', 'unchanged', 'kept', 'skipped')."""
        text = note_text(item)
        new_hash = stored_hash(text)[0]
        existing = self.index.get(item.guid)
        if existing is not None and existing.is_file() and inside(existing, self.into):
            return self._update(item, existing, text, new_hash)
        path = self.new_path(item)
        self.taken.add(path)
        self.index[item.guid] = path
        if not self.dry_run:
            atomic_write(path, text)
        self.report.created.append(self.rel(path))
        return "created"

    def _update(self, item: ImportedItem, path: Path, text: str, new_hash: str) -> str:
        current = path.read_text(encoding="utf-8")
        recorded, actual = stored_hash(current)
        rel = self.rel(path)
        if recorded == new_hash:
            if recorded != actual:  # nothing new upstream, and the user's edit stays
                self.report.kept.append(rel)
                return "kept"
            self.report.unchanged.append(rel)
            return "unchanged"
        if recorded != actual and not self.force:
            self.report.skipped.append((rel, "skipped: edited since import"))
            return "skipped"
        if not self.dry_run:
            atomic_write(path, text)
        self.report.updated.append(rel)
        return "updated"
