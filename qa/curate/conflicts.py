"""Conflicting answers of near-duplicate entries (qa.curate.duplicates finds those), and what an
import brought in.

Pure functions over a SearchIndex (its stored text vectors) and entries: no encoder runs here,
except through the `embed` callback `conflicts` is given for answer texts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from qa.curate.duplicates import DupePair, dupes, threshold_for
from qa.encoders.base import Encoder
from qa.errors import EncoderError
from qa.retrieval.calibration import Calibration
from qa.retrieval.index import SearchIndex
from qa.text import HAN

#: Two answers with at least this token overlap are the same answer reworded (no encoder at hand).
ANSWER_JACCARD = 0.7

_TOKEN = re.compile(r"\w+", re.UNICODE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


# ---- conflicting answers -------------------------------------------------------------------------
def _fold_answer(text: str) -> str:
    return " ".join(text.casefold().split())


def _tokens(text: str) -> set[str]:
    text = text.casefold()
    return set(_TOKEN.findall(HAN.sub(" ", text))) | set(HAN.findall(text))


def jaccard(a: str, b: str) -> float:
    ta, tb = _tokens(a), _tokens(b)
    return len(ta & tb) / len(ta | tb) if ta | tb else 1.0


@dataclass(frozen=True)
class Conflict:
    pair: DupePair
    a_answer: str
    b_answer: str
    answer_similarity: float
    measure: str  # "cosine" (the pair's encoder on the answers) or "jaccard" (tokens)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.pair.to_dict(),
            "a_answer": self.a_answer,
            "b_answer": self.b_answer,
            "answer_similarity": round(self.answer_similarity, 4),
            "measure": self.measure,
        }


#: embed(encoder id, texts) -> unit rows, or None when that encoder cannot run.
Embed = Callable[[str, list[str]], np.ndarray | None]


def conflicts(
    pairs: Sequence[DupePair],
    answers: Mapping[str, str],
    embed: Embed | None = None,
    threshold: float | None = None,
) -> list[Conflict]:
    """The near-duplicate pairs whose answers differ, in the order given.

    Answers differ when they are not equal after folding case and spaces, do not state the same
    numbers, and are less similar than the pair's duplicate threshold (cosine of the pair's
    encoder on the answers; ANSWER_JACCARD on their tokens when `embed` gives no vectors). An
    empty answer is left to `qa check`.
    """
    todo = []
    for p in pairs:
        a, b = answers[p.a], answers[p.b]
        if a.strip() and b.strip() and _fold_answer(a) != _fold_answer(b):
            todo.append(p)
    cos: dict[tuple[str, str], float] = {}
    if embed is not None:
        by_enc: dict[str, list[DupePair]] = {}
        for p in todo:
            if p.encoder:
                by_enc.setdefault(p.encoder, []).append(p)
        for enc, ps in by_enc.items():
            texts = sorted({answers[x] for p in ps for x in (p.a, p.b)})
            vecs = embed(enc, texts)
            if vecs is None:
                continue
            row = {t: vecs[i] for i, t in enumerate(texts)}
            for p in ps:
                cos[(p.a, p.b)] = float(row[answers[p.a]] @ row[answers[p.b]])
    out = []
    for p in todo:
        a, b = answers[p.a], answers[p.b]
        if (p.a, p.b) in cos:
            s, measure, same = cos[(p.a, p.b)], "cosine", threshold_for(p.encoder, threshold)
        else:
            s, measure, same = jaccard(a, b), "jaccard", ANSWER_JACCARD
        if s < same or sorted(_NUMBER.findall(a)) != sorted(_NUMBER.findall(b)):
            out.append(Conflict(p, a, b, s, measure))
    return out


def encoder_embed(encoders: Iterable[Encoder]) -> Embed:
    """An Embed over these encoders: None for one that is not among them or cannot run."""
    by_id = {e.id: e for e in encoders}

    def embed(encoder: str, texts: list[str]) -> np.ndarray | None:
        if encoder not in by_id:
            return None
        try:
            return by_id[encoder].embed(texts)
        except EncoderError:
            return None

    return embed


# ---- what an import brought in ------------------------------------------------------------------
@dataclass(frozen=True)
class ChangedReport:
    """The near-duplicates (and, of those, the conflicting answers) of the entries an import added
    or changed, each compared with the whole KB; `checked` is how many entries that was."""

    checked: int
    pairs: list[DupePair]
    conflicts: list[Conflict]

    def to_dict(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "duplicates": [p.to_dict() for p in self.pairs],
            "conflicts": [c.to_dict() for c in self.conflicts],
        }


def check_changed(
    index: SearchIndex,
    calibration: Calibration,
    changed: Iterable[str],
    answers: Mapping[str, str],
    embed: Embed | None = None,
    threshold: float | None = None,
) -> ChangedReport:
    """Near-duplicates and conflicting answers of the entries `changed` (ids) against the KB in
    `index`: only their texts are compared with the rest (qa.curate.duplicates.dupes with `among`)."""
    pos = {eid: i for i, eid in enumerate(index.entry_ids)}
    among = sorted({pos[eid] for eid in changed if eid in pos})
    pairs = dupes(index, threshold, calibration, among=among) if among else []
    return ChangedReport(len(among), pairs, conflicts(pairs, answers, embed, threshold))
