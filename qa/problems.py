"""Problems in a KB: conflicting answers of near-duplicate entries (qa.duplicates finds those),
what an import brought in, and the `qa check` report.

Pure functions over a SearchIndex (its stored text vectors) and entries: no encoder runs here,
except through the `embed` callback `conflicts` is given for answer texts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qa.duplicates import DupePair, dupes, exact_duplicates, normalise_text, threshold_for
from qa.encoders.base import Encoder
from qa.errors import EncoderError
from qa.kb.entry import Entry
from qa.retrieval.calibration import Calibration
from qa.retrieval.index import SearchIndex
from qa.selftest import SelfTest
from qa.text import detect_lang

#: Two answers with at least this token overlap are the same answer reworded (no encoder at hand).
ANSWER_JACCARD = 0.7

_TOKEN = re.compile(r"\w+", re.UNICODE)
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


# ---- conflicting answers -------------------------------------------------------------------------
def _fold_answer(text: str) -> str:
    return " ".join(text.casefold().split())


def _tokens(text: str) -> set[str]:
    text = text.casefold()
    return set(_TOKEN.findall(_HAN.sub(" ", text))) | set(_HAN.findall(text))


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
    `index`: only their texts are compared with the rest (qa.duplicates.dupes with `among`)."""
    pos = {eid: i for i, eid in enumerate(index.entry_ids)}
    among = sorted({pos[eid] for eid in changed if eid in pos})
    pairs = dupes(index, threshold, calibration, among=among) if among else []
    return ChangedReport(len(among), pairs, conflicts(pairs, answers, embed, threshold))


# ---- the check report ----------------------------------------------------------------------------
SEVERITIES = ("error", "warning", "info")


@dataclass
class Section:
    name: str
    severity: str  # error | warning | info
    title: str
    items: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "title": self.title, "count": len(self.items), "items": self.items}


@dataclass
class Report:
    sections: list[Section]
    languages: dict[str, int]
    n_entries: int
    usage_recorded: bool  # the KB has logged questions or feedback to judge "never chosen" by

    def count(self, severity: str) -> int:
        return sum(len(s.items) for s in self.sections if s.severity == severity)

    def failed(self, strict: bool = False) -> bool:
        return self.count("error") > 0 or (strict and self.count("warning") > 0)

    def to_dict(self, strict: bool = False) -> dict[str, Any]:
        return {
            "ok": not self.failed(strict),
            "strict": strict,
            "errors": self.count("error"),
            "warnings": self.count("warning"),
            "entries": self.n_entries,
            "languages": self.languages,
            "usage_recorded": self.usage_recorded,
            "sections": {s.name: s.to_dict() for s in self.sections},
        }


def used_entries(log: Iterable[Mapping[str, Any]], feedback_ids: Iterable[str]) -> set[str]:
    """Entries that feedback names, or that a logged question had as its best guess or a suggestion."""
    used = set(feedback_ids)
    for row in log:
        if row.get("entry_id"):
            used.add(row["entry_id"])
        sugg = row.get("suggestions") or []
        used.update(json.loads(sugg) if isinstance(sugg, str) else sugg)
    return used


def check(
    entries: Sequence[Entry],
    index: SearchIndex,
    selftest: SelfTest,
    used: set[str],
    usage_recorded: bool,
) -> Report:
    """Everything `qa check` reports, as sections of findings (errors, warnings, information)."""
    empty = Section("empty_answers", "error", "entries with an empty answer")
    exact = Section("exact_duplicates", "error", "the same text in two entries")
    no_alts = Section("no_alternates", "warning", "entries without alternates")
    retrieves = Section("retrieves_other_entry", "warning", "texts that retrieve another entry (qa selftest)")
    mixed = Section("mixed_languages", "warning", "alternates in another language than their question")
    unused = Section("never_chosen_or_suggested", "info", "entries never chosen (feedback) nor suggested (log)")
    for e in entries:
        if not e.answer.strip():
            empty.items.append({"entry_id": e.id, "question": e.question})
        if not e.alternates:
            no_alts.items.append({"entry_id": e.id, "question": e.question})
        qlang = detect_lang(e.question)
        other = [a for a in e.alternates if detect_lang(a) != qlang]
        if other:
            mixed.items.append({"entry_id": e.id, "question": e.question, "lang": qlang, "alternates": other})
        if usage_recorded and e.id not in used:
            unused.items.append({"entry_id": e.id, "question": e.question})
    shared = set()
    for p in exact_duplicates(index):
        exact.items.append(p.to_dict())
        shared.update({(p.a, normalise_text(p.a_text)), (p.b, normalise_text(p.b_text))})
    for f in selftest.failures:
        if (f.entry_id, normalise_text(f.text)) not in shared:
            retrieves.items.append({"entry_id": f.entry_id, "text": f.text, "retrieves": f.got})
    langs: dict[str, int] = {}
    for e in entries:
        langs[e.lang or "?"] = langs.get(e.lang or "?", 0) + 1
    return Report(
        [empty, exact, no_alts, retrieves, mixed, unused],
        dict(sorted(langs.items(), key=lambda kv: -kv[1])),
        len(entries),
        usage_recorded,
    )
