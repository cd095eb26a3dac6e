"""Retrieval and calibration: pure functions checked against brute force and known answers."""

from __future__ import annotations

import numpy as np
import pytest

from qa.retrieval.calibration import Logistic, ambiguity_margin, features, threshold_for_precision
from qa.retrieval.dense import centroids, entry_scores, top2_mean
from qa.retrieval.lexical import LexicalIndex, tokenize
from qa.retrieval.norms import norm_constants


def _unit(rng, n, d):
    m = rng.normal(size=(n, d)).astype(np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def test_top2_mean_matches_brute_force():
    rng = np.random.default_rng(1)
    counts = [1, 3, 2, 5]
    starts = np.cumsum([0, *counts[:-1]])
    s = rng.normal(size=(4, sum(counts)))
    got = top2_mean(s, starts)
    for q in range(4):
        for j, (a, c) in enumerate(zip(starts, counts, strict=True)):
            best = sorted(s[q, a : a + c], reverse=True)[:2]
            assert got[q, j] == pytest.approx(np.mean(best) if c > 1 else best[0])
    # ties: two equal best texts -> that value
    assert top2_mean(np.array([0.5, 0.5, 0.1]), np.array([0]))[0] == pytest.approx(0.5)


def test_entry_scores_blend_centroid_and_top2():
    rng = np.random.default_rng(2)
    v = _unit(rng, 6, 16)
    starts = np.array([0, 2])
    c = centroids(v, starts)
    q = v[0]
    got = entry_scores(q, v, c, starts)
    expect0 = 0.5 * (q @ c[0]) + 0.5 * np.mean(sorted(v[:2] @ q)[-2:])
    assert got[0] == pytest.approx(expect0, rel=1e-5)
    assert np.allclose(np.linalg.norm(c, axis=1), 1)


def test_norm_constants_are_fixed_and_from_different_entries():
    rng = np.random.default_rng(3)
    v = _unit(rng, 200, 32)
    owner = np.repeat(np.arange(50), 4)
    assert norm_constants(v, owner) == norm_constants(v, owner)
    mu, sd = norm_constants(v, owner)
    assert abs(mu) < 0.1 and 0.05 < sd < 0.4


def test_tokenize_english_and_chinese():
    assert tokenize("How do I Reset my password?") == ["how", "do", "i", "reset", "my", "password"]
    words = tokenize("新冠肺炎有哪些症状？")
    assert "症状" in words and "？" not in words


def test_lexical_scores_prefer_matching_text():
    idx = LexicalIndex(["reset my password", "opening hours of the shop", "口罩怎么戴", "新冠肺炎有哪些症状"])
    s = idx.scores("password reset")
    assert s.argmax() == 0 and s[1] == 0
    assert idx.scores("新冠的症状").argmax() == 3
    assert idx.scores("zzz unknown words").max() == 0


def test_features():
    f = features(np.array([1.0, 3.0, 2.5]))
    assert f.tolist() == [3.0, 0.5]


def test_logistic_calibration_on_synthetic_scores_is_calibrated():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(20000, 2))
    p_true = 1 / (1 + np.exp(-(1.5 * x[:, 0] - 0.8 * x[:, 1] + 0.3)))
    y = rng.random(20000) < p_true
    model = Logistic.fit(x, y.astype(int))
    p = model.predict(x)
    bins = np.minimum((p * 10).astype(int), 9)
    ece = sum(
        abs(p[bins == b].mean() - y[bins == b].mean()) * (bins == b).mean() for b in range(10) if (bins == b).any()
    )
    assert ece < 0.02
    assert model.coef[0] == pytest.approx(1.5, abs=0.15)


def test_threshold_for_precision_known_case():
    conf = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    correct = np.array([1, 1, 0, 1, 0])
    w = np.ones(5)
    assert threshold_for_precision(conf, correct, w, 1.0) == 0.8
    assert threshold_for_precision(conf, correct, w, 0.75) == 0.6


def test_ambiguity_margin_grows_with_confusion():
    rng = np.random.default_rng(5)
    m = rng.uniform(0, 2, 4000)
    correct = rng.random(4000) < 1 / (1 + np.exp(-(3 * m - 1)))
    got = ambiguity_margin(m, correct, np.ones(4000, bool))
    assert got == pytest.approx((np.log(3) + 1) / 3, abs=0.1)


