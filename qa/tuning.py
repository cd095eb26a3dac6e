"""Fit the calibration on labelled questions (`qa tune`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qa.bot import Bot
from qa.errors import InputError
from qa.evaluate import Labelled
from qa.retrieval.calibration import Calibration, features
from qa.retrieval.index import NEG
from qa.retrieval.selfcal import DEFAULT_PRECISION, Examples, fit, weigh


def labelled_examples(bot: Bot, queries: Sequence[Labelled]) -> Examples:
    rows, correct, top2, scope = [], [], [], []
    for q in queries:
        ids, fused = bot.fused_scores(q.query)
        scored = np.flatnonzero(fused > NEG)
        best = scored[np.argsort(-fused[scored])[:2]]
        rows.append(features(fused[scored]))
        gold = set(q.gold)
        correct.append(bool(len(best)) and ids[best[0]] in gold)
        top2.append(any(ids[b] in gold for b in best))
        scope.append(bool(gold))
    return Examples(
        np.array(rows).reshape(-1, 2), np.array(correct), np.array(top2), np.array(scope), np.ones(len(rows))
    )


def fit_labelled(bot: Bot, queries: Sequence[Labelled], *, precision: float | None, source: str) -> Calibration:
    """Fit on labelled questions, weighted as they come (their share out of scope is the prior)."""
    if len(queries) < 20:
        raise InputError(f"Tuning needs at least 20 labelled questions; got {len(queries)}.")
    ex = labelled_examples(bot, queries)
    if ex.correct.all() or not ex.correct.any():
        raise InputError("Tuning needs questions the bot gets right and some it gets wrong (or out of scope).")
    share_out = float((~ex.in_scope).mean())
    ex = weigh(ex, share_out) if 0 < share_out < 1 else ex
    return fit(ex, precision=precision if precision is not None else DEFAULT_PRECISION, source=source)
