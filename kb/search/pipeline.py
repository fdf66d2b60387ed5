"""The two places search joins the build: `related` (a transform step after resolve) and
`emit_search` (an emitter). Both are no-ops when [search] enabled = false."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kb.model import BuildContext, Note
from kb.parallel import fork_map
from kb.search.chunk import Chunk, boilerplate_as_note_top, note_chunks
from kb.search.counting import piece_counter
from kb.search.embed import ContextCache, Embedder, EmbeddingCache, StateSums, load_embedder, packaged_model_path
from kb.search.tokenize import WordPiece

RELATED = 5


@dataclass
class SearchState:
    chunks: list[Chunk]
    vectors: np.ndarray | None = None  # (n chunks, d), normalised
    embedder: Embedder | None = None
    notes_vec: dict[str, np.ndarray] = field(default_factory=dict)
    report: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # the same after every kb serve refresh: said once
    quantized: object = None  # kb.search.quantize.Quantized, once emit_search has run (benchmarks read it)
    rows: np.ndarray | None = None  # the static encoder's rows written with it (kb serve keeps them)
    # token states of the chunks embedded by this build, summed in the same pass (kb.search.static.in_context)
    embedded_states: tuple[list[str], StateSums] | None = None


def _say(msg: str) -> None:
    print(f"kb search: {msg}", file=sys.stderr)


def _say_once(ctx: BuildContext, msg: str) -> None:
    """kb serve refreshes the index after every edit: a line that would read the same each time
    (no embeddings) is printed once per session. kb serve keeps the lines said in ctx.extra["said"];
    kb build has none and prints every line."""
    said: set[str] | None = ctx.extra.get("said")
    if said is not None:
        if msg in said:
            return
        said.add(msg)
    _say(msg)


def _counter(embedder: Embedder | None) -> Callable[[str], int]:
    """Word pieces of a text, by the embedder's own tokenizer (the packaged one without a model)."""
    try:
        model_dir = Path(embedder.vocab_path).parent if embedder is not None else packaged_model_path()
    except ImportError:
        return lambda s: len(s.split())
    fast = piece_counter(model_dir)
    if fast is not None:
        return fast
    return embedder.count if embedder is not None else (lambda s: len(s.split()))


def chunk_all(ctx: BuildContext, count: Callable[[str], int], memo: dict[str, tuple] | None = None) -> list[Chunk]:
    """Every note's chunks, in note order; on every core for big vaults (kb.parallel).

    Template sections repeated in many notes (obsidian-hub's "Edit In GitHub" footer closes 6,545
    notes) are kept: leaving out bodies found in 5+ notes was measured worse on obsidian-hub
    (default hit@10 0.632 -> 0.598, full-model 0.770 -> 0.713). They are only shown as their note's
    top (kb.search.chunk.boilerplate_as_note_top).

    `memo` (kb serve, one dict per session) keeps each note's chunks with what they are cut from,
    so a refresh after an edit re-chunks only the notes that changed (obsidian-hub: 1.45 s serial)."""
    if memo is not None:
        for gone in memo.keys() - ctx.notes.keys():
            del memo[gone]
        return [c for p in ctx.notes for c in _memo_chunks(ctx.notes[p], count, memo)]

    def job(paths: list[str]) -> list[Chunk]:
        return [c for p in paths for c in note_chunks(ctx.notes[p], count)]

    return [c for part in fork_map(job, list(ctx.notes)) for c in part]


def _memo_chunks(note: Note, count: Callable[[str], int], memo: dict[str, tuple]) -> list[Chunk]:
    key = (note.title, note.source, tuple((h.text, h.anchor) for h in note.headings))  # all that note_chunks reads
    hit = memo.get(note.path)
    if hit is None or hit[0] != key:
        hit = memo[note.path] = (key, note_chunks(note, count))
    return hit[1]


def preload(ctx: BuildContext) -> None:
    """Load the embedding model into ctx.extra["embedder"] if this build embeds and it is not
    loaded yet (a failure is kept for `related` to report). kb.build calls this while the
    parse workers run: loading torch and the model takes ~4 s of one core that would
    otherwise wait for them."""
    cfg = ctx.config.search
    if not cfg.enabled or not ctx.extra.get("embed", True) or ctx.extra.get("embedder") is not None or "embedder_error" in ctx.extra:
        return
    try:
        ctx.extra["embedder"] = load_embedder(cfg.model)
    except Exception as exc:  # noqa: BLE001 - any failure to load the model means: lexical only
        ctx.extra["embedder_error"] = exc