def _clustered_index(n_entries=2000, dim=64, seed=7, helper=False):
    from qa.retrieval.index import SearchIndex

    rng = np.random.default_rng(seed)
    # like sentence embeddings, most of the variance lies in a few directions
    latent = rng.normal(size=(n_entries, 48)) @ rng.normal(size=(48, dim))
    centers = latent + rng.normal(0, 0.3, (n_entries, dim))
    centers = (centers / np.linalg.norm(centers, axis=1, keepdims=True)).astype(np.float32)
    counts = rng.integers(1, 4, n_entries)
    owner = np.repeat(np.arange(n_entries), counts)
    vecs = centers[owner] + rng.normal(0, 0.15, (len(owner), dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    texts = [f"text {i} of entry {o}" for i, o in enumerate(owner)]
    vectors = {"m": vecs}
    if helper:  # a second view of the same texts, as another encoder would give
        h = vecs + rng.normal(0, 0.1, vecs.shape).astype(np.float32)
        vectors["h"] = h / np.linalg.norm(h, axis=1, keepdims=True)
    index = SearchIndex.build(
        entry_ids=[f"e{i}" for i in range(n_entries)],
        entry_langs=["en"] * n_entries,
        entry_tags=[[] for _ in range(n_entries)],
        texts=texts,
        text_entry=owner,
        vectors=vectors,
        languages={k: frozenset({"*"}) for k in vectors},
        lexical=False,
        helpers=frozenset({"h"}) if helper else frozenset(),
    )
    return index, centers, rng


@pytest.mark.parametrize("helper", [False, True])
def test_two_stage_search_matches_exhaustive_at_the_top(helper):
    index, centers, rng = _clustered_index(dim=256, helper=helper)
    assert index.signals["m"].reducible  # the reduced first pass is in use
    same_top5 = 0
    for target in rng.integers(0, 2000, 50):
        q = centers[target] + rng.normal(0, 0.03, centers.shape[1]).astype(np.float32)  # a paraphrase-sized move
        q /= np.linalg.norm(q)
        qv = {"m": q, "h": q} if helper else {"m": q}
        fast = index.score(qv, "", "en").fused
        full = index.score(qv, "", "en", candidates=0).fused
        assert index.signals["m"].reduced() is not None
        top_fast, top_full = np.argsort(-fast)[:5], np.argsort(-full)[:5]
        assert list(top_fast[:2]) == list(top_full[:2])  # what the decision depends on
        found = fast > -1e8
        np.testing.assert_allclose(fast[found], full[found], rtol=1e-5)  # candidates are scored exactly
        same_top5 += list(top_fast) == list(top_full)
    # synthetic data is less low-rank than real embeddings (tianchi, e5: 0 of 3000 queries missed)
    assert same_top5 >= 45
    if helper:  # a helper never runs the first pass, so it never builds a reduced basis
        assert index.signals["h"].reducible and index.signals["h"]._reduced is None


@pytest.mark.parametrize("helper", [False, True])
def test_drop_text_and_entry_hide_them(helper):
    index, centers, rng = _clustered_index(helper=helper)
    t = int(np.flatnonzero(np.bincount(index.text_entry)[index.text_entry] >= 2)[0])
    owner = int(index.text_entry[t])
    qv = index.text_query_vectors(t)
    with_text = index.score(qv, "", "en", candidates=0).fused[owner]
    without = index.score(qv, "", "en", drop_text=t, candidates=0).fused[owner]
    assert without < with_text
    assert index.score(qv, "", "en", drop_text=t).fused[owner] == pytest.approx(without, rel=1e-5)
    assert index.score(qv, "", "en", drop_entry=owner).fused[owner] < -1e8


def test_cross_language_entries_rank_below_same_language_ones():
    from qa.retrieval.index import CROSS_LANGUAGE_PENALTY, SearchIndex

    v = np.eye(4, dtype=np.float32)
    build = dict(
        entry_ids=["en1", "zh1", "en2", "zh2"],
        entry_tags=[[]] * 4,
        texts=["a", "b", "c", "d"],
        text_entry=np.arange(4),
        vectors={"m": v},
        languages={"m": frozenset({"*"})},
        lexical=False,
    )
    q = {"m": np.array([0.6, 0.8, 0, 0], dtype=np.float32)}
    mixed = SearchIndex.build(entry_langs=["en", "zh", "en", "zh"], **build)
    plain = SearchIndex.build(entry_langs=["en", "zh", "en", "zh"], **{**build})
    s_en = mixed.score(q, "", "en").fused
    assert s_en.argmax() == 0  # zh1 matches better but the question is English
    raw = plain.score(q, "", "fr").fused  # no entry in the question's language: no penalty
    assert raw.argmax() == 1
    assert s_en[1] == pytest.approx(raw[1] - CROSS_LANGUAGE_PENALTY)


def _helper_index(helpers=frozenset({"h"})):
    """Entries in en and zh; a specialist 's' (en), a multilingual 'm' and a multilingual helper 'h'."""
    from qa.retrieval.index import SearchIndex

    rng = np.random.default_rng(11)
    owner = np.repeat(np.arange(6), 3)
    vecs = {k: _unit(rng, len(owner), 16) for k in ("s", "m", "h")}
    langs = ["en", "en", "en", "zh", "zh", "zh"]
    vecs["s"][owner >= 3] = np.nan  # the specialist embeds only English texts
    index = SearchIndex.build(
        entry_ids=[f"e{i}" for i in range(6)],
        entry_langs=langs,
        entry_tags=[[] for _ in range(6)],
        texts=[f"t{i}" for i in range(len(owner))],
        text_entry=owner,
        vectors=vecs,
        languages={"s": frozenset({"en"}), "m": frozenset({"*"}), "h": frozenset({"*"})},
        lexical=False,
        helpers=helpers,
    )
    return index, vecs, owner


def test_a_helper_adds_its_z_score_at_helper_weight_to_the_primary_encoder():
    from qa.retrieval.dense import entry_scores
    from qa.retrieval.index import HELPER_WEIGHT

    index, vecs, owner = _helper_index()
    assert index.encoders_for("en", "en") == (("s", 1.0), ("h", HELPER_WEIGHT))
    assert index.encoders_for("zh", "en") == (("m", 1.0), ("h", HELPER_WEIGHT))
    assert index.encoders_for("zh", "zh") == (("m", 1.0), ("h", HELPER_WEIGHT))
    assert index.encoders_needed("en") == ["s", "h", "m"]  # en entries by s+h, zh entries by m+h
    assert index.label_for("en", "en") == "s+h"
    q = {k: v[0] for k, v in vecs.items()}
    got = index.score(q, "", "en", candidates=0).dense

    def z(enc, rows, ents, elang):
        mu, sd = index.norm_for(enc, "en", elang)
        starts = np.searchsorted(owner[rows], ents)
        s = entry_scores(q[enc], vecs[enc][rows], centroids(vecs[enc][rows], starts), starts)
        return (s - mu) / sd

    en_rows, zh_rows = np.flatnonzero(owner < 3), np.flatnonzero(owner >= 3)
    expect_en = z("s", en_rows, np.arange(3), "en") + HELPER_WEIGHT * z("h", en_rows, np.arange(3), "en")
    expect_zh = z("m", zh_rows, np.arange(3, 6), "zh") + HELPER_WEIGHT * z("h", zh_rows, np.arange(3, 6), "zh")
    np.testing.assert_allclose(got[:3], expect_en, rtol=1e-5)
    np.testing.assert_allclose(got[3:], expect_zh, rtol=1e-5)


def test_a_helper_alone_serves_questions_and_a_route_missing_a_vector_is_skipped():
    index, vecs, _ = _helper_index()
    q = {k: v[0] for k, v in vecs.items()}
    without_helper = index.score({"s": q["s"], "m": q["m"]}, "", "en").dense
    assert (without_helper <= -1e8).all()  # a partial sum would not be on the calibrated scale
    alone, _, _ = _helper_index(helpers=frozenset())
    assert alone.encoders_for("en", "en") == (("s", 1.0),)
    only_h = _index_of({"h"})
    assert only_h.encoders_for("en", "zh") == (("h", 1.0),)


def _index_of(encs):
    from qa.retrieval.index import SearchIndex

    rng = np.random.default_rng(12)
    owner = np.repeat(np.arange(2), 2)
    return SearchIndex.build(
        entry_ids=["a", "b"],
        entry_langs=["en", "zh"],
        entry_tags=[[], []],
        texts=["1", "2", "3", "4"],
        text_entry=owner,
        vectors={e: _unit(rng, 4, 8) for e in encs},
        languages={e: frozenset({"*"}) for e in encs},
        lexical=False,
        helpers=frozenset(encs),
    )


def test_drop_text_with_a_helper_hides_the_text_from_both_encoders():
    index, vecs, owner = _helper_index()
    t = 1  # entry 0 has texts 0..2
    qv = index.text_query_vectors(t)
    with_text = index.score(qv, "", "en", candidates=0).dense[0]
    without = index.score(qv, "", "en", drop_text=t, candidates=0).dense[0]
    assert without < with_text - 0.5  # its own vector no longer matches itself in either encoder


def _lang_index(n_zh_texts, reference, norms=None):
    """English entries, and `n_zh_texts` Chinese texts (one entry each); one multilingual encoder 'm'
    whose Chinese vectors share a 'language direction', as real encoders' do."""
    from qa.retrieval.index import SearchIndex

    rng = np.random.default_rng(21)
    n_en = 40
    owner = np.r_[np.repeat(np.arange(n_en), 2), n_en + np.arange(n_zh_texts)]
    vecs = _unit(rng, len(owner), 16)
    vecs[2 * n_en :] += 2.0 * np.eye(16, dtype=np.float32)[0]
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    n = n_en + n_zh_texts
    return SearchIndex.build(
        entry_ids=[f"e{i}" for i in range(n)],
        entry_langs=["en"] * n_en + ["zh"] * n_zh_texts,
        entry_tags=[[] for _ in range(n)],
        texts=[f"t{i}" for i in range(len(owner))],
        text_entry=owner,
        vectors={"m": vecs},
        languages={"m": frozenset({"*"})},
        lexical=False,
        norms=norms,
        reference=reference,
    )


def test_a_kb_in_one_language_moves_its_own_scale_by_the_reference_questions_language_offset():
    from qa.retrieval.norms import cross_constants, norm_constants

    rng = np.random.default_rng(22)
    refs = {"en": _unit(rng, 50, 16), "zh": _unit(rng, 50, 16)}
    refs["zh"] = refs["zh"] + 1.5 * np.eye(16, dtype=np.float32)[1]  # another language direction
    refs["zh"] /= np.linalg.norm(refs["zh"], axis=1, keepdims=True)
    asked = []

    def reference(enc, lang):
        asked.append((enc, lang))
        return refs[lang]

    index = _lang_index(0, reference)
    assert ("m", "zh") in asked  # the language the KB lacks (and its own, for the offset)
    sig = index.signals["m"]
    same = norm_constants(sig.vectors, index.text_entry[sig.text_idx])
    q_mu, q_sd = cross_constants(refs["zh"], sig.vectors)
    e_mu, e_sd = cross_constants(refs["en"], sig.vectors)
    got = index.norm_for("m", "zh", "en")
    assert got == pytest.approx((same[0] + q_mu - e_mu, same[1] * q_sd / e_sd))
    assert got[0] < same[0]  # unrelated questions in the other language score lower
    assert index.norm_for("m", "en", "en") == same
    # stored constants are used as they are: no reference is embedded again
    stored = index.stored_norms()
    asked.clear()
    again = _lang_index(0, reference, norms=stored)
    assert not asked and again.pair_norms == index.pair_norms
    # no list for the KB's language: the other language's reference pair as it is
    only_zh = _lang_index(0, lambda enc, lang: refs[lang] if lang == "zh" else None)
    assert only_zh.norm_for("m", "zh", "en") == cross_constants(refs["zh"], sig.vectors)
    # no reference at all: a question in another language is scaled as one in the KB's language
    plain = _lang_index(0, None)
    assert plain.norm_for("m", "zh", "en") == plain.norm_for("m", "en", "en")


def test_a_bilingual_kb_keeps_one_scale_over_all_its_texts():
    index = _lang_index(40, lambda enc, lang: pytest.fail("a bilingual KB needs no reference"))
    sig = index.signals["m"]
    for pair in (("zh", "zh"), ("en", "en"), ("zh", "en"), ("en", "zh")):
        assert index.norm_for("m", *pair) == (sig.mu, sig.sd)
    q = {"m": sig.vectors[80]}  # a Chinese text, asked as it is: centroid and top-2 are 1.0
    assert index.score(q, "", "zh", candidates=0).dense[40] == pytest.approx((1.0 - sig.mu) / sig.sd, rel=1e-4)
