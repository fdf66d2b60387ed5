"""Print problems as `path:line: level[code] message`, sorted and de-duplicated."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TextIO

from kb.model import Diagnostic


def unique_sorted(diags: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Sorted, each problem once: of those with the same `same_as` (one embed cycle met from several
    pages), the first."""
    out: list[Diagnostic] = []
    said: set[str] = set()
    for d in sorted(set(diags)):
        if d.same_as:
            if d.same_as in said:
                continue
            said.add(d.same_as)
        out.append(d)
    return out


def report(diags: Iterable[Diagnostic], stream: TextIO | None = None) -> None:
    for d in unique_sorted(diags):
        print(d.format(), file=stream or sys.stderr)


def by_note(diags: Iterable[Diagnostic]) -> dict[str, list[Diagnostic]]:
    """Each note's problems, each page its own (an embed cycle on every page that meets it)."""
    out: dict[str, list[Diagnostic]] = {}
    for d in sorted(set(diags)):
        out.setdefault(d.path, []).append(d)
    return out


def plural(n: int, word: str) -> str:
    """'1 warning', '2 warnings': the counts kb prints read as English."""
    return f"{n} {word}{'' if n == 1 else 's'}"
