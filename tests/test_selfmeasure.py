"""A KB chooses its own mix of signals by measuring itself (qa/retrieval/selfmeasure.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qa.bot import Bot
from qa.encoders.fake import FakeEncoder
from qa.kb.entry import Entry
from qa.kb.store import KnowledgeBase
from qa.retrieval import selfmeasure
from qa.retrieval.index import Mix, SearchIndex
from tests.conftest import run_cli


class NoiseEncoder(FakeEncoder):
    """Vectors that carry nothing about the text's meaning: seeded by its hash."""

    def embed_batch(self, texts):
        out = []
        for t in texts:
            seed = int.from_bytes(t.encode("utf-8")[:8].ljust(8, b"\0"), "little") ^ len(t)
            out.append(np.random.default_rng(seed).normal(size=self.dim))
        return np.array(out, dtype=np.float32)


class SearchFake(FakeEncoder):
    search_model = True


def _synthetic(n_entries: int = 40, per: int = 6, seed: int = 0) -> list[Entry]:
    """Entries with distinct topic words; alternates reuse some of them with filler words."""
    rng = np.random.default_rng(seed)
    vocab = [f"w{i}" for i in range(400)]
    filler = ["please", "tell", "me", "about", "how", "what", "is", "the", "my", "can", "i"]
    out = []
    for e in range(n_entries):
        topic = list(rng.choice(vocab, 4, replace=False))
        texts = []
        for _ in range(per):
            words = list(rng.choice(topic, 2, replace=False)) + list(rng.choice(filler, 3))
            rng.shuffle(words)
            texts.append(" ".join(words))
        out.append(Entry(f"e{e}", texts[0], f"answer {e}", texts[1:], "en", []))
    return out


def _index(entries: list[Entry], encoders) -> SearchIndex:
    texts, owner = [], []
    for i, e in enumerate(entries):
        for t in e.texts():
            texts.append(t)
            owner.append(i)
    vectors = {}
    for enc in encoders:
        v = enc.embed(texts)
        vectors[enc.id] = v
    return SearchIndex.build(
        entry_ids=[e.id for e in entries],
        entry_langs=[e.lang for e in entries],
        entry_tags=[[] for _ in entries],
        texts=texts,
        text_entry=np.array(owner),
        vectors=vectors,
        languages={enc.id: frozenset({"*"}) for enc in encoders},
        costs={enc.id: 1.0 for enc in encoders},
        search_models=frozenset(enc.id for enc in encoders if enc.search_model),
    )


def test_measuring_drops_an_encoder_that_carries_nothing_and_is_deterministic():
    entries = _synthetic()
    index = _index(entries, [NoiseEncoder(id="noise"), FakeEncoder(id="good")])
    assert index.default_mix("en", "en").parts[0][0] == "noise"  # the first encoder leads by default
    choice = selfmeasure.choose(index, "en")
    assert choice.source == "kb-alternates"
    assert choice.n_examples >= selfmeasure.MIN_EXAMPLES
    assert "noise" not in dict(choice.chosen.mix.parts)
    assert choice.chosen.hit1 > choice.default.hit1 + 0.1
    again = selfmeasure.choose(_index(entries, [NoiseEncoder(id="noise"), FakeEncoder(id="good")]), "en")
    assert again.chosen == choice.chosen


def test_the_default_stays_unless_another_mix_beats_it_by_more_than_the_noise():
    index = _index(_synthetic(), [FakeEncoder(id="good")])
    choice = selfmeasure.choose(index, "en")
    best = max(
        selfmeasure.evaluate(m, *selfmeasure.held_out_signals(index, "en"), index.costs).hit1
        for m in selfmeasure.candidate_mixes(["good"], choice.default.mix)
    )
    if choice.chosen.mix != choice.default.mix:
        se = np.sqrt(choice.default.hit1 * (1 - choice.default.hit1) / choice.n_examples)
        assert (
            choice.chosen.hit1 - selfmeasure.COST_PER_MS * choice.chosen.cost_ms
            > choice.default.hit1 - (selfmeasure.COST_PER_MS * choice.default.cost_ms) + se
        )
    assert choice.chosen.hit1 <= best


def test_an_encoder_that_costs_more_must_pay_for_itself():
    entries = _synthetic()
    index = _index(entries, [FakeEncoder(id="a"), FakeEncoder(dim=128, id="b")])
    index.costs = {"a": 1.0, "b": 1000.0}  # b would have to gain 2.0 in hit@1: impossible
    choice = selfmeasure.choose(index, "en")
    assert "b" not in dict(choice.chosen.mix.parts)


def test_a_kb_without_alternates_uses_the_search_model_with_bm25():
    entries = [Entry(f"e{i}", f"question number {i} about w{i}", f"answer {i}", [], "en", []) for i in range(20)]
    index = _index(entries, [FakeEncoder(id="para"), SearchFake(id="search")])
    choice = selfmeasure.choose(index, "en")
    assert choice.chosen.mix == Mix((("search", 1.0),), selfmeasure.NO_ALTERNATES_LEXICAL)
    assert choice.chosen.hit1 is None and choice.n_examples == 0
    plain = _index(entries, [FakeEncoder(id="para")])
    assert selfmeasure.choose(plain, "en").chosen.mix == plain.default_mix("en", "en")


