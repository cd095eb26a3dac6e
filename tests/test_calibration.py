"""The two-factor calibration: P(in scope) x P(right | in scope), on standardised scores."""

from __future__ import annotations

import numpy as np
import pytest

from qa.evaluate import ece
from qa.retrieval.calibration import PRIOR, PRIOR_ANSWER_TOP, Calibration, Logistic
from qa.retrieval.selfcal import PRIOR_WEIGHT, Examples, fit, prior_for, scale_of, shrink, weigh


def test_old_stored_calibration_still_reads_as_one_model():
    old = {
        "answer": {"coef": [1.2, 1.5], "intercept": -6.0},
        "either": {"coef": [1.2, 0.0], "intercept": -5.0},
        "answer_threshold": 0.5,
        "ambiguity_margin": 0.3,
        "source": "kb-alternates",
        "n_examples": 10,
    }
    cal = Calibration.from_json(old)
    assert cal.in_scope is None and cal.center == 0.0 and cal.scale == 1.0
    x = np.array([4.0, 0.8])
    assert cal.confidence(x) == pytest.approx(1 / (1 + np.exp(-(1.2 * 4 + 1.5 * 0.8 - 6))))
    assert Calibration.from_json(cal.to_json()) == cal


def test_shrink_moves_from_prior_to_own_fit_with_more_examples():
    own, prior = Logistic([2.0, 0.0], 1.0), Logistic([0.0, 2.0], -1.0)
    assert shrink(own, prior, 0) == prior
    half = shrink(own, prior, PRIOR_WEIGHT)
    assert half.coef == [1.0, 1.0] and half.intercept == 0.0
    assert shrink(own, prior, 10**6).coef[0] == pytest.approx(2.0, abs=1e-3)


def _examples(rng: np.random.Generator, n: int, center: float = 3.0) -> Examples:
    """Synthetic held-out examples: out of scope tops ~ N(center, 1); in scope higher, right more
    often with a larger margin."""
    n_out = n // 2
    top = np.r_[rng.normal(center + 2.0, 1.0, n - n_out), rng.normal(center, 1.0, n_out)]
    margin = np.r_[rng.exponential(1.5, n - n_out), rng.exponential(0.4, n_out)]
    in_scope = np.r_[np.ones(n - n_out, bool), np.zeros(n_out, bool)]
    p_right = 1 / (1 + np.exp(-(2.5 * margin - 0.5)))
    correct = in_scope & (rng.random(n) < p_right)
    return Examples(np.c_[top, margin], correct, correct | in_scope & (rng.random(n) < 0.5), in_scope, np.ones(n))


def test_fit_is_calibrated_at_the_weighted_out_of_scope_share():
    rng = np.random.default_rng(3)
    ex = weigh(_examples(rng, 8000), 0.1)
    cal = fit(ex, source="test")
    conf = np.array([cal.confidence(r) for r in ex.x])
    # weighted ECE: resample with the weights' proportions
    pick = rng.choice(len(conf), 20000, p=ex.weight / ex.weight.sum())
    assert ece(conf[pick], ex.correct[pick])[0] < 0.03
    assert cal.center == pytest.approx(3.0, abs=0.15) and cal.in_scope is not None


def test_the_prior_uses_the_kb_scale_but_shrinks_a_small_kbs_toward_its_own():
    rng = np.random.default_rng(4)
    big, small = _examples(rng, 4000, center=6.0), _examples(rng, 10, center=0.0)
    assert scale_of(big)[0] == pytest.approx(6.0 - PRIOR_WEIGHT / 2100 * 2.0, abs=0.15)
    # five hidden-entry scores move it by 5 / (5 + PRIOR_WEIGHT) of the way
    assert scale_of(small)[0] == pytest.approx(PRIOR.center * PRIOR_WEIGHT / (5 + PRIOR_WEIGHT), abs=0.5)
    assert scale_of(small)[0] > 0.75 * PRIOR.center
    cal = prior_for(big)
    assert cal.source == "prior" and cal.answer == PRIOR_ANSWER_TOP and cal.in_scope is not None
    # the same question is more likely in scope when fewer questions are assumed out of scope
    x = np.array([6.0, 1.0])
    assert prior_for(big, 0.05).confidence(x) > cal.confidence(x) > prior_for(big, 0.3).confidence(x)


def test_labelled_questions_all_in_scope_need_no_in_scope_factor():
    rng = np.random.default_rng(5)
    ex = _examples(rng, 2000)
    ins = ex.in_scope
    only_in = Examples(ex.x[ins], ex.correct[ins], ex.in_top2[ins], ex.in_scope[ins], ex.weight[ins])
    cal = fit(only_in, source="labelled")
    assert cal.in_scope is None and cal.p_in_scope(np.array([0.0, 0.0])) == 1.0


def test_everyday_questions_carry_their_share_of_the_out_of_scope_weight_and_set_the_scale():
    from qa.retrieval.selfcal import FAR_SHARE, oos_weights

    rng = np.random.default_rng(6)
    ex = _examples(rng, 400, center=6.0)  # 200 near misses around 6
    n = len(ex.x)
    far_x = np.c_[rng.normal(0.0, 1.0, 100), rng.exponential(0.4, 100)]
    no = np.zeros(100, bool)
    both = Examples(
        np.r_[ex.x, far_x],
        np.r_[ex.correct, no],
        np.r_[ex.in_top2, no],
        np.r_[ex.in_scope, no],
        np.ones(n + 100),
        np.r_[np.zeros(n, bool), np.ones(100, bool)],
    )
    w = oos_weights(both)
    assert w[both.is_far()].sum() == pytest.approx(FAR_SHARE)
    assert w.sum() == pytest.approx(1.0) and (w[both.in_scope] == 0).all()
    weighed = weigh(both, 0.1)
    assert weighed.weight[~both.in_scope].sum() == pytest.approx(0.1 * len(both.x))
    # the scale sits between the near misses (6) and the everyday questions (0), unshrunk
    center, scale = scale_of(both)
    assert center == pytest.approx(6.0 * (1 - FAR_SHARE), abs=0.3) and scale > 2.0
    # a question scoring like a near miss is less likely in scope with only near misses to go by
    x = np.array([6.0, 1.0])
    assert fit(weigh(both, 0.1), source="t").p_in_scope(x) > fit(weigh(ex, 0.1), source="t").p_in_scope(x)
