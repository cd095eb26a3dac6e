"""Near-duplicate entries: pairs of entries whose questions or alternates ask the same question.

Four reasons, strongest first: the same text (case, width, punctuation and spacing folded), the
same words (spacing and plural -s folded too), stored vectors at a cosine threshold per encoder,
and the spelling rule (character n-grams, confirmed by the KB's own calibrated answer). Pure
functions over a SearchIndex and its calibration: no encoder runs here. The signals themselves are
in qa.curate.likeness.
"""

from __future__ import annotations

import re
import shlex
import unicodedata
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from qa.curate.likeness import answered_by, fold, lexical_pairs, nearest, ngram_matrix
from qa.retrieval.calibration import Calibration
from qa.retrieval.index import SearchIndex
from qa.text import normalise_text

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

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def threshold_for(encoder: str | None, threshold: float | None = None) -> float:
    if threshold is not None:
        return threshold
    return DEFAULT_THRESHOLDS.get(encoder or "", FALLBACK_THRESHOLD)


# ---- near-duplicates ----------------------------------------------------------------------------
#: The spelling rule (beside the cosine): two texts of different entries whose character trigrams
#: (case, width, punctuation, spacing and plural -s folded away: qa.curate.likeness) have at least this
#: cosine, that state the same numbers, and one of which the KB answers with the other's entry at
#: ANSWERED_CONFIDENCE or more when its own entry is hidden. It finds typos one encoder's cosine
#: misses ("how many calroies in this slice of pizza": MiniLM .87). bench/dupes.py plants 30
#: variants in ../shared/data: all four reasons list 30 (the same text and the cosine: 24), 3 by
#: spelling alone; between original entries, spelling adds 2 pairs on the seven sets of distinct
#: entries ("what do i need to change my oil" ~ "do i need to change my oil") and 2 real rewordings
#: on tianchi_covid_zh. At .7 it adds 3 more of distinct entries ("For what reason did my top-up
#: fail?" ~ "... get cancelled?"); at .8 it misses "How can i cancle my order".
SPELLING_SIMILARITY = 0.75
#: At .7 spelling adds "鼻疽假单胞菌肺炎的治疗方法有哪些" ~ "铜绿假单胞菌..." (two bacteria), at .5
#: seven more such pairs ("六个月的宝宝..." ~ "两个月的宝宝..."); at .9 it misses a planted typo and
#: both real rewordings.
ANSWERED_CONFIDENCE = 0.8
#: Why a pair is listed, strongest first.
REASONS = ("same text", "same words", "cosine", "spelling")


@dataclass(frozen=True)
class DupePair:
    """Two entries with near-duplicate texts; `a` comes first in the KB (the one to keep).

    `how`: "same text" (equal once case, width, punctuation and spacing are folded), "same words"
    (equal once spacing and plural -s are folded too: "Red Robin" / "redrobin"), "cosine" (stored
    vectors at the encoder's threshold) or "spelling" (character n-grams, with `confidence`: the KB
    answers one text with the other's entry at that confidence). `similarity` is 1.0 for the first
    two, else the cosine or the n-gram similarity.
    """

    a: str
    b: str
    a_text: str
    b_text: str
    similarity: float
    encoder: str | None  # the encoder that compares the two entries' languages
    exact: bool  # the same text once case, punctuation and spacing are folded
    how: str = "cosine"
    confidence: float | None = None

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
            "how": self.how,
            "confidence": None if self.confidence is None else round(self.confidence, 4),
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


def _among(index: SearchIndex, among: Iterable[int] | None) -> np.ndarray | None:
    """The texts of the entries `among` (None: every text)."""
    if among is None:
        return None
    return np.flatnonzero(np.isin(index.text_entry, np.fromiter(among, dtype=np.int64)))


def same_words(index: SearchIndex, among: Iterable[int] | None = None) -> list[DupePair]:
    """Pairs of entries sharing a text once folded (qa.curate.likeness.fold), similarity 1.0; `exact` when
    they share one after normalise_text alone. Needs no vectors. With `among` (entry indices), only
    pairs with at least one of those entries."""
    wanted = None if among is None else set(among)
    groups: dict[str, dict[int, dict[str, int]]] = {}  # folded -> entry -> normalised -> first text
    for t, text in enumerate(index.texts):
        byentry = groups.setdefault(fold(text), {})
        byentry.setdefault(int(index.text_entry[t]), {}).setdefault(normalise_text(text), t)
    route = _route(index)
    out = []
    for owners in groups.values():
        ents = sorted(owners)
        if len(ents) < 2 or (wanted is not None and not wanted.intersection(ents)):
            continue
        for i, ea in enumerate(ents):
            for eb in ents[i + 1 :]:
                if wanted is not None and ea not in wanted and eb not in wanted:
                    continue
                shared = owners[ea].keys() & owners[eb].keys()
                key = min(shared) if shared else None
                ta = owners[ea][key] if key is not None else min(owners[ea].values())
                tb = owners[eb][key] if key is not None else min(owners[eb].values())
                ids, texts = index.entry_ids, index.texts
                how = "same text" if shared else "same words"
                out.append(DupePair(ids[ea], ids[eb], texts[ta], texts[tb], 1.0, route(ea, eb), bool(shared), how))
    return out


def exact_duplicates(index: SearchIndex) -> list[DupePair]:
    """Pairs of entries sharing a text (after normalise_text); similarity 1.0. Needs no vectors."""
    return [p for p in same_words(index) if p.exact]


