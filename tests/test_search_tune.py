"""The static query encoder tuned on the vault's own chunks (kb.search.static.tune_rows)."""

from __future__ import annotations

import numpy as np
import pytest

import kb.search.static as static
from kb.search.embed import packaged_model_path
from kb.search.tokenize import WordPiece

TOPICS, WORDS, CHUNKS_PER_TOPIC, DIMS = 8, 15, 40, 64


@pytest.fixture(scope="module")
def wp() -> WordPiece:
    return WordPiece.from_file(packaged_model_path() / "vocab.txt")


def synthetic_vault(wp: WordPiece, seed: int = 3):
    """Chunks about 8 topics: each chunk mixes its topic's words with filler words shared by all
    topics, and its "model vector" is the topic's direction plus noise (what an embedding model
    gives texts about one subject). Returns texts, vectors, topic of each chunk, topic words."""
    rng = np.random.default_rng(seed)
    common = [w for w in wp.vocab[2000:4000] if w.isalpha() and len(w) > 3]
    picked = rng.choice(len(common), TOPICS * WORDS + 30, replace=False)
    topic_words = [[common[i] for i in picked[t * WORDS : (t + 1) * WORDS]] for t in range(TOPICS)]
    filler = [common[i] for i in picked[TOPICS * WORDS :]]
    directions = rng.standard_normal((TOPICS, DIMS))
    texts, vecs, topic = [], [], []
    for t in range(TOPICS):
        for _ in range(CHUNKS_PER_TOPIC):
            words = list(rng.choice(topic_words[t], 25)) + list(rng.choice(filler, 10))
            rng.shuffle(words)
            texts.append(" ".join(words))
            v = directions[t] + 0.3 * rng.standard_normal(DIMS)
            vecs.append(v / np.linalg.norm(v))
            topic.append(t)
    return texts, np.array(vecs, np.float32), np.array(topic), topic_words


def topic_accuracy(rows: np.ndarray, wp: WordPiece, vecs: np.ndarray, topic: np.ndarray, topic_words) -> float:
    """Queries of 4 words of one topic, in an order no chunk has: is the nearest chunk on that topic?"""
    rng = np.random.default_rng(11)
    right = total = 0
    for t, words in enumerate(topic_words):
        for _ in range(10):
            q = rows[wp.encode(" ".join(rng.choice(words, 4, replace=False)))].sum(0)
            right += int(topic[int(np.argmax(vecs @ q))] == t)
            total += 1
    return right / total


def test_tuning_teaches_the_rows_which_chunks_their_words_belong_to(wp, monkeypatch):
    texts, vecs, topic, topic_words = synthetic_vault(wp)
    # rows that know nothing yet, as small as distilled ones; a real vault has ~100x more batches per pass
    rows = 0.01 * np.random.default_rng(5).standard_normal((len(wp.vocab), DIMS)).astype(np.float32)
    monkeypatch.setattr(static, "TUNE_EPOCHS", 20)
    before = topic_accuracy(rows, wp, vecs, topic, topic_words)
    tuned = static.tune_rows(rows, [wp.encode(t) for t in texts], vecs)
    after = topic_accuracy(tuned, wp, vecs, topic, topic_words)
    assert before < 0.5 and after >= 0.9, (before, after)
    # only the rows of pieces the chunks use move
    used = np.zeros(len(wp.vocab), bool)
    used[[i for t in texts for i in wp.encode(t)]] = True
    assert not np.array_equal(tuned[used], rows[used])
    assert np.array_equal(tuned[~used], rows[~used])


def test_tuning_is_deterministic_and_cached(wp, tmp_path, monkeypatch):
    texts, vecs, _, _ = synthetic_vault(wp)
    table = np.random.default_rng(2).standard_normal((len(wp.vocab), DIMS)).astype(np.float32)
    rot = np.linalg.qr(np.random.default_rng(4).standard_normal((DIMS, DIMS)))[0].astype(np.float32)
    monkeypatch.setattr(static, "TUNE_MIN_CHUNKS", 100)
    monkeypatch.setattr(static, "TUNE_THREADS", 1)
    first = static.fit_rows(table, wp, texts, rot, vecs, tmp_path / "a")
    monkeypatch.setattr(static, "TUNE_THREADS", 2)
    again = static.fit_rows(table, wp, texts, rot, vecs, tmp_path / "b")  # no cache to read: trained again
    assert np.array_equal(first, again)
    assert not np.array_equal(first, static.fit_rows(table, wp, texts, rot))  # tuning changed the rows
    assert len(list((tmp_path / "a").glob("tuned-*.npy"))) == 1

    cached = next((tmp_path / "a").glob("tuned-*.npy"))
    cached.write_bytes(b"not an array")  # a damaged cache file is trained again, not fatal
    assert np.array_equal(static.fit_rows(table, wp, texts, rot, vecs, tmp_path / "a"), first)
    assert np.load(cached).dtype == np.float16

    def refuse(*args, **kwargs):
        raise AssertionError("trained again although the cache holds these rows")

    monkeypatch.setattr(static, "tune_rows", refuse)
    assert np.array_equal(static.fit_rows(table, wp, texts, rot, vecs, tmp_path / "a"), first)
    with pytest.raises(AssertionError):  # another vault state is not served from the cache
        static.fit_rows(table, wp, texts[:-1], rot, vecs[:-1], tmp_path / "a")


