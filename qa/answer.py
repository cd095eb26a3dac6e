"""The Answer type and the decision between answering, asking "did you mean", and falling back.

`decide` is a pure function of one question's fused entry scores and the KB's calibration.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from qa.retrieval.calibration import Calibration, features, features_at
from qa.retrieval.index import NEG

Status = Literal["answered", "ambiguous", "fallback"]


@dataclass(frozen=True)
class Suggestion:
    entry_id: str
    question: str
    confidence: float


@dataclass(frozen=True)
class Answer:
    status: Status
    text: str
    confidence: float  # P(the best entry is the right one), calibrated
    entry_id: str | None  # the answering entry (None unless answered)
    matched_question: str | None  # the stored question or alternate that matched best
    suggestions: list[Suggestion] = field(default_factory=list)
    reason: str = ""
    question: str = ""  # the question as understood (cleaned, maybe truncated)
    lang: str = ""
    truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Decision:
    status: Status
    order: np.ndarray  # entry indices, best first
    confidences: list[float]  # for each entry in `order`
    reason: str


def decide(fused: np.ndarray, cal: Calibration, top_k: int = 3, confidence: np.ndarray | None = None) -> Decision:
    """Entries ranked by `fused`; their confidences from `confidence` at that order (default `fused`)."""
    scored = np.flatnonzero(fused > NEG)  # entries the two-stage search left out stay out
    if not len(scored):
        return Decision("fallback", scored, [], "no entry could be compared with this question")
    k = min(max(top_k, 2), len(scored))
    part = np.argpartition(-fused[scored], k - 1)[:k] if k < len(scored) else np.arange(len(scored))
    order = scored[part]
    order = order[np.argsort(-fused[order])]
    conf = fused[order] if confidence is None else confidence[order]
    feats = features(conf) if confidence is None else features_at(fused[order], conf)
    p1 = cal.confidence(feats)
    p_either = max(p1, cal.confidence_either(feats))
    confs = [p1]
    rest = max(0.0, p_either - p1)
    for r in range(1, len(order)):
        s = conf[r]
        nxt = conf[r + 1] if r + 1 < len(order) else s
        alone = cal.confidence(np.array([s, max(0.0, s - nxt)]))
        c = min(rest, alone) if r == 1 and rest > 0 else alone * (1 - p_either)
        confs.append(min(c, confs[-1]))  # a lower-ranked entry is never shown as more likely
    thr, margin = cal.answer_threshold, cal.ambiguity_margin
    pct = f"{p1:.0%}"
    # The confidence rises with the top score alone (calibration.py), so two entries that score
    # alike (the same question stored twice) are told apart here, by their margin.
    if len(order) >= 2 and feats[1] < margin and p_either >= thr:
        status: Status = "ambiguous"
        reason = (
            f"two entries are too close to call (margin {feats[1]:.2f} < {margin:.2f}); "
            f"one of them is right with confidence {p_either:.0%}"
        )
    elif p1 >= thr:
        status = "answered"
        reason = f"confidence {pct} >= threshold {thr:.0%}"
    else:
        status = "fallback"
        reason = f"confidence {pct} < threshold {thr:.0%}"
    return Decision(status, order, [float(c) for c in confs], reason)
