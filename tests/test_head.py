"""The head a KB trains on its own texts (qa/retrieval/head.py), on a synthetic KB and the fake encoder.

Each synthetic entry has one keyword of its own; every text (stored or asked) adds three words drawn
from a pool shared by all entries. Nearest-neighbour retrieval is misled by the shared words a text
happens to have in common with another entry's; a head trained on the alternates learns to ignore them.
"""

from __future__ import annotations

import numpy as np
import pytest

from qa.encoders.fake import FakeEncoder
from qa.retrieval import head

N_ENTRIES = 20
POOL = [f"filler{i}" for i in range(12)]


def _texts(n_per_entry: int, seed: int) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    texts, owner = [], []
    for e in range(N_ENTRIES):
        for _ in range(n_per_entry):
            words = [f"topic{e}", *rng.choice(POOL, 3, replace=False)]
            texts.append(" ".join(rng.permutation(words)))
            owner.append(e)
    return texts, np.array(owner)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-9)


@pytest.fixture(scope="module")
def kb() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    enc = FakeEncoder(dim=128)
    texts, owner = _texts(8, seed=1)
    queries, gold = _texts(5, seed=2)
    return _unit(enc.embed(texts)), owner, _unit(enc.embed(queries)), gold


def _nearest(vectors: np.ndarray, owner: np.ndarray, queries: np.ndarray) -> np.ndarray:
    starts = np.searchsorted(owner, np.arange(owner.max() + 1))
    return np.maximum.reduceat(queries @ vectors.T, starts, axis=1)


def _retrieval_of_held(vectors: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Nearest-neighbour scores of each held-out text against the rest (itself left out)."""
    held = head.held_out(owner)
    s = vectors[held] @ vectors.T
    s[np.arange(len(held)), held] = -np.inf
    starts = np.searchsorted(owner, np.arange(owner.max() + 1))
    return np.maximum.reduceat(s, starts, axis=1)


def test_head_improves_held_out_accuracy(kb) -> None:
    vectors, owner, queries, gold = kb
    base = _nearest(vectors, owner, queries)
    trained = head.train(vectors, owner, N_ENTRIES, _retrieval_of_held(vectors, owner))
    h = trained.head
    assert h is not None and h.weight > 0
    nn = (base.argmax(1) == gold).mean()
    learned = (h.scores(queries).argmax(1) == gold).mean()
    combined = ((base + h.weight * h.scores(queries)).argmax(1) == gold).mean()
    assert learned > nn + 0.1
    assert combined > nn + 0.1
    # the weight was chosen on the KB's own held-out texts, where the head helped too
    assert h.cv_hit1_retrieval is not None and h.cv_hit1 > h.cv_hit1_retrieval


def test_training_is_deterministic(kb) -> None:
    from threadpoolctl import threadpool_limits

    vectors, owner, _, _ = kb
    a = head.train(vectors, owner, N_ENTRIES).head
    with threadpool_limits(limits=2, user_api="blas"):  # the caller's thread count does not matter
        b = head.train(vectors, owner, N_ENTRIES).head
    assert a is not None and b is not None
    assert a.to_bytes() == b.to_bytes()


def test_cross_fitted_scores_come_from_heads_blind_to_the_text(kb) -> None:
    vectors, owner, _, _ = kb
    trained = head.train(vectors, owner, N_ENTRIES)
    assert trained.head is not None
    gold = owner[trained.held]
    blind = (trained.cross_fitted.argmax(1) == gold).mean()
    seen = (trained.head.scores(vectors[trained.held]).argmax(1) == gold).mean()
    assert seen == 1.0 and blind < seen  # a head scoring its own training texts is over-confident


def test_no_head_without_alternates(kb) -> None:
    vectors, owner, _, _ = kb
    first = np.searchsorted(owner, np.arange(N_ENTRIES))
    trained = head.train(vectors[first], np.arange(N_ENTRIES), N_ENTRIES)
    assert trained.head is None and len(trained.held) == 0 and "too few alternates" in trained.reason


def test_no_head_beyond_the_training_budget(kb, monkeypatch: pytest.MonkeyPatch) -> None:
    vectors, owner, _, _ = kb
    monkeypatch.setattr(head, "MAX_WORK", vectors.size * N_ENTRIES - 1)
    trained = head.train(vectors, owner, N_ENTRIES)
    assert trained.head is None and trained.reason == "too large to train in time"


def test_too_few_alternates_get_no_head(kb) -> None:
    vectors, owner, _, _ = kb
    keep = np.union1d(np.flatnonzero(owner < 5), np.searchsorted(owner, np.arange(N_ENTRIES)))
    trained = head.train(vectors[keep], owner[keep], N_ENTRIES)
    assert 0 < len(trained.held) < head.MIN_HELD_OUT and trained.head is None


def test_weight_zero_when_the_head_does_not_help(kb) -> None:
    vectors, owner, _, _ = kb
    held = head.held_out(owner)
    perfect = np.full((len(held), N_ENTRIES), -100.0, np.float32)
    perfect[np.arange(len(held)), owner[held]] = 100.0
    h = head.train(vectors, owner, N_ENTRIES, perfect).head
    assert h is not None and h.weight == 0.0


def test_round_trip_and_version(kb, monkeypatch: pytest.MonkeyPatch) -> None:
    vectors, owner, queries, _ = kb
    h = head.train(vectors, owner, N_ENTRIES).head
    assert h is not None
    back = head.Head.from_bytes(h.to_bytes())
    assert back is not None
    assert np.array_equal(back.scores(queries), h.scores(queries))
    assert back.to_bytes() == h.to_bytes()
    stored = h.to_bytes()
    monkeypatch.setattr(head, "VERSION", head.VERSION + 1)  # a newer qa trains heads otherwise
    assert head.Head.from_bytes(stored) is None


def test_folds_keep_a_text_of_every_entry_in_training() -> None:
    owner = np.repeat(np.arange(30), np.arange(30) % 7 + 1)
    fold = head.folds(owner)
    assert (fold[np.bincount(owner)[owner] == 1] == -1).all()
    for f in range(head.FOLDS):
        assert set(owner[fold != f]) == set(range(30))
