"""The preview server: only the built site, clean URLs, 404 page, content types, prefix."""

from __future__ import annotations

import http.client
import os
import threading

import pytest

from kb.config import Config
from kb.serve.http import SiteServer


@pytest.fixture
def server(make_site, tmp_path):
    servers = []

    def _start(config: Config | None = None) -> SiteServer:
        cfg = config or Config(base_url="http://localhost/")
        site = make_site({"a.md": "# A\nSee [[b]].\n", "sub/b.md": "# B\ntext\n"}, config=cfg).ctx.out
        (site / "data").mkdir()
        for name in ("x.wasm", "x.json", "x.xml", "x.svg", "x.js", "x.css", "x.bin"):
            (site / "data" / name).write_bytes(b"<svg/>" if name.endswith(".svg") else b"{}")
        (tmp_path / "secret.txt").write_text("top secret")
        os.symlink(tmp_path / "secret.txt", site / "link.txt")
        srv = SiteServer(("127.0.0.1", 0), site, cfg.prefix, lambda: {"errors": [], "pages": {}, "notice": "", "ready": True})
        threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(srv)
        return srv

    yield _start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def get(srv: SiteServer, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(*srv.server_address[:2], timeout=5)
    conn.putrequest(method, path, skip_accept_encoding=True)  # sends the path byte for byte
    conn.endheaders()
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, body


def test_clean_urls_and_live_script_only_in_response(server):
    srv = server()
    status, headers, body = get(srv, "/a/")
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert b'<script id="kb-live">' in body and body.index(b"kb-live") < body.rindex(b"</body>")
    assert b"kb-live" not in (srv.site / "a/index.html").read_bytes()  # files on disk untouched
    status, headers, _ = get(srv, "/sub/b?x=1")
    assert status == 301 and headers["location"] == "/sub/b/?x=1"
    assert get(srv, "/")[0] == 200 and get(srv, "/index.html")[0] == 200
    status, _, body = get(srv, "/a/", "HEAD")
    assert status == 200 and body == b""


@pytest.mark.parametrize(
    "path",
    ["/../secret.txt", "/%2e%2e/secret.txt", "/sub/..%2f..%2fsecret.txt", "/a/..\\..\\secret.txt", "/link.txt", "/%00", "/.x"],
)
def test_no_path_escapes_the_site(server, path):
    srv = server()
    status, _, body = get(srv, path)
    assert status == 404 and b"top secret" not in body


def test_404_page_and_no_listings(server):
    srv = server()
    status, headers, body = get(srv, "/nope/")
    assert status == 404 and b"Page not found" in body and headers["content-type"].startswith("text/html")
    status, _, body = get(srv, "/data/")  # a folder without index.html: no listing
    assert status == 404 and b"x.wasm" not in body


@pytest.mark.parametrize(
    "name,ctype",
    [
        ("x.wasm", "application/wasm"),
        ("x.json", "application/json"),
        ("x.xml", "application/xml; charset=utf-8"),
        ("x.svg", "image/svg+xml"),
        ("x.js", "text/javascript; charset=utf-8"),
        ("x.css", "text/css; charset=utf-8"),
        ("x.bin", "application/octet-stream"),
    ],
)
def test_content_types(server, name, ctype):
    status, headers, _ = get(server(), f"/data/{name}")
    assert status == 200 and headers["content-type"] == ctype


def test_path_prefix(server):
    srv = server(Config(base_url="https://example.org/notes/"))
    assert get(srv, "/notes/a/")[0] == 200
    assert b'href="/notes/sub/b/"' in get(srv, "/notes/a/")[2]
    status, headers, _ = get(srv, "/notes")
    assert status == 301 and headers["location"] == "/notes/"
    assert get(srv, "/a/")[0] == 404
    status, headers, _ = get(srv, "/")
    assert status == 301 and headers["location"] == "/notes/"