def test_mixes_are_stored_with_the_calibration_and_survive_reopening(tmp_path):
    db = tmp_path / "kb.db"
    kb = KnowledgeBase(db)
    kb.upsert(_synthetic())
    encs = [NoiseEncoder(id="noise"), FakeEncoder(id="good")]
    bot = Bot(kb, encs)
    chosen = bot.index.mixes[("en", "en")]
    assert "noise" not in dict(chosen.parts)
    stored = kb.get_setting("calibration")
    assert stored["measured"][0]["lang"] == "en"
    kb.close()
    again = Bot(KnowledgeBase(db, create=False), [NoiseEncoder(id="noise"), FakeEncoder(id="good")])
    assert again.index.mixes[("en", "en")] == chosen
    assert again.index.encoders_needed("en") == [e for e, _ in chosen.parts]  # noise is never run


def test_qa_stats_shows_the_measured_mix(tmp_path, monkeypatch, capsys):
    data = tmp_path / "kb.jsonl"
    data.write_text("\n".join(json.dumps(e.to_dict()) for e in _synthetic()), encoding="utf-8")
    db = str(tmp_path / "kb.db")
    code, out, err = run_cli(monkeypatch, capsys, "import", data, "--db", db, "--model", "fake")
    assert code == 0, err
    code, out, _ = run_cli(monkeypatch, capsys, "stats", "--db", db)
    assert code == 0 and "signals (en):" in out and "held-out hit@1" in out
    js = json.loads(run_cli(monkeypatch, capsys, "stats", "--db", db, "--json")[1])
    assert js["mixes"]["en>en"]["parts"][0][0] == "fake"


@pytest.mark.parametrize("lexical", [0.0, 1.0])
def test_a_mix_sets_the_weight_of_bm25(lexical):
    entries = _synthetic(10)
    index = _index(entries, [FakeEncoder(id="good")])
    q = {"good": FakeEncoder(id="good").embed([entries[0].alternates[0]])[0]}
    index.set_mixes({("en", "en"): Mix((("good", 1.0),), lexical)})
    got = index.score(q, entries[0].alternates[0], "en", candidates=0)
    assert np.allclose(got.fused, got.dense + lexical * got.lexical, atol=1e-5)


def test_a_kb_without_alternates_calibrates_on_its_own_scale_with_a_confidence_monotone_in_the_top_score():
    from qa.retrieval.calibration import PRIOR_ANSWER_TOP
    from qa.retrieval.selfcal import calibrate_from_kb

    entries = [
        Entry(f"e{i}", f"question number {i} about w{i} and w{i + 1}", f"a {i}", [], "en", []) for i in range(60)
    ]
    index = _index(entries, [FakeEncoder(id="para"), SearchFake(id="search")])
    selfmeasure.apply(index, selfmeasure.choose_all(index))
    cal = calibrate_from_kb(index)
    assert cal.source == "prior" and cal.answer == PRIOR_ANSWER_TOP and cal.in_scope is not None
    # the KB's own hidden-entry scores set the scale: a top score typical of them gets a middling
    # in-scope factor, a much higher one a high confidence
    tops = np.linspace(cal.center - 3 * cal.scale, cal.center + 6 * cal.scale, 40)
    conf = [cal.confidence(np.array([t, m])) for t in tops for m in (0.0, 2.0)]
    assert all(np.diff(conf[::2]) > 0)  # rises with the top score
    assert all(cal.confidence(np.array([t, 0.0])) == cal.confidence(np.array([t, 3.0])) for t in tops)
    assert cal.confidence(np.array([cal.center + 6 * cal.scale, 0.0])) > 0.8
    assert cal.confidence(np.array([cal.center - 2 * cal.scale, 0.0])) < 0.3


def test_a_small_kb_with_alternates_keeps_the_default_mix():
    entries = _synthetic(n_entries=8, per=6)  # 40 alternates: too few to measure, not too few to matter
    index = _index(entries, [FakeEncoder(id="para"), SearchFake(id="search")])
    choice = selfmeasure.choose(index, "en")
    assert selfmeasure.FEW_ALTERNATES <= choice.n_examples < selfmeasure.MIN_EXAMPLES
    assert choice.chosen.mix == index.default_mix("en", "en") and choice.source == "default (too few alternates)"


def test_self_calibration_asks_the_everyday_questions_of_the_kbs_language():
    from qa.retrieval.selfcal import held_out_examples

    entries = _synthetic(20)
    enc = FakeEncoder(id="good")
    everyday = ["what is the weather tomorrow", "how do I boil an egg", "who won the match"]
    index = _index(entries, [enc])
    index.reference = lambda enc_id, lang: enc.embed(everyday) if lang == "en" else None
    index.reference_texts = lambda lang: everyday if lang == "en" else ()
    ex = held_out_examples(index)
    far = ex.is_far()
    assert far.sum() == len(everyday)
    assert not ex.in_scope[far].any() and not ex.correct[far].any()
    # without reference questions there are none, and nothing else changes
    index.reference = None
    plain = held_out_examples(index)
    assert plain.far is None and np.array_equal(plain.x, ex.x[~far])
