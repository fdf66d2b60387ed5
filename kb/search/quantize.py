"""Vector compression for the static index.

Two modes, chosen by vault size (both reported in the build output):
- "int8": per-dimension scaled int8 (d bytes per chunk). Small vaults, where the fixed
  files of PQ would cost more than the codes and there are too few points to train it.
- "pq": one OPQ rotation, trained for the note codes; a one-stage 4-bit code of every note
  vector (16 centroids per sub-space, so codebooks are tiny and train on few points) and a
  two-stage residual 4-bit code of every chunk over a permutation of the rotated dimensions.
  A query scans all note codes (one small file), then fetches the chunk codes of its best
  notes only and re-ranks them. The rotation is trained for the note codes because the note
  scan is what loses the right notes: measured on obsidian-hub (87 queries, 50 notes
  re-ranked, hit@10 of the dense part alone), a rotation trained for 96 chunk sub-spaces gave
  static encoder 0.483 / MiniLM query 0.598; one trained for the 32 note sub-spaces, with
  chunk sub-spaces taking the rotated dimensions interleaved by variance (so each gets a fair
  share), 0.529 / 0.701, while chunk reconstruction cosine fell only from 0.982 to 0.974.
  (IVF lists over chunks were measured first: short queries fall far from chunk centroids,
  so probing 1/8 of the lists kept 0.60 of the exact top-10 and fetched ~500 kB; see
  bench/search_quality.py.)
The OPQ rotation is folded into the query encoder's rows, so the browser never needs it.
Both the note and the chunk codes are trained score-aware (see NOTE_ETA below): the browser
scores them as plain PQ, only the build's choice of codebooks and codes changes.

Training is numpy, not faiss: faiss has no 4-bit residual OPQ, and swapping faiss's ProductQuantizer
k-means into these loops (tried 2026-11-25) made the quantize step 43 -> 32 s but dense hit@10 with
MiniLM queries 0.701 -> 0.655 on obsidian-hub, so faiss-cpu is no longer a dependency.
The numpy loops themselves were then made faster (obsidian-hub, 33k chunks: 30 -> 9 s): nearest
centroids by one batched matmul instead of einsum, and each stage's k-means on a fixed sample of
at most TRAIN_MAX rows. bench/search_quality.py before / after: reconstruction cosine 0.9738 /
0.9737, default hit@10 0.609 / 0.621, --full-model 0.724 / 0.759. That is within the noise:
re-training with other seeds alone moves them 0.598-0.621 and 0.690-0.759 (search_quality.py --seeds 3).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PQ_MIN_CHUNKS = 2048  # below this: int8 (PQ codebooks would not pay off, too few points to train)
# Sub-spaces of the note codes. Measured on obsidian-hub (bench/search_quality.py): 24 B/note gave
# default hit@10 0.540 and a 377 kB gzip cold query; 16 B/note 0.506 and 291 kB (the target is 300).
NOTE_M = 32
# A second, coarser residual stage of the note codes (0: none). Measured on obsidian-hub (87 queries, 50 notes re-ranked,
# dense part alone, exact chunk scores): one stage of 32 (16 B/note) static 0.529 / MiniLM 0.678 hit@10; 32 + 16
# (24 B/note) 0.552 / 0.678; 32 + 32 (32 B/note) 0.563 / 0.690. End to end (bench/search_quality.py) 32 + 16 gave
# default 0.598 vs 0.632 with one stage, and 53 kB more per cold query: not used.
NOTE_M2 = 0

# Score-aware ("anisotropic") quantization, after ScaNN (Guo et al. 2020, "Accelerating Large-Scale
# Inference with Anisotropic Vector Quantization"): a query ranks notes by q . x, and the error that
# moves a note's score most is the part of x - x' along x itself. So the codes minimise
# eta * |r_par|^2 + |r_perp|^2 (r = x - x', r_par its component along x) instead of |r|^2.
# Measured on obsidian-hub (note codes, 3 k-means seeds; static-encoder / MiniLM queries; share of
# the exact top-10 chunks whose notes are in the 50 best notes by code): 1,500 windows of 3-7 word
# pieces cut from chunks 0.690-0.695 -> 0.699-0.703, the 87 labeled queries 0.678-0.694 -> 0.729-0.734;
# hit@10 of exact chunk scores inside those 50 notes, static 0.540-0.586 -> 0.586-0.632, MiniLM
# 0.609-0.678 -> 0.667-0.701. The same rounds with eta = 1 (plain k-means, 5 more rounds) change
# nothing (0.690-0.695, 0.683-0.690), and eta 2-6 all help about as much.
# The chunk codes (2 stages of 96 sub-spaces), exact float32 top-10 over all chunks: MiniLM queries
# 0.799 -> 0.839, the static encoder's 0.766 -> 0.802, windows 0.781 -> 0.803; reconstruction cosine
# 0.9737 -> 0.9728. End to end (bench/search_quality.py --seeds 3; notes only / notes and chunks):
# default hit@10 mean 0.613 -> 0.632 -> 0.644, recall@10 with 50 notes re-ranked 0.637 -> 0.661 -> 0.692.
# Cost: quantize 9.2 -> 20.7 s on obsidian-hub (the notes' share is 0.2 s), requantize 1.1 -> 2.6 s.
# Fewer rounds (3 refinements, 2 coding passes: quantize ~4 s faster) gave default MRR@10 0.454 / 0.438 / 0.428
# over 3 quantizer seeds against 0.468 / 0.470 / 0.454 with these: not used.
NOTE_ETA = 4.0
CHUNK_ETA = 4.0
# Vaults of more notes than NOTE_SCAN: the note codes are split into lists (spherical k-means over the note
# vectors, about NOTES_PER_LIST notes a list), and a query scores the lists' coded centroids, then reads
# only enough of the best lists to scan about NOTE_SCAN notes. So the bytes a query reads stop growing with
# the vault: NOTE_SCAN x 16 B of note codes (115 kB, incompressible) plus 16 B per list centroid (1/16 B per
# note) and the list files' note ids. Up to NOTE_SCAN every note is scanned, as on obsidian-hub (6,571
# notes): what a 300 kB cold query holds there (bench/README.md, "How the bytes per query grow").
NOTE_SCAN = 7168
NOTES_PER_LIST = 256  # larger lists: fewer files a query (~NOTE_SCAN / 256 = 28), coarser routing
LIST_ROUNDS = 10
ANISO_ROUNDS = 5  # refinements (codebooks, then codes) after k-means
ENCODE_ROUNDS = 3  # coordinate-descent passes over the sub-spaces when coding


@dataclass
class Quantized:
    mode: str  # "int8" | "pq"
    dims: int
    rotation: np.ndarray  # (d, d) float32: x_rot = x @ rotation.T (identity for int8)
    centroids: np.ndarray  # (nlist, d) float32 coarse centroids in rotated space
    assign: np.ndarray  # (n,) list of each chunk
    scale: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # int8: per-dim scale
    codebooks: list[np.ndarray] = field(default_factory=list)  # pq: per stage (M, 16, d/M) float16
    chunk_dims: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint16))  # pq: rotated dims, sub-space order
    codes: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.uint8))  # (n, bytes per chunk)
    note_books: list[np.ndarray] = field(default_factory=list)  # pq: per note stage (M', 16, d/M') float16
    note_codes: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.uint8))  # pq: (notes, sum M'/2)
    note_list: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))  # pq past NOTE_SCAN: each note's list
    list_codes: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.uint8))  # its lists' centroids, coded as notes
    note_probe: int = 0  # how many lists a query reads: enough to scan about NOTE_SCAN notes

    @property
    def bytes_per_chunk(self) -> int:
        return int(self.codes.shape[1])


def _assign_sub(x3: np.ndarray, book: np.ndarray) -> np.ndarray:
    """x3 (n, m, dsub), book (m, 16, dsub) -> nearest centroid per sub-space, (n, m) uint8."""
    cc = (book * book).sum(2)[:, None, :]  # (m, 1, 16)
    bt = book.transpose(0, 2, 1)  # (m, dsub, 16)
    out = np.empty(x3.shape[:2], np.uint8)
    for i in range(0, len(x3), 4096):
        # one batched matmul per block of rows: 2.6x faster than the equivalent einsum
        dots = np.matmul(x3[i : i + 4096].transpose(1, 0, 2), bt)  # (m, rows, 16)
        out[i : i + 4096] = (cc - 2 * dots).argmin(2).T
    return out


def _kmeans_sub(x3: np.ndarray, niter: int, seed: int, init: np.ndarray | None = None) -> np.ndarray:
    """k-means with 16 centroids in every sub-space at once (numpy, deterministic)."""
    n, m, dsub = x3.shape
    rng = np.random.default_rng(seed)
    book = init.copy() if init is not None else x3[rng.choice(n, 16, replace=n < 16)].transpose(1, 0, 2).copy()
    flat_m = np.arange(m)[None, :] * 16
    for _ in range(niter):
        a = _assign_sub(x3, book).astype(np.int64) + flat_m  # (n, m) -> index into m*16
        counts = np.bincount(a.ravel(), minlength=m * 16).reshape(m, 16)
        sums = np.stack([np.bincount(a.ravel(), weights=x3[:, :, e].ravel(), minlength=m * 16) for e in range(dsub)], 1)
        sums = sums.reshape(m, 16, dsub)
        nonempty = counts > 0
        book[nonempty] = (sums[nonempty] / counts[nonempty][:, None]).astype(np.float32)
    return book


def quantize_int8(x: np.ndarray) -> Quantized:
    d = x.shape[1]
    scale = np.maximum(np.abs(x).max(0), 1e-6).astype(np.float32) / 127.0
    codes = np.clip(np.rint(x / scale), -127, 127).astype(np.int8).view(np.uint8)
    return Quantized("int8", d, np.eye(d, dtype=np.float32), np.zeros((1, d), np.float32), np.zeros(len(x), np.int32),
                     scale=scale, codes=codes)


TRAIN_MAX = 16384  # k-means points per stage: 1,000 per centroid, plenty for 16 centroids in a few dimensions


def _train_rows(n: int, seed: int) -> np.ndarray | slice:
    """The rows a stage trains on: at most TRAIN_MAX, a fixed sample so builds stay deterministic."""
    return np.sort(np.random.default_rng(seed).choice(n, TRAIN_MAX, replace=False)) if n > TRAIN_MAX else slice(None)


def _train_stage(x: np.ndarray, m: int, seed: int, niter: int = 20) -> np.ndarray:
    """One PQ stage with 16 centroids per sub-space: its codebook (m, 16, dsub), trained on
    the rows _train_rows picks."""
    x = x[_train_rows(len(x), seed)]
    return _kmeans_sub(x.reshape(len(x), m, -1), niter, seed)


def train_opq(x: np.ndarray, m: int, iters: int = 8, seed: int = 5) -> np.ndarray:
    """OPQ (non-parametric, Ge et al. 2013) for 4-bit PQ: alternate PQ training and the orthogonal
    Procrustes rotation that best maps x onto its reconstruction. Starts from PCA order, interleaved
    so every sub-space gets a share of the variance."""
    d = x.shape[1]
    # full_matrices when there are fewer rows than dimensions (a vault of few, long notes trains
    # on few note vectors): vt must still be a whole (d, d) basis to start the rotation from
    _, _, vt = np.linalg.svd(x - x.mean(0), full_matrices=len(x) < d)
    order = np.argsort(np.arange(d) % m, kind="stable")  # component j goes to sub-space j % m
    rot = vt[order].astype(np.float64)
    book = None
    for it in range(iters):
        xr = (x @ rot.T).astype(np.float32)
        x3 = xr.reshape(len(x), m, -1)
        book = _kmeans_sub(x3, 4 if it < iters - 1 else 8, seed + it, init=book)
        codes = _assign_sub(x3, book)
        y = _decode_stage(book, codes).astype(np.float64)
        u, _, vt2 = np.linalg.svd(x.astype(np.float64).T @ y)
        rot = (u @ vt2).T  # Q = U V^T minimises |x Q - y|; rot = Q^T
    return rot.astype(np.float32)


def _decode_stage(book: np.ndarray, codes: np.ndarray) -> np.ndarray:
    m = book.shape[0]
    return np.concatenate([book[j][codes[:, j]] for j in range(m)], axis=1)


def pack4(codes: np.ndarray) -> np.ndarray:
    """(n, m) 4-bit codes -> (n, m/2) bytes, even sub-space in the low nibble."""
    return (codes[:, 0::2] | (codes[:, 1::2] << 4)).astype(np.uint8)


def unpack4(packed: np.ndarray) -> np.ndarray:
    out = np.empty((packed.shape[0], packed.shape[1] * 2), np.uint8)
    out[:, 0::2] = packed & 15
    out[:, 1::2] = packed >> 4
    return out


def interleaved_dims(xr: np.ndarray, m: int) -> np.ndarray:
    """A permutation of the rotated dimensions for m chunk sub-spaces: sub-space j takes the
    dimensions ranked j, j+m, j+2m, ... by variance, so none gets only the weak ones."""
    by_var = np.argsort(-xr.var(0), kind="stable")
    return np.concatenate([by_var[j::m] for j in range(m)]).astype(np.uint16)


def residual_stages(x: np.ndarray, ms: list[int], seed: int, eta: float = 1.0) -> tuple[list[np.ndarray], np.ndarray]:
    """Residual 4-bit PQ: stage s quantizes what the earlier stages left, with ms[s] sub-spaces.
    Returns the float16 codebooks and the packed codes (stage after stage, ms[s]/2 bytes each).
    eta > 1: score-aware codes (see _score_aware), for vectors that are ranked by inner product."""
    resid = np.ascontiguousarray(x, dtype=np.float32)
    unit = resid / np.maximum(np.linalg.norm(resid, axis=1, keepdims=True), 1e-12)
    books, parts = [], []
    for s, m in enumerate(ms):
        book = _train_stage(resid, m, seed * (s + 1))
        if eta > 1:
            book = _score_aware(resid, unit, book, eta, seed * (s + 1))
        book = book.astype(np.float16)
        codes, resid = _stage_codes(resid, unit, book, eta)
        books.append(book)
        parts.append(pack4(codes))
    return books, np.concatenate(parts, axis=1)


def encode_stages(x: np.ndarray, books: list[np.ndarray], eta: float = 1.0) -> np.ndarray:
    """Packed codes of x for residual stages trained earlier (see residual_stages): the same
    codes residual_stages gave, since both code each stage with _stage_codes."""
    resid = np.ascontiguousarray(x, dtype=np.float32)
    unit = resid / np.maximum(np.linalg.norm(resid, axis=1, keepdims=True), 1e-12)
    parts = []
    for book in books:
        codes, resid = _stage_codes(resid, unit, book, eta)
        parts.append(pack4(codes))
    return np.concatenate(parts, axis=1)


def _stage_codes(resid: np.ndarray, unit: np.ndarray, book: np.ndarray, eta: float) -> tuple[np.ndarray, np.ndarray]:
    """Codes of one stage for its stored (float16) book, and what is left for the next stage."""
    b32 = book.astype(np.float32)
    x3 = resid.reshape(len(resid), book.shape[0], -1)
    codes = _assign_sub(x3, b32)
    if eta > 1:
        codes = _aniso_encode(x3, unit.reshape(x3.shape), b32, codes, eta)
    return codes, resid - _decode_stage(b32, codes)


def _aniso_encode(x3: np.ndarray, u3: np.ndarray, book: np.ndarray, codes: np.ndarray, eta: float,
                  rounds: int = 0) -> np.ndarray:
    """Codes minimising the score-aware loss, by coordinate descent over the sub-spaces (the
    parallel part couples them): x3, u3 (n, m, dsub) are the vectors and their unit directions."""
    n, m, _ = x3.shape
    rounds = rounds or ENCODE_ROUNDS
    codes = codes.copy()
    bt = book.transpose(0, 2, 1)  # (m, dsub, 16)
    xc = np.matmul(x3.transpose(1, 0, 2), bt)  # (m, n, 16): x . c for every choice
    uc = np.matmul(u3.transpose(1, 0, 2), bt)  # (m, n, 16): u . c
    xu = (x3 * u3).sum(2).T  # (m, n)
    # r . u = x . u - c . u for every choice; with rest = the other sub-spaces' share, the loss is
    # (eta-1) (rest + rp)^2 + |x - c|^2 = const + rest * 2 (eta-1) rp + [(eta-1) rp^2 + |c|^2 - 2 x . c]
    rp = xu[:, :, None] - uc
    fixed = (eta - 1) * rp * rp + (book * book).sum(2)[:, None, :] - 2 * xc
    slope = 2 * (eta - 1) * rp
    rows = np.arange(n)
    par = rp[np.arange(m)[None, :], rows[:, None], codes].T.copy()  # (m, n)
    total = par.sum(0)
    for _ in range(rounds):
        for j in range(m):
            rest = total - par[j]
            codes[:, j] = (fixed[j] + rest[:, None] * slope[j]).argmin(1)
            par[j] = rp[j][rows, codes[:, j]]
            total = rest + par[j]
    return codes


def _aniso_update(x3: np.ndarray, u3: np.ndarray, book: np.ndarray, codes: np.ndarray, eta: float) -> np.ndarray:
    """Each sub-space's centroids, in turn, set to the minimiser of the score-aware loss for the
    current codes: per centroid c, [(eta-1) sum u u^T + n_c I] c = sum (eta-1) a u + x, with
    a = the parallel residual of the other sub-spaces plus x . u."""
    n, m, dsub = x3.shape
    book = book.copy()
    par = ((x3 - book[np.arange(m)[None, :], codes]) * u3).sum(2)
    eye = np.eye(dsub)
    for j in range(m):
        x, u = x3[:, j].astype(np.float64), u3[:, j].astype(np.float64)
        a = par.sum(1) - par[:, j] + (x * u).sum(1)
        onehot = np.zeros((n, 16))
        onehot[np.arange(n), codes[:, j]] = 1.0
        count = onehot.sum(0)
        lhs = (onehot.T @ (u[:, :, None] * u[:, None, :]).reshape(n, -1)).reshape(16, dsub, dsub) * (eta - 1)
        rhs = onehot.T @ ((eta - 1) * a[:, None] * u + x)
        for c in np.flatnonzero(count):
            book[j, c] = np.linalg.solve(lhs[c] + count[c] * eye, rhs[c])
        par[:, j] = ((x3[:, j] - book[j][codes[:, j]]) * u3[:, j]).sum(1)
    return book


def _score_aware(x: np.ndarray, unit: np.ndarray, book: np.ndarray, eta: float, seed: int) -> np.ndarray:
    """A k-means stage's (float32) book refined for the score-aware loss on the rows it was trained
    on (_train_rows); the codes are then made for the stored book by _stage_codes."""
    n = len(x)
    m = book.shape[0]
    pick = _train_rows(n, seed)
    xs, us = x.reshape(n, m, -1)[pick], unit.reshape(n, m, -1)[pick]
    codes = _assign_sub(xs, book)
    for _ in range(ANISO_ROUNDS):
        book = _aniso_update(xs, us, book, codes, eta)
        codes = _aniso_encode(xs, us, book, codes, eta, rounds=1)
    return book


def quantize_pq(x: np.ndarray, note_vecs: np.ndarray | None, m: int = 96, note_m: int = NOTE_M,
                stages: int = 2) -> Quantized:
    n, d = x.shape
    rng = np.random.default_rng(0)
    train = note_vecs if note_vecs is not None else x
    if len(train) > 10000:
        train = train[np.sort(rng.choice(len(train), 10000, replace=False))]
    rot = train_opq(train.astype(np.float32), note_m)
    xr = (x @ rot.T).astype(np.float32)
    dims = interleaved_dims(xr, m)
    books, codes = residual_stages(xr[:, dims], [m] * stages, 1000, eta=CHUNK_ETA)
    q = Quantized("pq", d, rot, xr.mean(0, keepdims=True), np.zeros(n, np.int32), codebooks=books, codes=codes,
                  chunk_dims=dims)
    if note_vecs is not None:
        nr = (note_vecs @ rot.T).astype(np.float32)
        note_ms = [note_m] + ([NOTE_M2] if NOTE_M2 and d % NOTE_M2 == 0 else [])
        q.note_books, q.note_codes = residual_stages(nr, note_ms, 77, eta=NOTE_ETA)
        q.note_list, q.list_codes, q.note_probe = note_lists(nr, q.note_books)
    return q


def decode_notes(codes: np.ndarray, books: list[np.ndarray]) -> np.ndarray:
    """Note codes (residual stages, books[s] with its own sub-space count) -> vectors in rotated space."""
    out, col = 0.0, 0
    for book in books:
        m = book.shape[0]
        out = out + _decode_stage(book.astype(np.float32), unpack4(codes[:, col : col + m // 2]))
        col += m // 2
    return np.asarray(out, np.float32)


def note_lists(nr: np.ndarray, books: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, int]:
    """Past NOTE_SCAN notes: (each note's list, the lists' centroids coded with the note codebooks, how
    many lists a query reads), else empty arrays and 0. Spherical k-means (the scores are inner
    products); each note then joins the list whose *coded* centroid scores it highest, since that code
    is what a query scores to choose the lists."""
    n = len(nr)
    if n <= NOTE_SCAN:
        return np.zeros(0, np.int32), np.zeros((0, 0), np.uint8), 0
    x = nr / np.maximum(np.linalg.norm(nr, axis=1, keepdims=True), 1e-12)
    c = -(-n // NOTES_PER_LIST)
    cent = x[np.sort(np.random.default_rng(11).choice(n, c, replace=False))].copy()
    for _ in range(LIST_ROUNDS):
        assign = np.argmax(x @ cent.T, axis=1)
        sums = np.zeros_like(cent)
        np.add.at(sums, assign, x)
        kept = np.linalg.norm(sums, axis=1) > 0  # an emptied list keeps its centroid
        cent[kept] = sums[kept] / np.linalg.norm(sums[kept], axis=1, keepdims=True)
    codes = encode_stages(cent, books, eta=NOTE_ETA)
    assign = np.argmax(x @ decode_notes(codes, books).T, axis=1)
    # a list no note joined (duplicate centroids: copies of notes) would only take a probe slot
    used, assign = np.unique(assign, return_inverse=True)
    codes, c = codes[used], len(used)
    probe = -(-c * NOTE_SCAN // n)
    if probe >= c:  # just past NOTE_SCAN a query would read every list: one notes.bin is fewer files
        return np.zeros(0, np.int32), np.zeros((0, 0), np.uint8), 0
    return assign.astype(np.int32), codes, probe


def reconstruct(q: Quantized) -> np.ndarray:
    """Decoded vectors in rotated space (what the scores are computed against)."""
    if q.mode == "int8":
        return q.codes.view(np.int8).astype(np.float32) * q.scale
    m = q.codebooks[0].shape[0]
    out = np.zeros((len(q.codes), q.dims), np.float32)
    for s, book in enumerate(q.codebooks):
        codes = unpack4(q.codes[:, s * m // 2 : (s + 1) * m // 2])
        out[:, q.chunk_dims] += _decode_stage(book.astype(np.float32), codes)
    return out


def requantize(prev: Quantized, x: np.ndarray, note_vecs: np.ndarray | None) -> Quantized | None:
    """x coded with the rotation and codebooks of an earlier `quantize` (no training: ~1 s instead
    of ~9 s on obsidian-hub), or None where that earlier index does not fit x. For `kb serve`, which
    refreshes the index after every edit; a build always trains, so its output depends on the vault only."""
    if prev.mode != "pq" or len(x) < PQ_MIN_CHUNKS or x.shape[1] != prev.dims or (note_vecs is None) != (not prev.note_books):
        return None
    xr = (x @ prev.rotation.T).astype(np.float32)
    q = Quantized("pq", prev.dims, prev.rotation, xr.mean(0, keepdims=True), np.zeros(len(x), np.int32),
                  codebooks=prev.codebooks, codes=encode_stages(xr[:, prev.chunk_dims], prev.codebooks, eta=CHUNK_ETA),
                  chunk_dims=prev.chunk_dims)
    if note_vecs is not None:
        q.note_books = prev.note_books
        nr = (note_vecs @ prev.rotation.T).astype(np.float32)
        q.note_codes = encode_stages(nr, prev.note_books, eta=NOTE_ETA)
        q.note_list, q.list_codes, q.note_probe = note_lists(nr, prev.note_books)
    return q


def quantize(x: np.ndarray, pq_m: int = 0, note_vecs: np.ndarray | None = None) -> Quantized:
    if len(x) < PQ_MIN_CHUNKS:
        return quantize_int8(x)
    d = x.shape[1]
    m = pq_m or d // 4
    if d % m or m % 2:
        m = d // 4
    note_m = NOTE_M if d % NOTE_M == 0 else m
    return quantize_pq(x, note_vecs, m=m, note_m=note_m)
