"""Calibrate from the KB itself, with no labelled questions.

Two kinds of held-out example, both asked with the stored vectors of a KB text:
  - in scope: hide one alternate and ask it against the rest; correct when its own entry wins;
  - out of scope: hide the text's whole entry and ask it; any answer is then wrong.
The out-of-scope examples are weighted to make up `oos_prior` of the total, the share of
questions a deployed FAQ bot gets that its KB cannot answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa.retrieval.calibration import (
    PRIOR,
    Calibration,
    Logistic,
    ambiguity_margin,
    features,
    threshold_for_precision,
)
from qa.retrieval.index import SearchIndex

MIN_IN_SCOPE = 30
#: Raise when the way calibration is fitted changes: KBs calibrated by an older qa then refit on open.
VERSION = 3
DEFAULT_OOS_PRIOR = 0.2
DEFAULT_PRECISION = 0.8


@dataclass
class Examples:
    x: np.ndarray  # features
    correct: np.ndarray  # top-1 is the right entry
    in_top2: np.ndarray  # the right entry is among the top two
    in_scope: np.ndarray  # the question has an answer in the KB
    weight: np.ndarray


def held_out_examples(index: SearchIndex, max_examples: int = 1000, seed: int = 0) -> Examples:
    rng = np.random.default_rng(seed)
    counts = np.bincount(index.text_entry, minlength=index.n)
    multi = np.flatnonzero(counts[index.text_entry] >= 2)
    pos_texts = rng.permutation(multi)[:max_examples]
    neg_texts = rng.permutation(len(index.texts))[:max_examples]
    rows, correct, top2, scope = [], [], [], []
    langs = np.array(index.entry_langs)
    same_lang = {lg: langs == lg for lg in set(index.entry_langs)}
    for texts, hide_entry in ((pos_texts, False), (neg_texts, True)):
        for t in texts:
            t = int(t)
            owner = int(index.text_entry[t])
            qv = index.text_query_vectors(t)
            lang = index.entry_langs[owner]
            # Only entries in the text's own language compete: in a bilingual KB the hidden entry's
            # translation would otherwise count as a wrong answer, when it is the right one.
            s = index.score(
                qv,
                index.texts[t],
                lang,
                drop_text=None if hide_entry else t,
                drop_entry=owner if hide_entry else None,
                allowed=same_lang[lang],
            ).fused
            rows.append(features(s))
            if hide_entry:
                correct.append(False)
                top2.append(False)
            else:
                best2 = np.argpartition(-s, min(1, len(s) - 1))[:2]
                correct.append(int(np.argmax(s)) == owner)
                top2.append(owner in best2)
            scope.append(not hide_entry)
    x = np.array(rows, dtype=np.float64).reshape(-1, 2)
    return Examples(x, np.array(correct), np.array(top2), np.array(scope), np.ones(len(rows)))


def weigh(ex: Examples, oos_prior: float) -> Examples:
    """Reweight so out-of-scope examples carry `oos_prior` of the total weight."""
    n_in, n_out = int(ex.in_scope.sum()), int((~ex.in_scope).sum())
    w = np.ones(len(ex.x))
    if n_in and n_out:
        w[ex.in_scope] = (1 - oos_prior) * len(ex.x) / n_in
        w[~ex.in_scope] = oos_prior * len(ex.x) / n_out
    return Examples(ex.x, ex.correct, ex.in_top2, ex.in_scope, w)


def fit(ex: Examples, *, precision: float = DEFAULT_PRECISION, source: str) -> Calibration:
    answer = Logistic.fit(ex.x, ex.correct.astype(int), ex.weight)
    either = Logistic.fit(ex.x[:, :1], ex.in_top2.astype(int), ex.weight)
    either = Logistic([either.coef[0], 0.0], either.intercept)
    conf = answer.predict(ex.x)
    thr = threshold_for_precision(conf, ex.correct, ex.weight, precision)
    margin = ambiguity_margin(ex.x[ex.in_scope, 1], ex.correct[ex.in_scope], ex.in_top2[ex.in_scope])
    return Calibration(answer, either, thr, margin, source, len(ex.x))


def calibrate_from_kb(
    index: SearchIndex, *, oos_prior: float = DEFAULT_OOS_PRIOR, precision: float = DEFAULT_PRECISION
) -> Calibration:
    """Fit on held-out alternates; the documented prior when the KB has too few alternates."""
    if index.n < 3:
        return PRIOR
    ex = held_out_examples(index)
    if int(ex.in_scope.sum()) < MIN_IN_SCOPE or ex.correct.all() or not ex.correct.any():
        return PRIOR
    return fit(weigh(ex, oos_prior), precision=precision, source="kb-alternates")