def test_small_vaults_keep_the_distilled_rows(wp, tmp_path):
    texts, vecs, _, _ = synthetic_vault(wp)
    assert len(texts) < static.TUNE_MIN_CHUNKS
    table = np.random.default_rng(2).standard_normal((len(wp.vocab), DIMS)).astype(np.float32)
    rot = np.eye(DIMS, dtype=np.float32)
    plain = static.fit_rows(table, wp, texts, rot)
    assert np.array_equal(static.fit_rows(table, wp, texts, rot, vecs, tmp_path), plain)
    assert not list(tmp_path.glob("tuned-*"))


def test_a_teacher_passes_on_what_the_windows_alone_cannot_teach(wp, monkeypatch):
    """The teacher (the model's vector of each window) says that one filler word, which every topic's
    chunks use alike, belongs to one topic. The windows alone cannot know that; with the teacher's
    ranking distilled, a query of that word alone finds that topic, and topic queries still work."""
    texts, vecs, topic, topic_words = synthetic_vault(wp)
    centre = np.array([vecs[topic == t].mean(0) for t in range(TOPICS)])
    word = next(w for w in wp.vocab[2000:4000] if w.isalpha() and len(w) > 3 and w not in {x for ws in topic_words for x in ws}
                and sum(w in t.split() for t in texts) >= 40)
    rows = 0.01 * np.random.default_rng(5).standard_normal((len(wp.vocab), DIMS)).astype(np.float32)
    monkeypatch.setattr(static, "TUNE_EPOCHS", 20)
    ids = [wp.encode(t) for t in texts]

    def word_topic(r: np.ndarray) -> int:
        return int(topic[int(np.argmax(vecs @ r[wp.encode(word)].sum(0)))])

    said = (word_topic(static.tune_rows(rows, ids, vecs)) + 3) % TOPICS  # not what the windows alone give
    asked: list[str] = []

    def teacher(windows: list[str]) -> np.ndarray:
        asked.extend(windows)
        out = []
        for text in windows:
            words = text.split()
            t = said if word in words else int(np.argmax([sum(w in ws for w in words) for ws in topic_words]))
            out.append(centre[t])
        return np.array(out, np.float32)

    taught = static.tune_rows(rows, ids, vecs, teacher=lambda wins: teacher([wp.decode(w) for w in wins]))
    assert asked and all(isinstance(t, str) and t for t in asked)
    assert word_topic(taught) == said
    assert topic_accuracy(taught, wp, vecs, topic, topic_words) >= 0.9


def test_rows_start_from_each_tokens_mean_state_in_the_vault(wp, monkeypatch, tmp_path):
    """kb.search.static.in_context: a token the chunks use gets the mean of its states there; one they
    never use keeps its distilled row, moved among the others; ids the model never sees stay zero."""
    table = np.random.default_rng(2).standard_normal((len(wp.vocab), 8)).astype(np.float32)
    table[0] = 0  # [PAD]: no row
    sums, counts = np.zeros((len(wp.vocab), 8)), np.zeros(len(wp.vocab), np.int64)
    sums[[5, 6]] = [[2.0] * 8, [9.0] * 8]
    counts[[5, 6]] = [2, 3]
    sums[0], counts[0] = 1.0, 1  # seen in context, but never a query's token
    rows = static.in_context(table, sums, counts)
    assert np.array_equal(rows[5], np.full(8, 1.0, np.float32)) and np.array_equal(rows[6], np.full(8, 3.0, np.float32))
    assert not rows[0].any()
    shift = np.array([2.0] * 8) - table[[5, 6]].astype(np.float64).mean(0)
    assert np.allclose(rows[7], table[7] + shift, atol=1e-5)
    # fit_rows starts from them on any vault: tuned or not, the rows differ from the distilled start
    texts, vecs, _, _ = synthetic_vault(wp)
    rot = np.eye(DIMS, dtype=np.float32)
    distilled = np.random.default_rng(4).standard_normal((len(wp.vocab), DIMS)).astype(np.float32)
    from kb.search.embed import HashEmbedder

    states = HashEmbedder(packaged_model_path() / "vocab.txt", dims=DIMS).context_sums(texts)
    assert len(texts) < static.TUNE_MIN_CHUNKS
    started = static.fit_rows(distilled, wp, texts, rot, context=lambda: states)
    assert not np.array_equal(started, static.fit_rows(distilled, wp, texts, rot))
    assert np.array_equal(started, static.fit_rows(static.in_context(distilled, *states), wp, texts, rot))
    monkeypatch.setattr(static, "TUNE_MIN_CHUNKS", 100)
    monkeypatch.setattr(static, "tune_rows", lambda rows, *a, **k: rows)  # the start is what this checks
    tuned = static.fit_rows(distilled, wp, texts, rot, vecs, tmp_path, context=lambda: states)
    assert np.allclose(tuned, started, rtol=2e-3, atol=2e-3)  # the same start (tuned_rows keeps float16)