def near_duplicates(
    index: SearchIndex, threshold: float | None = None, *, k: int = NEIGHBOURS, among: Iterable[int] | None = None
) -> list[tuple[int, int, int, int, float, str]]:
    """(entry a, entry b, text a, text b, cosine, encoder) of the best text pair of each pair of
    entries at or above the threshold, a < b, compared by the encoder their languages route to.
    With `among` (entry indices), only their texts are compared with the rest."""
    route = _route(index)
    asked = _among(index, among)
    langs = sorted(set(index.entry_langs))
    primary = {index.encoder_for(a, b) for a in langs for b in langs}  # a helper compares no pair
    best: dict[tuple[int, int], tuple[int, int, int, int, float, str]] = {}
    for enc, sig in index.signals.items():
        if len(sig.text_idx) < 2 or enc not in primary:
            continue
        owner = index.text_entry[sig.text_idx]
        floor = threshold_for(enc, threshold)
        rows = None if asked is None else np.flatnonzero(np.isin(sig.text_idx, asked))
        if rows is not None and not len(rows):
            continue
        nb, sims = nearest(sig.vectors, owner, k, floor=floor, rows=rows)
        rows = np.arange(len(sig.text_idx)) if rows is None else rows
        found_r, found_c = np.nonzero(sims >= floor)
        for r, c in zip(found_r.tolist(), found_c.tolist(), strict=True):
            ta, tb = int(sig.text_idx[rows[r]]), int(sig.text_idx[nb[r, c]])
            ea, eb = int(index.text_entry[ta]), int(index.text_entry[tb])
            if ea > eb:
                ea, eb, ta, tb = eb, ea, tb, ta
            if route(ea, eb) != enc:
                continue
            s = float(sims[r, c])
            if (ea, eb) not in best or s > best[(ea, eb)][4]:
                best[(ea, eb)] = (ea, eb, ta, tb, s, enc)
    return list(best.values())


def spelling_duplicates(
    index: SearchIndex,
    calibration: Calibration,
    *,
    among: Iterable[int] | None = None,
    similarity: float = SPELLING_SIMILARITY,
    confidence: float = ANSWERED_CONFIDENCE,
    skip: Container[tuple[int, int]] = (),
) -> list[tuple[int, int, int, int, float, float]]:
    """(entry a, entry b, text a, text b, n-gram similarity, confidence) of the best text pair of
    each pair of entries the spelling rule finds (see SPELLING_SIMILARITY), a < b. Only the texts
    of candidate pairs are asked against the KB, and none for the entry pairs in `skip` (found
    already). With `among`, only their texts are compared."""
    asked = _among(index, among)
    rows, cols, sims = lexical_pairs(ngram_matrix(index.texts), similarity, index.text_entry, rows=asked)
    answers: dict[int, dict[int, float]] = {}

    def conf(t: int, other: int) -> float:
        if t not in answers:
            answers[t] = answered_by(index, calibration, t)
        return answers[t].get(other, 0.0)

    best: dict[tuple[int, int], tuple[int, int, int, int, float, float]] = {}
    for ta, tb, s in sorted(zip(rows.tolist(), cols.tolist(), sims.tolist(), strict=True), key=lambda x: -x[2]):
        ea, eb = int(index.text_entry[ta]), int(index.text_entry[tb])
        if ea > eb:
            ea, eb, ta, tb = eb, ea, tb, ta
        if (ea, eb) in best or (ea, eb) in skip or _numbers(index.texts[ta]) != _numbers(index.texts[tb]):
            continue
        c = conf(ta, eb)
        if c < confidence:  # the other way round: is the other text answered by this entry?
            c = max(c, conf(tb, ea))
        if c >= confidence:
            best[(ea, eb)] = (ea, eb, ta, tb, s, c)
    return list(best.values())


def _numbers(text: str) -> list[str]:
    return sorted(_NUMBER.findall(unicodedata.normalize("NFKC", text)))


def dupes(
    index: SearchIndex,
    threshold: float | None = None,
    calibration: Calibration | None = None,
    *,
    among: Iterable[int] | None = None,
) -> list[DupePair]:
    """Pairs of different entries with near-duplicate texts, most similar first: the same words
    (at 1.0), stored vectors at the cosine threshold, and (given the KB's `calibration`) the
    spelling rule. With `among` (entry indices: what an import changed), only pairs with at least
    one of them, each of their texts compared with the whole KB (no n x n pass)."""
    among = None if among is None else sorted(set(among))
    pos = {eid: i for i, eid in enumerate(index.entry_ids)}
    found = {(pos[p.a], pos[p.b]): p for p in same_words(index, among)}
    ids, texts = index.entry_ids, index.texts
    for ea, eb, ta, tb, s, enc in near_duplicates(index, threshold, among=among):
        if (ea, eb) not in found:
            found[(ea, eb)] = DupePair(ids[ea], ids[eb], texts[ta], texts[tb], s, enc, False)
    if calibration is not None:
        route = _route(index)
        for ea, eb, ta, tb, s, c in spelling_duplicates(index, calibration, among=among, skip=found.keys()):
            found[(ea, eb)] = DupePair(ids[ea], ids[eb], texts[ta], texts[tb], s, route(ea, eb), False, "spelling", c)

    def order(key: tuple[int, int]) -> tuple[float, int, tuple[int, int]]:
        return (-found[key].similarity, REASONS.index(found[key].how), key)

    return [found[key] for key in sorted(found, key=order)]
