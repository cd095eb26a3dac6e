"""The learned head wired into a KB (qa/learned.py, qa/loader.py): trained and stored when the KB
calibrates itself, kept across opens, dropped when its texts change, none without alternates.

The synthetic KB is that of test_head.py: each entry has a keyword of its own, and every text adds
three words from a pool all entries share.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa import indexing
from qa.bot import Bot
from qa.encoders.fake import FakeEncoder
from qa.kb.entry import Entry
from qa.kb.heads import list_heads, load_heads
from qa.kb.store import KnowledgeBase
from qa.retrieval import head

N_ENTRIES = 20
POOL = [f"filler{i}" for i in range(12)]
QUESTIONS = ["topic3 filler1 filler2 filler7", "filler4 topic11 filler9 filler0", "topic17 filler5 filler6 filler8"]


def _entries(n_per_entry: int, seed: int = 1) -> list[Entry]:
    rng = np.random.default_rng(seed)
    out = []
    for e in range(N_ENTRIES):
        texts = [
            " ".join(rng.permutation([f"topic{e}", *rng.choice(POOL, 3, replace=False)])) for _ in range(n_per_entry)
        ]
        out.append(Entry(f"e{e}", texts[0], f"answer {e}", texts[1:], "en", []))
    return out


def _bot(path: Path, entries: list[Entry] | None = None, *, readonly: bool = False) -> Bot:
    if entries is not None:
        KnowledgeBase(path).upsert(entries)
    return Bot(KnowledgeBase(path, readonly=readonly), [FakeEncoder(dim=128)])


@pytest.fixture
def trained(tmp_path: Path) -> tuple[Path, Bot]:
    path = tmp_path / "kb.db"
    return path, _bot(path, _entries(8))


def test_head_is_trained_stored_and_used(trained) -> None:
    path, bot = trained
    (row,) = list_heads(bot.kb)
    assert row["lang"] == "en" and row["n_texts"] == 8 * N_ENTRIES and row["n_held_out"] >= head.MIN_HELD_OUT
    assert row["encoders"] == ["fake"] and row["weight"] in head.WEIGHTS
    assert bot.kb.get_setting("calibration")["heads"] == ["en"]
    learned = bot.index.heads["en"]
    assert learned.cross_fitted is not None  # the self-calibration saw cross-fitted scores
    if learned.head.weight > 0:
        (top, *_) = bot.explain(QUESTIONS[0])
        assert top.learned != 0.0


def test_head_survives_reopen_without_retraining(trained) -> None:
    path, bot = trained
    before = load_heads(bot.kb)["en"]
    answers = [bot.ask(q, log=False) for q in QUESTIONS]
    again = _bot(path)
    assert load_heads(again.kb)["en"] == before  # same bytes, same `created`: not retrained
    assert again.index.heads["en"].head.to_bytes() == before[0]
    assert again.index.heads["en"].cross_fitted is None
    assert [again.ask(q, log=False) for q in QUESTIONS] == answers


def test_a_kb_without_alternates_gets_no_head(tmp_path: Path) -> None:
    bot = _bot(tmp_path / "kb.db", _entries(1))
    assert list_heads(bot.kb) == [] and bot.index.heads == {}
    assert "heads" not in bot.kb.get_setting("calibration")
    assert bot.index.score({"fake": FakeEncoder(dim=128).embed([QUESTIONS[0]])[0]}, QUESTIONS[0], "en").learned is None


def test_stale_head_is_dropped_and_retrained_when_texts_change(trained) -> None:
    path, bot = trained
    old = load_heads(bot.kb)["en"][1]["texts_hash"]
    KnowledgeBase(path).upsert([Entry("e3", "topic3 filler1", "answer 3", ["topic3 filler2 filler3"], "en", [])])
    indexing.index(KnowledgeBase(path), [FakeEncoder(dim=128)])
    ro = _bot(path, readonly=True)  # cannot retrain: the stale head is not used
    assert ro.index.heads == {}
    again = _bot(path)
    new = load_heads(again.kb)["en"][1]
    assert new["texts_hash"] != old and new["n_texts"] == 8 * N_ENTRIES - 6
    assert "en" in again.index.heads


def test_same_kb_same_head_and_answers(tmp_path: Path) -> None:
    a = _bot(tmp_path / "a.db", _entries(8))
    b = _bot(tmp_path / "b.db", _entries(8))
    assert load_heads(a.kb)["en"][0] == load_heads(b.kb)["en"][0]
    assert [a.ask(q, log=False) for q in QUESTIONS] == [b.ask(q, log=False) for q in QUESTIONS]
    assert a.calibration == b.calibration


def test_stats_shows_the_head(trained, qa) -> None:
    path, _ = trained
    code, out, _ = qa("stats", "--db", str(path))
    assert code == 0 and "learned head (en):" in out and "trained on 160 texts" in out


def test_decide_is_unchanged_when_the_confidence_is_the_ranking_score() -> None:
    from qa.answer import decide
    from qa.retrieval.calibration import PRIOR

    rng = np.random.default_rng(0)
    for _ in range(20):
        f = rng.normal(size=12).astype(np.float32)
        a, b = decide(f, PRIOR, 3, f.copy()), decide(f, PRIOR, 3)
        assert (a.status, a.order.tolist(), a.confidences, a.reason) == (
            b.status,
            b.order.tolist(),
            b.confidences,
            b.reason,
        )
