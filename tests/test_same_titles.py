"""Lists that name notes by title tell apart notes that share one: the note's path follows the title."""

from __future__ import annotations

import re
from pathlib import Path

from search_vaults import SAME_TITLES, vault

from kb.build import build
from kb.config import Config, SearchConfig
from tests.conftest import write_vault

HASH = Config(base_url="https://example.org/", search=SearchConfig(model="hash"))  # related notes, no model download
GNOPPS = '<span class="note-path">people/Gnopps</span>'
RND = '<span class="note-path">R&amp;D/Obsidian</span>'  # escaped, as any text


def site(tmp_path: Path, files: dict[str, str]) -> Path:
    return build(write_vault(tmp_path / "vault", files), tmp_path / "site", HASH, embed=True).ctx.out


def section(page: str, heading_id: str) -> str:
    return page.split(f'id="{heading_id}"')[1].split("</section>")[0]


def items(html: str) -> list[str]:
    return re.findall(r"<li>(.*?)</li>", html, re.S)


def test_related_and_backlinks_show_the_path_after_a_shared_title(tmp_path):
    out = site(tmp_path, SAME_TITLES)
    hub = (out / "hub/index.html").read_text()
    for heading in ("related-h", "backlinks-h"):
        listed = section(hub, heading)
        assert GNOPPS in listed and RND in listed, heading
        unique = [li for li in items(listed) if ">Unique</a>" in li]
        assert all("note-path" not in li for li in unique), heading  # a title no other note has stays as it was
    assert ">Unique</a>" in section(hub, "related-h")


def test_tag_pages_home_and_archive_show_the_path_after_a_shared_title(tmp_path):
    out = site(tmp_path, SAME_TITLES)
    for page in ("tags/people/index.html", "index.html", "archive/index.html"):
        html = (out / page).read_text()
        assert GNOPPS in html and RND in html, page
        assert html.count('class="note-path"') == 2, page  # not after "Unique" or "Hub"


def test_unique_titles_get_no_path(tmp_path):
    out = site(tmp_path, vault(6))
    pages = list(out.rglob("*.html"))
    assert pages and not any("note-path" in p.read_text() for p in pages)
