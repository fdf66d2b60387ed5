"""kb serve end to end: real files, real watchdog events, real HTTP."""

from __future__ import annotations

import json
import os
import random
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from kb.config import Config
from kb.serve.session import Session
from tests.conftest import write_vault
from tests.test_incremental import assert_same_as_full_build

CFG = Config(base_url="http://localhost/")


@pytest.fixture
def session(tmp_path):
    sessions: list[Session] = []

    def _start(files: dict[str, str]) -> Session:
        vault = write_vault(tmp_path / "vault", files)
        s = Session(vault, tmp_path / "site", CFG, port=0, embed=False, quiet=True)
        s.start()
        sessions.append(s)
        assert s.wait_idle(quiet=0.2)
        return s

    yield _start
    for s in sessions:
        s.stop()


def fetch(s: Session, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(s.url.rstrip("/") + path, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def save(vault: Path, rel: str, text: str, how: str) -> None:
    """Write a note the ways editors do."""
    p = vault / rel
    if how == "atomic":  # vim/VS Code/Obsidian style: temp file, then rename over the note
        tmp = p.with_name(f".{p.name}.tmp{random.randrange(10**6)}")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, p)
    elif how == "recreate":  # delete, then create again
        p.unlink(missing_ok=True)
        time.sleep(0.005)
        p.write_text(text, encoding="utf-8")
    elif how == "halves":  # two writes: the first leaves a half-written file
        data = text.encode()
        with open(p, "wb") as f:
            f.write(data[: len(data) // 2])
            f.flush()
            time.sleep(0.01)
            f.write(data[len(data) // 2 :])
    else:
        p.write_text(text, encoding="utf-8")


def test_fifty_quick_edits_end_with_last_content(session):
    notes = {f"n{i}.md": f"# N{i}\nstart [[n{(i + 1) % 8}]] ![[n{(i + 2) % 8}#N{(i + 2) % 8}]]\n" for i in range(8)}
    s = session(notes)
    vault = s.vault
    rng = random.Random(5)
    last: dict[str, str] = {}
    names = list(notes)
    for k in range(50):
        i = rng.randrange(8)
        rel = names[i]
        text = f"---\ntags: [t{k % 3}]\n---\n# N{i}\nedit-{k}-of-{rel} [[n{rng.randrange(8)}]]\n"
        save(vault, rel, text, ["atomic", "recreate", "halves", "plain"][k % 4])
        last[rel] = text
        if k == 20:  # a new note appears and goes away again, a note is renamed
            save(vault, "extra.md", "# Extra\n[[n1]]\n", "plain")
        if k == 30:
            (vault / "extra.md").unlink()
            os.replace(vault / "n7.md", vault / "seven.md")
            last["seven.md"] = last.pop("n7.md", notes["n7.md"])
            names[7] = "seven.md"
        time.sleep(rng.choice([0, 0, 0.002, 0.02, 0.08]))  # within and across the debounce window
    assert s.wait_idle(quiet=0.6)
    for rel, text in last.items():
        marker = text.split("\n")[-2].split(" ")[0] if "edit-" in text else "start"
        status, page = fetch(s, "/" + rel[:-3] + "/")
        assert status == 200 and marker in page, rel
    assert fetch(s, "/n7/")[0] == 404 and fetch(s, "/extra/")[0] == 404
    assert s.batches < 50  # bursts were merged
    assert_same_as_full_build(vault, s.out, vault.parent, s.config)  # kb serve: problems_on_pages


def test_no_embeddings_is_said_once_per_session_not_after_every_rebuild(session, capsys):
    s = session({"a.md": "# A\nstart\n"})
    for k in range(3):
        save(s.vault, "a.md", f"# A\nedit {k}\n", "plain")
        assert s.wait_idle(quiet=0.3) and s.live is not None and s.live.wait_idle(30)
        assert f"edit {k}" in fetch(s, "/a/")[1]
    assert capsys.readouterr().err.count("lexical only: embedding skipped") == 1


def test_error_banner_then_fix_and_non_utf8(session):
    s = session({"a.md": "# A\nfine\n", "b.md": "# B\n[[a]]\n"})
    (s.vault / "a.md").write_text("---\ntags: [oops\n---\n# A\nbody\n", encoding="utf-8")
    assert s.wait_idle()
    assert "build-problems" in fetch(s, "/a/")[1] and "invalid YAML" in fetch(s, "/a/")[1]
    (s.vault / "a.md").write_text("# A\nrepaired\n", encoding="utf-8")
    assert s.wait_idle()
    page = fetch(s, "/a/")[1]
    assert "repaired" in page and "build-problems" not in page
    (s.vault / "a.md").write_bytes(b"# A\nhalf \xe2\x82")  # not UTF-8: keep the previous page, say why
    assert s.wait_idle()
    page = fetch(s, "/a/")[1]
    assert "repaired" in page and "not valid UTF-8" in page  # in the injected overlay state
    assert "not valid UTF-8" not in (s.out / "a/index.html").read_text()
    (s.vault / "a.md").write_text("# A\nrepaired\n", encoding="utf-8")  # saved back: same text as served
    assert s.wait_idle()
    assert "not valid UTF-8" not in fetch(s, "/a/")[1]


def test_template_error_keeps_last_good_pages(session):
    s = session({"a.md": "# A\nfine\n"})
    (s.vault / "templates").mkdir()
    (s.vault / "templates" / "note.html").write_text("{% extends 'base.html' %}{% block content %}{{ note.title }{% endblock %}")
    assert s.wait_idle()
    status, page = fetch(s, "/a/")
    assert status == 200 and "fine" in page, page
    assert "template error" in page  # old page, error overlay
    (s.vault / "templates" / "note.html").write_text("{% extends 'base.html' %}{% block content %}<p id=custom>{{ note.title }}</p>{% endblock %}")
    assert s.wait_idle()
    page = fetch(s, "/a/")[1]
    assert "<p id=custom>A</p>" in page and "template error" not in page
    events = [e for _, e, _ in s.http.hub.sent]
    assert "reload" in events
    # a template that fails only when it renders: the same (the last good pages, the overlay names its line)
    (s.vault / "templates" / "note.html").write_text("{% extends 'base.html' %}{% block content %}\n{{ 1 // 0 }}{% endblock %}")
    assert s.wait_idle()
    status, page = fetch(s, "/a/")
    assert status == 200 and "<p id=custom>A</p>" in page and "note.html:2: template error: ZeroDivisionError" in page
    (s.vault / "templates" / "note.html").write_text("{% extends 'base.html' %}{% block content %}<p id=fixed>{{ note.title }}</p>{% endblock %}")
    assert s.wait_idle()
    page = fetch(s, "/a/")[1]
    assert "<p id=fixed>A</p>" in page and "template error" not in page


def test_reload_event_lists_changed_pages(session):
    s = session({"a.md": "# A\n[[b]]\n", "b.md": "# B\n", "c.md": "# C\n"})
    n = len(s.http.hub.sent)
    (s.vault / "a.md").write_text("# A\nnew line [[b]]\n", encoding="utf-8")
    assert s.wait_idle()
    reloads = [d for _, e, d in s.http.hub.sent[n:] if e == "reload"]
    assert reloads and "/a/" in reloads[-1]["urls"] and "/b/" in reloads[-1]["urls"]
    assert "/c/" not in json.dumps(reloads)


def test_cold_start_preview_renders_pages_before_parsing(tmp_path):
    from kb.build import dedupe_slugs
    from kb.load import load
    from kb.model import BuildContext
    from kb.serve.early import EarlySite
    from kb.transform.publish import publish

    vault = write_vault(tmp_path / "vault", {"a.md": "# A\nHello [[b]] ![[b]]\n", "b.md": "---\ndate: 2024-01-02\n---\n# B\nembedded text\n"})
    ctx = BuildContext(vault=vault, out=tmp_path / "unused", config=CFG)
    load(ctx)
    publish(ctx)
    dedupe_slugs(ctx)  # the state in which kb.build calls on_loaded
    early = EarlySite(ctx, tmp_path / "preview")
    root = early.prepare("a/")
    page = (root / "a/index.html").read_text()
    assert "Hello" in page and 'href="/b/"' in page and "embedded text" in page
    assert (root / "index.html").is_file() and (root / "static/style.css").is_file()
    assert ctx.notes["a.md"].html == ""  # the build's own notes are left alone
    early.close()
    assert not (tmp_path / "preview").exists()


def test_theme_css_change_is_copied_without_rerendering(session):
    s = session({"a.md": "# A\n"})
    page_mtime = (s.out / "a/index.html").stat().st_mtime_ns
    static = s.vault / "templates" / "static"
    static.mkdir(parents=True)
    (static / "style.css").write_text("body { color: rebeccapurple }")
    assert s.wait_idle()
    assert "rebeccapurple" in fetch(s, "/static/style.css")[1]
    assert (s.out / "a/index.html").stat().st_mtime_ns == page_mtime
    (static / "extra.js").write_text("console.log('extra')")
    assert s.wait_idle()
    assert fetch(s, "/static/extra.js")[0] == 200
    (static / "extra.js").unlink()  # gone from the theme: gone from the site
    assert s.wait_idle()
    assert fetch(s, "/static/extra.js")[0] == 404 and fetch(s, "/static/kb.js")[0] == 200


def test_folder_rename_and_config_change(session):
    s = session({"sub/x.md": "# X\n[[y]]\n", "sub/y.md": "# Y\n", "top.md": "# Top\n[[x]]\n"})
    os.replace(s.vault / "sub", s.vault / "moved")  # one directory event, no per-file events
    assert s.wait_idle()
    assert fetch(s, "/sub/x/")[0] == 404 and fetch(s, "/moved/x/")[0] == 200
    assert 'href="/moved/x/"' in fetch(s, "/top/")[1]
    (s.vault / "kb.toml").write_text('title = "Renamed Site"\nbase_url = "http://localhost/"\n', encoding="utf-8")
    assert s.wait_idle()
    assert "Renamed Site" in fetch(s, "/top/")[1]
    assert_same_as_full_build(s.vault, s.out, s.vault.parent, s.config)


def test_bad_kb_toml_keeps_serving_then_recovers(session):
    s = session({"a.md": "# A\nbody\n"})
    (s.vault / "kb.toml").write_text('title = "unclosed\n', encoding="utf-8")
    assert s.wait_idle()
    status, page = fetch(s, "/a/")
    assert status == 200 and "body" in page and "kb.toml" in page  # last good page + error overlay state
    (s.vault / "kb.toml").write_text('title = "Fine Again"\nbase_url = "http://localhost/"\n', encoding="utf-8")
    assert s.wait_idle()
    page = fetch(s, "/a/")[1]
    assert "Fine Again" in page and "kb.toml" not in page


def test_site_folder_inside_vault_does_not_feed_back(tmp_path):
    vault = write_vault(tmp_path / "vault", {"a.md": "# A\none\n"})
    s = Session(vault, vault / "site", CFG, port=0, embed=False, quiet=True)
    s.start()
    try:
        assert s.wait_idle(quiet=0.3)
        (vault / "a.md").write_text("# A\ntwo\n", encoding="utf-8")
        assert s.wait_idle(quiet=0.5)
        batches = s.batches
        assert "two" in fetch(s, "/a/")[1]
        assert s.wait_idle(quiet=0.5) and s.batches == batches  # our own writes caused no rebuilds
    finally:
        s.stop()


def test_attachments_leave_the_site_with_their_last_embed_or_file(session, tmp_path):
    png = b"\x89PNG\r\n\x1a\nfake"
    s = session({"a.md": "# A\n![[pond.png|200]] ![[beach.png]]\n", "pond.png": png, "beach.png": png})
    assert (s.out / "pond.png").is_file() and (s.out / "beach.png").is_file()
    (s.vault / "pond.png").unlink()  # the file goes: the note now shows a missing attachment
    assert s.wait_idle()
    assert not (s.out / "pond.png").exists()
    (s.vault / "a.md").write_text("# A\nno pictures now\n", encoding="utf-8")  # the embed goes, the file stays
    assert s.wait_idle()
    assert not (s.out / "beach.png").exists() and (s.vault / "beach.png").is_file()
    (s.vault / "beach.png").write_bytes(b"\x89PNG\r\n\x1a\nfak2")  # same size,
    os.utime(s.vault / "beach.png", (0, 0))  # older time (a restore): still a change
    (s.vault / "a.md").write_text("# A\n![[beach.png]]\n", encoding="utf-8")
    assert s.wait_idle()
    assert (s.out / "beach.png").read_bytes().endswith(b"fak2")
    assert_same_as_full_build(s.vault, s.out, tmp_path, s.config)


def test_obsidian_line_break_setting_rerenders_every_note(session):
    s = session({"a.md": "# A\nfirst line\nsecond line\n", "b.md": "# B\none\ntwo\n"})
    assert "first line<br" not in fetch(s, "/a/")[1]  # no app.json: Obsidian's default, a newline joins
    app = s.vault / ".obsidian" / "app.json"
    app.parent.mkdir()
    app.write_text('{"strictLineBreaks": false}', encoding="utf-8")
    assert s.wait_idle()
    assert "first line<br" in fetch(s, "/a/")[1] and "one<br" in fetch(s, "/b/")[1]
    (s.vault / "a.md").write_text("# A\nedited\nagain\n", encoding="utf-8")  # a later edit keeps the setting
    assert s.wait_idle()
    assert "edited<br" in fetch(s, "/a/")[1]
    page_mtime = (s.out / "b/index.html").stat().st_mtime_ns
    (s.vault / ".obsidian" / "workspace.json").write_text("{}", encoding="utf-8")  # the rest of .obsidian: ignored
    app.write_text('{"strictLineBreaks": false, "showLineNumber": true}', encoding="utf-8")  # not kb's setting
    assert s.wait_idle()
    assert (s.out / "b/index.html").stat().st_mtime_ns == page_mtime  # nothing rebuilt
    app.write_text('{"strictLineBreaks": ', encoding="utf-8")  # broken: reported, the last good site stays
    assert s.wait_idle()
    status, page = fetch(s, "/a/")
    assert status == 200 and "edited<br" in page and "app.json" in page  # in the overlay state
    app.write_text('{"strictLineBreaks": true}', encoding="utf-8")
    assert s.wait_idle()
    page = fetch(s, "/a/")[1]
    assert "edited<br" not in page and "edited\nagain" in page and "app.json" not in page
    assert_same_as_full_build(s.vault, s.out, s.vault.parent, s.config)


def test_lists_show_a_note_s_opening_where_it_has_no_description_and_follow_its_edits(session, tmp_path):
    s = session({"a.md": "---\ntags: [x]\n---\n# A\nThe first words of a.\n",
                 "b.md": "---\ndescription: Told in the frontmatter.\n---\n# B\nBody of b.\n"})
    home, tag = fetch(s, "/")[1], fetch(s, "/tags/x/")[1]
    assert '<p class="post-summary">The first words of a.</p>' in home and "The first words of a." in tag
    assert '<p class="post-summary">Told in the frontmatter.</p>' in home and "Body of b." not in home
    (s.vault / "a.md").write_text("---\ntags: [x]\n---\n# A\n![[b]]\n", encoding="utf-8")  # no words of its own now
    assert s.wait_idle()
    assert "The first words of a." not in fetch(s, "/")[1] and "The first words of a." not in fetch(s, "/tags/x/")[1]
    assert_same_as_full_build(s.vault, s.out, tmp_path, s.config)
