"""Fit the calibration on labelled questions (`qa tune`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qa.bot import Bot
from qa.errors import InputError
from qa.evaluate import Labelled
from qa.retrieval.calibration import Calibration, features_at
from qa.retrieval.index import NEG
from qa.retrieval.selfcal import DEFAULT_PRECISION, Examples, fit, weigh


def labelled_examples(bot: Bot, queries: Sequence[Labelled]) -> Examples:
    rows, correct, top2, scope = [], [], [], []
    for q in queries:
        ids, fused, conf = bot.confidence_scores(q.query)
        scored = np.flatnonzero(fused > NEG)
        best = scored[np.argsort(-fused[scored])[:2]]
        rows.append(features_at(fused[scored], conf[scored]))
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


#: Curator decisions `qa tune --from-review` needs before it trusts them.
MIN_REVIEWED = 20
MAX_SHARE = 0.9


@dataclass(frozen=True)
class ReviewShare:
    share: float  # the out-of-scope share that makes the confidence agree with the decisions
    answerable: int  # reviewed questions a curator mapped to an entry (added or made an alternate)
    dismissed: int  # reviewed questions a curator dismissed (out of scope)


def share_from_review(bot: Bot) -> ReviewShare:
    """The out-of-scope share implied by what `qa review` decided about logged questions.

    Only unanswered questions are logged, so the share of dismissed ones among them says nothing
    about the share in all traffic. But the in-scope factor gives P(in scope | top score) for each
    reviewed question, and that does not depend on which questions were logged: the share is the
    one whose P(in scope), summed over the reviewed questions, equals the number a curator found
    answerable (the share moves the factor's intercept by its log-odds; found by bisection).
    """
    rows = bot.kb.reviewed_log()
    answerable = sum(r["resolution"] != "dismissed" for r in rows)
    dismissed = len(rows) - answerable
    if len(rows) < MIN_REVIEWED or not answerable or not dismissed:
        raise InputError(
            f"--from-review needs at least {MIN_REVIEWED} questions decided with qa review, some mapped to "
            f"an entry and some dismissed; this KB has {answerable} mapped and {dismissed} dismissed. "
            "Review more with: qa review, or set the share yourself with: qa tune --oos-share SHARE"
        )
    cal = bot.calibration
    if cal.in_scope is None:
        raise InputError(
            "This KB's confidence assumes every question can be answered (out-of-scope share 0 or a labelled "
            "fit without out-of-scope questions). Refit it first with: qa tune --reset"
        )
    z = np.array(
        [
            cal.standardise(features_at(f[f > NEG], c[f > NEG]))[0, 0]
            for _, f, c in (bot.confidence_scores(r["question"]) for r in rows)
        ]
    )
    logit = z * cal.in_scope.coef[0] + cal.in_scope.intercept
    current = bot.oos_share()  # the share the in-scope factor was fitted at (> 0: it exists)
    base = float(np.log((1 - current) / current)) if current > 0 else 0.0

    def expected_in(share: float) -> float:
        shift = float(np.log((1 - share) / share)) - base
        return float((1.0 / (1.0 + np.exp(-(logit + shift)))).sum())

    lo, hi = 1e-4, MAX_SHARE  # expected_in falls as the share rises
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if expected_in(mid) > answerable else (lo, mid)
    share = round((lo + hi) / 2, 4)
    return ReviewShare(0.0 if share < 1e-3 else share, answerable, dismissed)
