"""`kb serve`: build, serve over HTTP, watch, rebuild what an edit affects, reload the tab.

kb.serve.http serves the built site and pushes reload events; kb.serve.session
runs the watcher and the rebuild loop; kb.rebuild and kb.incremental do the
incremental rebuild with the pipeline's own steps.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
import webbrowser
from pathlib import Path

from kb.config import ConfigError, find_vault


def serve(args: argparse.Namespace) -> int:
    from kb.serve.session import Session

    try:
        vault, config = find_vault(args.vault, Path.cwd())
    except ConfigError as exc:
        print(f"kb serve: error: {exc}", file=sys.stderr)
        return 2
    if not vault.is_dir():
        print(f"kb serve: error: {vault}: vault folder not found", file=sys.stderr)
        return 2
    from kb.build import BuildError, check_output

    try:  # before serving anything: the folder must be one kb may replace (kb.build.check_output)
        check_output(vault, Path(args.out))
    except BuildError as exc:
        print(f"kb serve: error: {exc}", file=sys.stderr)
        return 2
    try:
        session = Session(vault, Path(args.out), config, host=args.host, port=args.port, embed=not args.no_embed, vault_arg=args.vault or "")
    except OSError as exc:
        print(f"kb serve: error: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _interrupt)  # stop cleanly when killed by a supervisor
    session.start()
    print(f"kb serve: {session.url} (watching {vault}; Ctrl+C to stop)", flush=True)
    if args.open:
        threading.Thread(target=webbrowser.open, args=(session.url,), daemon=True).start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("kb serve: stopping", flush=True)
    finally:
        session.stop()
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
