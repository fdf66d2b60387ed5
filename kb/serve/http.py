"""The preview HTTP server: only files under the built site, clean URLs, a real
404 page, correct content types, and live reload over Server-Sent Events on the
same port (no WebSocket, no second port, no external script).

The live-reload script is added to HTML as it is sent; the files on disk stay
exactly what `kb build` writes.
"""

from __future__ import annotations

import json
import mimetypes
import queue
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

EVENTS = "__kb/events"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".xml": "application/xml; charset=utf-8",
    ".svg": "image/svg+xml",
    ".wasm": "application/wasm",
    ".bin": "application/octet-stream",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".webmanifest": "application/manifest+json",
    ".woff2": "font/woff2",
}
_BODY_END = re.compile(rb"</body\s*>", re.I)

LIVE_JS = """(() => {
  const P = %(prefix)s, here = decodeURI(location.pathname).replace(/\\/index\\.html$/, "/");
  function show(id, msgs, bg) {
    let el = document.getElementById(id);
    if (!msgs || !msgs.length) { if (el) el.remove(); return; }
    if (!el) {
      el = document.createElement("div"); el.id = id; el.setAttribute("role", "alert");
      el.style.cssText = "position:fixed;left:0;right:0;bottom:0;z-index:2147483647;max-height:40vh;overflow:auto;" +
        "margin:0;padding:.75em 1em;color:#fff;font:13px/1.45 ui-monospace,monospace;white-space:pre-wrap;background:" + bg;
      document.body.appendChild(el);
    }
    el.textContent = msgs.join("\\n");
  }
  function state(s) {
    show("kb-live-errors", (s.errors || []).concat((s.pages || {})[here] || []), "#8b1c1c");
    show("kb-live-notice", s.notice ? [s.notice] : [], "#334155");
  }
  state(%(state)s);
  const es = new EventSource(P + "__kb/events");
  es.addEventListener("reload", (e) => {
    const d = JSON.parse(e.data);
    if (d.all || d.urls.includes(here)) location.reload();
  });
  es.addEventListener("state", (e) => state(JSON.parse(e.data)));
  es.addEventListener("search", () => { if (window.kbSearch && window.kbSearch.refresh) window.kbSearch.refresh(); });
})();"""


class Hub:
    """Fan-out of server-sent events to every open page."""

    def __init__(self) -> None:
        self._clients: set[queue.Queue[bytes | None]] = set()
        self._lock = threading.Lock()
        self.sent: list[tuple[float, str, dict]] = []  # kept short; tests and bench read it
        self.connects = 0  # pages that ever connected (tests wait for a reloaded page)

    def subscribe(self) -> queue.Queue[bytes | None]:
        q: queue.Queue[bytes | None] = queue.Queue()
        with self._lock:
            self._clients.add(q)
            self.connects += 1
        return q

    def unsubscribe(self, q: queue.Queue[bytes | None]) -> None:
        with self._lock:
            self._clients.discard(q)

    def send(self, event: str, data: dict) -> None:
        msg = f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()
        with self._lock:
            self.sent = self.sent[-50:] + [(time.time(), event, data)]
            for q in self._clients:
                q.put(msg)

    def close(self) -> None:
        with self._lock:
            for q in self._clients:
                q.put(None)

    @property
    def clients(self) -> int:
        return len(self._clients)


