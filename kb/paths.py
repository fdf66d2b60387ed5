"""Slugs, URLs and Obsidian link resolution: the one place where names become paths."""

from __future__ import annotations

import os
import posixpath
import re
import unicodedata
from collections import defaultdict
from urllib.parse import unquote

_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)


def _read_umask() -> int:
    # the only way to read the umask is to set it; set it back at once
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# read once, at import (in the main thread): setting it later, even for an instant, would change the
# mode of files that kb serve's other threads (the search refresh) create in that instant
_UMASK = _read_umask()


def umask() -> int:
    """The process's umask, for files and folders kb creates with a fixed mode (mkstemp's
    0600, mkdtemp's 0700) that must end up as open() and mkdir() would make them."""
    return _UMASK


def slugify(text: str) -> str:
    """'05 - Concepts' -> '05-concepts'; keeps letters of any script, drops symbols and emoji."""
    text = unicodedata.normalize("NFKC", text).lower()
    return _NON_WORD.sub("-", text).strip("-_")


def path_slug(vault_path: str) -> str:
    """'Notes/My Note.md' -> 'notes/my-note'. Each folder is slugified separately."""
    parts = vault_path.split("/")
    parts[-1] = posixpath.splitext(parts[-1])[0]
    slugs = [slugify(p) or "untitled" for p in parts]
    if slugs[-1] == "index" and len(slugs) > 1:
        # notes/index.md would collide with the folder listing; keep it distinct
        slugs[-1] = "index-note"
    return "/".join(slugs)


def clean_permalink(value: str) -> str:
    """A user-given permalink/slug, made safe: no '..', no leading slash, slugified parts."""
    parts = [slugify(p) for p in value.strip().strip("/").split("/")]
    return "/".join(p for p in parts if p and p not in (".", ".."))


# ids of the theme's own elements (templates/*.html, static/*.js): a heading never takes one, or
# `## Main` would duplicate <main id="main"> and [[#Main]] would land there
THEME_IDS = frozenset({
    "main", "search-input", "search-results", "search-status", "search-popup", "search-live", "theme-toggle",
    "backlinks-h", "related-h", "recent-h", "tags-h", "undated", "kb-preview",
})


_FOOTNOTE_ID = re.compile(r"^fn(?:ref)?\d")  # the footnote plugin's fn1, fnref1, fnref1-1


def anchor(text: str) -> str:
    """Heading text -> id attribute, the same rule used by links to `#Heading`."""
    slug = slugify(text) or "section"
    taken = slug in THEME_IDS or slug.startswith("search-result-") or _FOOTNOTE_ID.match(slug)
    return f"{slug}-1" if taken else slug


def is_inside(base: str, path: str) -> bool:
    """True when the normalised vault-relative `path` stays inside the vault."""
    norm = posixpath.normpath(path)
    return not (norm.startswith("../") or norm == ".." or norm.startswith("/"))


def fold(text: str) -> str:
    """How link targets compare: ignoring case and Unicode form (macOS and some sync tools store
    `Résumé.md` decomposed, NFD; a typed [[Résumé]] is composed, NFC)."""
    return unicodedata.normalize("NFC", text).lower()


class Resolver:
    """Resolves link targets the way Obsidian does.

    Order: exact vault path (with or without .md), then path suffix / file name
    ignoring case (shortest path wins, then alphabetical), then aliases.
    """

    def __init__(
        self, note_paths: list[str], aliases: dict[str, list[str]], files: list[str],
        drafts: dict[str, list[str]] | None = None,
    ) -> None:
        self.notes = set(note_paths)
        # drafts (path -> aliases) resolve the same way, only to say what a dead link points at
        self._drafts = Resolver(list(drafts), drafts, []) if drafts else None
        self.files = set(files)
        self._lower: dict[str, str] = {}
        self._by_name: dict[str, list[str]] = defaultdict(list)
        for p in sorted(note_paths, key=lambda p: (len(p), p)):
            self._lower.setdefault(fold(p), p)
            self._by_name[fold(posixpath.basename(p)[:-3])].append(p)
        self._alias: dict[str, str] = {}
        for p in sorted(aliases, key=lambda p: (len(p), p)):
            for a in aliases[p]:
                self._alias.setdefault(fold(a.strip()), p)
        self._files_lower: dict[str, str] = {}
        self._files_by_name: dict[str, list[str]] = defaultdict(list)
        for f in sorted(files, key=lambda p: (len(p), p)):
            self._files_lower.setdefault(fold(f), f)
            self._files_by_name[fold(posixpath.basename(f))].append(f)

    def note(self, target: str, from_path: str = "") -> str | None:
        t = unquote(target).strip().lstrip("/")
        if not t:
            return from_path or None  # [[#heading]] links to the same note
        if t.lower().endswith(".md"):
            t = t[:-3]
        cand = t + ".md"
        if cand in self.notes:
            return cand
        # relative to the linking note (markdown links and ./ ../ wikilinks)
        if from_path:
            rel = posixpath.normpath(posixpath.join(posixpath.dirname(from_path), cand))
            if rel in self.notes:
                return rel
        low = fold(cand)
        if low in self._lower:
            return self._lower[low]
        name = fold(posixpath.basename(t))
        if "/" in t:
            for p in self._by_name.get(name, []):
                if fold(p).endswith("/" + low) or fold(p) == low:
                    return p
        else:
            hits = self._by_name.get(name)
            if hits:
                return hits[0]
        return self._alias.get(fold(t))

    def draft(self, target: str, from_path: str = "") -> str | None:
        """The draft a link that resolves to no published note would name, if any."""
        return self._drafts.note(target, from_path) if self._drafts else None

    def file(self, target: str, from_path: str = "") -> str | None:
        """An attachment (image, PDF, ...) by path or file name."""
        t = unquote(target).strip().lstrip("/")
        if t in self.files:
            return t
        if from_path:
            rel = posixpath.normpath(posixpath.join(posixpath.dirname(from_path), t))
            if rel in self.files:
                return rel
        low = fold(t)
        if low in self._files_lower:
            return self._files_lower[low]
        for f in self._files_by_name.get(posixpath.basename(low), []):
            if "/" not in t or fold(f).endswith("/" + low):
                return f
        return None
