"""Problems in a KB: near-duplicate entries, conflicting answers, and the `qa check` report.

Pure functions over a SearchIndex (its stored text vectors) and entries: no encoder runs here,
except through the `embed` callback `conflicts` is given for answer texts.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qa.kb.entry import Entry
from qa.retrieval.index import SearchIndex
from qa.selftest import SelfTest
from qa.text import detect_lang

#: Cosine (between texts of two different entries, with the encoder that compares their
#: languages) from which a pair is reported as a near-duplicate. Measured by bench/dupes.py (auto
#: model): each text's best similarity to a text of ANOTHER entry (distinct intents) vs. to another
#: text of its own entry (paraphrases):
#:   MiniLM clinc150:  cross p50 .52 p99 .81 max .90; share >= .90: 0.1% (paraphrases: 29%);
#:                     entry pairs flagged at .85/.88/.90/.92: 4/2/1/0 ("that is actually false" ~
#:                     "that is not false")
#:   MiniLM banking77: cross p50 .69 p99 .88 max .93; share >= .90: 0.8% (paraphrases: 19%);
#:                     pairs flagged at .85/.88/.90/.92: 8/4/2/1 ("Where can I get my card PIN?" ~
#:                     "Where do I find PIN for my card?")
#:   e5 on the same English texts: cross p99 .96/.97, max .98/.98; share >= .98: 0% / 0.4%
#:                     (paraphrases: 19% / 7%). e5 serves Chinese and cross-language pairs: on
#:                     tianchi_covid_zh (1872 short medical questions, many real paraphrases) .98
#:                     flags 703 pairs, mostly rewordings; .97 adds "60岁…" ~ "30岁…".
DEFAULT_THRESHOLDS = {"minilm-l6-int8": 0.90, "e5-small-q4": 0.98}
#: For encoders not measured (the test fake, USE, word vectors).
FALLBACK_THRESHOLD = 0.90
#: Neighbours kept per text: a pair of entries is found from either of its texts.
NEIGHBOURS = 5
#: Rows of the similarity matrix computed at once, and the cap on its cells (64 MB of float32;
#: with argpartition's indices about 250 MB at the peak).
BLOCK_ROWS = 2048
BLOCK_CELLS = 1 << 24
#: Two answers with at least this token overlap are the same answer reworded (no encoder at hand).
ANSWER_JACCARD = 0.7

_PUNCT = {"P", "S"}
_TOKEN = re.compile(r"\w+", re.UNICODE)
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def normalise_text(text: str) -> str:
    """Case, width, punctuation and spacing folded: the key of exact duplicates."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(" " if unicodedata.category(c)[0] in _PUNCT else c for c in text)
    return " ".join(text.split())


def threshold_for(encoder: str | None, threshold: float | None = None) -> float:
    if threshold is not None:
        return threshold
    return DEFAULT_THRESHOLDS.get(encoder or "", FALLBACK_THRESHOLD)


