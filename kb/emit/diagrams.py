"""Mermaid diagrams, drawn in the visitor's browser.

A ```mermaid block renders as its highlighted source in a `figure[data-diagram=mermaid]`
(kb.markdown), which is what a page without JavaScript shows. When some note has one, the
ES-module build of mermaid (npm, fetched once and hash-checked by kb.vendor) is copied into
`static/mermaid/`, and the pages that have a diagram load templates/static/diagrams.js, which
draws each block with it. A visitor's browser fetches only the modules its diagrams need (a
flowchart: 29 files, 2.5 MB raw, 0.75 MB gzip, of the 107 files and 5.4 MB), once for the site. Off with `mermaid = false` in kb.toml; offline before the
first fetch, the build says so and the blocks keep showing their source.
"""

from __future__ import annotations

import sys

from kb.model import BuildContext, Note
from kb.vendor import NpmPackage, Unavailable, extract_cached, fetch_command

# sha512 integrity of mermaid-12.3.0.tgz, as registry.npmjs.org publishes it (dist.integrity)
MERMAID = NpmPackage("mermaid", "12.3.0",
                     "sha512-4113TdXeLAsMruJ79OpFL5O8+LTFXhQqZ260rF3tgUmiNAtRm4Uume04I+65PRN6yZ69J4f8rVYWW8zRk65UYw==")
# the figure kb.markdown writes for a diagram, whole: a formula's \text{data-diagram="mermaid"} is no diagram
# (raw HTML cannot forge it: the sanitizer drops data-diagram)
MARK = '<figure class="plugin-block" data-diagram="mermaid">'
ENTRY = "mermaid.esm.min.mjs"
MERMAID_DIR = "static/mermaid"  # in the site
_CHUNKS = "package/dist/chunks/mermaid.esm.min/"


def _select(member: str) -> str | None:
    """The minified ES modules (the entry and the chunks it imports on demand) and the licence;
    not the UMD bundle, the unminified build or the source maps."""
    if member == f"package/dist/{ENTRY}":
        return ENTRY
    if member.startswith(_CHUNKS) and member.endswith(".mjs") and "/" not in member[len(_CHUNKS):]:
        return member.removeprefix("package/dist/")
    if member == "package/LICENSE":
        return "LICENSE"
    return None


def has_diagram(note: Note) -> bool:
    return MARK in note.html


def prepare_diagrams(ctx: BuildContext) -> bool:
    """Decide whether pages with a diagram load mermaid, into ctx.extra["mermaid"]: yes when some note
    has one and mermaid can be had (kb.toml `mermaid` on). kb serve calls this after each change and
    writes or removes the files when the answer changes. Returns the answer."""
    if not ctx.config.mermaid or not any(has_diagram(n) for n in ctx.notes.values()):
        ctx.extra["mermaid"] = False
        return False
    if "mermaid_files" not in ctx.extra:  # once per build: kb serve's edits reuse its context
        try:
            ctx.extra["mermaid_files"] = extract_cached(MERMAID, "esm", _select, (ENTRY, "LICENSE"))
        except Unavailable as exc:
            ctx.extra["mermaid_files"] = {}
            # a warning like any other (so --strict fails), on the first note that shows a diagram's source
            first = next(n.path for n in ctx.notes.values() if has_diagram(n))
            ctx.warn(first, 0, "mermaid", f"diagrams show as their source: {exc}")
    ctx.extra["mermaid"] = bool(ctx.extra["mermaid_files"])
    return ctx.extra["mermaid"]


def diagram_files(ctx: BuildContext) -> dict[str, bytes]:
    """{path in the site: bytes} of the vendored mermaid, if pages load it."""
    if not ctx.extra.get("mermaid"):
        return {}
    return {f"{MERMAID_DIR}/{name}": data for name, data in sorted(ctx.extra.get("mermaid_files", {}).items())}


if __name__ == "__main__":
    sys.exit(fetch_command(sys.argv[1:], "kb.emit.diagrams", MERMAID.label, lambda: extract_cached(MERMAID, "esm", _select, (ENTRY, "LICENSE"))))
