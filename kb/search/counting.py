"""Counting word pieces for chunking, fast.

Chunk boundaries need the number of WordPiece tokens of every paragraph of the
vault: ~190,000 texts, 5 MB on obsidian-hub. For the uncased BERT WordPiece that
kb.search.tokenize mirrors (the browser's tokenizer), an ASCII text's count is the
sum of its words' counts, and a vault has few distinct words (17,000 on
obsidian-hub), so each word is looked up once: 0.4 s instead of 2.6 s with one Rust
`tokenizers` call per text. Non-ASCII text (1% of it) and any other tokenizer.json
are counted by `tokenizers` itself. Only chunk boundaries depend on these counts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from kb.search.tokenize import WordPiece, basic_tokens

# what tokenizer.json says for the tokenizer kb.search.tokenize mirrors
_BERT_UNCASED = {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True, "lowercase": True}


_SPACES = re.compile("[ \t\n\r]+")  # whitespace to both tokenizers (others such as U+001C are dropped, not split at)


class _Cached(dict):
    """text -> count(text), computed on first use."""

    def __init__(self, count: Callable[[str], int]) -> None:
        super().__init__()
        self.count = count

    def __missing__(self, text: str) -> int:
        n = self[text] = self.count(text)
        return n


def cached_counter(wp: WordPiece, other: Callable[[str], int] | None = None, special: Sequence[str] = ()) -> Callable[[str], int]:
    """count(text) == len(wp.encode(text)), remembering each word's count. Where `other` is given,
    it counts non-ASCII words (the mirror splits a few rare characters such as U+2028 differently)
    and words with a `special` token ("[UNK]"), which the model's tokenizer keeps whole."""
    words = _Cached(lambda w: len(wp.word_ids(w)))
    others = _Cached(other) if other is not None else None
    has_special = re.compile("|".join(map(re.escape, special))).search if special else lambda _: None

    def count(text: str) -> int:
        if others is None or text.isascii() and not has_special(text):
            return sum(map(words.__getitem__, basic_tokens(text)))
        # both tokenizers split at these spaces, so each part can be counted on its own
        return sum(count(part) if part.isascii() and not has_special(part) else others[part] for part in _SPACES.split(text))

    return count


def _is_bert_uncased(spec: dict) -> bool:
    norm = spec.get("normalizer") or {}
    model = spec.get("model") or {}
    return (
        all(norm.get(k) == v for k, v in _BERT_UNCASED.items())
        and norm.get("strip_accents") in (None, True)  # None: follows lowercase
        and (spec.get("pre_tokenizer") or {}).get("type") == "BertPreTokenizer"
        and model.get("type") == "WordPiece"
        and model.get("continuing_subword_prefix") == "##"
        and model.get("max_input_chars_per_word") == 100
    )


def rust_counter(spec_path: Path) -> Callable[[str], int] | None:
    """One `tokenizers` call per text; None without the package or the file."""
    try:
        from tokenizers import Tokenizer

        tk = Tokenizer.from_file(str(spec_path))
    except Exception:  # noqa: BLE001 - no tokenizers package or no usable tokenizer.json
        return None
    tk.no_truncation()
    tk.no_padding()
    return lambda text: len(tk.encode(text, add_special_tokens=False).ids)


def piece_counter(model_dir: Path) -> Callable[[str], int] | None:
    """count(text) -> number of word pieces, or None when no tokenizer can be loaded."""
    spec_path, vocab_path = model_dir / "tokenizer.json", model_dir / "vocab.txt"
    rust = rust_counter(spec_path)
    try:
        spec = json.loads(spec_path.read_text(encoding="utf-8")) if spec_path.is_file() else None
        if (spec is None or _is_bert_uncased(spec)) and vocab_path.is_file():
            special = [t["content"] for t in (spec or {}).get("added_tokens", [])]
            return cached_counter(WordPiece.from_file(vocab_path), rust, special)
    except (OSError, ValueError):
        pass
    return rust
