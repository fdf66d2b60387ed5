"""The browser's query encoder: a static (one vector per word piece) model distilled from
the embedding model at build time, with centering, token weights and the OPQ rotation
folded into the rows.

A query vector is then normalize(sum of its tokens' rows): a few rows fetched, no network model.
(model2vec's `distill` needs extras that conflict here, so the distillation is done directly:
each vocabulary entry is run through the model as `[CLS] token [SEP]`. A token the vault's chunks
use starts instead from the mean of its states in them, `in_context`.)
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from kb.search.embed import Embedder
from kb.search.tokenize import WordPiece, basic_tokens

SIF_A = 1e-3  # token weight a / (a + p(token)): frequent pieces count less
# Directions removed from the centered rows ("all-but-the-top", Mu & Viswanath 2018): the top principal
# components of the rows, weighted by how often the vault uses each token, carry frequency and length,
# not meaning. Measured on obsidian-hub (87 queries, static encoder alone, exact float32 index):
# k=0 hit@10 0.609 MRR 0.381; k=1 0.621/0.355; k=2 0.621/0.375; k=4 0.632/0.399; k=8 0.632/0.407.
TOP_REMOVED = 4
# Tuning on the vault (tune_rows): pseudo-queries per chunk, Adam step, softmax temperature, batch.
# Measured on obsidian-hub (87 queries, static encoder alone, exact float32 chunks): distilled rows 0.632 hit@10 /
# 0.399 MRR@10; tuned 1 pass 0.655 / 0.436, 2 passes 0.667 / 0.446 (window seeds 1-3: 0.655-0.667 / 0.428-0.439),
# 3 passes 0.655 / 0.441; batch 2048 0.655 / 0.420-0.432; windows of 4-16 pieces 0.644-0.655 / 0.441-0.442.
# Subsets of obsidian-hub (the queries' notes + random others, 2 seeds): 8,810 chunks 0.701 / 0.510 -> 0.759-0.770 /
# 0.538-0.540; 3,318 chunks 0.793 / 0.588 -> 0.816-0.828 / 0.603-0.608; but 1,322 chunks 0.851 / 0.661 -> 0.874 / 0.658
# and 754 chunks 0.897 / 0.675 -> 0.897 / 0.681-0.684: no clear gain below TUNE_MIN_CHUNKS, so small vaults keep the distilled rows.
TUNE_WINDOWS, TUNE_LR, TUNE_TAU, TUNE_BATCH, TUNE_EPOCHS = 4, 1e-3, 0.05, 512, 3
# Ranking distillation (tune_rows `teacher`): the model itself embeds each window, and the rows also learn to
# rank the batch's chunks plus the model's 8 nearest chunks of each window the way the model's vector of
# that window ranks them (KL at temperature TUNE_KD_TAU, weight TUNE_KD). The windows alone teach only
# "these words -> this chunk" (lexical); the model's ranking carries its sense of paraphrase.
# Static alone, exact chunks, obsidian-hub (22,302 chunks; queries.json / holdout hit@10 / MRR@10):
# no teacher, 2 passes 0.644 / 0.441, 0.483 / 0.230; window seeds 1, 2: 0.644 / 0.436, 0.483 / 0.227 and
# 0.644 / 0.436, 0.466 / 0.239. Teacher, 3 passes: 0.644 / 0.449, 0.534 / 0.275 (seed 1: 0.644 / 0.460,
# 0.534 / 0.275); 4 passes 0.655 / 0.472, 0.534 / 0.288; weight 2 0.644 / 0.450, 0.569 / 0.277; teacher on a
# quarter of the windows 0.644 / 0.429, 0.500 / 0.264. Cost on obsidian-hub: 89k windows (62k distinct) embedded
# once (93 s on 2 cores, then cached in .kb-cache as float16), and ~22 s per tuning instead of ~5.
TUNE_KD, TUNE_KD_TAU, TUNE_KD_NEIGHBOURS = 1.0, 0.05, 8
TUNE_MIN_CHUNKS = 2048
# 1 and 2 threads gave bit-identical rows on obsidian-hub (9.1 vs 4.7 s); more than 8 only adds overhead
TUNE_THREADS = min(8, os.cpu_count() or 1)


def usable_ids(vocab: list[str]) -> list[int]:
    return [i for i, t in enumerate(vocab) if not (t.startswith("[unused") or t in ("[PAD]", "[CLS]", "[SEP]", "[MASK]"))]


def token_table(embedder: Embedder, vocab: list[str], cache_dir: Path | None) -> np.ndarray:
    """(len(vocab), d) raw token vectors from the model; rows of unusable ids are zero. Cached."""
    key = hashlib.sha256(f"{embedder.model_id}\0{len(vocab)}\0{vocab[1000:1010]}".encode()).hexdigest()[:12]
    f = cache_dir / f"static-{key}.npy" if cache_dir else None
    if f is not None and f.is_file():
        table = np.load(f)
        if table.shape == (len(vocab), embedder.dims):
            return table
    ids = usable_ids(vocab)
    table = np.zeros((len(vocab), embedder.dims), np.float32)
    table[ids] = embedder.encode_token_ids(ids)
    if f is not None:
        try:
            f.parent.mkdir(parents=True, exist_ok=True)
            np.save(f, table)
        except OSError as exc:  # a read-only vault still builds; the next build distils again
            print(f"kb: could not write the encoder cache {f}: {exc.strerror or exc}", file=sys.stderr)
    return table


def fit_rows(
    table: np.ndarray,
    wp: WordPiece,
    texts: list[str],
    rotation: np.ndarray,
    vectors: np.ndarray | None = None,
    cache_dir: Path | None = None,
    teacher: Callable[[list[str]], np.ndarray] | None = None,
    context: Callable[[], tuple[np.ndarray, np.ndarray]] | None = None,
) -> np.ndarray:
    """Rows such that normalize(sum rows[tokens(query)]) lands near the model's vector of the query,
    already rotated into the index's (OPQ) space.

    Centering removes what every `[CLS] t [SEP]` output shares (the specials dominate a 3-token input);
    SIF weights a / (a + p(t)), p from the vault's own chunks, let rare words speak.
    Measured on obsidian-hub (bench/search_quality.py, 75 paraphrase queries, dense only, exact):
    raw rows 0.05 hit@10, centered 0.47, centered + SIF 0.55 (full model: 0.71). A least-squares map
    to the model's space fit on the chunks (ridge, also on short windows) made it worse (0.29-0.39):
    long chunks average away what a 5-word query has, so it is not used. Re-measured with all 87
    queries: map fit on chunks 0.40-0.46 (ridge 1e-3..1) vs 0.61 without; fit on 36k short texts
    (heading paths and 3-10 word windows, each embedded by the model itself) 0.39-0.44, and mixed
    half-and-half with the unmapped rows 0.52-0.55: still worse, so still not used.

    `context` (-> Embedder.context_sums over the chunks) starts the rows from each token's mean state in
    the vault's own sentences instead of `table` (`in_context`). With the chunks' own `vectors` and at
    least TUNE_MIN_CHUNKS of them, the rows are then tuned on the vault (`tune_rows`); `teacher` (texts
    -> the model's vectors) adds the model's own ranking to that.
    """
    if context is not None:
        table = in_context(table, *context())
    counts = token_counts(wp, texts, len(table))
    p = counts / max(counts.sum(), 1.0)
    weights = SIF_A / (SIF_A + p)
    used = table[counts > 0] if (counts > 0).any() else table
    centered = table.astype(np.float64) - used.astype(np.float64).mean(0)
    centered = remove_top(centered, p, TOP_REMOVED)
    rows = centered * weights[:, None]
    rows[~np.any(table != 0, axis=1)] = 0  # ids the model never sees stay empty
    rows = rows.astype(np.float32)
    if vectors is not None and len(texts) >= TUNE_MIN_CHUNKS:
        rows = tuned_rows(rows, wp, texts, vectors, cache_dir, teacher)
    return (rows.astype(np.float64) @ rotation.T.astype(np.float64)).astype(np.float32)


def in_context(table: np.ndarray, sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Each token's row as the mean of the model's output states of it in the vault's chunks (a static
    model "in context", as X2Static and Bommasani et al. 2020 make them): a query's tokens then add up
    the way the model's mean pooling adds up a sentence's states. `[CLS] t [SEP]` alone is a context
    no query has. Tokens the vault never uses keep their `table` row, moved by the difference of the
    two tables' means so that they sit among the others; ids the model never sees stay zero. (Mixing
    the `table` rows back in traded hit@10 for MRR@10 and met neither target better: bench/README.md.)

    Measured on obsidian-hub (static encoder alone, exact float32 chunks, queries.json / holdout
    hit@10): tuned as shipped, window seeds 0 and 1, 0.644 / 0.569 and 0.632 / 0.517 -> 0.690 / 0.603
    and 0.655 / 0.603; on parts of it too small to tune on (the queries' notes and others, 31-522
    notes), up or equal in 15 of 16 measures, e.g. 522 notes 0.805 / 0.810 -> 0.908 / 0.879 (bench/README.md)."""
    used = np.any(table != 0, axis=1)  # [CLS], [SEP] have states but are never a query's token
    seen = (counts > 0) & used
    out = table.astype(np.float64)
    if seen.any():
        mean_state = sums[seen] / counts[seen][:, None]
        out[used & ~seen] += mean_state.mean(0) - out[seen].mean(0)
        out[seen] = mean_state
    return out.astype(np.float32)


def tuned_rows(
    rows: np.ndarray,
    wp: WordPiece,
    texts: list[str],
    vectors: np.ndarray,
    cache_dir: Path | None,
    teacher: Callable[[list[str]], np.ndarray] | None = None,
) -> np.ndarray:
    """tune_rows, cached in the vault's .kb-cache by its exact inputs (a rebuild with no change skips it)."""
    kd = f"{TUNE_KD}\0{TUNE_KD_TAU}\0{TUNE_KD_NEIGHBOURS}" if teacher is not None else "none"
    h = hashlib.sha256(f"tune2\0{TUNE_WINDOWS}\0{TUNE_LR}\0{TUNE_TAU}\0{TUNE_BATCH}\0{TUNE_EPOCHS}\0{kd}\0".encode())
    for part in (rows, np.ascontiguousarray(vectors, np.float32)):
        h.update(str(part.shape).encode())
        h.update(part.tobytes())
    for t in texts:
        h.update(t.encode("utf-8") + b"\0")
    f = cache_dir / f"tuned-{h.hexdigest()[:16]}.npy" if cache_dir else None
    try:  # another kb on the same vault may have just replaced it; a damaged file is trained again
        got = np.load(f) if f is not None and f.is_file() else None
    except (OSError, ValueError, EOFError):
        got = None
    if got is not None and got.shape == rows.shape and got.dtype == np.float16:
        return got.astype(np.float32)
    # float16 whether cached or not (the site ships int8 rows), so a cached and a fresh build agree; 23 MB on obsidian-hub
    window_teacher = (lambda wins: teacher([wp.decode(w) for w in wins])) if teacher is not None else None
    out = tune_rows(rows, [wp.encode(t) for t in texts], vectors, teacher=window_teacher).astype(np.float16)
    if f is not None:
        try:
            f.parent.mkdir(parents=True, exist_ok=True)
            for old in f.parent.glob("tuned-*.npy"):  # one vault state at a time
                old.unlink(missing_ok=True)
            tmp = f.with_name(f".{f.name}.{os.getpid()}.tmp")
            with open(tmp, "wb") as fh:
                np.save(fh, out)
            os.replace(tmp, f)  # a reader sees the whole file or none
        except OSError as exc:
            print(f"kb: could not write the encoder cache {f}: {exc.strerror or exc}", file=sys.stderr)
    return out.astype(np.float32)


def tune_rows(
    rows: np.ndarray,
    chunk_ids: list[list[int]],
    vectors: np.ndarray,
    seed: int = 0,
    teacher: Callable[[list[list[int]]], np.ndarray] | None = None,
) -> np.ndarray:
    """Teach the static rows this vault: runs of 3-11 word pieces cut from each chunk act as
    queries, and the rows are trained (contrastive, in-batch negatives) so that such a query's
    vector lands nearest its own chunk's model vector among the batch's chunks. With `teacher`
    (windows -> the model's vectors of them), each window also learns to rank the batch's chunks and
    its model-nearest chunks as the model would (ranking distillation). The documents keep the
    model's vectors; only the query side moves. No labels: the chunks are the only data. Fixed
    seeds: the same vault gives the same rows (byte-identical sites)."""
    import torch

    rng = np.random.default_rng(seed)
    wins, source = _windows(chunk_ids, rng)
    if len(set(source.tolist())) < 2:
        return rows
    target_np = np.ascontiguousarray(vectors, np.float32)
    target_np = target_np / np.maximum(np.linalg.norm(target_np, axis=1, keepdims=True), 1e-12)
    teach = near = None
    if teacher is not None:
        teach = np.ascontiguousarray(teacher(wins), np.float32)
        teach /= np.maximum(np.linalg.norm(teach, axis=1, keepdims=True), 1e-12)
        near = _nearest(teach, target_np, TUNE_KD_NEIGHBOURS)
    threads = torch.get_num_threads()
    torch.set_num_threads(TUNE_THREADS)
    try:
        emb = torch.nn.EmbeddingBag.from_pretrained(torch.from_numpy(rows.copy()), freeze=False, mode="sum", sparse=True)
        opt = torch.optim.SparseAdam(list(emb.parameters()), lr=TUNE_LR)
        target = torch.from_numpy(target_np)
        for _ in range(TUNE_EPOCHS):
            order = rng.permutation(len(wins))
            for s in range(0, len(order), TUNE_BATCH):
                b = order[s : s + TUNE_BATCH]
                flat = torch.from_numpy(np.concatenate([wins[i] for i in b]).astype(np.int64))
                offsets = torch.from_numpy(np.cumsum([0] + [len(wins[i]) for i in b[:-1]]).astype(np.int64))
                q = torch.nn.functional.normalize(emb(flat, offsets), dim=1)
                # candidates: the batch's chunks (and with a teacher, each window's model-nearest chunks)
                cand = source[b] if near is None else np.unique(np.concatenate([source[b], near[b].ravel()]))
                col = np.searchsorted(cand, source[b]) if near is not None else np.arange(len(b))
                logits = q @ target[cand].T / TUNE_TAU
                # another window's chunk that is this window's own chunk too is not a negative
                same = torch.from_numpy(source[b][:, None] == cand[None, :])
                same[np.arange(len(b)), col] = False
                loss = torch.nn.functional.cross_entropy(logits.masked_fill(same, -1e9), torch.from_numpy(col))
                if teach is not None:
                    with torch.no_grad():
                        want = torch.softmax(torch.from_numpy(teach[b]) @ target[cand].T / TUNE_KD_TAU, dim=1)
                    loss = loss + TUNE_KD * torch.nn.functional.kl_div(torch.log_softmax(logits, 1), want, reduction="batchmean")
                opt.zero_grad()
                loss.backward()
                opt.step()
        return emb.weight.detach().numpy().copy()
    finally:
        torch.set_num_threads(threads)


def _windows(chunk_ids: list[list[int]], rng: np.random.Generator) -> tuple[list[list[int]], np.ndarray]:
    """TUNE_WINDOWS runs of 3-11 word pieces from each chunk of 4+ pieces, and each run's chunk."""
    wins: list[list[int]] = []
    src: list[int] = []
    for ci, ids in enumerate(chunk_ids):
        for _ in range(TUNE_WINDOWS if len(ids) >= 4 else 0):
            k = int(rng.integers(3, 12))
            start = int(rng.integers(0, max(1, len(ids) - k)))
            wins.append(ids[start : start + k])
            src.append(ci)
    return wins, np.array(src, np.int64)


def _nearest(queries: np.ndarray, docs: np.ndarray, k: int) -> np.ndarray:
    """(len(queries), k) ids of each query's k best docs by dot product, in blocks. bfloat16 products:
    3.5x faster than float32 on obsidian-hub (89k windows x 22k chunks: 3.9 s instead of 13.5), and
    0.96 of the neighbours the same, which is all a set of training candidates needs."""
    import torch

    k = min(k, len(docs) - 1)
    if k <= 0:
        return np.zeros((len(queries), 0), np.int64)
    d = torch.from_numpy(np.ascontiguousarray(docs, np.float32)).to(torch.bfloat16)
    q = torch.from_numpy(np.ascontiguousarray(queries, np.float32)).to(torch.bfloat16)
    return torch.cat([torch.topk(q[s : s + 4096] @ d.T, k, dim=1).indices for s in range(0, len(q), 4096)]).numpy()


def token_counts(wp: WordPiece, texts: list[str], size: int) -> np.ndarray:
    """How often each token id occurs in `texts` (wp.encode of each, summed), splitting each
    distinct word once: a vault has few distinct words (3x faster on obsidian-hub)."""
    words: Counter[str] = Counter()
    for t in texts:
        words.update(basic_tokens(t))
    counts = np.zeros(size, np.float64)
    for w, c in words.items():
        for i in wp.word_ids(w):
            counts[i] += c
    return counts


def remove_top(centered: np.ndarray, p: np.ndarray, k: int) -> np.ndarray:
    """centered minus its projection on the top k principal directions of the used rows, each row
    weighted by sqrt(p(token)) so the directions are those of the text, not of the vocabulary."""
    used = p > 0
    if k <= 0 or used.sum() <= k:
        return centered
    _, _, vt = np.linalg.svd(centered[used] * np.sqrt(p[used])[:, None], full_matrices=False)
    top = vt[:k]
    return centered - (centered @ top.T) @ top


def quantize_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row int8: (scales f32 (n,), codes i8 (n, d))."""
    scale = np.maximum(np.abs(rows).max(1), 1e-12).astype(np.float32) / 127.0
    codes = np.clip(np.rint(rows / scale[:, None]), -127, 127).astype(np.int8)
    return scale, codes
