"""A small in-memory vault and the real Renderer over it, for the fixture tests."""

from __future__ import annotations

from pathlib import Path

from kb.config import Config
from kb.load import make_note
from kb.markdown.env import RenderEnv
from kb.model import BuildContext
from kb.transform.parse import Renderer

NOTES = {
    "note A.md": "# Note A\n\nIntro.\n\n## Details\n\nDetail text ^d1\n",
    "n/dup.md": "short path dup\n",
    "a/b/dup.md": "long path dup\n",
    "folder/Note B.md": "---\naliases: [Beta, The B]\n---\nB body with a #btag\n\n- item one ^li1\n- item two\n",
    "v1.2 release.md": "Release notes.\n",
    "loop1.md": "one ![[loop2]]\n",
    "loop2.md": "two ![[loop1]]\n",
    "footy.md": "Has a note.[^1]\n\n[^1]: Footy footnote.\n",
    "here.md": "# Here\n\n## Local heading\n",
}
FILES = ["img/a.png", "Sub Folder/pic one.jpg", "docs/paper.pdf", "audio/song.mp3", "files/data.csv"]


def make_renderer() -> Renderer:
    ctx = BuildContext(vault=Path("."), out=Path("."), config=Config(base_url="https://example.org/"))
    for path, text in NOTES.items():
        ctx.notes[path] = make_note(path, text.encode())[0]
    ctx.extra["files"] = FILES
    return Renderer(ctx)


def render(renderer: Renderer, source: str, path: str = "here.md") -> tuple[str, RenderEnv]:
    env = renderer.env_for(renderer.ctx.notes[path])
    return renderer.to_html(source, env), env
