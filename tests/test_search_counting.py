"""kb.search.counting: the cached word-piece counter counts exactly like the model's Rust tokenizer."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

from kb.search.counting import piece_counter
from kb.search.embed import packaged_model_path

ROOT = Path(__file__).resolve().parents[1]


def _texts() -> list[str]:
    """Paragraphs, lines and words of the demo vault and the test notes, plus awkward cases."""
    out = ["", "   ", "naïve café — résumé ÉCOLE", "中文 text and emoji 🎉 mixed", "İstanbul ǅungla ﬁnance",
           "a\x0bb\x0cc\x1cd\x7fe\u200bf\u00a0g", "x" * 101 + " " + "y" * 100, "snake_case(x) -> y; #tag/nested 3.14"]
    for f in sorted([*ROOT.glob("content/**/*.md"), *ROOT.glob("tests/**/*.md")]):
        text = f.read_text(encoding="utf-8", errors="replace")
        out += re.split(r"\n\s*\n", text) + text.split("\n") + text.split()
    rng = random.Random(3)
    alphabet = [chr(c) for c in range(32, 0x250)] + list("\t\n\r\x1c\x85\u2028\u3000中文🎉\u0301") + ["[UNK]", "[SEP]"]
    out += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) for _ in range(1000)]
    words = ["the", "Obsidian", "unbelievably", "x" * 100, "y" * 101, "naive", "##", "[UNK]", "3.14", "e-mail"]
    ascii_chars = [chr(c) for c in range(128)] + words
    out += ["".join(rng.choice(ascii_chars) for _ in range(rng.randint(1, 40))) for _ in range(3000)]
    return out


def test_cached_counter_matches_the_rust_tokenizer():
    tokenizers = pytest.importorskip("tokenizers")
    model = packaged_model_path()
    tk = tokenizers.Tokenizer.from_file(str(model / "tokenizer.json"))
    tk.no_truncation()
    tk.no_padding()
    count = piece_counter(model)
    assert count is not None
    texts = _texts()
    assert len(texts) > 5000
    for t in texts:
        assert count(t) == len(tk.encode(t, add_special_tokens=False).ids), repr(t)
    assert [count(t) for t in texts] == [count(t) for t in texts]  # the cache returns what it computed


def test_other_tokenizers_are_counted_by_tokenizers(tmp_path: Path):
    pytest.importorskip("tokenizers")
    spec = json.loads((packaged_model_path() / "tokenizer.json").read_text(encoding="utf-8"))
    # same vocabulary, but cased: kb's uncased mirror would be wrong, so the Rust tokenizer counts
    spec["normalizer"]["lowercase"] = False
    spec["padding"] = spec["truncation"] = None
    (tmp_path / "tokenizer.json").write_text(json.dumps(spec), encoding="utf-8")
    (tmp_path / "vocab.txt").write_text((packaged_model_path() / "vocab.txt").read_text(encoding="utf-8"), encoding="utf-8")
    cased, uncased = piece_counter(tmp_path), piece_counter(packaged_model_path())
    assert cased is not None and uncased is not None
    assert cased("Unbelievably") == 1 < uncased("Unbelievably")  # the uncased vocabulary has no "U": [UNK]


def test_token_counts_equal_counting_every_encoded_text():
    """kb.search.static.token_counts (each distinct word split once) == bincount of wp.encode per text."""
    import numpy as np

    from kb.search.static import token_counts
    from kb.search.tokenize import WordPiece

    wp = WordPiece.from_file(packaged_model_path() / "vocab.txt")
    texts = _texts()
    want = np.bincount(np.concatenate([np.asarray(wp.encode(t), np.int64) for t in texts]), minlength=len(wp.vocab))
    got = token_counts(wp, texts, len(wp.vocab))
    assert got.sum() > 10000 and np.array_equal(got, want)
