"""`kb search "query" [-k N] [--json] [--site DIR] [--full-model]`: what a visitor of the site would get."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kb.search.container import FormatError
from kb.search.query import Result, SiteIndex, full_model_vector, shipped_model_vector


def no_site_message(site: Path) -> str:
    """Why there is nothing to search, and what to do: the path in full, since `site` is
    usually the default ./site and the user may not know where kb looked."""
    where = site.absolute()
    if site.is_dir():
        return (f"kb search: error: no search index in {where} (is it a site kb built?)\n"
                "  point at a site with --site DIR, or build this one with `kb build --out DIR`")
    return (f"kb search: error: no site at {where}\n"
            "  point at a site with --site DIR, or build one with `kb build` (it writes ./site)")


def run_search(args: argparse.Namespace) -> int:
    site = Path(args.site)
    if not (site / "search" / "manifest.json").is_file():
        print(no_site_message(site), file=sys.stderr)
        return 2
    try:
        index = SiteIndex(site)
        vector = None
        if args.full_model:
            if index.mode == "lexical":
                print("kb search: the index has no embeddings (built with --no-embed?); lexical results",
                      file=sys.stderr)
            else:
                # the site's own browser model when it ships one (what its search box runs), else torch
                vector = shipped_model_vector(index, args.query)
                if vector is None:
                    from kb.search.embed import load_embedder

                    source = index.manifest.get("model_source", "")
                    # one query: no progress bar (the query's encode draws none either)
                    vector = full_model_vector(index, args.query, lambda _m: load_embedder(source, progress=False))
        results = index.search(args.query, k=args.k, vector=vector)
    except FormatError as exc:
        print(f"kb search: error: {exc}", file=sys.stderr)
        return 2
    # the URL path a browser shows, as the site's own search box links it; "/" for an index
    # written before the manifest recorded the prefix
    prefix = str(index.manifest.get("prefix", "/"))
    if args.json:
        print(json.dumps([{**r.as_json(), "url": prefix + r.url} for r in results], ensure_ascii=False, indent=1))
    else:
        print_results(results, prefix, not index.uses_words(args.query))
    return 0


def print_results(results: list[Result], prefix: str, by_meaning: bool) -> None:
    if not results:
        print("no results")
    elif by_meaning:
        print("no note contains these words; closest in meaning:")
    for i, r in enumerate(results, 1):
        where = f" › {r.heading}" if r.heading else ""
        url = prefix + r.url + (f"#{r.anchor}" if r.anchor else "")
        print(f"{i:2}. {r.title}{where}  ({r.score:.4f})\n    {url}  [{r.path}]")
        if r.snippet:
            print(f"    {r.snippet[:160]}")
