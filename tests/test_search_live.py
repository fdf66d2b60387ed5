"""kb serve's search: embeddings and related notes follow edits in a background thread."""

from __future__ import annotations

import json

from search_vaults import vault

from kb.build import build
from kb.config import Config, SearchConfig
from kb.rebuild import Rebuilder
from kb.search import quantize
from kb.search.live import LiveSearch
from kb.search.query import SiteIndex
from tests.conftest import write_vault

CFG = Config(base_url="https://example.org/", search=SearchConfig(model="hash"))


def served(v, tmp_path):
    """What kb serve holds for vault v: the first (lexical) build, its Rebuilder, and the search
    thread hooked to it, after its first refresh."""
    ctx = build(v, tmp_path / "site", CFG, embed=False).ctx
    rb = Rebuilder(ctx)
    live = LiveSearch(v, ctx.out, CFG, embed=True, apply_related=rb.apply_related, debounce=0)
    ctx.extra["on_rebuilt"] = live.schedule
    live.schedule(ctx)
    assert live.wait_idle(120)
    return ctx, rb, live


def test_background_index_follows_edits(tmp_path):
    v = write_vault(tmp_path / "v", vault(12))
    ctx = build(v, tmp_path / "site", CFG, embed=False).ctx  # what kb serve serves first
    out = ctx.out
    assert SiteIndex(out).manifest["mode"] == "lexical"
    assert 'id="related-h"' not in (out / "garden/note-000/index.html").read_text()

    (out / "search" / "model").mkdir()
    (out / "search" / "model" / "stale.onnx").write_bytes(b"from an older index")
    rb = Rebuilder(ctx)
    live = LiveSearch(v, out, CFG, embed=True, apply_related=rb.apply_related, debounce=0)
    ctx.extra["on_rebuilt"] = live.schedule
    live.schedule(ctx)
    assert live.wait_idle(120)
    assert SiteIndex(out).manifest["mode"] == "int8"  # vectors now, for a vault this small
    assert not (out / "search" / "model").exists()  # linked over for reuse, then dropped: not made any more
    page = (out / "garden/note-000/index.html").read_text()
    related = page.split('id="related-h"')[1].split("</section>")[0]
    assert 'href="/garden/note-005/"' in related  # another garden note, rendered by the rebuild side
    calls = live.embedder.calls

    (v / "music/note-004.md").write_text("# Music note 4\nA zeppelin over the concert hall.\n")
    rb.apply({"music/note-004.md"})
    assert live.wait_idle(120)
    assert live.embedder.calls == calls + 1  # only the edited note's one chunk was embedded again
    hits = SiteIndex(out).search("zeppelin", k=3)
    assert hits and hits[0].path == "music/note-004.md"
    assert not list(tmp_path.glob(".site.search-tmp*")) and not (out / ".search.old").exists()
    live.stop()


def test_kb_serve_says_its_first_index_is_lexical_only_until_the_embeddings_are_made(tmp_path):
    v = write_vault(tmp_path / "v", vault(5))
    waits = build(v, tmp_path / "a", CFG, embed=False, extra={"search_by_meaning": True}).ctx.extra["search"].notices
    assert waits == ["lexical until the embeddings are ready (they are made in the background)"]
    skipped = build(v, tmp_path / "b", CFG, embed=False).ctx.extra["search"].notices  # kb build --no-embed
    assert skipped == ["lexical only: embedding skipped"]


def test_missing_model_keeps_serving_the_lexical_index(tmp_path, capsys):
    v = write_vault(tmp_path / "v", vault(5))
    ctx = build(v, tmp_path / "site", CFG, embed=False).ctx
    before = (ctx.out / "search" / "manifest.json").read_bytes()
    bad = Config(base_url="https://example.org/", search=SearchConfig(model=str(tmp_path / "no-such-model")))
    live = LiveSearch(v, ctx.out, bad, embed=True, apply_related=lambda r: None, debounce=0)
    live.schedule(ctx)
    assert live.wait_idle(60)
    manifest = json.loads((ctx.out / "search" / "manifest.json").read_bytes())
    assert manifest["mode"] == "lexical" and (ctx.out / "search" / "manifest.json").read_bytes() == before
    assert "embedding model unavailable" in capsys.readouterr().err
    live.stop()


def test_fast_piece_counter_matches_the_browser_tokenizer():
    from kb.search.counting import piece_counter
    from kb.search.embed import packaged_model_path
    from kb.search.tokenize import WordPiece

    count = piece_counter(packaged_model_path())
    wp = WordPiece.from_file(packaged_model_path() / "vocab.txt")
    texts = ["Sync your notes across devices", "naïve café — résumé", "snake_case(x) -> y; #tag/nested",
             "中文 text and emoji 🎉 mixed", "unbelievably unrecognisable antidisestablishmentarianism", ""]
    assert [count(t) for t in texts] == [len(wp.encode(t)) for t in texts]


def test_ascii_fast_path_tokenizes_like_the_general_loop():
    import random

    from kb.search.tokenize import _basic_tokens_unicode, basic_tokens

    rng = random.Random(7)
    alphabet = [chr(i) for i in range(128)]
    samples = ["Hello, World! snake_case(x)->y #tag/nested 3.14 e-mail@x.org", "a\x0bb\x0cc\td\re\nf\x00g\x7fh"]
    samples += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80))) for _ in range(2000)]
    for s in samples:
        assert basic_tokens(s) == _basic_tokens_unicode(s), repr(s)