def related(ctx: BuildContext) -> None:
    """Chunk every note, embed the chunks (cached) and fill note.related by exact cosine."""
    cfg = ctx.config.search
    if not cfg.enabled:
        return
    preload(ctx)
    embedder: Embedder | None = ctx.extra.get("embedder")  # kb serve keeps the model loaded
    if embedder is None and "embedder_error" in ctx.extra:
        _say_once(ctx, f"warning: embedding model unavailable ({ctx.extra.pop('embedder_error')}); building a lexical-only index")
    if embedder is not None and not ctx.extra.get("embed", True):
        embedder = None
    count = _counter(embedder)
    chunks = chunk_all(ctx, count, ctx.extra.get("chunk_memo"))
    chunks = boilerplate_as_note_top(chunks, {p: n.title for p, n in ctx.notes.items()})
    state = SearchState(chunks, embedder=embedder)
    ctx.extra["search"] = state
    if embedder is None:
        if ctx.extra.get("search_by_meaning"):  # kb serve: kb.search.live embeds next, in the background
            state.notices.append("lexical until the embeddings are ready (they are made in the background)")
        else:
            state.notices.append("lexical only (no embeddings)" if ctx.extra.get("embed", True)
                                 else "lexical only: embedding skipped")
        return
    cache = EmbeddingCache(ctx.vault / ".kb-cache", embedder.model_id, embedder.dims, scheme=embedder.scheme)
    before, start = embedder.calls, time.perf_counter()
    # the query encoder starts from the chunks' token states (kb.search.static.in_context): summed in this pass
    states = StateSums(embedder.vocab_size, embedder.dims)
    state.vectors = cache.embed(embedder, [c.text for c in chunks], progress=sys.stderr.isatty(), states=states)
    state.embedded_states = (cache.embedded, states)
    done = embedder.calls - before
    state.report.append(f"embedded {done} of {len(chunks)} chunks in {time.perf_counter() - start:.1f} s "
                        f"({len(chunks) - done} from cache) with {embedder.model_id}"
                        f" [{getattr(embedder, 'precision', 'float32')}, {getattr(embedder, 'device', 'cpu')}]")
    fill_related(ctx, state)


def fill_related(ctx: BuildContext, state: SearchState) -> None:
    assert state.vectors is not None
    paths = list(ctx.notes)
    pos = {p: i for i, p in enumerate(paths)}
    sums = np.zeros((len(paths), state.vectors.shape[1]), np.float64)
    for c, v in zip(state.chunks, state.vectors, strict=True):
        sums[pos[c.path]] += v
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    nv = sums / np.maximum(norms, 1e-12)
    state.notes_vec = {p: nv[i] for i, p in enumerate(paths)}
    for start in range(0, len(paths), 1024):  # blocks keep memory flat on big vaults
        sims = nv[start : start + 1024] @ nv.T
        for row, i in enumerate(range(start, min(start + 1024, len(paths)))):
            sims[row, i] = -np.inf
            k = min(RELATED, len(paths) - 1)
            if k <= 0:
                continue
            top = np.argpartition(-sims[row], k - 1)[:k] if k < len(paths) else np.arange(len(paths))
            top = sorted(top.tolist(), key=lambda j: (-round(float(sims[row, j]), 9), j))
            ctx.notes[paths[i]].related = [paths[j] for j in top if sims[row, j] > -np.inf]


def first_pass_vectors(state: SearchState, paths: list[str]) -> np.ndarray:
    """What a note's 16-byte code in notes.bin stands for: normalize(normalized mean of its chunks +
    its first chunk). The first chunk (title, opening) is what a short query most often matches;
    the plain mean dilutes it in long notes. Measured on obsidian-hub (87 queries, static encoder
    alone, 4-bit note codes, 40 notes re-ranked): mean 0.448 hit@10 (0.471 with another k-means
    seed), mean + first chunk 0.506."""
    assert state.vectors is not None
    first: dict[str, int] = {}
    for i, c in enumerate(state.chunks):
        first.setdefault(c.path, i)
    out = np.stack([state.notes_vec[p] + (state.vectors[first[p]] if p in first else 0) for p in paths])
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def _window_teacher(ctx: BuildContext, e: Embedder) -> Callable[[list[str]], np.ndarray]:
    """The model's vectors of the query encoder's training windows (kb.search.static.tune_rows),
    cached like the chunks' in .kb-cache (windows-*.npz), so a rebuild embeds only new windows."""

    def teach(texts: list[str]) -> np.ndarray:
        t = time.perf_counter()
        cache = EmbeddingCache(ctx.vault / ".kb-cache", e.model_id, e.dims, kind="windows", dtype=np.float16,
                               scheme=e.scheme)
        before = e.calls
        vecs = cache.embed(e, texts, progress=sys.stderr.isatty())
        if e.calls > before:
            ctx.extra["search"].report.append(f"query encoder: embedded {e.calls - before} of {len(texts)} training windows "
                                              f"in {time.perf_counter() - t:.1f} s")
        return vecs

    return teach


