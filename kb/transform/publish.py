"""Drop drafts (draft: true, publish: false): they appear in no page, index or feed."""

from __future__ import annotations

from kb.model import BuildContext


def publish(ctx: BuildContext) -> None:
    # path -> aliases: a link to a draft (by name or alias) is reported as one, not as unresolved
    drafts = {p: n.aliases for p, n in ctx.notes.items() if n.draft}
    for p in drafts:
        del ctx.notes[p]
    ctx.extra["drafts"] = drafts
