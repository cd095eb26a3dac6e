"""Calibrated confidence: P(the top answer is correct), from features of one question's scores.

Two logistic models over [top score, margin to the next entry]:
  - `answer`: P(the top entry is correct);
  - `either`: P(the correct entry is one of the top two) - used to offer "did you mean A or B?".
Fitted on labelled examples: the KB's own held-out alternates (see selfcal.py) or a labelled set.
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
    answer: Logistic
    either: Logistic
    answer_threshold: float  # answer when confidence >= this
    ambiguity_margin: float  # offer two entries when their fused scores are closer than this
    source: str  # what it was fitted on, for `qa stats`
    n_examples: int

    def confidence(self, feats: np.ndarray) -> float:
        return float(self.answer.predict(feats)[0])

    def confidence_either(self, feats: np.ndarray) -> float:
        return float(self.either.predict(feats)[0])

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Calibration:
        return cls(
            Logistic(**d["answer"]),
            Logistic(**d["either"]),
            float(d["answer_threshold"]),
            float(d["ambiguity_margin"]),
            str(d["source"]),
            int(d["n_examples"]),
        )


#: Used until a KB has enough alternates to calibrate itself (fewer than 30 held-out examples).
#: Hand-set to be cautious: 50% at a top z-score of 4 with a margin of 0.8. Measured on
#: tianchi_covid_zh (no alternates): ECE .18, so treat confidences on such a KB as rough.
PRIOR = Calibration(
    answer=Logistic([1.2, 1.5], -6.0),
    either=Logistic([1.2, 0.0], -5.0),
    answer_threshold=0.5,
    ambiguity_margin=0.3,
    source="prior",
    n_examples=0,
)


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
