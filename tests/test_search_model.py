"""With the real all-MiniLM-L6-v2 (slow: loads the model)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_search_browser import SEMANTIC_VAULT

from kb.build import build
from kb.cli import main
from kb.config import Config
from kb.search.embed import MiniLM, packaged_model_path

pytestmark = pytest.mark.slow


def test_fast_path_agrees_with_float32():
    texts = ["Sync your notes across devices", "def wrapper(*args, **kwargs): return f(*args)",
             "Feed the starter, knead the dough and bake it in a hot oven. " * 8]
    ref = MiniLM(packaged_model_path(), precision="float32")
    fast = MiniLM(packaged_model_path())
    assert ref.precision == "float32" and fast.precision in ("bfloat16", "float32")
    cos = (ref.encode(texts) * fast.encode(texts)).sum(1)
    assert cos.min() > 0.999
    assert np.allclose(np.linalg.norm(fast.encode(texts), axis=1), 1, atol=1e-5)


def test_kb_search_default_and_full_model(tmp_path, capsys):
    from conftest import write_vault

    vault = write_vault(tmp_path / "vault", SEMANTIC_VAULT)
    out = build(vault, tmp_path / "site", Config(base_url="https://example.org/")).ctx.out
    capsys.readouterr()
    for extra in ([], ["--full-model"]):
        assert main(["search", "how do I make bread rise", "--site", str(out), "--json", *extra]) == 0
        res = json.loads(capsys.readouterr().out)
        assert res[0]["path"] == "bread.md" and res[0]["url"] == "/bread/", extra
    assert main(["search", "read my writing on an iPhone", "--site", str(out), "--json", "--full-model"]) == 0
    printed = capsys.readouterr()
    assert json.loads(printed.out)[0]["title"] == "Sync your notes across devices"
    assert "%|" not in printed.err and "it/s" not in printed.err  # no progress bar for one query
    related = (out / "sync" / "index.html").read_text()
    assert 'id="related-h"' in related


def test_encode_keeps_each_text_with_its_vector():
    """kb's loop (sorted by word pieces, batches of BATCH, thread probe on slices of 64+) returns
    every vector at its text's position, equal to sentence-transformers' own encode of that text."""
    words = "vault note link graph plugin theme sync phone backup search tag daily journal".split()
    texts = [" ".join(words[(i * 7 + j) % len(words)] for j in range(1 + (i * 13) % 90)) for i in range(80)]
    ref = MiniLM(packaged_model_path(), precision="float32")
    assert ref.max_threads < 2 or len(texts) >= 4 * ref.PROBE_TEXTS  # the probe path runs where it can
    own = ref.model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    got = ref.encode(texts)
    assert ((own * got).sum(1) > 0.9999).all()
    back = ref.encode(texts[::-1])
    assert ((back[::-1] * got).sum(1) > 0.9999).all()


def test_a_text_gets_the_same_bits_in_any_batch():
    """Each text is padded by its own length (MiniLM.PAD_TO), so its vector does not depend on
    what it is embedded with: a build after deleting .kb-cache equals a warm one, bit for bit.
    (Padded to the batch's longest, bfloat16 changed the bits of most chunks between batchings.)"""
    words = "vault note link graph plugin theme sync phone backup search tag daily journal".split()
    texts = [" ".join(words[(i * 5 + j) % len(words)] for j in range(2 + (i * 11) % 70)) for i in range(48)]
    fast = MiniLM(packaged_model_path())
    together = fast.encode(texts)
    alone = np.concatenate([fast.encode([t]) for t in texts[:12]])
    assert np.array_equal(together[:12], alone)
    assert np.array_equal(fast.encode(texts[::3]), together[::3])  # other neighbours, other batch widths


def test_cache_of_another_scheme_is_embedded_again(tmp_path):
    from kb.search.embed import EmbeddingCache, HashEmbedder

    e = HashEmbedder(packaged_model_path() / "vocab.txt")
    EmbeddingCache(tmp_path, e.model_id, e.dims, scheme="pad8-bfloat16-cpu").embed(e, ["a note", "another"], False)
    assert e.calls == 2
    EmbeddingCache(tmp_path, e.model_id, e.dims, scheme="pad8-bfloat16-cpu").embed(e, ["a note", "another"], False)
    assert e.calls == 2  # same scheme: read back
    EmbeddingCache(tmp_path, e.model_id, e.dims, scheme="pad8-float32-cpu").embed(e, ["a note", "another"], False)
    assert e.calls == 4  # made another way: embedded again, not mixed in


def test_token_states_are_summed_exactly_so_a_rebuild_subtracts_what_left(tmp_path):
    """kb.search.embed.ContextCache: each token's model states summed over the chunks, kept between builds;
    a rebuild runs the model over only the chunks that came or went and gets the very bits a fresh pass gives."""
    from kb.search.embed import ContextCache

    words = "vault note link graph plugin theme sync phone backup search tag daily journal".split()
    texts = [" ".join(words[(i * 5 + j) % len(words)] for j in range(3 + (i * 11) % 40)) for i in range(12)]
    fast = MiniLM(packaged_model_path())
    cache = ContextCache(tmp_path, fast.model_id, fast.dims, scheme=fast.scheme)
    first, counts = cache.sums(fast, texts[:10])
    assert cache.ran == 10 and counts.sum() == sum(len(fast.model.tokenizer(t)["input_ids"]) for t in texts[:10])
    later = texts[:7] + texts[10:]  # three chunks left, two came
    again = ContextCache(tmp_path, fast.model_id, fast.dims, scheme=fast.scheme)
    sums, counts = again.sums(fast, later)
    assert again.ran == 5
    fresh_sums, fresh_counts = MiniLM(packaged_model_path()).context_sums(later[::-1])  # any order, one pass
    assert np.array_equal(sums, fresh_sums) and np.array_equal(counts, fresh_counts)
    assert not np.array_equal(sums, first)
    same = ContextCache(tmp_path, fast.model_id, fast.dims, scheme=fast.scheme)
    assert np.array_equal(same.sums(fast, later)[0], sums) and same.ran == 0  # nothing changed: read back


def test_token_states_summed_while_embedding_need_no_second_pass(tmp_path):
    """On a first build the chunks' token states are summed in the pass that embeds them (thread probe
    included): the very sums a pass of their own gives, so ContextCache runs nothing more."""
    from kb.search.embed import ContextCache, EmbeddingCache, StateSums

    words = "vault note link graph plugin theme sync phone backup search tag daily journal".split()
    texts = [" ".join(words[(i * 7 + j) % len(words)] for j in range(1 + (i * 13) % 90)) for i in range(80)]
    fast = MiniLM(packaged_model_path())
    states = StateSums(fast.vocab_size, fast.dims)
    embed = EmbeddingCache(tmp_path, fast.model_id, fast.dims, scheme=fast.scheme)
    embed.embed(fast, texts + texts[:5], progress=False, states=states)  # a repeated chunk is embedded once
    assert sorted(embed.embedded) == sorted(set(texts))
    alone = MiniLM(packaged_model_path()).context_sums(sorted(set(texts))[::-1])
    assert all(np.array_equal(a, b) for a, b in zip(states.arrays(), alone, strict=True))
    cache = ContextCache(tmp_path, fast.model_id, fast.dims, scheme=fast.scheme)
    got = cache.sums(fast, texts, ready=(embed.embedded, states))
    assert cache.ran == 0 and np.array_equal(got[0], alone[0])