# ---- near-duplicates -----------------------------------------------------------------------------
def nearest(
    vectors: np.ndarray,
    owner: np.ndarray,
    k: int = NEIGHBOURS,
    *,
    floor: float | None = None,
    block_rows: int = BLOCK_ROWS,
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's `k` most similar rows of another owner, best first: (indices, cosines), both (n, k).

    Unit rows, so a dot product is the cosine. Computed a block of rows at a time (at most
    BLOCK_CELLS similarities in memory), never the n x n matrix. With `floor`, only neighbours at
    or above it are kept (twice as fast: no partial sort of every row). Missing ones are -1 / -inf.
    For scale (2 cores, 384 dimensions, with `floor`): 20k texts take 5 s, 100k take 77 s.
    """
    from threadpoolctl import threadpool_limits

    n = len(vectors)
    k = max(0, min(k, n - 1))
    idx = np.full((n, k), -1, dtype=np.int64)
    sim = np.full((n, k), -np.inf, dtype=np.float32)
    if k == 0:
        return idx, sim
    rows = max(1, min(block_rows, BLOCK_CELLS // n))
    # a matrix product, not one question: BLAS threads help here (the Bot limits them to one)
    with threadpool_limits(limits=os.cpu_count(), user_api="blas"):
        for start in range(0, n, rows):
            stop = min(n, start + rows)
            s = vectors[start:stop] @ vectors.T
            s *= -1  # in place: the best neighbours are the smallest
            s[owner[start:stop, None] == owner[None, :]] = np.inf
            if floor is None:
                part = np.argpartition(s, k - 1, axis=1)[:, :k]
                ps = np.take_along_axis(s, part, axis=1)
                order = np.argsort(ps, axis=1, kind="stable")
                idx[start:stop] = np.take_along_axis(part, order, axis=1)
                sim[start:stop] = -np.take_along_axis(ps, order, axis=1)
                continue
            r, c = np.nonzero(s <= -floor)
            vals = -s[r, c]
            order = np.lexsort((-vals, r))
            r, c, vals = r[order], c[order], vals[order]
            rank = np.arange(len(r)) - np.searchsorted(r, r)
            keep = rank < k
            idx[start + r[keep], rank[keep]] = c[keep]
            sim[start + r[keep], rank[keep]] = vals[keep]
    idx[~np.isfinite(sim)] = -1
    return idx, np.minimum(sim, 1.0)


@dataclass(frozen=True)
class DupePair:
    """Two entries with near-duplicate texts; `a` comes first in the KB (the one to keep)."""

    a: str
    b: str
    a_text: str
    b_text: str
    similarity: float
    encoder: str | None  # the encoder that compares the two entries' languages
    exact: bool  # the same text once case, punctuation and spacing are folded

    @property
    def suggestion(self) -> str:
        return f"qa merge {shlex.quote(self.a)} {shlex.quote(self.b)}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a,
            "b": self.b,
            "a_text": self.a_text,
            "b_text": self.b_text,
            "similarity": round(self.similarity, 4),
            "encoder": self.encoder,
            "exact": self.exact,
            "suggestion": self.suggestion,
        }


def _route(index: SearchIndex) -> Callable[[int, int], str | None]:
    cache: dict[tuple[str, str], str | None] = {}

    def route(ea: int, eb: int) -> str | None:
        key = (index.entry_langs[ea], index.entry_langs[eb])
        if key not in cache:
            cache[key] = index.encoder_for(*key)
        return cache[key]

    return route


def exact_duplicates(index: SearchIndex) -> list[DupePair]:
    """Pairs of entries sharing a text (after normalise_text); similarity 1.0. Needs no vectors."""
    first: dict[str, dict[int, int]] = {}  # normalised text -> entry -> its first text with it
    for t, text in enumerate(index.texts):
        first.setdefault(normalise_text(text), {}).setdefault(int(index.text_entry[t]), t)
    route = _route(index)
    out = []
    for owners in first.values():
        ents = sorted(owners)
        for i, ea in enumerate(ents):
            for eb in ents[i + 1 :]:
                ta, tb = owners[ea], owners[eb]
                out.append(
                    DupePair(
                        index.entry_ids[ea],
                        index.entry_ids[eb],
                        index.texts[ta],
                        index.texts[tb],
                        1.0,
                        route(ea, eb),
                        True,
                    )
                )
    return out


def near_duplicates(
    index: SearchIndex, threshold: float | None = None, *, k: int = NEIGHBOURS
) -> list[tuple[int, int, int, int, float, str]]:
    """(entry a, entry b, text a, text b, cosine, encoder) of the best text pair of each pair of
    entries at or above the threshold, a < b, compared by the encoder their languages route to."""
    route = _route(index)
    best: dict[tuple[int, int], tuple[int, int, int, int, float, str]] = {}
    for enc, sig in index.signals.items():
        if len(sig.text_idx) < 2:
            continue
        owner = index.text_entry[sig.text_idx]
        floor = threshold_for(enc, threshold)
        nb, sims = nearest(sig.vectors, owner, k, floor=floor)
        rows, cols = np.nonzero(sims >= floor)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            ta, tb = int(sig.text_idx[r]), int(sig.text_idx[nb[r, c]])
            ea, eb = int(index.text_entry[ta]), int(index.text_entry[tb])
            if ea > eb:
                ea, eb, ta, tb = eb, ea, tb, ta
            if route(ea, eb) != enc:
                continue
            s = float(sims[r, c])
            if (ea, eb) not in best or s > best[(ea, eb)][4]:
                best[(ea, eb)] = (ea, eb, ta, tb, s, enc)
    return list(best.values())


def dupes(index: SearchIndex, threshold: float | None = None) -> list[DupePair]:
    """Pairs of different entries with near-duplicate texts, most similar first (exact ones at 1.0)."""
    pos = {eid: i for i, eid in enumerate(index.entry_ids)}
    found = {(pos[p.a], pos[p.b]): p for p in exact_duplicates(index)}
    for ea, eb, ta, tb, s, enc in near_duplicates(index, threshold):
        if (ea, eb) not in found:
            found[(ea, eb)] = DupePair(
                index.entry_ids[ea], index.entry_ids[eb], index.texts[ta], index.texts[tb], s, enc, False
            )
    return [found[key] for key in sorted(found, key=lambda key: (-found[key].similarity, key))]


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
