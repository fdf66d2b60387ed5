"""The browser's query encoder: a static (one vector per word piece) model distilled from
the embedding model at build time, mapped into its space by least squares on the vault's
own chunks, with the map, token weights and the OPQ rotation folded into the rows.

A query vector is then normalize(sum of its tokens' rows): a few rows fetched, no network model.
(model2vec's `distill` needs extras that conflict here, so the distillation is done directly:
each vocabulary entry is run through the model as `[CLS] token [SEP]`.)
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from kb.search.embed import Embedder
from kb.search.tokenize import WordPiece

PRIOR_CHUNKS = 2000.0  # the identity prior weighs as much as this many chunks (measured: bench/search_quality.py)
SIF_A = 1e-3  # token weight a / (a + p(token)): frequent pieces count less


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
        f.parent.mkdir(parents=True, exist_ok=True)
        np.save(f, table)
    return table


def ridge_to_identity(x: np.ndarray, y: np.ndarray, prior: float) -> np.ndarray:
    """argmin |xW - y|^2 + lam |W - I|^2: a small vault keeps the distilled space (W ~ I),
    a big one learns the full map; lam counts the prior as `prior` average chunks."""
    gram = x.T @ x
    d = len(gram)
    lam = prior * np.trace(gram) / d / max(len(x), 1) + 1e-9
    return np.linalg.solve(gram + lam * np.eye(d), x.T @ y + lam * np.eye(d, y.shape[1]))


def fit_rows(table: np.ndarray, wp: WordPiece, texts: list[str], targets: np.ndarray, rotation: np.ndarray,
             prior: float = PRIOR_CHUNKS) -> np.ndarray:
    """Rows such that normalize(sum rows[tokens(text)]) ~ rotation @ target vector of text."""
    token_lists = [wp.encode(t) for t in texts]
    counts = np.bincount(np.concatenate([np.asarray(t, np.int64) for t in token_lists] + [np.zeros(0, np.int64)]),
                         minlength=len(table)).astype(np.float64)
    p = counts / max(counts.sum(), 1.0)
    weights = SIF_A / (SIF_A + p)
    weighted = table.astype(np.float64) * weights[:, None]
    x = np.zeros((len(texts), table.shape[1]))
    for i, toks in enumerate(token_lists):
        if toks:
            x[i] = weighted[toks].mean(0)
    y = targets.astype(np.float64)
    w = ridge_to_identity(x, y, prior)
    return (weighted @ w @ rotation.T.astype(np.float64)).astype(np.float32)


def quantize_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row int8: (scales f32 (n,), codes i8 (n, d))."""
    scale = np.maximum(np.abs(rows).max(1), 1e-12).astype(np.float32) / 127.0
    codes = np.clip(np.rint(rows / scale[:, None]), -127, 127).astype(np.int8)
    return scale, codes
