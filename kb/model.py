"""The only types that cross pipeline stages.

Each field of `Note` is filled by exactly one stage; the comment above each
group names it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from kb.transform.htmltext import html_to_text


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One problem found in the vault, printed as `path:line: level[code] message`."""

    path: str
    line: int
    severity: str  # "warning" | "error"
    code: str
    message: str
    # problems with the same non-empty `same_as` are one problem met from several pages (an embed cycle,
    # from each page that embeds into it): each page keeps its own, a report says the first
    same_as: str = field(default="", compare=False)

    def format(self) -> str:
        loc = f"{self.path}:{self.line}" if self.line else self.path
        return f"{loc}: {self.severity}[{self.code}] {self.message}"


@dataclass
class Link:
    """A link written in a note: [[target#heading|alias]], ![[embed]] or [x](other.md)."""

    target: str  # as written, without heading/alias
    heading: str = ""  # "Heading text" or "^blockid"
    alias: str = ""
    embed: bool = False
    line: int = 0  # 1-based line in the note file
    resolved: str | None = None  # vault path of the target note, None if unresolved


@dataclass
class Heading:
    level: int
    text: str  # the words shown
    anchor: str  # its id on the page
    line: int = 0
    source: str = ""  # its markdown as written, which links may name it by: [[n#**Bold** words]]


@dataclass
class Backlink:
    source: str  # vault path of the linking note
    context: str  # plain-text snippet around the link; inline TeX between plaintext.MATH_OPEN and MATH_CLOSE


@dataclass
class Note:
    # --- load ---
    path: str  # vault-relative POSIX path, e.g. "notes/a.md"
    source: str  # markdown body, frontmatter removed
    body_line: int  # 1-based file line on which `source` starts
    meta: dict[str, Any]
    title: str
    slug: str  # URL path without leading/trailing slash, e.g. "notes/a"
    aliases: list[str]
    date: datetime | None
    updated: datetime | None
    draft: bool
    digest: str  # sha256 of the raw file bytes
    description: str = ""
    # --- parse ---
    html: str = ""
    links: list[Link] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)  # frontmatter + inline, normalised
    headings: list[Heading] = field(default_factory=list)
    title_anchor: str = ""  # id of the leading H1 that repeated the title: the page's title carries it
    block_ids: list[str] = field(default_factory=list)
    attachments: list[str] = field(default_factory=list)  # vault paths of referenced files
    opening: tuple[str, ...] = ()  # the text of its first paragraphs and list items (kb.transform.htmltext)
    # --- resolve ---
    backlinks: list[Backlink] = field(default_factory=list)
    # its opening less text a tenth of the notes share, at most 160 characters: the page's meta
    # description without a `description`
    summary: str = ""
    # --- related ---
    related: list[str] = field(default_factory=list)  # vault paths, best first
    # --- anything a plugin wants to carry ---
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """Site-relative URL (no leading slash; prefix added by templates)."""
        return f"{self.slug}/" if self.slug else ""

    @property
    def text(self) -> str:
        """All the page's text, plain, for a template that wants it (no part of kb reads it: made when asked)."""
        return html_to_text(self.html)

    @property
    def stem(self) -> str:
        return Path(self.path).stem


@dataclass
class BuildContext:
    """Cross-note state shared by the transform and emit stages."""

    vault: Path
    out: Path
    config: Any  # kb.config.Config
    notes: dict[str, Note] = field(default_factory=dict)  # by vault path, sorted
    attachments: set[str] = field(default_factory=set)  # vault paths to copy
    diagnostics: list[Diagnostic] = field(default_factory=list)
    tags: dict[str, list[str]] = field(default_factory=dict)  # tag -> note paths
    extra: dict[str, Any] = field(default_factory=dict)

    def warn(self, path: str, line: int, code: str, message: str) -> None:
        self.diagnostics.append(Diagnostic(path, line, "warning", code, message))

    def error(self, path: str, line: int, code: str, message: str) -> None:
        self.diagnostics.append(Diagnostic(path, line, "error", code, message))
