"""Print problems as `path:line: level[code] message`, sorted and de-duplicated."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TextIO

from kb.model import Diagnostic

# problems that every page meeting them reports alike (an embed cycle, from each page that embeds into
# it): said once, by the first such page
ONCE = frozenset({"embed-cycle"})


def unique_sorted(diags: Iterable[Diagnostic]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    said: set[tuple[str, str]] = set()
    for d in sorted(set(diags)):
        if d.code in ONCE:
            if (d.code, d.message) in said:
                continue
            said.add((d.code, d.message))
        out.append(d)
    return out


def report(diags: Iterable[Diagnostic], stream: TextIO | None = None) -> None:
    for d in unique_sorted(diags):
        print(d.format(), file=stream or sys.stderr)


def by_note(diags: Iterable[Diagnostic]) -> dict[str, list[Diagnostic]]:
    out: dict[str, list[Diagnostic]] = {}
    for d in unique_sorted(diags):
        out.setdefault(d.path, []).append(d)
    return out


def plural(n: int, word: str) -> str:
    """'1 warning', '2 warnings': the counts kb prints read as English."""
    return f"{n} {word}{'' if n == 1 else 's'}"
