"""Metrics for a labelled query set: ranking, answer/fallback decisions and calibration (ECE).

Queries have the ../shared/data shape: {"query", "gold": [ids]}; gold [] means out of scope.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.answer import Answer
from qa.errors import ImportFormatError, InputError
from qa.kb.formats import jsonl_records


@dataclass
class Labelled:
    query: str
    gold: list[str]


@dataclass
class Outcome:
    gold: list[str]
    ranking: list[str]  # entry ids, best first
    status: str
    entry_id: str | None
    confidence: float


#: The metrics `qa eval` reports, in report order.
METRIC_KEYS = (
    "hit@1",
    "mrr@10",
    "recall@5",
    "auroc",
    "answered_accuracy",
    "coverage",
    "fallback_precision",
    "fallback_recall",
    "ambiguous_rate",
    "ece",
)


def read_queries(path: str) -> list[Labelled]:
    try:
        lines = Path(path).read_bytes().decode("utf-8").splitlines()
    except FileNotFoundError as e:
        raise InputError(f"No such file: {path}") from e
    except UnicodeDecodeError as e:
        raise ImportFormatError("not valid UTF-8", path=path) from e
    out = []
    for n, d in jsonl_records(lines, path):
        if not isinstance(d, dict) or not isinstance(d.get("query"), str) or not d["query"].strip():
            raise ImportFormatError('expected {"query": text, "gold": [ids]}', line=n, path=path)
        gold = d.get("gold", [])
        if not isinstance(gold, list) or not all(isinstance(g, str | int) for g in gold):
            raise ImportFormatError("'gold' must be a list of entry ids ([] = out of scope)", line=n, path=path)
        out.append(Labelled(d["query"], [str(g) for g in gold]))
    return out


def outcome(ans: Answer, gold: list[str]) -> Outcome:
    ranking = ([ans.entry_id] if ans.entry_id else []) + [s.entry_id for s in ans.suggestions]
    return Outcome(gold, list(dict.fromkeys(ranking)), ans.status, ans.entry_id, ans.confidence)


def run(ask: Callable[[str], Answer], queries: Iterable[Labelled]) -> list[Outcome]:
    return [outcome(ask(q.query), q.gold) for q in queries]


def ece(conf: np.ndarray, correct: np.ndarray, bins: int = 10) -> tuple[float, list[dict[str, Any]]]:
    """Expected calibration error over equal-width bins, and the reliability table."""
    idx = np.minimum((conf * bins).astype(int), bins - 1)
    table, total = [], 0.0
    for b in range(bins):
        m = idx == b
        if not m.any():
            continue
        gap = abs(float(conf[m].mean()) - float(correct[m].mean()))
        total += gap * m.mean()
        table.append(
            {
                "bin": f"{b / bins:.1f}-{(b + 1) / bins:.1f}",
                "n": int(m.sum()),
                "confidence": float(conf[m].mean()),
                "accuracy": float(correct[m].mean()),
            }
        )
    return float(total), table


def auroc(pos: np.ndarray, neg: np.ndarray) -> float | None:
    """P(a random answerable query has higher confidence than a random out-of-scope one)."""
    if not len(pos) or not len(neg):
        return None
    allv = np.concatenate([pos, neg])
    ranks = np.empty(len(allv))
    order = allv.argsort(kind="mergesort")
    ranks[order] = np.arange(1, len(allv) + 1)
    for v in np.unique(allv):  # average ranks of ties
        m = allv == v
        if m.sum() > 1:
            ranks[m] = ranks[m].mean()
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def metrics(outs: Sequence[Outcome]) -> dict[str, Any]:
    ans_q = [o for o in outs if o.gold]
    oos = [o for o in outs if not o.gold]

    def rank_of(o: Outcome) -> int | None:
        for r, e in enumerate(o.ranking[:10]):
            if e in o.gold:
                return r
        return None

    ranks = [rank_of(o) for o in ans_q]
    answered = [o for o in outs if o.status == "answered"]
    fallbacks = [o for o in outs if o.status == "fallback"]
    conf = np.array([o.confidence for o in outs])
    top_correct = np.array([bool(o.gold) and bool(o.ranking) and o.ranking[0] in o.gold for o in outs])
    e, table = ece(conf, top_correct) if len(outs) else (None, [])

    def share(num: float, den: int) -> float | None:
        return num / den if den else None

    return {
        "n": len(outs),
        "n_out_of_scope": len(oos),
        "hit@1": share(sum(r == 0 for r in ranks), len(ans_q)),
        "mrr@10": share(sum(1 / (r + 1) for r in ranks if r is not None), len(ans_q)),
        "recall@5": share(sum(r is not None and r < 5 for r in ranks), len(ans_q)),
        "auroc": auroc(np.array([o.confidence for o in ans_q]), np.array([o.confidence for o in oos])),
        "answered_accuracy": share(sum(o.entry_id in o.gold for o in answered), len(answered)),
        "coverage": share(sum(o.status == "answered" and o.entry_id in o.gold for o in ans_q), len(ans_q)),
        "fallback_precision": share(sum(not o.gold for o in fallbacks), len(fallbacks)),
        "fallback_recall": share(sum(o.status == "fallback" for o in oos), len(oos)),
        "ambiguous_rate": share(sum(o.status == "ambiguous" for o in outs), len(outs)),
        "ece": e,
        "reliability": table,
    }


def confusions(outs: Sequence[Outcome], top: int = 10) -> list[dict[str, Any]]:
    """The most frequent (expected entry -> entry that took the question) pairs."""
    c: Counter[tuple[str, str]] = Counter()
    for o in outs:
        if o.ranking and o.ranking[0] not in o.gold:
            c[(o.gold[0] if o.gold else "(out of scope)", o.ranking[0])] += 1
    return [{"expected": a, "got": b, "count": n} for (a, b), n in c.most_common(top)]
