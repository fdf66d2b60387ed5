"""`[search] browser_model = "full"`: the ONNX MiniLM and onnxruntime-web shipped in site/search/model/,
the search box encoding queries with it in headless Chromium, and the fallbacks to the static encoder
(runtime unreachable or tampered with, model file missing in the site)."""

from __future__ import annotations

import functools
import io
import json
import shutil
import tarfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from conftest import write_vault
from search_vaults import SEMANTIC_VAULT

from kb.build import build
from kb.config import Config, ConfigError, SearchConfig, load_config
from kb.search import browser_model as bm
from kb.search.embed import packaged_model_path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"]
VAULT = SEMANTIC_VAULT
QUERY = "access my journal from a smartphone"  # no word of "Sync your notes across devices"
TARGET = "Sync your notes across devices"
QUALITY = bm.QUALITY_FLOOR


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


def serve_dir(root: Path) -> tuple[ThreadingHTTPServer, str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}/"


def unreachable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An empty user cache and a registry nobody listens on (a port just closed)."""
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    port = srv.server_address[1]
    srv.server_close()
    monkeypatch.setenv("KB_CACHE_HOME", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("KB_NPM_REGISTRY", f"http://127.0.0.1:{port}")


# --- fast: configuration and the runtime fetch ---

def test_config_accepts_full_and_rejects_unknown_values(tmp_path):
    (tmp_path / "kb.toml").write_text('[search]\nbrowser_model = "full"\n')
    assert load_config(tmp_path / "kb.toml").search.browser_model == "full"
    assert Config().search.browser_model == "static"  # the default stays the static encoder
    (tmp_path / "kb.toml").write_text('[search]\nbrowser_model = "onnx"\n')
    with pytest.raises(ConfigError, match="browser_model' must be one of 'static', 'full'"):
        load_config(tmp_path / "kb.toml")


def test_runtime_unreachable_is_a_clear_error(monkeypatch, tmp_path):
    unreachable(monkeypatch, tmp_path)
    with pytest.raises(bm.Unavailable, match=r"cannot fetch http://127\.0\.0\.1:\d+/onnxruntime-web/-/onnxruntime-web-1\.30\.0\.tgz"):
        bm.runtime_files()
    with pytest.raises(bm.Unavailable, match="is not in"):
        bm.runtime_files(fetch=False)


def test_runtime_with_wrong_hash_is_refused_and_not_cached(monkeypatch, tmp_path):
    """A registry (or mirror) serving other bytes than the pinned sha512: refused, nothing cached."""
    fake = io.BytesIO()
    with tarfile.open(fileobj=fake, mode="w:gz") as tar:
        for member in bm.ORT_WEB_FILES:
            data = b"// not onnxruntime"
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    tgz = tmp_path / "registry" / "onnxruntime-web" / "-" / f"onnxruntime-web-{bm.ORT_WEB_VERSION}.tgz"
    tgz.parent.mkdir(parents=True)
    tgz.write_bytes(fake.getvalue())
    srv, url = serve_dir(tmp_path / "registry")
    try:
        monkeypatch.setenv("KB_CACHE_HOME", str(tmp_path / "cache"))
        monkeypatch.setenv("KB_NPM_REGISTRY", url)
        with pytest.raises(bm.Unavailable, match="sha512 does not match"):
            bm.runtime_files()
        assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())
        # a tampered file in the cache is not trusted either: it is fetched again (and refused again)
        (tmp_path / "cache").mkdir(exist_ok=True)
        (tmp_path / "cache" / tgz.name).write_bytes(fake.getvalue())
        with pytest.raises(bm.Unavailable, match="is not in"):
            bm.runtime_files(fetch=False)
    finally:
        srv.shutdown()


def test_hash_embedder_keeps_static_encoder_with_warning(tmp_path, capsys):
    v = write_vault(tmp_path / "vault", VAULT)
    cfg = Config(search=SearchConfig(model="hash", browser_model="full"))
    out = build(v, tmp_path / "site", cfg, embed=True).ctx.out
    assert "needs a sentence-transformers model" in capsys.readouterr().err
    assert "browser_model" not in json.loads((out / "search" / "manifest.json").read_text())
    assert not (out / "search" / "model").exists()


# --- slow: the real model, exported once for the module ---

@pytest.fixture(scope="module")
def full_site(tmp_path_factory):
    """A vault built with browser_model = "full" (the runtime from the user cache `make setup` fills)."""
    try:
        bm.runtime_files()
    except bm.Unavailable as exc:
        pytest.skip(f"onnxruntime-web is not cached and cannot be fetched ({exc}); run `make setup`")
    root = tmp_path_factory.mktemp("fullmodel")
    v = write_vault(root / "vault", VAULT)
    cfg = Config(base_url="http://127.0.0.1/", search=SearchConfig(browser_model="full"))
    out = build(v, root / "site", cfg, embed=True).ctx.out
    return v, out


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def open_search(browser, url: str, want: str = "full", requests: list[str] | None = None):  # noqa: ANN001, ANN201
    page = browser.new_page()
    if requests is not None:
        page.on("request", lambda r: requests.append(r.url))
    page.goto(url)
    page.wait_for_load_state("load")
    if requests is not None:  # nothing of the model or its runtime before the search box is focused
        assert not [u for u in requests if "/search/" in u or "search-model.js" in u], requests
    page.click("#search-input")
    page.wait_for_function("w => document.getElementById('search-input').getAttribute('data-encoder') === w",
                           arg=want, timeout=120000)
    return page


def results(page, query: str) -> list[str]:  # noqa: ANN001
    page.fill("#search-input", query)
    page.wait_for_function("q => document.getElementById('search-results').getAttribute('data-query') === q",
                           arg=query, timeout=60000)
    return page.locator("#search-results li .r-title").all_inner_texts()


@pytest.mark.slow
def test_build_ships_model_and_runtime_and_caches_the_export(full_site, capsys):
    v, out = full_site
    entry = json.loads((out / "search" / "manifest.json").read_text())["browser_model"]
    assert entry["precision"] == "int8" and entry["runtime_version"] == bm.ORT_WEB_VERSION
    for key in ("model", "runtime", "wasm"):
        assert (out / "search" / entry[key]).is_file(), key
    assert (out / "search" / entry["model"]).stat().st_size == entry["bytes"]
    assert (out / "search" / "model" / "NOTICE-onnxruntime-web.txt").read_text().startswith("onnxruntime-web")
    cached = sorted(p.name for p in (v / ".kb-cache").glob("browser-model-*"))
    assert len(cached) == 2 and cached[0].endswith(".int8.onnx")  # the float32 export is not kept
    # the cached export is reused: same bytes, not exported again
    meta = next((v / ".kb-cache").glob("browser-model-*.json"))
    stamp = meta.stat().st_mtime_ns
    capsys.readouterr()
    out2 = build(v, v.parent / "site2", Config(search=SearchConfig(browser_model="full")), embed=True).ctx.out
    assert meta.stat().st_mtime_ns == stamp
    assert (out2 / "search" / entry["model"]).read_bytes() == (out / "search" / entry["model"]).read_bytes()
    assert "browser model: all-MiniLM-L6-v2 as int8 ONNX" in capsys.readouterr().err


@pytest.mark.slow
def test_kb_search_full_model_uses_the_shipped_model(full_site, capsys, monkeypatch):
    from kb.cli import main
    from kb.search import embed

    _, out = full_site

    def no_torch(*_a, **_k):  # noqa: ANN202 - the site's ONNX file must be enough
        raise AssertionError("kb search loaded the torch model although the site ships one")

    monkeypatch.setattr(embed, "load_embedder", no_torch)
    capsys.readouterr()
    assert main(["search", QUERY, "--full-model", "--json", "--site", str(out)]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits[0]["title"] == TARGET
    (out / "search" / "model" / "model.onnx").rename(out / "search" / "model" / "gone.onnx")
    try:
        assert main(["search", QUERY, "--full-model", "--site", str(out)]) == 2
        assert "model.onnx: the manifest names it but it is missing" in capsys.readouterr().err
    finally:
        (out / "search" / "model" / "gone.onnx").rename(out / "search" / "model" / "model.onnx")


@pytest.mark.slow
def test_shipped_model_agrees_with_torch_float32(full_site):
    """The int8 ONNX file the browser runs, under Python onnxruntime, vs sentence-transformers float32."""
    _, out = full_site
    model_dir = packaged_model_path()
    texts = [QUERY, TARGET, "python decorators", "how do I bake bread at home", "graph of linked notes"]
    ref, ids = bm.reference_vectors(model_dir, texts)
    got = bm.onnx_encode(out / "search" / "model" / "model.onnx", ids)
    cos = (got * ref).sum(1)
    assert cos.min() > 0.97, cos


@pytest.mark.slow
@pytest.mark.browser
def test_browser_full_model_finds_note_and_matches_kb_search(full_site, browser):
    from kb.search.embed import load_embedder
    from kb.search.query import SiteIndex, full_model_vector, shipped_model_vector

    _, out = full_site
    srv, url = serve_dir(out)
    try:
        requests: list[str] = []
        page = open_search(browser, url, requests=requests)
        assert {url + "static/search-model.js", url + "search/model/model.onnx",
                url + "search/model/ort-wasm-simd-threaded.wasm"} <= set(requests)
        assert page.locator("#search-status").inner_text() == "Search model loaded."
        titles = results(page, QUERY)
        assert titles[0] == TARGET
        # the browser's query vector: its own onnxruntime-web run, rotated with rotation.bin
        ids = page.evaluate("q => kbSearch.site.fullModel.ids(q)", QUERY)
        browser_vec = np.array(page.evaluate("q => kbSearch.site.fullModel.encode(q).then(v => Array.from(v))", QUERY))
        raw = np.array(page.evaluate("ids => kbSearch.site.fullModel.embed(ids).then(v => Array.from(v))", ids))
        page.close()
    finally:
        srv.shutdown()
    index = SiteIndex(out)
    # same ONNX file under Python onnxruntime: the int8 kernels of the wasm and native builds round
    # differently (measured on 30 bench queries: mean cosine 0.9993, min 0.9927 between the two; both
    # 0.9935 from torch float32), so "the same vector" means within int8 error, not bit for bit
    py_onnx = bm.onnx_encode(out / "search" / "model" / "model.onnx", [ids])[0]
    assert float(raw @ py_onnx) > 0.99
    assert np.allclose(index.rotate(raw), browser_vec, atol=1e-6)
    # `kb search --full-model` (torch): the same tokens, a vector within int8 error, the same top notes
    _, ref_ids = bm.reference_vectors(packaged_model_path(), [QUERY])
    assert ids == ref_ids[0]
    torch_vec = full_model_vector(index, QUERY, lambda _m: load_embedder(""))
    assert float(browser_vec @ torch_vec) > 0.98
    py = [r.title for r in index.search(QUERY, k=10, vector=torch_vec)]
    assert py[0] == titles[0] == TARGET
    assert set(py[:3]) == set(titles[:3])
    # on this site `kb search --full-model` runs the shipped ONNX file itself: closer to the browser than torch
    cli_vec = shipped_model_vector(index, QUERY)
    assert float(cli_vec @ browser_vec) > 0.99 and float(cli_vec @ browser_vec) >= float(torch_vec @ browser_vec)
    cli = [r.title for r in index.search(QUERY, k=10, vector=cli_vec)]
    assert cli[0] == TARGET and set(cli[:3]) == set(titles[:3])


@pytest.mark.slow
@pytest.mark.browser
def test_model_that_fails_to_load_falls_back_in_the_box(full_site, browser, tmp_path):
    _, out = full_site
    broken = shutil.copytree(out, tmp_path / "site", ignore=shutil.ignore_patterns("*.wasm", "model.onnx"))
    srv, url = serve_dir(broken)
    try:
        page = open_search(browser, url, want="static")
        assert "could not be loaded" in page.locator("#search-status").inner_text()
        assert "quick encoder" in page.get_attribute("#search-input", "placeholder")
        titles = results(page, "sourdough starter")  # the static encoder + BM25 still answer
        assert titles[0] == "Baking sourdough"
        page.close()
    finally:
        srv.shutdown()


@pytest.mark.slow
def test_build_without_runtime_warns_and_keeps_static_encoder(full_site, monkeypatch, tmp_path, capsys):
    v, _ = full_site
    unreachable(monkeypatch, tmp_path)
    capsys.readouterr()
    res = build(v, tmp_path / "site", Config(search=SearchConfig(browser_model="full")), embed=True)
    err = capsys.readouterr().err
    assert "warning: the full model cannot be shipped to the browser (cannot fetch" in err
    assert "the search box uses the static encoder" in err
    manifest = json.loads((res.ctx.out / "search" / "manifest.json").read_text())
    assert "browser_model" not in manifest and manifest["mode"] == "int8"
    assert not (res.ctx.out / "search" / "model").exists()



@pytest.mark.slow
def test_export_is_deterministic_and_survives_an_unwritable_cache(full_site, tmp_path, capsys):
    """A fresh export gives the very bytes the build shipped; a cache that cannot be written only warns."""
    _, out = full_site
    blocked = tmp_path / "kb-cache"
    blocked.write_text("a file where the cache folder should be")
    capsys.readouterr()
    exp = bm.exported_model(packaged_model_path(), "all-MiniLM-L6-v2", blocked)
    assert "could not cache the browser model" in capsys.readouterr().err
    assert exp.precision == "int8" and exp.cosine > QUALITY
    assert exp.data == (out / "search" / "model" / "model.onnx").read_bytes()
