"""ImportedItem: the neutral record every source kind produces, and what one import run reports.

Each importer (feed.py, posts.py, text.py) turns its input into ImportedItems; writer.py
is the only code that turns an item into a note file. This is pelican_import's
`<source>2fields` + one writer, with a typed record instead of a tuple.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# Obsidian tags: letters, digits, '_', '-', '/' (nesting); not only digits.
_TAG_BAD = re.compile(r"[^\w/-]+", re.UNICODE)


@dataclass
class ImportedItem:
    title: str
    body_markdown: str
    guid: str
    source_url: str = ""
    date: str = ""  # ISO 8601, timezone kept as the source gave it
    author: str = ""
    description: str = ""
    tags: list[str] = field(default_factory=list)  # normalised Obsidian tags
    original_categories: list[str] = field(default_factory=list)  # as the source wrote them
    extra: dict[str, Any] = field(default_factory=dict)  # more frontmatter (kept from posts, draft...)
    label: str = ""  # how reports name this entry, e.g. "entry 3 ('Title')"

KEPT = "edited here since the import"


@dataclass
class Report:
    """Everything one run has to say: outcomes per note, problems, sanitizer counts."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # the feed did not change but the note did: kept as the user left it, and said so, since
    # 'unchanged' would tell someone who just edited it that the edit was not seen
    kept: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (note or entry, reason)
    errors: list[str] = field(default_factory=list)  # "source: entry N ('t'): message"
    warnings: list[str] = field(default_factory=list)
    removed: Counter = field(default_factory=Counter)  # sanitizer: what was removed, by kind

    def imported_any(self) -> bool:
        return bool(self.created or self.updated or self.unchanged or self.kept or self.skipped)

    def summary(self) -> str:
        kept = f"kept {len(self.kept)} ({KEPT}), " if self.kept else ""  # rare: not in every summary
        line = (
            f"created {len(self.created)}, updated {len(self.updated)}, "
            f"unchanged {len(self.unchanged)}, {kept}skipped {len(self.skipped)}"
        )
        reasons = Counter(reason for _, reason in self.skipped)
        if reasons:
            line += " (" + "; ".join(f"{n} {r}" for r, n in sorted(reasons.items())) + ")"
        if self.errors:
            line += f", errors {len(self.errors)}"
        return line

    def removed_line(self) -> str:
        if not self.removed:
            return ""
        parts = ", ".join(f"{n} {kind}" for kind, n in sorted(self.removed.items()))
        return f"sanitized imported HTML: removed {parts}"


def normalize_tag(raw: str) -> str:
    """'#multimodalai' -> 'multimodalai', 'CLIP ' -> 'clip', 'Vector DB' -> 'vector-db'.

    Returns '' when nothing valid is left (e.g. '2018': a tag cannot be only digits).
    """
    tag = raw.strip().lstrip("#").strip().lower()
    tag = re.sub(r"\s+", "-", tag)
    tag = _TAG_BAD.sub("-", tag)
    parts = [re.sub(r"-{2,}", "-", p).strip("-") for p in tag.split("/")]
    tag = "/".join(p for p in parts if p)
    if not tag or tag.replace("/", "").replace("_", "").replace("-", "").isdigit():
        return ""
    return tag


def normalize_tags(raws: list[str]) -> list[str]:
    out: list[str] = []
    for raw in raws:
        tag = normalize_tag(raw)
        if tag and tag not in out:
            out.append(tag)
    return out
