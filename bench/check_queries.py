"""Check the labeled query set bench/queries.json against the obsidian-hub vault.

Verifies that every relevant path exists in the vault, that each query is well formed, and that
each "exact" query's string really occurs in its relevant notes. Then prints, per query, the
word overlap between the query and its target notes' titles (stopwords removed, crude stemming),
and the mean overlap per kind. Overlap = share of the query's content words that occur in a
target's title (file name and aliases included), the highest over the query's targets. The same
share against the target's body text is printed too, as a hint of how lexical a query is. Paraphrase queries are meant to share few words with the titles,
so a search that finds them must match meaning, not title words.

    python bench/check_queries.py [--vault PATH] [--queries FILE] [--max-mean 0.2]

Exit status 1 if any check fails or the paraphrase mean overlap exceeds --max-mean.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from statistics import mean

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere: import this checkout's kb

from kb.load import read_note  # noqa: E402  (title rules must be the ones the site uses)

HERE = Path(__file__).resolve().parent
DEFAULT_VAULT = HERE.parents[1] / "shared" / "corpora" / "obsidian-hub"
KINDS = ("paraphrase", "exact")

# Function words and words that carry no topic in this vault (every note is about Obsidian).
STOPWORDS = set(
    """a an the and or but if of to in on at by for from with without into onto over under about
    as is are was were be been being do does did done have has had i me my mine we our you your it
    its this that these those there here what which who whom whose when where why how can could
    should would will shall may might must not no nor so than too very just also all any each every
    some such only own same other more most few both up down out off again further then once
    get gets got make makes let lets use using used via vs one two first s t obsidian md""".split()
)


def stem(word: str) -> str:
    """Crude suffix stripping so 'plugins'/'plugin' and 'testing'/'tests' count as one word."""
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + repl
    return word


def content_words(text: str) -> set[str]:
    words = re.findall(r"[^\W_]+", text.lower())
    return {stem(w) for w in words if w not in STOPWORDS}


def note_words(vault: Path, rel: str) -> tuple[set[str], set[str]]:
    """(title words, body words). Title words cover everything a title match could use:
    displayed title, file name and aliases."""
    note, _ = read_note(vault, rel)
    if note is None:
        return set(), set()
    names = [note.title, Path(rel).stem, *note.aliases]
    return set().union(*(content_words(n) for n in names)), content_words(note.source)


def overlap(query: str, titles: list[set[str]]) -> float:
    """Share of the query's content words found in a relevant title; worst case over targets."""
    q = content_words(query)
    if not q or not titles:
        return 0.0
    return max(len(q & t) / len(q) for t in titles)


def check_entry(i: int, entry: object, vault: Path) -> list[str]:
    """Problems with one query entry, as messages."""
    if not isinstance(entry, dict):
        return [f"#{i}: not an object"]
    errors: list[str] = []
    query, rel, kind = entry.get("query"), entry.get("relevant"), entry.get("kind")
    if not isinstance(query, str) or not query.strip():
        errors.append(f"#{i}: empty or missing query")
    if kind not in KINDS:
        errors.append(f"#{i}: kind must be one of {KINDS}, got {kind!r}")
    if not isinstance(rel, list) or not rel:
        return errors + [f"#{i}: relevant must be a non-empty list"]
    if len(set(rel)) != len(rel):
        errors.append(f"#{i}: duplicate relevant paths")
    for path in rel:
        full = vault / path
        if not isinstance(path, str) or "\\" in path or path.startswith("/") or ".." in path.split("/"):
            errors.append(f"#{i}: not a vault-relative POSIX path: {path!r}")
        elif not full.is_file():
            errors.append(f"#{i}: no such note in the vault: {path}")
        elif kind == "exact" and isinstance(query, str):
            if query.lower() not in full.read_text(encoding="utf-8", errors="replace").lower():
                errors.append(f"#{i}: exact query {query!r} does not occur in {path}")
    if kind == "paraphrase" and isinstance(query, str) and not 3 <= len(query.split()) <= 10:
        errors.append(f"#{i}: paraphrase query should have 3-10 words: {query!r}")
    return errors


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vault", type=Path, default=DEFAULT_VAULT)
    ap.add_argument("--queries", type=Path, default=HERE / "queries.json")
    ap.add_argument("--max-mean", type=float, default=0.2, help="limit on the paraphrase mean overlap")
    args = ap.parse_args(argv)
    if not args.vault.is_dir():
        print(f"{args.vault}: vault not found (pass --vault)", file=sys.stderr)
        return 2
    entries = json.loads(args.queries.read_text(encoding="utf-8"))
    errors = [e for i, entry in enumerate(entries) for e in check_entry(i, entry, args.vault)]
    queries = [q.get("query", "").lower().strip() for q in entries if isinstance(q, dict)]
    errors += [f"duplicate query: {q!r}" for q in sorted({q for q in queries if queries.count(q) > 1})]

    scores: dict[str, list[float]] = {k: [] for k in KINDS}
    body_scores: dict[str, list[float]] = {k: [] for k in KINDS}
    print(f"{'kind':<10} {'title':>5} {'body':>5} {'#rel':>4}  query  ->  first target title")
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("kind") not in KINDS:
            continue
        paths = [p for p in entry["relevant"] if (args.vault / p).is_file()]
        words = [note_words(args.vault, p) for p in paths]
        score = overlap(entry["query"], [t for t, _ in words])
        body = overlap(entry["query"], [b for _, b in words])
        scores[entry["kind"]].append(score)
        body_scores[entry["kind"]].append(body)
        first = read_note(args.vault, paths[0])[0].title if paths else "?"
        print(f"{entry['kind']:<10} {score:5.2f} {body:5.2f} {len(entry['relevant']):4d}  {entry['query']}  ->  {first}")

    print()
    for kind in KINDS:
        vals = scores[kind]
        if vals:
            zero = sum(v == 0 for v in vals)
            n_rel = mean(len(e["relevant"]) for e in entries if e.get("kind") == kind)
            print(
                f"{kind}: {len(vals)} queries, mean title overlap {mean(vals):.3f} ({zero} with none), "
                f"mean body overlap {mean(body_scores[kind]):.3f}, mean relevant notes {n_rel:.2f}"
            )
    n_para = len(scores["paraphrase"])
    if n_para < 40:
        errors.append(f"only {n_para} paraphrase queries; the issue asks for at least 40")
    if scores["paraphrase"] and mean(scores["paraphrase"]) > args.max_mean:
        errors.append(f"paraphrase mean overlap {mean(scores['paraphrase']):.3f} > {args.max_mean}")
    for e in errors:
        print(f"ERROR {e}", file=sys.stderr)
    print("OK" if not errors else f"{len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
