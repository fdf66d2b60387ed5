"""Vector compression for the static index.

Two modes, chosen by vault size (both reported in the build output):
- "int8": per-dimension scaled int8 (d bytes per chunk). Small vaults, where the fixed
  files of PQ would cost more than the codes and there are too few points to train it.
- "pq": OPQ rotation, then a two-stage residual product quantizer with 4-bit codes
  (16 centroids per sub-space, so codebooks are tiny and train on few points), split
  into IVF lists so a query downloads only the lists it probes.
The OPQ rotation is folded into the query encoder's rows, so the browser never needs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PQ_MIN_CHUNKS = 2048  # below this: int8 (PQ codebooks + lists would not pay off)


@dataclass
class Quantized:
    mode: str  # "int8" | "pq"
    dims: int
    rotation: np.ndarray  # (d, d) float32: x_rot = x @ rotation.T (identity for int8)
    centroids: np.ndarray  # (nlist, d) float32 coarse centroids in rotated space
    assign: np.ndarray  # (n,) list of each chunk
    scale: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # int8: per-dim scale
    codebooks: list[np.ndarray] = field(default_factory=list)  # pq: per stage (M, 16, d/M) float16
    codes: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.uint8))  # (n, bytes per chunk)

    @property
    def bytes_per_chunk(self) -> int:
        return int(self.codes.shape[1])


def _kmeans(x: np.ndarray, k: int, seed: int = 1234, niter: int = 20) -> np.ndarray:
    import faiss

    km = faiss.Kmeans(x.shape[1], k, niter=niter, seed=seed, verbose=False, spherical=False)
    km.cp.min_points_per_centroid = 1
    km.train(np.ascontiguousarray(x, dtype=np.float32))
    return np.asarray(km.centroids, np.float32)


def _nearest(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    d = (x * x).sum(1, keepdims=True) - 2 * x @ c.T + (c * c).sum(1)[None, :]
    return d.argmin(1)


def quantize_int8(x: np.ndarray) -> Quantized:
    d = x.shape[1]
    scale = np.maximum(np.abs(x).max(0), 1e-6).astype(np.float32) / 127.0
    codes = np.clip(np.rint(x / scale), -127, 127).astype(np.int8).view(np.uint8)
    return Quantized("int8", d, np.eye(d, dtype=np.float32), np.zeros((1, d), np.float32), np.zeros(len(x), np.int32),
                     scale=scale, codes=codes)


def _train_stage(x: np.ndarray, m: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One PQ stage with 16 centroids per sub-space: (codebook (m,16,dsub), codes (n,m))."""
    n, d = x.shape
    dsub = d // m
    book = np.zeros((m, 16, dsub), np.float32)
    codes = np.zeros((n, m), np.uint8)
    for j in range(m):
        sub = np.ascontiguousarray(x[:, j * dsub : (j + 1) * dsub])
        c = _kmeans(sub, 16, seed + j, niter=25)
        book[j] = c
        codes[:, j] = _nearest(sub, c)
    return book, codes


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


def quantize_pq(x: np.ndarray, m: int = 96, stages: int = 2, nlist: int = 0) -> Quantized:
    import faiss

    n, d = x.shape
    opq = faiss.OPQMatrix(d, m)
    opq.niter = 25
    sample = x if n <= 20000 else x[np.random.default_rng(0).choice(n, 20000, replace=False)]
    opq.train(np.ascontiguousarray(sample, dtype=np.float32))
    rot = faiss.vector_to_array(opq.A).reshape(d, d).astype(np.float32)
    xr = (x @ rot.T).astype(np.float32)
    nlist = nlist or max(1, int(round(np.sqrt(n) / 3)))
    cents = _kmeans(xr, nlist, 99) if nlist > 1 else xr.mean(0, keepdims=True)
    assign = _nearest(xr, cents).astype(np.int32)
    books, parts = [], []
    resid = xr.copy()
    for s in range(stages):
        book, codes = _train_stage(resid, m, 1000 * (s + 1))
        book = book.astype(np.float16)
        resid = resid - _decode_stage(book.astype(np.float32), codes)
        books.append(book)
        parts.append(pack4(codes))
    return Quantized("pq", d, rot, cents, assign, codebooks=books, codes=np.concatenate(parts, axis=1))


def reconstruct(q: Quantized) -> np.ndarray:
    """Decoded vectors in rotated space (what the scores are computed against)."""
    if q.mode == "int8":
        return q.codes.view(np.int8).astype(np.float32) * q.scale
    m = q.codebooks[0].shape[0]
    out = np.zeros((len(q.codes), q.dims), np.float32)
    for s, book in enumerate(q.codebooks):
        codes = unpack4(q.codes[:, s * m // 2 : (s + 1) * m // 2])
        out += _decode_stage(book.astype(np.float32), codes)
    return out


def quantize(x: np.ndarray, pq_m: int = 0) -> Quantized:
    if len(x) < PQ_MIN_CHUNKS:
        return quantize_int8(x)
    d = x.shape[1]
    m = pq_m or d // 4
    if d % m:
        m = d // 4
    return quantize_pq(x, m=m)
