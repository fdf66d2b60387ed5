"""Counting word pieces for chunking, fast.

Chunk boundaries need the number of WordPiece tokens of every paragraph of the
vault: tens of megabytes on a big vault. The Rust `tokenizers` library (installed
with sentence-transformers) counts them with the model's own tokenizer.json; the
pure-Python WordPiece (kb.search.tokenize, which mirrors the browser's) is the
fallback. Both give the same counts (tested); only chunk boundaries depend on it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def piece_counter(model_dir: Path) -> Callable[[str], int] | None:
    """count(text) -> number of word pieces, or None when no tokenizer can be loaded."""
    try:
        from tokenizers import Tokenizer

        tk = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tk.no_truncation()
        tk.no_padding()
        return lambda text: len(tk.encode(text, add_special_tokens=False).ids)
    except Exception:  # noqa: BLE001 - no tokenizers package or no tokenizer.json: fall back
        pass
    try:
        from kb.search.tokenize import WordPiece

        wp = WordPiece.from_file(model_dir / "vocab.txt")
        return lambda text: len(wp.encode(text))
    except OSError:
        return None
