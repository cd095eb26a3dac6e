"""Calibrated confidence: P(the top answer is correct), from features of one question's scores.

The confidence has two factors, each a logistic model over the question's [top score, margin to
the next entry], standardised by the KB's out-of-scope scores (`center`, `scale`):
  - `in_scope`: P(the KB can answer the question at all), from the top score alone;
  - `answer`: P(the top entry is correct | the KB can answer it), from the top score (a fit may
    also weigh the margin: its coefficient is 0 in what qa fits today, see below);
  - `either`: P(the correct entry is one of the top two | answerable) - for "did you mean A or B?".
confidence = P(in scope) x P(right | in scope). Both factors rise with the top score alone, so the
confidence orders questions exactly as the top fused score does: it never separates answerable from
unanswerable questions worse than the score it is computed from. With the margin in `answer` it did
(AUROC, self-calibrated, margin -> top only: clinc150 .951 -> .957, hint3_sofmattress .854 -> .901,
smp2017_zh .894 -> .897, at ECE .018 -> .021, .090 -> .045, .038 -> .043: `python -m
bench.calibration_lab`, "with margin"; covidfaq_jhu, through qa eval, .849 -> .894); the margin still
decides when to ask "did you mean" (answer.py).
Splitting the factors lets each use what it is measured on (a hidden entry says nothing about
ranking; a held-out alternate says nothing about out-of-scope questions), and standardising lets
one prior serve KBs on any score scale.
Fitted on labelled examples: the KB's own held-out texts (see selfcal.py) or a labelled set.
Applying a fitted model is plain numpy; only fitting imports scikit-learn.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


def features(fused: np.ndarray) -> np.ndarray:
    """[top score, margin to the second] of one question's fused entry scores."""
    if len(fused) == 0:
        return np.array([-10.0, 0.0], dtype=np.float64)
    if len(fused) == 1:
        return np.array([fused[0], 5.0], dtype=np.float64)
    top2 = np.partition(fused, -2)[-2:]
    s1, s2 = float(top2[1]), float(top2[0])
    return np.array([s1, min(s1 - s2, 5.0)], dtype=np.float64)


def features_at(ranking: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """[top score, margin to the second] of `confidence`, at the two entries `ranking` puts first
    (a KB with a head ranks by one score and is calibrated on another: head.py)."""
    if len(ranking) < 2:
        return features(confidence[:1])
    o1, o2 = np.argpartition(-ranking, 1)[:2]
    if ranking[o2] > ranking[o1]:
        o1, o2 = o2, o1
    s1, s2 = float(confidence[o1]), float(confidence[o2])
    return np.array([s1, min(max(s1 - s2, 0.0), 5.0)], dtype=np.float64)


def _sigmoid(x: np.ndarray | float) -> Any:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -50, 50)))


@dataclass
class Logistic:
    coef: list[float]
    intercept: float

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(x)
        return np.asarray(_sigmoid(x @ np.asarray(self.coef) + self.intercept))

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> Logistic:
        from sklearn.linear_model import LogisticRegression

        if len(set(y.tolist())) < 2:
            raise ValueError("need both correct and wrong examples to calibrate")
        m = LogisticRegression(C=10.0, max_iter=1000)
        m.fit(x, y, sample_weight=w)
        return cls([float(c) for c in m.coef_[0]], float(m.intercept_[0]))


