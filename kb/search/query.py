"""Query scoring over the static index: the Python twin of templates/static/search.js.

Both follow the same steps with float64 arithmetic and integer BM25 weights, so
`kb search` ranks exactly as the browser does:
  1. tokens -> static encoder rows -> q = normalize(sum of rows)   (or the full model, rotated)
  2. int8: score every chunk (one list). pq: score every note's code (lookup tables; past NOTE_SCAN
     notes, only the notes of the lists whose centroids score best), fetch the chunk codes of the
     best `rerank` notes and score those chunks (two-stage lookup tables)
  3. best chunk per note
  4. BM25 over the query terms' postings, best chunk per note
  5. reciprocal-rank fusion of the two note rankings (top `candidates` of each)
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from kb.search.container import FormatError, unpack
from kb.search.index import fnv1a, word_vocab_shards
from kb.search.quantize import unpack4
from kb.search.tokenize import WordPiece, basic_tokens, terms


@dataclass
class Result:
    path: str
    url: str
    title: str
    heading: str
    anchor: str
    snippet: str
    score: float
    # which rankings put the note in the results: "meaning" (the vectors), "words" (BM25: a chunk of
    # it contains query terms); "meaning" alone is what the box calls "closest in meaning"
    found_by: tuple[str, ...] = ()

    def as_json(self) -> dict:
        # url: the note's page, relative to the site's root (`kb search --json` adds the site's
        # path prefix); anchor: the id of the section that matched there ("" for the top)
        return {"path": self.path, "url": self.url, "anchor": self.anchor, "title": self.title, "heading": self.heading,
                "score": self.score, "found_by": list(self.found_by)}


# the manifest entries a query reads, by index mode (search.js checks the same list)
VERSIONS = (2, 3)  # 3: pq with lists of notes (past NOTE_SCAN notes), otherwise as 2
MANIFEST_KEYS = {
    "lexical": ("bm25_shards", "meta_block", "candidates", "rrf_k", "chunks"),
    "int8": ("bm25_shards", "meta_block", "candidates", "rrf_k", "chunks", "dims", "rows_block", "vocab_shards", "nprobe"),
    "pq": ("bm25_shards", "meta_block", "candidates", "rrf_k", "chunks", "dims", "rows_block", "vocab_shards", "note_m",
           "rerank", "bytes_per_chunk"),
}


def qround(x: float) -> int:
    """Scores compared as integers of 1e-9, so float summation order cannot reorder results."""
    return math.floor(x * 1e9 + 0.5)


class SiteIndex:
    """Reads files of `<site>/search/` on demand and remembers how many bytes it read."""

    def __init__(self, site: Path) -> None:
        self.root = site / "search"
        self.fetched: dict[str, int] = {}
        self._cache: dict[str, bytes] = {}
        self.manifest = self.json("manifest.json")
        where = self.root / "manifest.json"
        if not isinstance(self.manifest, dict) or self.manifest.get("format") != "kb-search" \
                or self.manifest.get("version") not in VERSIONS:
            raise FormatError(f"{where}: not a version 2 or 3 kb search index: rebuild the site")
        self.mode = self.manifest.get("mode")
        if not isinstance(self.mode, str) or self.mode not in MANIFEST_KEYS:
            raise FormatError(f"{where}: unknown index mode {self.mode!r}: rebuild the site")
        lacking = [k for k in MANIFEST_KEYS[self.mode] if k not in self.manifest]
        if self.manifest.get("note_lists") and "note_probe" not in self.manifest:
            lacking.append("note_probe")
        if lacking:
            raise FormatError(f"{where}: incomplete, no {', '.join(lacking)}: rebuild the site")
        self.header, self.arrays = unpack(self.get("index.bin"), "index", str(self.root / "index.bin"))
        counts = self.arrays["note_chunks"].astype(np.int64)
        self.note_of_chunk = np.repeat(np.arange(len(counts)), counts)
        self.chunk_start = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        self._ids: dict[str, int] = {}
        self._vocab_loaded: set[str] = set()
        self._word_ids: dict[str, list[int]] = {}
        self._words_loaded: set[str] = set()

    def get(self, rel: str) -> bytes:
        if rel not in self._cache:
            f = self.root / rel
            if not f.is_file():
                raise FormatError(f"{f}: missing: rebuild the site")
            self._cache[rel] = f.read_bytes()
            self.fetched[rel] = len(self._cache[rel])
        return self._cache[rel]

    def json(self, rel: str) -> dict:
        try:  # UTF-8, as written: json.loads would take a stray NUL byte for UTF-16 and say so
            return json.loads(self.get(rel).decode("utf-8-sig"))  # a BOM, as the browser's TextDecoder takes it
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FormatError(f"{self.root / rel}: unreadable: {exc}: rebuild the site") from exc

    # --- query encoding ---
    def token_ids(self, query: str) -> list[int]:
        """WordPiece ids of the query: each word from the word table (index.word_files), a word not
        in it from the vocabulary shards its letter pairs need (index.vocab_files)."""
        words = basic_tokens(query)
        nwords = self.manifest.get("word_shards", 0)
        for shard in sorted({str(fnv1a(w) % nwords) for w in words} if nwords else ()):
            if shard not in self._words_loaded:
                self._words_loaded.add(shard)
                for line in self.get(f"enc/words/{shard}.txt").decode("utf-8").split("\n"):
                    if line:
                        word, *ids = line.split(" ")
                        self._word_ids[word] = [int(i) for i in ids]
        missing = [w for w in words if w not in self._word_ids]
        wp = self.wordpiece(missing) if missing else None
        return [i for w in words for i in (self._word_ids[w] if w in self._word_ids else wp.word_ids(w))]

    def wordpiece(self, words: list[str]) -> WordPiece:
        """A tokenizer knowing the vocabulary shards these words need (see index.vocab_files)."""
        need = {s for w in words for s in word_vocab_shards(w, self.manifest["vocab_shards"])} | {"1"}
        for shard in sorted(need):
            if shard not in self._vocab_loaded:
                self._vocab_loaded.add(shard)
                for line in self.get(f"enc/vocab/{shard}.txt").decode("utf-8").split("\n"):
                    if line:
                        tid, piece = line.split(" ", 1)
                        self._ids[piece] = int(tid)
        return WordPiece([], self._ids, self.manifest.get("unk", 100))

    def encode_static(self, query: str) -> np.ndarray | None:
        ids = self.token_ids(query)
        if not ids:
            return None
        block = self.manifest["rows_block"]
        q = np.zeros(self.manifest["dims"], np.float64)
        for tid in ids:
            _, arr = unpack(self.get(f"enc/rows/{tid // block}.bin"), "rows", f"enc/rows/{tid // block}.bin")
            q += arr["rows"][tid % block].astype(np.float64) * float(arr["scale"][tid % block])
        n = math.sqrt(float(q @ q))
        return q / n if n > 0 else None

    def rotate(self, vec: np.ndarray) -> np.ndarray:
        _, arr = unpack(self.get("rotation.bin"), "rotation", "rotation.bin")
        return arr["rotation"].astype(np.float64) @ vec.astype(np.float64)

    # --- scoring ---
    def probe(self, q: np.ndarray) -> list[int]:
        cents = self.arrays["centroids"].astype(np.float64) * self.arrays["centroid_scale"].astype(np.float64)[:, None]
        scores = [qround(float(s)) for s in cents @ q]
        order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
        return order[: self.manifest["nprobe"]]

    def vector_scores(self, q: np.ndarray) -> dict[int, int]:
        """chunk id -> quantized score, for the chunks the query looks at."""
        if self.mode == "int8":
            return self._int8_scores(q)
        books = self.arrays["codebooks"].astype(np.float64)  # (stages, m, 16, dsub)
        stages, m, _, dsub = books.shape
        qc = q[self.arrays["chunk_dims"].astype(np.int64)]  # chunk codes cover the dimensions in this order
        tables = np.einsum("smkd,md->smk", books, qc.reshape(m, dsub))
        note_ids, nscores = self.note_scores(q)
        order = sorted(range(len(nscores)), key=lambda i: (-nscores[i], note_ids[i]))
        best = rerank_notes([note_ids[i] for i in order], self.arrays["note_chunks"], self.manifest["rerank"],
                            self.manifest.get("rerank_chunks", 0))
        bpc = self.manifest["bytes_per_chunk"]
        out: dict[int, int] = {}
        for n in best:
            raw = self.get(f"chunks/{n}.bin")
            count = int(self.arrays["note_chunks"][n])
            if len(raw) != count * bpc:
                raise FormatError(f"{self.root / 'chunks' / f'{n}.bin'}: expected {count * bpc} bytes, found {len(raw)}")
            codes = np.frombuffer(raw, np.uint8).reshape(count, bpc)
            s = np.zeros(count)
            for st in range(stages):
                c = unpack4(codes[:, st * m // 2 : (st + 1) * m // 2])
                s += tables[st][np.arange(m)[None, :], c].sum(1)
            first = int(self.chunk_start[n])
            for j, v in enumerate(s.tolist()):
                out[first + j] = qround(v)
        return out

    def note_scores(self, q: np.ndarray) -> tuple[list[int], list[int]]:
        """(note ids, quantized scores) of the notes the query scans: every note (notes.bin), or past
        NOTE_SCAN notes those of the `note_probe` lists whose coded centroids score best."""
        if not self.manifest.get("note_lists"):
            _, arr = unpack(self.get("notes.bin"), "notes", "notes.bin")
            return list(range(len(arr["codes"]))), self._code_scores(arr["codes"], q)
        _, arr = unpack(self.get("note-lists.bin"), "notes", "note-lists.bin")
        cs = self._code_scores(arr["codes"], q)
        probe = sorted(sorted(range(len(cs)), key=lambda i: (-cs[i], i))[: self.manifest["note_probe"]])
        ids: list[int] = []
        scores: list[int] = []
        for li in probe:
            _, lst = unpack(self.get(f"notes/{li}.bin"), "notes", f"notes/{li}.bin")
            ids += lst["ids"].tolist()
            scores += self._code_scores(lst["codes"], q)
        return ids, scores

    def _code_scores(self, codes: np.ndarray, q: np.ndarray) -> list[int]:
        """Quantized scores of note codes (or list centroids, coded the same way) for q."""
        out = np.zeros(len(codes))
        col = 0
        for s in range(len(self.manifest["note_m"])):  # residual stages: a note's score is the sum over stages
            nb = self.arrays[f"note_codebook_{s}"].astype(np.float64)  # (m', 16, d/m')
            nm = nb.shape[0]
            ntable = np.einsum("mkd,md->mk", nb, q.reshape(nm, -1))
            c = unpack4(codes[:, col : col + nm // 2])
            out += ntable[np.arange(nm)[None, :], c].sum(1)
            col += nm // 2
        return [qround(float(v)) for v in out]

    def _int8_scores(self, q: np.ndarray) -> dict[int, int]:
        out: dict[int, int] = {}
        qs = q * self.arrays["dim_scale"].astype(np.float64)
        for li in self.probe(q):
            _, arr = unpack(self.get(f"lists/{li}.bin"), "list", f"lists/{li}.bin")
            s = arr["codes"].view(np.int8).astype(np.float64) @ qs
            for cid, v in zip(arr["ids"].tolist(), s.tolist(), strict=True):
                out[cid] = qround(v)
        return out

    def bm25(self, query: str) -> tuple[dict[int, int], dict[int, int], int, int]:
        """chunk id -> BM25 score (the terms' integer weights summed); chunk id -> how much of the query
        its chunk has: the summed `term_weight` of the query's distinct terms in it; the sum over all of
        them; and the number of distinct terms."""
        out: dict[int, int] = {}
        matched: dict[int, int] = {}
        nshards = self.manifest["bm25_shards"]
        distinct = list(dict.fromkeys(terms(query)))
        total = 0
        for term in distinct:
            post = self.json(f"bm25/{fnv1a(term) % nshards}.json").get(term, [])
            weight = term_weight(self.manifest, len(post) // 2)
            total += weight
            for i in range(0, len(post), 2):
                out[post[i]] = out.get(post[i], 0) + post[i + 1]
                matched[post[i]] = matched.get(post[i], 0) + weight
        return out, matched, total, len(distinct)

    def note_ranking(self, scores: dict[int, int]) -> list[tuple[int, int, int]]:
        """[(note, best chunk, score)] best first, top `candidates`."""
        best: dict[int, tuple[int, int]] = {}
        for cid, s in scores.items():
            n = int(self.note_of_chunk[cid])
            cur = best.get(n)
            if cur is None or s > cur[1] or (s == cur[1] and cid < cur[0]):
                best[n] = (cid, s)
        ranked = sorted(best.items(), key=lambda kv: (-kv[1][1], kv[0]))
        return [(n, c, s) for n, (c, s) in ranked[: self.manifest["candidates"]]]

    def search(self, query: str, k: int = 10, vector: np.ndarray | None = None, use_vector: bool = True) -> list[Result]:
        fused: dict[int, float] = {}
        chunk_of: dict[int, tuple[int, int]] = {}  # note -> (its largest single share of the fused score, chunk)
        found_by: dict[int, tuple[str, ...]] = {}
        rrf_k = self.manifest["rrf_k"]

        def add(ranking: list[tuple[int, int, int]], weight: Callable[[int], float], ties: bool, by: str) -> None:
            # a result shows the chunk that gave its note the larger share; `ties`: this ranking's chunk
            # also wins an equal share (BM25's: the section holding the query's words is what to show)
            for rank, (n, c, _) in enumerate(ranking):
                share = weight(c) / (rrf_k + rank + 1)
                fused[n] = fused.get(n, 0.0) + share
                found_by[n] = found_by.get(n, ()) + (by,)
                cur, qs = chunk_of.get(n), qround(share)
                if cur is None or qs > cur[0] or (ties and qs == cur[0]):
                    chunk_of[n] = (qs, c)

        dense = False
        if self.mode != "lexical" and use_vector:
            q = vector if vector is not None else self.encode_static(query)
            if q is not None:
                add(self.note_ranking(self.vector_scores(q)), lambda c: 1.0, False, "meaning")
                dense = True
        scores, matched, total, _ = self.bm25(query)
        # next to a vector ranking, a BM25 entry counts by the share of the query its chunk contains (by
        # term_weight), to the power bm25_coverage (a soft AND): a shared common word is weak evidence,
        # the query's rare words or all of it strong. Alone, BM25's order stands.
        p = self.manifest.get("bm25_coverage", 0) if dense else 0
        add(self.note_ranking(scores), lambda c: (matched[c] / total) ** p if p else 1.0, True, "words")
        top = sorted(fused, key=lambda n: (-qround(fused[n]), n))[:k]
        return [replace(self.result(chunk_of[n][1], fused[n]), found_by=found_by[n]) for n in top]

    def uses_words(self, query: str) -> bool:
        """Whether any note contains one of the query's terms (BM25 has postings for it). When none
        does, results come from meaning alone, and the search box says so."""
        scores, _, _, nterms = self.bm25(query)
        return nterms == 0 or bool(scores)  # only stopwords ("how to"): nothing to say

    def result(self, cid: int, score: float) -> Result:
        block = self.manifest["meta_block"]
        meta = self.json(f"meta/{cid // block}.json")
        if meta.get("build") != self.manifest.get("build"):  # written by another build than the manifest
            raise FormatError(f"{self.root}/meta/{cid // block}.json: from another build than manifest.json: rebuild the site")
        n, heading, anchor, snippet = meta["chunks"][cid % block]
        path, url, title = meta["notes"][str(n)]
        return Result(path, url, title, heading, anchor, snippet, round(score, 6))


def term_weight(manifest: dict, postings: int) -> int:
    """How much one query term counts in the share of the query a chunk has (bm25_share): its idf in
    thousandths, from the number of chunks it is posted for (at most the index's 300 per term, which tells
    a rare word from a common one) and the number of chunks, when the manifest says "idf"; else 1, every
    term alike (sites built before it). An integer, so that Python and JavaScript sum it alike."""
    if manifest.get("bm25_share") != "idf":
        return 1
    n = manifest["chunks"]
    return math.floor(1000 * math.log(1 + (n - postings + 0.5) / (postings + 0.5)) + 0.5)


def rerank_notes(order: list[int], note_chunks: np.ndarray, notes: int, chunks: int) -> list[int]:
    """The notes whose chunk codes a query fetches: the first `notes` of `order` (best first), skipping
    a note whose chunks would take the total above `chunks` (0: no cap) unless nothing is taken yet,
    so a query whose best notes are long ones downloads a bounded number of bytes."""
    out: list[int] = []
    total = 0
    for n in order:
        if len(out) == notes:
            break
        count = int(note_chunks[n])
        if chunks and out and total + count > chunks:
            continue
        out.append(n)
        total += count
    return out


def shipped_model_vector(index: SiteIndex, query: str) -> np.ndarray | None:
    """The query as the search box encodes it on a site built with browser_model = "full": the
    site's own ONNX file (under Python's onnxruntime), [CLS] word pieces [SEP], mean-pooled,
    rotated (templates/static/search-model.js does the same steps). None when the site ships
    no model, onnxruntime is missing or the query has no word pieces. The wasm and native int8
    kernels round differently, so this is the browser's vector within int8 error (cosine > 0.99)."""
    bm = index.manifest.get("browser_model")
    if not bm:
        return None
    try:
        import onnxruntime  # noqa: F401 - only to know it is there

        from kb.search.browser_model import onnx_encode
    except ImportError:
        return None
    ids = index.token_ids(query)
    if not ids:
        return None
    model = index.root / bm["model"]
    if not model.is_file():
        raise FormatError(f"{model}: the manifest names it but it is missing")
    ids = [bm["cls"], *ids[: bm["max_tokens"] - 2], bm["sep"]]
    return index.rotate(onnx_encode(model, [ids])[0])


def full_model_vector(index: SiteIndex, query: str, load: Callable[[str], object]) -> np.ndarray:
    """The query encoded by the full model named in the manifest, rotated into the index's space."""
    embedder = load(index.manifest["model"])
    vec = embedder.encode([query])[0]  # type: ignore[attr-defined]
    return index.rotate(vec)