def _context_sums(ctx: BuildContext, e: Embedder, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each token's states in the chunks, summed (kb.search.static.in_context); cached in .kb-cache, so a
    rebuild runs the model over only the chunks that changed."""
    t = time.perf_counter()
    cache = ContextCache(ctx.vault / ".kb-cache", e.model_id, e.dims, scheme=e.scheme)
    state: SearchState = ctx.extra["search"]
    out = cache.sums(e, texts, state.embedded_states)
    if cache.ran:
        state.report.append(f"query encoder: token states of {cache.ran} chunks in {time.perf_counter() - t:.1f} s")
    return out


def emit_search(ctx: BuildContext) -> list[str]:
    """Write search/ (see kb.search.index); returns the written paths."""
    from kb.emit.common import write
    from kb.search.index import NoteInfo, write_index
    from kb.search.quantize import quantize, reconstruct, requantize
    from kb.search.static import TUNE_MIN_CHUNKS, fit_rows, token_table

    state: SearchState | None = ctx.extra.get("search")
    if state is None:
        return []
    notes = [NoteInfo(n.path, n.url, n.title) for n in ctx.notes.values()]
    q = rows = vocab = None
    model_id = None
    if state.vectors is not None and state.embedder is not None and len(state.chunks):
        e = state.embedder
        note_vecs = first_pass_vectors(state, list(ctx.notes)) if state.notes_vec else None
        prev = ctx.extra.get("reuse_quantizer")  # kb serve: codebooks of its last refresh (kb.search.live)
        q = requantize(prev, state.vectors, note_vecs) if prev is not None else None
        reused = q is not None
        q = q or quantize(state.vectors, ctx.config.search.pq_m, note_vecs)
        state.quantized = q
        rec = reconstruct(q)
        exact = state.vectors @ q.rotation.T
        cos = float(np.mean((rec * exact).sum(1) / np.maximum(np.linalg.norm(rec, axis=1), 1e-12)))
        wp = WordPiece.from_file(e.vocab_path)
        vocab = wp.vocab
        kept_rows = ctx.extra.get("reuse_rows") if reused else None  # fit for those codebooks' rotation
        if kept_rows is not None:
            rows = kept_rows
        else:
            t = time.perf_counter()
            table = token_table(e, vocab, ctx.vault / ".kb-cache")  # only to fit: a 47 MB read per refresh otherwise
            texts = [c.text for c in state.chunks]
            rows = fit_rows(table, wp, texts, q.rotation, state.vectors, ctx.vault / ".kb-cache",
                            teacher=_window_teacher(ctx, e), context=lambda: _context_sums(ctx, e, texts))
            if len(state.chunks) >= TUNE_MIN_CHUNKS:
                state.report.append(f"query encoder tuned on the vault's {len(state.chunks)} chunks "
                                    f"({time.perf_counter() - t:.1f} s; kept in .kb-cache for the next build)")
        state.rows = rows
        state.embedded_states = None  # 94 MB for MiniLM: not kept past this (kb serve keeps the state)
        model_id = e.model_id
        state.report.append(f"index: {q.mode} ({q.bytes_per_chunk} B/chunk"
                            f"{f', {q.note_codes.shape[1]} B/note' if q.mode == 'pq' else ''}), "
                            f"reconstruction cosine {cos:.4f}{' (codebooks and encoder rows of an earlier refresh)' if reused else ''}")
    files, manifest = write_index(state.chunks, notes, q, model_id, vocab, rows, ctx.config.prefix)
    if q is not None:
        manifest_extra = {"model_source": ctx.config.search.model}
        import json

        full = json.loads(files["manifest.json"])
        full.update(manifest_extra)
        files["manifest.json"] = json.dumps(full, indent=1, sort_keys=True).encode()
        if ctx.config.search.browser_model == "full":  # the full model in the browser (kb.search.browser_model)
            from kb.search.browser_model import add_browser_model

            add_browser_model(ctx.vault, state.embedder, files, state.report)
    written = [write(ctx.out, f"search/{rel}", data) for rel, data in sorted(files.items())]
    for line in state.notices:
        _say_once(ctx, line)
    for line in state.report:
        _say(line)
    return written
