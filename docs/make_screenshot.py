"""Regenerate docs/screenshot.png: the demo vault's sync note, desktop, light theme.

    .venv/bin/python docs/make_screenshot.py   (needs Debian's chromium and playwright)
"""

from __future__ import annotations

import functools
import sys
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's kb, also when kb is not installed

from kb.build import build  # noqa: E402
from kb.config import load_config  # noqa: E402

PAGE = "/guides/sync-your-notes-across-devices/"


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        build(ROOT / "content", site, load_config(ROOT / "content" / "kb.toml"), embed=False)
        server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 1240}, color_scheme="light")
            page.goto(f"http://127.0.0.1:{server.server_address[1]}{PAGE}")
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(ROOT / "docs" / "screenshot.png"))
            browser.close()
        server.shutdown()


if __name__ == "__main__":
    main()
