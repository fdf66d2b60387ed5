"""BERT-style tokenization, mirrored line for line in templates/static/search.js.

`basic_tokens` splits text into lowercased, accent-stripped words and punctuation;
`WordPiece` turns them into vocabulary ids (greedy longest match, '##' continuations);
`terms` gives the BM25 terms. Both sides must agree exactly, or Python and the
browser would rank differently.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

STOPWORDS = frozenset(
    "a an and are as at be but by for from has have he i if in into is it its of on or so such that the their then "
    "there these they this to was we were will with you your not no can do does how what when where which who why".split()
)


def _is_punct(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # Cc but not \t \n \r: dropped, no split
_SPLIT = re.compile("[ \t\n\r\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")  # exactly the Zs characters and " \t\n\r"
_ASCII_TOKEN = re.compile(r"[a-z0-9]+|[!-/:-@\[-`{-~]")  # words, or one ASCII punctuation mark


def basic_tokens(text: str) -> list[str]:
    """Lowercase, strip accents, split on whitespace and punctuation (BERT BasicTokenizer, uncased)."""
    if text.isascii():  # most text: the same rules as the loop below, done by the regex engine
        return _ascii_tokens(text)
    # the loop always splits at these characters, so each piece can take its own path
    out: list[str] = []
    for piece in _SPLIT.split(text):
        if piece:
            out.extend(_ascii_tokens(piece) if piece.isascii() else _basic_tokens_unicode(piece))
    return out


def _ascii_tokens(text: str) -> list[str]:
    return _ASCII_TOKEN.findall(_ASCII_CONTROL.sub("", text.lower()))


def _basic_tokens_unicode(text: str) -> list[str]:
    text = unicodedata.normalize("NFD", text.lower())
    out: list[str] = []
    word: list[str] = []

    def flush() -> None:
        if word:
            out.append("".join(word))
            word.clear()

    for ch in text:
        cat = unicodedata.category(ch)
        if cat == "Mn":
            continue
        if ch in " \t\n\r" or cat == "Zs":
            flush()
        elif cat in ("Cc", "Cf") or ord(ch) in (0, 0xFFFD):
            continue
        elif _is_punct(ch) or _is_cjk(ord(ch)):
            flush()
            out.append(ch)
        else:
            word.append(ch)
    flush()
    return out


# a name written as one word of parts joined by "-", "_" or ".": markdown-link-check, process.versions.chrome,
# update-mocs.py, 2021-12-03 (whatever wraps it, such as quotes, backticks or a closing full stop, aside)
_COMPOUND = re.compile(r"[^a-z0-9]*([a-z0-9]+(?:[-_.][a-z0-9]+)+)[^a-z0-9]*")
COMPOUND_MAX = 64


def terms(text: str) -> list[str]:
    """BM25 terms: words that are not punctuation or stopwords, then each compound name whole (`compounds`)."""
    words = [t for t in basic_tokens(text) if not (len(t) == 1 and _is_punct(t)) and t not in STOPWORDS]
    return words + compounds(text)


def compounds(text: str) -> list[str]:
    """The whitespace-separated words of `text` that are names of several parts ("markdown-link-check"),
    lowercased, as terms of their own. Split into its parts, such a name is three common words that
    thousands of chunks share; whole, it finds the one chunk that names it (`kb search markdown-link-check`
    ranked its note 4th before)."""
    out = []
    for piece in _SPLIT.split(text.lower()):
        m = _COMPOUND.fullmatch(piece) if "-" in piece or "_" in piece or "." in piece else None
        if m and len(m.group(1)) <= COMPOUND_MAX:
            out.append(m.group(1))
    return out


class WordPiece:
    def __init__(self, vocab: list[str], ids: dict[str, int] | None = None, unk: int = 100) -> None:
        self.vocab = vocab
        self.ids = ids if ids is not None else {tok: i for i, tok in enumerate(vocab)}
        self.unk = self.ids.get("[UNK]", unk)

    @classmethod
    def from_file(cls, path: Path) -> WordPiece:
        lines = path.read_text(encoding="utf-8").split("\n")
        return cls(lines[:-1] if lines and lines[-1] == "" else lines)

    def word_ids(self, word: str) -> list[int]:
        if len(word) > 100:
            return [self.unk]
        ids: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            found = -1
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.ids:
                    found = self.ids[piece]
                    break
                end -= 1
            if found < 0:
                return [self.unk]
            ids.append(found)
            start = end
        return ids

    def encode(self, text: str) -> list[int]:
        """Token ids without [CLS]/[SEP]."""
        out: list[int] = []
        for w in basic_tokens(text):
            out.extend(self.word_ids(w))
        return out

    def decode(self, ids: list[int]) -> str:
        """Ids back to text: '##' pieces join the word before them (the model re-tokenizes it alike)."""
        out: list[str] = []
        for i in ids:
            tok = self.vocab[i] if 0 <= i < len(self.vocab) else "[UNK]"
            if tok.startswith("##") and out:
                out[-1] += tok[2:]
            else:
                out.append(tok)
        return " ".join(out)