def content_type(path: Path) -> str:
    ext = path.suffix.lower()
    return TYPES.get(ext) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def script_json(value: object) -> str:
    """JSON safe inside <script>: no '</script>' or '<!--' can come out of a message."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


class SiteServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], site: Path, prefix: str, state: Callable[[], dict]) -> None:
        super().__init__(addr, SiteHandler)
        self.site = site
        self.prefix = prefix
        self.state = state  # -> {"errors": [...], "pages": {url: [...]}, "notice": str, "ready": bool}
        self.hub = Hub()
        self.served = 0
        # cold start: rel -> a folder holding a preview of that page (kb.serve.early), or None
        self.fallback: Callable[[str], Path | None] | None = None

    def live_script(self) -> bytes:
        js = LIVE_JS % {"prefix": script_json(self.prefix), "state": script_json(self.state())}
        return f'<script id="kb-live">{js}</script>\n'.encode()


class SiteHandler(BaseHTTPRequestHandler):
    server: SiteServer
    server_version = "kb-serve"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass  # the terminal is for build problems, not access logs

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self._respond(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._respond(head=True)

    def _respond(self, head: bool) -> None:
        prefix = self.server.prefix
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        if path == prefix + EVENTS:
            return self._events()
        if not path.startswith(prefix):
            if path + "/" == prefix or path == "/":
                return self._redirect(prefix)
            return self._not_found(head)
        rel = path[len(prefix) :]
        target = self._locate(rel)
        fallback = self.server.fallback
        if target is None and fallback is not None:
            try:
                preview = fallback(rel)
            except Exception:  # a preview is a nicety; the real build reports problems
                preview = None
            target = self._locate(rel, preview) if preview is not None else None
        if target is None:
            return self._not_found(head)
        if target.is_dir():
            if not (target / "index.html").is_file():
                return self._not_found(head)  # no directory listings
            if rel and not rel.endswith("/"):
                query = f"?{parts.query}" if parts.query else ""
                return self._redirect(parts.path + "/" + query)
            target = target / "index.html"
        self._file(target, 200, head)

    def _locate(self, rel: str, root: Path | None = None) -> Path | None:
        """The file or folder `rel` names inside the site, or None. Refuses '..',
        hidden names (our temp files), backslashes, NUL and symlinks out of the site."""
        if "\x00" in rel or "\\" in rel:
            return None
        segs = [s for s in rel.split("/") if s]
        if any(s == ".." or s.startswith(".") for s in segs):
            return None
        for _ in range(2):
            root = root or self.server.site
            if root.is_dir():
                break
            time.sleep(0.05)  # a full rebuild is swapping the site folder in
        try:
            root = root.resolve(strict=True)
            target = root.joinpath(*segs).resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if target != root and root not in target.parents:
            return None
        return target

    def _file(self, path: Path, status: int, head: bool) -> None:
        try:
            body = path.read_bytes()
        except OSError:
            return self._not_found(head) if status == 200 else self._plain(404, "Not found", head)
        ctype = content_type(path)
        if ctype.startswith("text/html"):
            body = self._inject(body)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if not head:
            self.wfile.write(body)
        if status == 200:
            self.server.served += 1

    def _inject(self, body: bytes) -> bytes:
        script = self.server.live_script()
        ends = list(_BODY_END.finditer(body))
        if not ends:
            return body + script
        at = ends[-1].start()
        return body[:at] + script + body[at:]

    def _not_found(self, head: bool) -> None:
        page = self.server.site / "404.html"
        if page.is_file():
            return self._file(page, 404, head)
        if not self.server.state().get("ready", True):
            return self._building(head)
        self._plain(404, "Not found", head)

    def _building(self, head: bool) -> None:
        body = b"<!doctype html><meta charset=utf-8><title>Building</title><p>kb serve: building the site\xe2\x80\xa6</p></body>"
        body = self._inject(body)
        self.send_response(503)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Retry-After", "1")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _plain(self, status: int, text: str, head: bool) -> None:
        body = (text + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(301)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _events(self) -> None:
        hub = self.server.hub
        q = hub.subscribe()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(b"retry: 500\n\n")
            self.wfile.flush()
            while True:
                try:
                    msg = q.get(timeout=10)
                except queue.Empty:
                    msg = b": ping\n\n"  # notices closed tabs; keeps proxies from timing out
                if msg is None:
                    break
                self.wfile.write(msg)
                self.wfile.flush()
        except OSError:
            pass  # the tab went away
        finally:
            hub.unsubscribe(q)
