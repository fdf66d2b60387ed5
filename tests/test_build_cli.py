"""Build-level behaviour: CLI exit codes, --strict, atomic output, URLs, attachments, packaging."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from kb.build import BuildError, build
from kb.cli import main
from kb.config import Config, ConfigError, load_config
from tests.conftest import write_vault

ROOT = Path(__file__).resolve().parents[1]


def test_strict_turns_warnings_into_failure(tmp_path, capsys):
    vault = write_vault(tmp_path / "v", {"a.md": "[[missing]]\n"})
    assert main(["build", str(vault), "--out", str(tmp_path / "s")]) == 0
    assert main(["build", str(vault), "--out", str(tmp_path / "s"), "--strict"]) == 1
    out, err = capsys.readouterr()
    assert "a.md:1: warning[unresolved-link] unresolved link [[missing]]" in err
    assert "built 1 note, " in out and ", 1 warning in " in out and "--strict: 1 warning\n" in err  # not "1 warnings"


def test_summary_line(tmp_path, capsys):
    vault = write_vault(tmp_path / "v", {"a.md": "# A\n", "b.md": "# B\n"})
    main(["build", str(vault), "--out", str(tmp_path / "s")])
    out = capsys.readouterr().out
    assert out.startswith("built 2 notes, ") and " warnings in " in out


def test_missing_vault_is_a_clear_error(tmp_path, capsys):
    assert main(["build", str(tmp_path / "nope"), "--out", str(tmp_path / "s")]) == 2
    assert "vault folder not found" in capsys.readouterr().err


def test_broken_template_keeps_previous_site(tmp_path, capsys):
    vault = write_vault(tmp_path / "v", {"a.md": "# A\nfirst\n"})
    site = tmp_path / "s"
    assert main(["build", str(vault), "--out", str(site)]) == 0
    before = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    write_vault(vault, {"a.md": "# A\nsecond\n", "templates/note.html": "{% extends 'base.html' %}{% block content %}{{ note.html | safe }{% endblock %}"})
    assert main(["build", str(vault), "--out", str(site)]) == 2
    err = capsys.readouterr().err
    assert "note.html" in err and "template error" in err
    after = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    assert after == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".s.tmp-")]


def test_output_folder_that_is_not_a_kb_site_is_never_replaced(tmp_path, capsys):
    vault = write_vault(tmp_path / "v", {"a.md": "# A\n", "sub/b.md": "# B\n"})
    # the vault itself, a folder holding it, a file, a folder of someone else's files: refused, nothing lost
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "keep.txt").write_text("mine too")
    files = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    for out in (vault, tmp_path, tmp_path / "notes.txt", tmp_path / "other"):
        assert main(["build", str(vault), "--out", str(out), "--no-embed"]) == 2, out
        assert str(out) in capsys.readouterr().err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == files
    assert main(["serve", str(vault), "--out", str(tmp_path / "other"), "--port", "0"]) == 2  # before serving anything
    assert "not a site kb built" in capsys.readouterr().err
    # a new folder, then the same folder again (kb's own site, marked), then an empty one: fine
    for out in (tmp_path / "site", tmp_path / "site", tmp_path / "empty"):
        out.mkdir(exist_ok=True)
        assert main(["build", str(vault), "--out", str(out), "--no-embed"]) == 0, out
        assert (out / ".kb-site").is_file() and (out / "a" / "index.html").is_file()


def test_output_folder_inside_the_vault_is_not_read_as_notes(tmp_path):
    vault = write_vault(tmp_path / "v", {"a.md": "# A\n"})
    build(vault, vault / "site", Config(), embed=False)
    (vault / "site" / "stray.md").write_text("# Stray\n")
    r = build(vault, vault / "site", Config(), embed=False)
    assert list(r.ctx.notes) == ["a.md"] and not (vault / "site" / "site").exists()


@pytest.mark.parametrize("expr", ["{{ 1 // 0 }}", "{{ note.nope.deeper }}"])
def test_template_failing_at_render_time_keeps_previous_site(tmp_path, capsys, expr):
    vault = write_vault(tmp_path / "v", {"a.md": "# A\nfirst\n", "b.md": "# B\n"})
    site = tmp_path / "s"
    assert main(["build", str(vault), "--out", str(site), "--no-embed"]) == 0
    before = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    note_html = (ROOT / "templates" / "note.html").read_text().replace("<article", expr + "<article", 1)
    write_vault(vault, {"templates/note.html": note_html})
    assert main(["build", str(vault), "--out", str(site), "--no-embed"]) == 2
    line = 1 + note_html[: note_html.index(expr)].count("\n")
    assert f"note.html:{line}: template error: " in capsys.readouterr().err  # the template's line, not a note's
    assert {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize(("name", "text", "where", "what"), [
    ("note.html", "\ufeff{% extends 'base.html' %}\n".encode("utf-16"), "note.html:1", "not UTF-8"),
    ("note.html", b"{% extends 'base.html' %}\n{% block content %}\xe9t\xe9{% endblock %}\n", "note.html:2", "not UTF-8"),
    ("note.html", b"{% extends 'nope.html' %}\n", "note.html:1", "'nope.html' not found"),
])
def test_unreadable_or_missing_template_names_the_file_and_keeps_the_site(tmp_path, capsys, name, text, where, what):
    vault = write_vault(tmp_path / "v", {"a.md": "# A\nfirst\n"})
    site = tmp_path / "s"
    assert main(["build", str(vault), "--out", str(site), "--no-embed"]) == 0
    before = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    write_vault(vault, {f"templates/{name}": text})
    assert main(["build", str(vault), "--out", str(site), "--no-embed"]) == 2
    err = capsys.readouterr().err
    assert f"{where}: template error: " in err and what in err, err
    assert {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()} == before


def test_vault_template_overrides_one_file(tmp_path):
    vault = write_vault(tmp_path / "v", {
        "a.md": "# A\nbody\n",
        "templates/404.html": "{% extends 'base.html' %}{% block content %}<p>custom lost page</p>{% endblock %}",
    })
    build(vault, tmp_path / "s", Config())
    assert "custom lost page" in (tmp_path / "s/404.html").read_text()
    assert "body" in (tmp_path / "s/a/index.html").read_text()


def test_base_url_prefix_is_used_in_links_and_feeds(make_site):
    r = make_site({"a.md": "---\ndate: 2024-03-01\n---\n[[b]] #t\n", "b.md": "b"}, Config(base_url="https://ex.org/blog/"))
    page = (r.ctx.out / "a/index.html").read_text()
    assert 'href="/blog/b/"' in page and 'href="/blog/tags/t/"' in page and 'href="/blog/static/style.css"' in page
    assert "<link>https://ex.org/blog/a/</link>" in (r.ctx.out / "rss.xml").read_text()
    assert "https://ex.org/blog/a/" in (r.ctx.out / "sitemap.xml").read_text()


def test_slug_collisions_resolved_deterministically(make_site):
    r = make_site({"My Note.md": "one", "my-note.md": "two", "x.md": "---\npermalink: my-note\n---\nthree"})
    assert sorted(n.slug for n in r.ctx.notes.values()) == ["my-note", "my-note-2", "my-note-3"]
    assert sum(d.code == "duplicate-slug" for d in r.diagnostics) == 2
    assert r.ctx.notes["My Note.md"].slug == "my-note"


def test_notes_never_take_the_urls_of_the_sites_own_pages(make_site):
    r = make_site({
        "tags/ideas.md": "A note in a folder called tags",
        "tags/deep/more.md": "another",
        "home.md": "---\npermalink: /\n---\nwants to be the home page",
        "feed.md": "---\npermalink: rss.xml\n---\nx",
        "tagged.md": "---\ntags: [ideas]\npermalink: /tags/kb/\n---\n#kb",
        "index.md": "a root index note",
    })
    slugs = {p: n.slug for p, n in r.ctx.notes.items()}
    assert slugs == {"tags/ideas.md": "tags-2/ideas", "tags/deep/more.md": "tags-2/deep/more", "home.md": "index-2",
                     "feed.md": "rss-xml", "tagged.md": "tags-2/kb", "index.md": "index"}  # slugs have no dots
    assert sum(d.code == "duplicate-slug" for d in r.diagnostics) == 4
    out = r.ctx.out
    assert "A note in a folder" in (out / "tags-2/ideas/index.html").read_text()
    assert "A note in a folder" not in (out / "tags/ideas/index.html").read_text()  # the tag page stays the tag page
    home = (out / "index.html").read_text()  # kb's home page, listing the note, not the note's own page
    assert (out / "rss.xml").read_text().startswith("<?xml") and '<h2 id="recent-h">' in home
    assert '<p class="post-summary">wants to be the home page</p>' in home and "<article" not in home
    assert "<article" in (out / "index-2/index.html").read_text()


def test_permalink_cannot_escape_site(make_site):
    r = make_site({"a.md": "---\npermalink: ../../../etc/evil\n---\nx"})
    assert r.ctx.notes["a.md"].slug == "etc/evil"
    assert (r.ctx.out / "etc/evil/index.html").is_file()


def test_attachments_copied_only_when_referenced(make_site):
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 20
    r = make_site({"a.md": "![[pic.png|300]] and ![alt](img/other.png)", "img/pic.png": png, "img/other.png": png, "img/unused.png": png})
    page = (r.ctx.out / "a/index.html").read_text()
    assert '<img src="/img/pic.png" alt="pic.png" width="300"' in page
    assert (r.ctx.out / "img/pic.png").read_bytes() == png
    assert not (r.ctx.out / "img/unused.png").exists()


def test_ignored_and_hidden_paths_skipped(make_site):
    r = make_site({"a.md": "x", ".obsidian/w.md": "x", ".trash/t.md": "x", "private/p.md": "x"}, Config(ignore=["private/**"]))
    assert list(r.ctx.notes) == ["a.md"]


def test_non_utf8_note_reported_and_built(make_site):
    r = make_site({"latin.md": "caf\xe9 ok\n".encode("latin-1"), "b.md": "fine"})
    (d,) = [d for d in r.diagnostics if d.code == "encoding"]
    assert d.path == "latin.md" and d.line == 1
    assert "ok" in (r.ctx.out / "latin/index.html").read_text()


def test_byte_identical_rebuild(tmp_path):
    vault = write_vault(tmp_path / "v", {"a.md": "---\ndate: 2024-01-02\ntags: [x]\n---\n# A\n[[b]]", "b.md": "![[a]]"})
    build(vault, tmp_path / "s1", Config())
    build(vault, tmp_path / "s2", Config())
    files1 = sorted(p.relative_to(tmp_path / "s1") for p in (tmp_path / "s1").rglob("*") if p.is_file())
    files2 = sorted(p.relative_to(tmp_path / "s2") for p in (tmp_path / "s2").rglob("*") if p.is_file())
    assert files1 == files2
    assert all((tmp_path / "s1" / f).read_bytes() == (tmp_path / "s2" / f).read_bytes() for f in files1)


def test_site_and_init_files_get_the_umasks_modes(tmp_path, monkeypatch):
    # a group-writable umask: the site folder must not be narrowed to 0755. kb reads the umask once,
    # as a process starting with it would (kb.paths._UMASK)
    monkeypatch.setattr("kb.paths._UMASK", 0o002)
    old = os.umask(0o002)
    try:
        assert main(["init", str(tmp_path / "new")]) == 0
        build(tmp_path / "new", tmp_path / "s", Config(), embed=False)
    finally:
        os.umask(old)

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    assert mode(tmp_path / "new" / "kb.toml") == 0o664
    assert mode(tmp_path / "s") == 0o775 and mode(tmp_path / "s" / "welcome") == 0o775
    assert mode(tmp_path / "s" / "welcome" / "index.html") == 0o664


def test_config_errors_reported_all_at_once(tmp_path):
    cfg = tmp_path / "kb.toml"
    cfg.write_text('title = 3\nbogus = "x"\n[search]\nenabled = "yes"\n')
    with pytest.raises(ConfigError) as exc:
        load_config(cfg)
    msg = str(exc.value)
    assert "'title' must be a string" in msg and "unknown setting 'bogus'" in msg and "'enabled' must be true or false" in msg


def test_build_error_type(tmp_path):
    with pytest.raises(BuildError):
        build(tmp_path / "missing", tmp_path / "s", Config())


def test_init_writes_a_vault_that_builds(tmp_path, capsys):
    assert main(["init", str(tmp_path / "new")]) == 0
    assert (tmp_path / "new/kb.toml").is_file()
    assert main(["build", str(tmp_path / "new"), "--out", str(tmp_path / "s"), "--strict", "--no-embed"]) == 0
    assert (tmp_path / "s/welcome/index.html").is_file()
    assert main(["init", str(tmp_path / "new")]) == 1  # never overwrites
    assert "kb build" not in capsys.readouterr().err  # it is a kb vault already
    (tmp_path / "vault").mkdir()
    (tmp_path / "vault" / "Old note.md").write_text("x")  # an Obsidian vault, no kb.toml
    assert main(["init", str(tmp_path / "vault")]) == 1 and not (tmp_path / "vault" / "kb.toml").exists()
    assert f"kb build {tmp_path / 'vault'}" in capsys.readouterr().err  # says how to build it as it is
    assert main(["init", str(tmp_path / "new" / "kb.toml")]) == 1  # a file: an error message, no traceback
    (tmp_path / "repo" / ".git").mkdir(parents=True)  # `git init` first is fine
    (tmp_path / "repo" / ".gitignore").write_text("*.log\n")
    assert main(["init", str(tmp_path / "repo")]) == 0
    assert (tmp_path / "repo" / ".gitignore").read_text() == "*.log\n" and (tmp_path / "repo" / "Welcome.md").is_file()
    assert (tmp_path / "new" / ".gitignore").read_text() == ".kb-cache/\nsite/\n"


def test_wheel_ships_the_theme(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr
    (wheel,) = tmp_path.glob("kb-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "kb/templates/base.html" in names and "kb/templates/static/style.css" in names
    assert "kb/cli.py" in names


@pytest.mark.parametrize("rel", ["../x.html", "/etc/passwd", "a/../../x", "..", "a/\0b"])
def test_emit_refuses_paths_outside_the_site(tmp_path, rel):
    from kb.emit.common import write

    with pytest.raises(ValueError):
        write(tmp_path / "site", rel, "x")
    assert not (tmp_path / "x.html").exists()


def test_working_folder_kb_toml_names_the_vault(tmp_path):
    from kb.config import find_vault

    write_vault(tmp_path / "notes", {"a.md": "x"})
    (tmp_path / "kb.toml").write_text('vault = "notes"\ntitle = "Mine"\nbase_url = "https://ex.org/n"\n')
    vault, cfg = find_vault(None, tmp_path)
    assert vault == (tmp_path / "notes").resolve() and cfg.title == "Mine" and cfg.base_url == "https://ex.org/n/"
    (tmp_path / "kb.toml").write_text('vault = "notes"\ntitle = [\n')
    with pytest.raises(ConfigError, match="kb.toml"):
        find_vault(None, tmp_path)


def test_interrupted_build_leaves_no_temporary_folder(tmp_path, monkeypatch):
    import kb.build

    vault = write_vault(tmp_path / "v", {"a.md": "# A\n"})
    build(vault, tmp_path / "s", Config(), embed=False)

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(kb.build, "emit", interrupt)
    with pytest.raises(KeyboardInterrupt):
        build(vault, tmp_path / "s", Config(), embed=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s", "v"] and (tmp_path / "s" / "a" / "index.html").is_file()


def test_a_base_url_path_with_a_space_is_percent_encoded(tmp_path):
    vault = write_vault(tmp_path / "v", {"a.md": "# A\n[[b]]\n", "b.md": "# B\n"})
    r = build(vault, tmp_path / "s", Config(base_url="https://example.org/my notes/"), embed=False)
    assert r.ctx.config.prefix == "/my%20notes/"
    assert 'href="/my%20notes/b/"' in (r.ctx.out / "a" / "index.html").read_text()
    assert "https://example.org/my%20notes/b/" in (r.ctx.out / "sitemap.xml").read_text()
