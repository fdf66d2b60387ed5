"""Writes the static search index (layout: docs/search-index.md).

    search/manifest.json        what is there: mode, model, sizes, shard counts
    search/index.bin            note->chunk counts, coarse centroids, codebooks / int8 scales
    search/lists/0.bin          int8 mode: chunk ids and codes of all chunks
    search/notes.bin            pq mode: a 4-bit PQ code per note vector (scanned by every query)
    search/note-lists.bin       pq mode, vaults past NOTE_SCAN notes (instead of notes.bin): each list's
                                centroid, coded like a note; a query scores them and reads the best note_probe
    search/notes/<l>.bin        ... lists: the ids and codes of the notes in list l
    search/chunks/<n>.bin       pq mode: the chunk codes of note n (fetched for the best notes only)
    search/meta/<b>.json        note path, url, title, heading, anchor, snippet of chunks b*16..
    search/bm25/<s>.json        BM25 postings of the terms hashing to shard s (weights x100, ints)
    search/enc/words/<w>.txt    "word id id ..": the WordPiece ids of the vault's words and the vocabulary's
                                whole words with fnv1a(word) % word_shards == w (one file per query word)
    search/enc/vocab/1.txt      WordPiece pieces of one letter ("a", "##a"), lines "id piece" (for words
                                not in enc/words)
    search/enc/vocab/<v>.txt    longer pieces p (without "##") with fnv1a(p[:2]) % VOCAB_SHARDS == v
    search/enc/rows/<r>.bin     static encoder rows of token ids r*ROWS_BLOCK.. (int8 + scale)
    search/rotation.bin         OPQ rotation: only `kb search --full-model` needs it
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from kb.search.chunk import Chunk
from kb.search.container import pack
from kb.search.quantize import Quantized
from kb.search.static import quantize_rows
from kb.search.tokenize import WordPiece, terms

_JOINED = re.compile(r"[-_.]")

META_BLOCK = 16  # a result costs one small file (measured: 64 -> 36 kB gzip per query, 16 -> ~10)
# Shard sizes trade files on disk for bytes per query. Measured on obsidian-hub (mean gzip per cold query):
# 256 vocabulary shards 46 kB, 1024 35 kB; rows blocks of 8 tokens 26 kB, of 4 14 kB; 128 BM25 terms per shard
# 48 kB, 32 terms 15 kB.
VOCAB_SHARDS = 1024  # a query word needs a few small vocabulary shards, not the whole vocabulary
# A query word found in the word table costs one file instead of the vocabulary shards of its letter pairs
# (on obsidian-hub 29 files and 35 kB gzip per cold query, 1.txt alone 9 kB). Shards of about this many bytes:
WORD_SHARD_BYTES = 2048
ROWS_BLOCK = 4
BM25_TERMS_PER_SHARD = 32
POSTINGS_CAP = 300  # impact-ordered: a term keeps its best-weighted chunks (bounds a shard's size)
K1, B = 1.2, 0.75
RRF_K = 3  # measured (87 queries, obsidian-hub): k=10 hit@10 0.552 MRR 0.350; k=30 0.517/0.308; k=60 0.506/0.300;
# after the encoder and re-rank changes (re-rank 50): k=1 0.586/0.381, k=3 0.598/0.385, k=5 0.598/0.384, k=7 0.598/0.372,
# k=10 0.586/0.367 (a plateau for k=3..7, one query apart: tuned on the bench queries themselves). Weighting the
# dense ranking (k=10) 0.7x: 0.563/0.349, 1.5x: 0.552/0.368, 2x: 0.471/0.368 -- not used.
# Re-measured once the dense part had become stronger (tuned encoder, score-aware codes), default / --full-model,
# hit@10 / MRR@10: k=5 0.655/0.411 / 0.736/0.489. Down-weighting BM25 as a whole (0.5, k=3: 0.655/0.451 /
# 0.759/0.525) lost single rare words: for 150 words found in one note each, that note came first 0.687 -> 0.247.
# Weighting each BM25 entry by the share of the query's terms its chunk contains, to the power BM25_COVERAGE,
# keeps those (0.687) and helps both kinds of labeled query: p=0.5, k=3 0.655/0.466 (12 exact names MRR 0.836 ->
# 0.903, 75 paraphrases 0.343 -> 0.396) / 0.793/0.544; p=0.3 0.667/0.456 / 0.782/0.533; p=0.7 0.667/0.468 /
# 0.793/0.548; p=1 0.644/0.459; p=0.5 with k=2 0.667/0.465, k=4 0.667/0.462, k=5 0.632/0.465.
# Then (2026-12-07, 8 quantizer seeds, queries.json / holdout hit@10 / MRR@10): each query term counted by its idf
# (BM25_SHARE "idf": kb.search.query.term_weight) instead of every term alike, p=1: 0.713/0.470 / 0.659/0.396
# against 0.704/0.462 / 0.666/0.383; p=0.5 0.700/0.464 / 0.666/0.390; p=1.5 0.697/0.468 / 0.644/0.398; with k=2
# 0.714/0.471 / 0.659/0.394. A chunk that shares only a paraphrase's common words ("interface", "automatically")
# no longer outweighs one with its rare ones; 150 names found in one note each: MRR@10 0.522 -> 0.584.
BM25_COVERAGE = 1.0
BM25_SHARE = "idf"
CANDIDATES = 100
RERANK_NOTES = 100  # pq: notes whose chunk codes a query fetches. Measured (87 queries, obsidian-hub, default
# encoder): 40 -> hit@10 0.563 MRR 0.363, 292 kB gzip cold query; 50 -> 0.586/0.367, 297 kB; 55 -> 0.586/0.366, 300 kB;
# 60 -> 0.586/0.367, 303 kB. (Adding BM25's top 5-10 notes to the re-ranked set: 0.575, no better.)
# Re-measured with score-aware codes and the coverage-weighted fusion, with RERANK_CHUNKS (default / --full-model,
# cold query gzip mean / max, files): 50, cap 400: 0.667/0.468 / 0.793/0.539, 244/289 kB, 103; 75, 400: 0.667/0.465 /
# 0.816/0.543, 250/289, 120; 100, 400: 0.678/0.476 / 0.816/0.543, 254/289, 131; 150 and 200, 400: 0.678/0.480, 257-258;
# 75, 300: 0.667/0.471, 245/279, 112; 100, 250: 0.667/0.467 / 0.805/0.542, 242/274, 112; 100, 300:
# 0.678/0.483 / 0.816/0.544, 246/279 kB, 119 files; 150, 300: the same, 248 kB, 124 files. But over 3 quantizer
# seeds (search_quality.py --seeds 3) 100, 300 gave default 0.678/0.483, 0.655/0.464, 0.655/0.448 (mean 0.663/0.465)
# against 50, 400's 0.667/0.468, 0.678/0.470, 0.667/0.454 (0.670/0.464): no gain for the default encoder, for 16
# more requests per query (--full-model mean 0.789 vs 0.774). So 50 and 400 stayed then.
# 2026-12-05, after the word table cut the cold query to 224 kB (max 265), 3 quantizer seeds each (queries.json
# hit@10 / MRR@10 means; holdout means; cold query gzip mean / max): 50, 400: 0.636/0.451, 0.546/0.243, 224/265 kB;
# 80, 600: 0.655/0.457, 0.569/0.262, 239/285; 100, 600: 0.659/0.461, 0.580/0.261, 245/285 (kept); 100, 800:
# 0.655/0.462, 0.563/0.259, 251/305; 150, 600: 0.663/0.462, 0.575/0.260, 252/290. On queries.json 80-150 notes at
# 600 are one noise band, all above 50/400; 100 is its middle, and the cap keeps the max under 300 kB. The holdout,
# printed in the same runs (so no longer unseen for this knob), moved the same way. More notes only brings the
# ranking closer to scoring every chunk, so this is a cost knob more than a fit to the queries.
RERANK_CHUNKS = 600  # pq: the re-rank skips a note whose chunks would take the total fetched above this. Without it, queries whose
# best notes are long fetched up to 76 kB gzip of chunk codes. Measured (87 queries, obsidian-hub, tuned encoder):
# no cap 0.632/0.408, cold 247 kB mean, 312 max; 300: 0.632/0.401, 240/278; 400: 0.632/0.407, 244/288;
# 500: 0.632/0.408, 246/298; 600: 0.632/0.408, 246/307.


def fnv1a(s: str) -> int:
    h = 0x811C9DC5
    for byte in s.encode("utf-8"):
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


@dataclass
class NoteInfo:
    path: str
    url: str
    title: str


def bm25_shards(chunks: list[Chunk]) -> tuple[int, dict[int, dict[str, list[int]]]]:
    tfs = [Counter(terms(c.text)) for c in chunks]
    n = len(chunks)
    lengths = [sum(tf.values()) for tf in tfs]
    avgdl = sum(lengths) / max(n, 1)
    df: Counter[str] = Counter()
    for tf in tfs:
        df.update(tf.keys())
    idf = {term: math.log(1 + (n - d + 0.5) / (d + 0.5)) for term, d in df.items()}
    postings: dict[str, list[tuple[int, int]]] = {term: [] for term in df}
    for cid, tf in enumerate(tfs):
        norm = K1 * (1 - B + B * lengths[cid] / max(avgdl, 1e-9))  # the chunk's length normalisation, once
        for term, f in tf.items():
            w = idf[term] * f * (K1 + 1) / (f + norm)
            postings[term].append((cid, max(1, round(w * 100))))
    nshards = max(1, math.ceil(len(postings) / BM25_TERMS_PER_SHARD))
    shards: dict[int, dict[str, list[int]]] = {}
    for term in sorted(postings):
        best = postings[term]  # in chunk order
        if len(best) > POSTINGS_CAP:
            best = sorted(sorted(best, key=lambda p: (-p[1], p[0]))[:POSTINGS_CAP])
        shards.setdefault(fnv1a(term) % nshards, {})[term] = [v for pair in best for v in pair]
    return nshards, shards


def write_index(
    chunks: list[Chunk],
    notes: list[NoteInfo],
    q: Quantized | None,
    model_id: str | None,
    vocab: list[str] | None,
    rows: np.ndarray | None,
    prefix: str = "/",
) -> tuple[dict[str, bytes], dict]:
    """All files of the index as {relative path under search/: bytes}, and the manifest.
    `prefix`: the site's URL path prefix, so `kb search` prints the URLs a browser shows."""
    files: dict[str, bytes] = {}
    metas: dict[str, dict] = {}
    note_idx = {n.path: i for i, n in enumerate(notes)}
    # chunk counts per note: u16 unless a note has more chunks than that holds (it gzips to little either way)
    counts = np.zeros(len(notes), np.uint32)
    for c in chunks:
        counts[note_idx[c.path]] += 1
    for b in range(0, len(chunks), META_BLOCK):
        block = chunks[b : b + META_BLOCK]
        used = sorted({note_idx[c.path] for c in block})
        meta = {
            "notes": {str(i): [notes[i].path, notes[i].url, notes[i].title] for i in used},
            "chunks": [[note_idx[c.path], c.heading, c.anchor, c.snippet] for c in block],
        }
        metas[f"meta/{b // META_BLOCK}.json"] = meta
    nshards, shards = bm25_shards(chunks)
    # the vault's words (BM25 terms: stopwords come from the vocabulary); not its compound names, which a
    # query's encoder never looks up (basic_tokens splits them at their "-", "_" and ".")
    words = {t for post in shards.values() for t in post if not _JOINED.search(t)}
    for s in range(nshards):  # every shard exists, so a lookup never 404s
        post = shards.get(s, {})
        files[f"bm25/{s}.json"] = json.dumps(post, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    manifest: dict = {
        "format": "kb-search", "version": 2, "mode": "lexical", "model": None, "dims": 0,
        "chunks": len(chunks), "notes": len(notes), "meta_block": META_BLOCK, "rows_block": ROWS_BLOCK,
        "bm25_shards": nshards, "rrf_k": RRF_K, "bm25_coverage": BM25_COVERAGE,
        "bm25_share": BM25_SHARE, "candidates": CANDIDATES, "nlist": 0, "nprobe": 0,
        "note_lists": 0, "note_probe": 0,
        "prefix": prefix,
    }
    arrays: dict[str, np.ndarray] = {"note_chunks": counts.astype(np.uint16) if counts.max(initial=0) < 65536 else counts}
    if q is not None and vocab is not None and rows is not None:
        manifest.update(mode=q.mode, model=model_id, dims=q.dims, vocab=len(vocab),
                        vocab_shards=VOCAB_SHARDS, unk=vocab.index("[UNK]") if "[UNK]" in vocab else 100)
        manifest["bytes_per_chunk"] = q.bytes_per_chunk
        if q.mode == "int8":
            cscale, ccodes = quantize_rows(q.centroids)
            arrays.update(centroid_scale=cscale, centroids=ccodes, dim_scale=q.scale.astype(np.float32))
            manifest.update(nlist=len(q.centroids), nprobe=len(q.centroids))
            for li in range(len(q.centroids)):
                ids = np.flatnonzero(q.assign == li).astype(np.uint32)
                files[f"lists/{li}.bin"] = pack("list", {"ids": ids, "codes": q.codes[ids]}, list=li)
        else:
            manifest.update(pq_m=int(q.codebooks[0].shape[0]), pq_stages=len(q.codebooks), rerank=RERANK_NOTES, rerank_chunks=RERANK_CHUNKS,
                            note_m=[int(b.shape[0]) for b in q.note_books])
            arrays.update(codebooks=np.stack(q.codebooks).astype(np.float16), chunk_dims=q.chunk_dims.astype(np.uint16))
            arrays.update({f"note_codebook_{s}": b for s, b in enumerate(q.note_books)})
            if len(q.note_list):  # past NOTE_SCAN notes: lists of notes, a query reads the best few
                nlists = len(q.list_codes)
                # version 3: a reader of version 2 would look for notes.bin and report it missing
                manifest.update(version=3, note_lists=nlists, note_probe=q.note_probe)
                files["note-lists.bin"] = pack("notes", {"codes": q.list_codes})
                for li in range(nlists):
                    ids = np.flatnonzero(q.note_list == li).astype(np.uint32)
                    files[f"notes/{li}.bin"] = pack("notes", {"ids": ids, "codes": q.note_codes[ids]}, list=li)
            else:
                files["notes.bin"] = pack("notes", {"codes": q.note_codes})
            start = 0
            for ni, count in enumerate(counts.tolist()):  # raw codes of the note's chunks, in chunk order
                files[f"chunks/{ni}.bin"] = q.codes[start : start + count].tobytes()
                start += count
        files["rotation.bin"] = pack("rotation", {"rotation": q.rotation.astype(np.float32)})
        files.update(vocab_files(vocab))
        manifest["word_shards"], word_table = word_files(vocab, words)
        files.update(word_table)
        scale, codes = quantize_rows(rows)
        for r in range(0, len(rows), ROWS_BLOCK):
            files[f"enc/rows/{r // ROWS_BLOCK}.bin"] = pack(
                "rows", {"scale": scale[r : r + ROWS_BLOCK], "rows": codes[r : r + ROWS_BLOCK]}, first=r)
    files["index.bin"] = pack("index", arrays, chunks=len(chunks), notes=len(notes), mode=manifest["mode"])
    # which build wrote the index: a page still open while the site is deployed again would otherwise
    # mix the manifest and index.bin it read before with shards of the new index. The meta files,
    # read last for the results shown, carry it too, so a reader sees the mix and starts over.
    manifest["build"] = build_id(files, metas)
    for rel, meta in metas.items():
        files[rel] = json.dumps({**meta, "build": manifest["build"]}, ensure_ascii=False, separators=(",", ":")).encode()
    files["manifest.json"] = json.dumps(manifest, indent=1, sort_keys=True).encode()
    return files, manifest


def build_id(files: dict[str, bytes], metas: dict[str, dict]) -> str:
    """A hash of everything the index holds: the same vault gives the same id (byte-identical sites)."""
    h = hashlib.sha256()
    for rel in sorted(files):
        h.update(f"{rel}\0{len(files[rel])}\0".encode())
        h.update(files[rel])
    for rel in sorted(metas):
        h.update(f"{rel}\0".encode() + json.dumps(metas[rel], ensure_ascii=False, sort_keys=True).encode())
    return h.hexdigest()[:16]


def vocab_shard(piece: str) -> str:
    """'1' for one-letter pieces (with or without '##'), else a hash of the piece's first two letters."""
    body = piece[2:] if piece.startswith("##") and len(piece) > 2 else piece
    return "1" if len(body) == 1 else str(fnv1a(body[:2]) % VOCAB_SHARDS)


def word_vocab_shards(word: str, nshards: int = VOCAB_SHARDS) -> set[str]:
    """The shards WordPiece can look into for `word`: every piece it tries starts at some letter i of
    the word and either is one letter long or begins with word[i:i+2]."""
    return {"1"} | {str(fnv1a(word[i : i + 2]) % nshards) for i in range(len(word) - 1)}


def word_files(vocab: list[str], words: set[str]) -> tuple[int, dict[str, bytes]]:
    """(word_shards, enc/words/ files): each of `words` and each whole-word vocabulary piece with its
    WordPiece ids, so a query word is one lookup. A word missing from the table (or a table missing
    from an older site) is tokenized from the vocabulary shards instead, with the same result."""
    wp = WordPiece(vocab)
    entries = sorted(words | {p for p in vocab if p and not p.startswith(("##", "[unused")) and p not in SPECIAL})
    lines = [f"{w} {' '.join(map(str, wp.word_ids(w)))}" for w in entries if w and " " not in w and "\n" not in w]
    n = max(1, math.ceil(sum(len(x.encode()) + 1 for x in lines) / WORD_SHARD_BYTES))
    shards: list[list[str]] = [[] for _ in range(n)]
    for line in lines:
        shards[fnv1a(line[: line.index(" ")]) % n].append(line)
    return n, {f"enc/words/{i}.txt": ("\n".join(v) + "\n").encode() for i, v in enumerate(shards)}


SPECIAL = ("[PAD]", "[CLS]", "[SEP]", "[MASK]", "[UNK]")


def vocab_files(vocab: list[str]) -> dict[str, bytes]:
    shards: dict[str, list[str]] = {str(v): [] for v in range(VOCAB_SHARDS)} | {"1": []}
    for i, piece in enumerate(vocab):
        if piece and not piece.startswith("[unused"):
            shards[vocab_shard(piece)].append(f"{i} {piece}")
    return {f"enc/vocab/{k}.txt": ("\n".join(v) + "\n").encode() for k, v in shards.items()}
