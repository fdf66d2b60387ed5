"""`kb init DIR`: a starter vault that builds as it is."""

from __future__ import annotations

import sys
from pathlib import Path

KB_TOML = """\
# kb settings. Every key is optional.
title = "My Notes"
description = "Notes and posts"
author = ""
# Absolute URL of the site, with its path prefix if it is not served at the root.
base_url = "http://localhost:8000/"
# Extra paths to leave out (globs, relative to the vault).
ignore = []
# true: a single newline is a line break, as Obsidian shows it when "Strict line breaks" is off.
# Not set: as the vault's .obsidian/app.json says (Obsidian's default, and kb's: CommonMark, off).
# line_breaks = true

[search]
enabled = true
# model = "/path/to/a/sentence-transformers/model"   # default: all-MiniLM-L6-v2
"""

WELCOME = """\
---
title: Welcome
date: {date}
tags: [kb, getting-started]
---

# Welcome

This vault was made by `kb init`. Write notes in markdown, link them with
[[Second note]], tag them with #ideas, and run `kb serve` to see the site.
"""

SECOND = """\
---
title: Second note
tags: ideas
---

Linked from [[Welcome]]. Try a callout:

> [!tip] Tip
> `kb build --strict` fails when a link does not resolve.
"""


def init_vault(target: Path) -> int:
    if target.exists() and not target.is_dir():
        print(f"kb init: {target} exists and is not a folder; nothing written", file=sys.stderr)
        return 1
    # hidden entries (.git from `git init`, .obsidian) are fine: kb writes none of them
    if target.exists() and any(not p.name.startswith(".") for p in target.iterdir()):
        # an existing Obsidian vault needs no init: say how to build it, not only what was refused
        hint = ("" if (target / "kb.toml").exists() else
                f"\n  a folder of notes builds as it is, kb.toml is optional: kb build {target}"
                "\n  (for the settings, run kb init in a new folder and copy its kb.toml here)")
        print(f"kb init: {target} exists and is not empty; nothing written{hint}", file=sys.stderr)
        return 1
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"kb init: cannot create {target}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    (target / "kb.toml").write_text(KB_TOML, encoding="utf-8")
    (target / "Welcome.md").write_text(WELCOME.format(date="2026-01-01"), encoding="utf-8")
    (target / "Second note.md").write_text(SECOND, encoding="utf-8")
    if not (target / ".gitignore").exists():  # a repository's own is left as it is
        (target / ".gitignore").write_text(".kb-cache/\nsite/\n", encoding="utf-8")  # the cache and `kb build`'s output
    print(f"kb init: wrote a starter vault in {target}; build it with: kb build {target}")
    return 0
