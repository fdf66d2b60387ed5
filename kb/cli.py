"""Command line: one small function per command; the work happens in the pipeline modules."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from kb.config import ConfigError, find_vault
from kb.diagnostics import plural


def cmd_build(args: argparse.Namespace) -> int:
    from kb.build import BuildError, build
    from kb.diagnostics import report

    try:
        vault, config = find_vault(args.vault, Path.cwd())
        result = build(vault, Path(args.out), config, embed=not args.no_embed)
    except (BuildError, ConfigError) as exc:
        print(f"kb build: error: {exc}", file=sys.stderr)
        return 2
    report(result.diagnostics)
    print(result.summary())
    if args.strict and result.diagnostics:
        print(f"kb build: --strict: {plural(len(result.diagnostics), 'warning')}", file=sys.stderr)
        return 1
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from kb.serve import serve

    return serve(args)


def cmd_import(args: argparse.Namespace) -> int:
    from kb.importers import run_import

    return run_import(args)


def _positive(text: str) -> int:
    value = int(text) if text.lstrip("-").isdigit() else 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of 1 or more, not {text!r}")
    return value


def cmd_search(args: argparse.Namespace) -> int:
    from kb.search.cli import run_search

    return run_search(args)


def cmd_init(args: argparse.Namespace) -> int:
    from kb.init import init_vault

    return init_vault(Path(args.dir))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kb", description="Static sites from Obsidian-style vaults.")
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="build the site")
    b.add_argument("vault", nargs="?", help="vault folder (default: kb.toml's vault, else content/)")
    b.add_argument("--out", default="site", help="output folder (default: site/)")
    b.add_argument("--strict", action="store_true", help="exit non-zero when there are warnings")
    b.add_argument("--no-embed", action="store_true", help="skip embeddings (lexical search only)")
    b.set_defaults(func=cmd_build)

    s = sub.add_parser("serve", help="build, serve and rebuild on change")
    s.add_argument("vault", nargs="?")
    s.add_argument("--out", default="site")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--open", action="store_true", help="open the site in a browser")
    s.add_argument("--no-embed", action="store_true")
    s.set_defaults(func=cmd_serve)

    i = sub.add_parser("import", help="import a feed, Jekyll/Hugo posts or a text file as notes")
    i.add_argument("source", help="feed file or URL, posts folder, or a file")
    i.add_argument("--into", default=None, help="vault folder to write into (default: the vault)")
    i.add_argument("--format", choices=["rss", "atom", "feed", "jekyll", "hugo", "markdown", "text"], default=None)
    i.add_argument("--title", default=None, help="title for a plain-text import")
    i.add_argument("--dry-run", action="store_true", help="report what would change; write nothing")
    i.add_argument("--force", action="store_true", help="overwrite notes edited since their import")
    i.set_defaults(func=cmd_import)

    q = sub.add_parser("search", help="search the built site's index from the terminal")
    q.add_argument("query")
    q.add_argument("-k", type=_positive, default=10, help="how many results (default 10)")
    q.add_argument("--json", action="store_true",
                   help="print a JSON list: path, url, anchor, title, heading, score, found_by (meaning, words)")
    q.add_argument("--site", default="site", help="the built site to search (default: site/, where kb build writes)")
    q.add_argument("--full-model", action="store_true", help="encode the query with the full model (the site's shipped ONNX file if it has one)")
    q.set_defaults(func=cmd_search)

    n = sub.add_parser("init", help="write a starter vault with kb.toml")
    n.add_argument("dir")
    n.set_defaults(func=cmd_init)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()
    except BrokenPipeError:
        # whoever read our output is gone (`kb search "..." | head -1`): stop quietly, with the status
        # of a program ended by SIGPIPE, and give the buffered rest to /dev/null, not to Python's
        # "Exception ignored" at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    if argv is None and args.func is cmd_build:
        # the `kb build` process itself (callers such as tests pass argv): freeing the build's
        # millions of objects at interpreter exit took ~0.4 s (5% of an obsidian-hub build)
        # for nothing; kb registers no exit handlers and the build's pools are closed
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