def test_mixed_text_tokenizes_like_the_general_loop():
    import random

    from kb.search.tokenize import _basic_tokens_unicode, basic_tokens

    rng = random.Random(11)
    pool = [chr(i) for i in range(128)] + list("éÉüßçñ—–“”‘’…•→€£¥中文日本語한국어🎉👍\u00a0\u2003\u3000\u200b\u0301\u0085\u2028\ufeff")
    samples = ["naïve café — “quoted” résumé\u00a0x", "emoji🎉and\u3000ideographic space", "e\u0301 combining"]
    samples += ["".join(rng.choice(pool) for _ in range(rng.randint(0, 60))) for _ in range(3000)]
    for s in samples:
        assert basic_tokens(s) == _basic_tokens_unicode(s), repr(s)


def test_unwritable_cache_does_not_stop_the_build(tmp_path, capsys):
    v = write_vault(tmp_path / "v", vault(5))
    (v / ".kb-cache").write_text("a file where the cache folder should be")
    r = build(v, tmp_path / "site", CFG, embed=True)
    assert SiteIndex(r.ctx.out).manifest["mode"] == "int8"
    assert "could not write the embedding cache" in capsys.readouterr().err


def test_refreshes_reuse_the_codebooks_until_the_vault_has_changed(tmp_path, monkeypatch, capsys):
    """kb serve codes an edited vault with the codebooks it trained last (a build always trains);
    once more than RETRAIN_SHARE of the chunks are new or gone, it trains again."""
    monkeypatch.setattr(quantize, "PQ_MIN_CHUNKS", 64)  # product quantization for a small vault
    v = write_vault(tmp_path / "v", vault(60, sections=2))
    ctx, rb, live = served(v, tmp_path)
    first = live.quantizer
    assert first is not None and first.mode == "pq" and SiteIndex(ctx.out).manifest["mode"] == "pq"
    assert "earlier refresh" not in capsys.readouterr().err
    rows, garden = live.rows, live.chunk_memo["garden/note-000.md"][1]
    assert rows is not None

    (v / "music/note-004.md").write_text("# Music note 4\nA zeppelin over the concert hall.\n")
    rb.apply({"music/note-004.md"})
    assert live.wait_idle(120)
    assert live.quantizer is first and live.rows is rows
    assert live.chunk_memo["garden/note-000.md"][1] is garden  # not cut again
    assert "zeppelin" in live.chunk_memo["music/note-004.md"][1][0].text
    assert "reconstruction cosine" in (err := capsys.readouterr().err) and "(codebooks and encoder rows of an earlier refresh)" in err
    hits = SiteIndex(ctx.out).search("zeppelin", k=3)
    assert hits and hits[0].path == "music/note-004.md"

    edited = [f"garden/note-{i:03d}.md" for i in range(0, 60, 5)]  # 12 of 60 notes: 20% of the chunks
    for rel in edited:
        (v / rel).write_text(f"# Rewritten {rel}\nNothing about gardens any more: {rel} is about kites.\n")
    rb.apply(set(edited))
    assert live.wait_idle(120)
    assert live.quantizer is not first and live.rows is not rows
    assert "earlier refresh" not in capsys.readouterr().err
    live.stop()


def _related_sections(site) -> dict[str, str]:
    out = {}
    for page in sorted(site.rglob("index.html")):
        html = page.read_text()
        if 'id="related-h"' in html:
            out[page.relative_to(site).as_posix()] = html.split('id="related-h"')[1].split("</section>")[0]
    return out


def test_related_lists_follow_a_retitle_and_a_quick_undo(tmp_path):
    v = write_vault(tmp_path / "v", vault(12))
    ctx, rb, live = served(v, tmp_path)
    target = "garden/note-005.md"
    listing = [p for p, n in ctx.notes.items() if target in n.related]
    assert listing
    original = (v / target).read_text()
    (v / target).write_text("---\ntitle: Renamed Five\n---\n" + original)
    rb.apply({target})
    assert live.wait_idle(120)
    # an edit, then its undo while the search thread is still busy with the edit
    (v / "music/note-004.md").write_text("# Music note 4\nA zeppelin over the concert hall.\n")
    rb.apply({"music/note-004.md"})
    (v / "music/note-004.md").write_text(vault(12)["music/note-004.md"])
    rb.apply({"music/note-004.md"})
    assert live.wait_idle(120)
    fresh = build(v, tmp_path / "fresh", CFG, embed=True).ctx.out
    got, want = _related_sections(ctx.out), _related_sections(fresh)
    assert got == want
    assert any("Renamed Five" in got[ctx.notes[p].url + "index.html"] for p in listing if p in ctx.notes)
    live.stop()


def test_a_note_saved_while_a_template_is_broken_still_reaches_the_index(tmp_path):
    import jinja2
    import pytest

    good = "{% extends 'base.html' %}{% block content %}{{ note.html | safe }}{% endblock %}"
    v = write_vault(tmp_path / "v", {**vault(6), "templates/note.html": good})
    ctx = build(v, tmp_path / "site", CFG, embed=False).ctx
    rb = Rebuilder(ctx)
    live = LiveSearch(v, ctx.out, CFG, embed=True, apply_related=rb.apply_related, debounce=0)
    ctx.extra["on_rebuilt"] = live.schedule
    (v / "templates" / "note.html").write_text("{% extends 'base.html' %}{% block content %}{{ note.title }{% endblock %}")
    (v / "music/note-004.md").write_text("# Music note 4\nA zeppelin over the concert hall.\n")
    with pytest.raises(jinja2.TemplateError):
        rb.apply({"music/note-004.md"})
    assert live.wait_idle(120)
    hits = SiteIndex(ctx.out).search("zeppelin", k=3)
    assert hits and hits[0].path == "music/note-004.md"
    live.stop()