@dataclass
class Calibration:
    answer: Logistic  # P(top entry right | in scope) over standardised [top, margin]
    either: Logistic  # P(right entry in the top two | in scope) over the same
    answer_threshold: float  # answer when confidence >= this
    ambiguity_margin: float  # offer two entries when their fused scores are closer than this
    source: str  # what it was fitted on, for `qa stats`
    n_examples: int
    in_scope: Logistic | None = None  # P(in scope | standardised top); None: every question is
    center: float = 0.0  # features are ((top - center) / scale, margin / scale)
    scale: float = 1.0

    def standardise(self, feats: np.ndarray) -> np.ndarray:
        f = np.atleast_2d(np.asarray(feats, dtype=np.float64))
        return np.stack([(f[:, 0] - self.center) / self.scale, f[:, 1] / self.scale], axis=1)

    def p_in_scope(self, feats: np.ndarray) -> float:
        if self.in_scope is None:
            return 1.0
        return float(self.in_scope.predict(self.standardise(feats)[:, :1])[0])

    def confidence(self, feats: np.ndarray) -> float:
        return self.p_in_scope(feats) * float(self.answer.predict(self.standardise(feats))[0])

    def confidence_either(self, feats: np.ndarray) -> float:
        return self.p_in_scope(feats) * float(self.either.predict(self.standardise(feats))[0])

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Calibration:
        """Also reads what older versions stored (one model, no in-scope factor, raw scores)."""
        return cls(
            Logistic(**d["answer"]),
            Logistic(**d["either"]),
            float(d["answer_threshold"]),
            float(d["ambiguity_margin"]),
            str(d["source"]),
            int(d["n_examples"]),
            Logistic(**d["in_scope"]) if d.get("in_scope") else None,
            float(d.get("center", 0.0)),
            float(d.get("scale", 1.0)),
        )


#: Used when a KB has too few alternates to calibrate itself (fewer than 30 held-out examples):
#: the KB's own out-of-scope examples (near misses and everyday questions, selfcal.py) set `center`
#: and `scale` (selfcal.prior_for), and these coefficients, in those standardised units, were fitted
#: on the held-out texts of three English KBs with alternates (clinc150, banking77, hwu64; their KB
#: files, never their queries): `python -m bench.calibration_lab --fit-prior` prints them. On
#: covidfaq_jhu (no alternates) this took ECE from .263 (out-of-scope scale from near misses alone)
#: to about .09. `center` and `scale` are typical of the out-of-scope examples of the sets in
#: ../shared/data (weighted means 1.4 to 5.2, spreads 1.6 to 2.1); selfcal.scale_of shrinks a
#: small KB's own toward them.
PRIOR = Calibration(
    answer=Logistic([0.45, 3.39], -0.83),
    either=Logistic([1.26, 0.0], 1.09),
    answer_threshold=0.5,
    ambiguity_margin=0.3,
    source="prior",
    n_examples=0,
    in_scope=Logistic([1.6], 0.78),
    center=3.5,
    scale=1.8,
)
#: P(top entry right | in scope) from the top score alone, fitted like PRIOR.answer (`--fit-prior`
#: prints it as answer_top): a confidence over the top score alone ranks questions exactly as the
#: top score does, so it can never separate answerable from unanswerable questions worse than it.
PRIOR_ANSWER_TOP = Logistic([1.07, 0.0], 0.27)


def threshold_for_precision(conf: np.ndarray, correct: np.ndarray, w: np.ndarray, target: float) -> float:
    """The lowest confidence threshold whose answered set reaches `target` (weighted) precision."""
    order = np.argsort(-conf)
    c, y, ww = conf[order], correct[order].astype(float), w[order]
    prec = np.cumsum(y * ww) / np.cumsum(ww)
    ok = np.flatnonzero(prec >= target)
    if not len(ok):
        return float(min(1.0, c[0] + 1e-6)) if len(c) else 0.5
    # the last position where the running precision still meets the target
    return float(c[ok[-1]])


def ambiguity_margin(margin: np.ndarray, top1_correct: np.ndarray, in_top2: np.ndarray) -> float:
    """Margin under which, among questions whose answer is in the top two, top-1 is right < 75%."""
    m = margin[in_top2.astype(bool)]
    y = top1_correct[in_top2.astype(bool)].astype(int)
    if len(set(y.tolist())) < 2:
        return 0.0
    lg = Logistic.fit(m.reshape(-1, 1), y)
    a, b = lg.coef[0], lg.intercept
    if a <= 0:
        return 0.0
    # solve sigmoid(a*m + b) = 0.75
    return float(max(0.0, (np.log(3.0) - b) / a))
