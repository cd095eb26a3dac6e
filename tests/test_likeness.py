"""The signals behind near-duplicates: folded keys, character n-grams, answered-by confidence."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from qa.bot import Bot
from qa.curate.likeness import answered_by, fold, grams, lexical_pairs, ngram_matrix
from tests.conftest import ENTRIES


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Does Red Robin take reservations?", "does redrobin take reservations"),  # a name spelt apart
        ("I need information on todays date", "i need information on today's date"),  # punctuation in a word
        ("Where can I locate my W2 form?", "where can i locate my w-2 form"),
        ("Tell me my reminder.", "tell me my reminders"),  # plural -s
        ("policies", "policy"),
        ("movies", "MOVIE"),
        ("watches", "watch"),
        ("tell me about sof-mattresses", "Tell me about SOF Mattress"),
        ("从合肥到上海，可以到哪坐车?", "从合肥到上海可以到哪坐车？"),  # full-width and half-width punctuation
        ("ＡＢＣ　ｄｅｆ", "abc def"),  # full-width letters and space
    ],
)
def test_fold_equal(a, b):
    assert fold(a) == fold(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [("set an alarm", "set alarm"), ("class", "clas"), ("reset my password", "reset my passport"), ("是", "不是")],
)
def test_fold_different(a, b):
    assert fold(a) != fold(b)


def test_grams_are_trigrams_with_the_ends_marked():
    assert grams("abc") == {"\x02ab", "abc", "bc\x03"}
    assert grams("症状") == {"\x02症状", "症状\x03"}
    assert grams("a") == {"\x02a\x03"} and grams("") == {"\x02\x03"}


def _brute(texts, owner, floor, rows=None):
    m = ngram_matrix(texts).toarray()
    s = m @ m.T
    asked = range(len(texts)) if rows is None else rows
    return {
        (r, c)
        for r in asked
        for c in range(len(texts))
        if owner[r] != owner[c] and s[r, c] >= floor - 1e-6 and (rows is not None or r < c)
    }


def test_lexical_pairs_equal_the_full_product(monkeypatch):
    import qa.curate.likeness

    texts = [t for e in ENTRIES for t in e.texts()] + ["how do i reset my passwords", "opening time", "新冠肺炎症状？"]
    owner = np.array([i for i, e in enumerate(ENTRIES) for _ in e.texts()] + [90, 91, 92])
    monkeypatch.setattr(qa.curate.likeness, "BLOCK_CELLS", 3 * len(texts))  # 3 rows at a time
    m = ngram_matrix(texts)
    r, c, s = lexical_pairs(m, 0.6, owner)
    assert set(zip(r.tolist(), c.tolist(), strict=True)) == _brute(texts, owner, 0.6) != set()
    assert (s >= 0.6 - 1e-6).all() and (s <= 1.0).all()
    rows = np.array([len(texts) - 3, len(texts) - 1])
    r, c, _ = lexical_pairs(m, 0.6, owner, rows=rows)
    assert set(zip(r.tolist(), c.tolist(), strict=True)) == _brute(texts, owner, 0.6, rows.tolist()) != set()
    empty = lexical_pairs(m, 0.6, owner, rows=np.zeros(0, np.int64))
    assert all(len(x) == 0 for x in empty)


@given(st.lists(st.text(max_size=12), min_size=2, max_size=8))
def test_lexical_similarity_is_a_cosine_and_folded_texts_score_one(texts):
    m = ngram_matrix([*texts, texts[0].upper() + "!"])
    s = (m @ m.T).toarray()
    assert np.allclose(np.diag(s), 1.0, atol=1e-5) and (s <= 1 + 1e-5).all() and (s >= 0).all()
    if fold(texts[0]) == fold(texts[0].upper() + "!"):
        assert s[0, -1] == pytest.approx(1.0, abs=1e-5)


def test_answered_by_hides_the_texts_own_entry(fake):
    bot = Bot.from_entries(ENTRIES, encoders=[fake])
    index = bot.index
    t = index.texts.index("password reset")
    got = answered_by(index, bot.calibration, t)
    assert index.entry_ids.index("pw") not in got and 0 < len(got) <= 2
    assert all(0.0 <= c <= 1.0 for c in got.values())
