"""SearchIndex: the in-memory view of a KB used to score entries for one question.

Built from plain arrays (no database access). Each encoder gives a dense signal over the entries
whose language it serves; a question is scored with, per entry, the encoder chosen for the
(question language, entry language) pair, normalised with constants fixed per KB, plus a BM25
signal at a fixed weight.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from qa.retrieval.dense import CENTROID_WEIGHT, centroids, top2_mean
from qa.retrieval.head import Head
from qa.retrieval.lexical import LexicalIndex
from qa.retrieval.norms import cross_constants, norm_constants

#: The languages questions are detected in (qa.text.detect_lang), besides the KB's own.
QUESTION_LANGUAGES = ("en", "zh")
#: (encoder id, language) -> vectors of reference questions in that language, or None.
Reference = Callable[[str, str], "np.ndarray | None"]

#: Weight of the normalised BM25 score beside the z-scored dense one (bench/explore_scoring.py).
LEXICAL_WEIGHT = 0.5
#: Subtracted from entries in another language than the question, when the KB has entries in the
#: question's language: a bilingual KB answers in the language asked (its e5 cross-language scores
#: ran above MiniLM's same-language ones for one-word English questions).
CROSS_LANGUAGE_PENALTY = 1.5
#: Weight of a helper encoder's z-scored dense score beside the primary encoder's (USE beside
#: MiniLM for English, beside e5 for Chinese and across languages): bench/explore_scoring.py.
HELPER_WEIGHT = 0.5
#: Entries per route whose texts are scored one by one after the centroid pass.
CANDIDATES = 200
NEG = np.float32(-1e9)


@dataclass(frozen=True)
class Mix:
    """How one language pair's signals add up: (encoder, weight) pairs, the first of which picks
    the candidates of a large KB, and the weight of BM25. Chosen per KB by measuring it
    (retrieval/selfmeasure.py); a pair without one gets `SearchIndex.default_mix`."""

    parts: tuple[tuple[str, float], ...]
    lexical: float = LEXICAL_WEIGHT

    def to_json(self) -> dict:
        return {"parts": [[e, w] for e, w in self.parts], "lexical": self.lexical}

    @classmethod
    def from_json(cls, d: dict) -> Mix:
        return cls(tuple((str(e), float(w)) for e, w in d["parts"]), float(d["lexical"]))

    def label(self) -> str:
        return "+".join(e for e, _ in self.parts)


@dataclass
class DenseSignal:
    encoder_id: str
    entry_idx: np.ndarray  # the entries this signal covers (indices into SearchIndex.entry_ids)
    text_idx: np.ndarray  # their texts (indices into SearchIndex.texts), grouped by entry
    starts: np.ndarray  # start row of each covered entry within `vectors`
    vectors: np.ndarray  # (len(text_idx), dim) unit rows
    cents: np.ndarray  # (len(entry_idx), dim)
    ends: np.ndarray  # end row (exclusive) of each covered entry within `vectors`
    mu: float  # mean and spread of the cosine between unrelated texts of the KB (any languages)
    sd: float
    _reduced: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @property
    def reducible(self) -> bool:
        return len(self.entry_idx) > 4 * CANDIDATES and self.cents.shape[1] > REDUCED_DIM

    def reduced(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(basis, centroids in it) for the first pass of a large KB, computed on first use (an
        SVD: 0.07 s at 1k entries; a helper encoder, which never runs a first pass, never pays it)."""
        if self._reduced is None and self.reducible:
            self._reduced = reduce(self.cents)  # two threads may both compute it: same result
        return self._reduced


REDUCED_DIM = 128


def reduce(cents: np.ndarray, dim: int = REDUCED_DIM, sample: int = 5000) -> tuple[np.ndarray, np.ndarray]:
    """A basis of the centroids' top singular directions (from a seeded sample) and the centroids in it.

    The first pass over a large KB then reads a third of the memory; candidates are rescored exactly.
    On tianchi_covid_zh (e5, 1872 entries) the 200 candidates held every query's exact top 5 (3000 of
    3000); with 64 dimensions 22 queries lost one.
    """
    rng = np.random.default_rng(0)
    rows = cents if len(cents) <= sample else cents[rng.choice(len(cents), sample, replace=False)]
    _, _, vt = np.linalg.svd(rows, full_matrices=False)
    basis = np.ascontiguousarray(vt[:dim], dtype=np.float32)
    return basis, np.ascontiguousarray(cents @ basis.T, dtype=np.float32)


@dataclass
class Scored:
    """Scores of every entry for one question, with the parts they were made of (for /why)."""

    fused: np.ndarray  # what entries are ranked by
    dense: np.ndarray  # z-scored dense part
    lexical: np.ndarray  # normalised BM25 part (before its weight)
    #: the learned head's part of `fused` (its weight included); None: no head was used
    learned: np.ndarray | None = None
    #: what the confidence is calibrated on (the head at its confidence weight); None: `fused`
    confidence: np.ndarray | None = None


@dataclass(frozen=True)
class Learned:
    """A head trained on one language's texts (qa/learned.py), scoring that language's entries
    for questions in it from the vectors of `encoders`, side by side."""

    lang: str
    encoders: tuple[str, ...]
    head: Head
    #: texts held out while training (indices into SearchIndex.texts) and their cross-fitted
    #: z-scored head scores over the language's entries: only right after training (selfcal.py)
    held: np.ndarray | None = None
    cross_fitted: np.ndarray | None = None

    def add_to(
        self, fused: np.ndarray, entries: np.ndarray, z: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`fused` with head scores `z` of `entries` added: (the ranking scores, the head's part of
        them, the scores the confidence is calibrated on). Entries already left out (NEG) stay out."""
        live = fused[entries] > NEG
        part = np.zeros(len(fused), dtype=np.float32)
        part[entries[live]] = self.head.weight * z[live]
        confidence = fused.copy()
        confidence[entries[live]] += self.head.confidence_weight * z[live]
        return fused + part, part, confidence

    def row(self, text: int) -> np.ndarray | None:
        """The cross-fitted head scores of stored text `text`, if it was held out."""
        if self.held is None or self.cross_fitted is None:
            return None
        i = int(np.searchsorted(self.held, text))
        return self.cross_fitted[i] if i < len(self.held) and self.held[i] == text else None


@dataclass
class SearchIndex:
    entry_ids: list[str]
    entry_langs: list[str]
    entry_tags: list[list[str]]
    texts: list[str]  # every question and alternate, grouped by entry
    text_entry: np.ndarray  # owner entry of each text
    signals: dict[str, DenseSignal]
    encoder_order: list[str]
    specialists: dict[str, frozenset[str]]  # encoder id -> languages it alone serves ({"*"} = all)
    lexical: LexicalIndex | None = None
    helpers: frozenset[str] = frozenset()  # encoders added at HELPER_WEIGHT to the primary one
    #: (encoder, question language, entry language) -> (mu, sd) that z-score that pair's cosines
    pair_norms: dict[tuple[str, str, str], tuple[float, float]] = field(default_factory=dict)
    #: (question language, entry language) -> the Mix measured for that pair (see `set_mixes`)
    mixes: dict[tuple[str, str], Mix] = field(default_factory=dict)
    #: encoder id -> about how many ms it takes to embed a question (what a mix costs)
    costs: dict[str, float] = field(default_factory=dict)
    #: encoders trained on search queries (Encoder.search_model)
    search_models: frozenset[str] = frozenset()
    #: vectors of everyday questions per (encoder, language), and their texts per language: the
    #: scale of a question language the KB has no texts in, and out-of-scope examples (selfcal.py)
    reference: Reference | None = None
    reference_texts: Callable[[str], Sequence[str]] | None = None
    #: language -> the head trained on its texts (qa/learned.py), if it has one
    heads: dict[str, Learned] = field(default_factory=dict)
    starts: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.starts = np.searchsorted(self.text_entry, np.arange(len(self.entry_ids)))
        self._routes: dict[str, list[Route]] = {}
        self._pos: dict[tuple, np.ndarray] = {}

    @property
    def n(self) -> int:
        return len(self.entry_ids)

    # ---- construction ------------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        *,
        entry_ids: Sequence[str],
        entry_langs: Sequence[str],
        entry_tags: Sequence[list[str]],
        texts: Sequence[str],
        text_entry: np.ndarray,
        vectors: Mapping[str, np.ndarray],
        languages: Mapping[str, frozenset[str]],
        lexical: bool = True,
        norms: Mapping[str, tuple[float, float]] | None = None,
        helpers: frozenset[str] = frozenset(),
        reference: Reference | None = None,
        reference_texts: Callable[[str], Sequence[str]] | None = None,
        costs: Mapping[str, float] | None = None,
        search_models: frozenset[str] = frozenset(),
    ) -> SearchIndex:
        """`vectors[enc]` has one row per text (NaN rows for texts that encoder does not embed).

        `norms` are constants stored with the KB (see `stored_norms`); missing ones are measured,
        those for questions in a language a one-language KB lacks with `reference` vectors.
        """
        text_entry = np.asarray(text_entry, dtype=np.int64)
        signals = {}
        for enc, mat in vectors.items():
            langs = languages[enc]
            covered = np.array([i for i, lg in enumerate(entry_langs) if "*" in langs or lg in langs], dtype=np.int64)
            tmask = np.isin(text_entry, covered)
            tidx = np.flatnonzero(tmask)
            sub = mat[tidx]
            owner = text_entry[tidx]
            starts = np.searchsorted(owner, covered)
            if norms and enc in norms:
                mu, sd = norms[enc]
            else:
                mu, sd = norm_constants(sub, owner)
            cents = centroids(sub, starts) if len(tidx) else np.zeros((0, mat.shape[1]), np.float32)
            signals[enc] = DenseSignal(
                enc,
                covered,
                tidx,
                starts,
                sub,
                cents,
                np.searchsorted(owner, covered, side="right"),
                mu,
                sd,
            )
        lex = LexicalIndex(texts) if lexical and len(texts) else None
        index = cls(
            list(entry_ids),
            list(entry_langs),
            [list(t) for t in entry_tags],
            list(texts),
            text_entry,
            signals,
            list(vectors),
            dict(languages),
            lex,
            frozenset(h for h in helpers if h in vectors),
            costs=dict(costs or {}),
            search_models=frozenset(search_models),
            reference=reference,
            reference_texts=reference_texts,
        )
        index._measure_pair_norms(norms or {}, reference)
        return index

    # ---- the fixed normalisation, per language pair ------------------------------------------
    def _measure_pair_norms(self, stored: Mapping[str, tuple[float, float]], reference: Reference | None) -> None:
        langs = list(dict.fromkeys(self.entry_langs))
        for qlang in dict.fromkeys([*QUESTION_LANGUAGES, *langs]):
            for elang in langs:
                for enc in self.candidate_encoders(qlang, elang):
                    key = (enc, qlang, elang)
                    got = stored.get(pair_key(*key))
                    self.pair_norms[key] = (float(got[0]), float(got[1])) if got else self._pair_norm(*key, reference)

    def _pair_norm(self, enc: str, qlang: str, elang: str, reference: Reference | None) -> tuple[float, float]:
        sig = self.signals[enc]
        if qlang == elang or len(set(self.entry_langs)) > 1 or reference is None:
            # Within one language, and in a KB with entries in several languages (whose questions
            # are answered from entries in their own language first): one scale over all its texts.
            return sig.mu, sig.sd
        ref_q = reference(enc, qlang)
        if ref_q is None or not len(ref_q):
            return sig.mu, sig.sd  # nothing better known
        q_mu, q_sd = cross_constants(np.asarray(ref_q, dtype=np.float32), sig.vectors)
        ref_e = reference(enc, elang)
        if ref_e is None or not len(ref_e):
            return q_mu, q_sd
        # The KB's own scale, moved by what the question language changes for the same reference
        # questions (the two lists are translations of each other): see norms.py.
        e_mu, e_sd = cross_constants(np.asarray(ref_e, dtype=np.float32), sig.vectors)
        return sig.mu + q_mu - e_mu, sig.sd * q_sd / e_sd

    def norm_for(self, enc: str, qlang: str, elang: str) -> tuple[float, float]:
        got = self.pair_norms.get((enc, qlang, elang))
        if got is None:
            sig = self.signals[enc]
            return sig.mu, sig.sd
        return got

    def stored_mixes(self) -> dict[str, dict]:
        return {f"{q}>{e}": m.to_json() for (q, e), m in self.mixes.items()}

    def stored_norms(self) -> dict[str, list[float]]:
        """The constants to store with the KB, so they stay fixed until it is recalibrated."""
        out = {enc: [sig.mu, sig.sd] for enc, sig in self.signals.items()}
        out.update({pair_key(*k): [v[0], v[1]] for k, v in self.pair_norms.items()})
        return out

    # ---- routing -----------------------------------------------------------------------------
    def encoder_for(self, qlang: str, elang: str) -> str | None:
        """The encoder that picks a language pair's candidates (the first of its mix)."""
        parts = self.encoders_for(qlang, elang)
        return parts[0][0] if parts else None

    def default_primary(self, qlang: str, elang: str) -> str | None:
        """The primary encoder of a language pair by default: a specialist serving both languages
        if there is one, else the first multilingual encoder that is not a helper, else the first
        helper."""
        for enc in self.encoder_order:
            langs = self.specialists[enc]
            if "*" not in langs and qlang in langs and elang in langs and enc not in self.helpers:
                return enc
        for helper_pass in (False, True):
            for enc in self.encoder_order:
                if "*" in self.specialists[enc] and (enc in self.helpers) == helper_pass:
                    return enc
        return self.encoder_order[0] if self.encoder_order else None

    def _serves(self, enc: str, qlang: str, elang: str) -> bool:
        langs = self.specialists[enc]
        return "*" in langs or (qlang in langs and elang in langs)

    def default_mix(self, qlang: str, elang: str) -> Mix:
        """The primary at 1, every helper that serves the pair at HELPER_WEIGHT, BM25 at LEXICAL_WEIGHT."""
        primary = self.default_primary(qlang, elang)
        if primary is None:
            return Mix((), LEXICAL_WEIGHT)
        extra = [(h, HELPER_WEIGHT) for h in self.encoder_order if h in self.helpers and h != primary]
        return Mix(((primary, 1.0), *((h, w) for h, w in extra if self._serves(h, qlang, elang))), LEXICAL_WEIGHT)

    def mix_for(self, qlang: str, elang: str) -> Mix:
        return self.mixes.get((qlang, elang)) or self.default_mix(qlang, elang)

    def candidate_encoders(self, qlang: str, elang: str) -> list[str]:
        """Every encoder that can score this language pair (what a measured mix may choose from)."""
        return [e for e in self.encoder_order if self._serves(e, qlang, elang) and e in self.signals]

    def set_mixes(self, mixes: Mapping[tuple[str, str], Mix]) -> None:
        """Use these mixes (pairs not given keep theirs); encoders the index lacks are dropped."""
        for key, mix in mixes.items():
            parts = tuple((e, w) for e, w in mix.parts if e in self.signals and w > 0)
            if parts:
                self.mixes[key] = Mix(parts, mix.lexical)
        self._routes.clear()

    def encoders_for(self, qlang: str, elang: str) -> tuple[tuple[str, float], ...]:
        """(encoder, weight) pairs whose z-scored dense scores add up for this language pair."""
        return self.mix_for(qlang, elang).parts

    def routes(self, qlang: str) -> list[Route]:
        """For a question language: one route per entry language, covering every entry."""
        if qlang not in self._routes:
            by_lang: dict[str, list[int]] = {}
            for i, elang in enumerate(self.entry_langs):
                by_lang.setdefault(elang, []).append(i)
            out = []
            for elang, ix in by_lang.items():
                mix = self.mix_for(qlang, elang)
                if mix.parts:
                    out.append(Route(mix.parts, elang, np.array(ix, dtype=np.int64), mix.lexical))
            self._routes[qlang] = out
        return self._routes[qlang]

    def encoders_needed(self, qlang: str) -> list[str]:
        return list(dict.fromkeys(enc for r in self.routes(qlang) for enc, _ in r.parts))

    def label_for(self, qlang: str, elang: str) -> str:
        """The encoders behind one pair's dense score, for /why (e.g. 'minilm-l6-int8+use-m3')."""
        return "+".join(enc for enc, _ in self.encoders_for(qlang, elang))

    # ---- scoring -----------------------------------------------------------------------------
    def _positions(self, qlang: str, elang: str, enc: str, wanted: np.ndarray) -> np.ndarray:
        """Positions within signal `enc` of the entries `wanted` of one route (all covered by construction)."""
        key = (qlang, elang, enc)
        if key not in self._pos:
            sig = self.signals[enc]
            pos = np.searchsorted(sig.entry_idx, wanted)
            pos = np.minimum(pos, max(len(sig.entry_idx) - 1, 0))
            if not len(sig.entry_idx) or not (sig.entry_idx[pos] == wanted).all():
                raise ValueError(f"encoder {enc} does not cover every entry routed to it")
            self._pos[key] = pos
        return self._pos[key]

    def _other_language(self, qlang: str) -> np.ndarray | None:
        """Entries in another language than `qlang`, if the KB also has entries in `qlang`."""
        key = ("lang", qlang)
        if key not in self._pos:
            langs = np.array(self.entry_langs)
            same = langs == qlang
            self._pos[key] = ~same if same.any() and not same.all() else np.zeros(0, bool)
        mask = self._pos[key]
        return mask if len(mask) else None

    def _lexical(self, query_text: str, drop_text: int | None) -> np.ndarray:
        """Each entry's best BM25 score over its texts (text `drop_text` left out), or zeros."""
        if self.lexical is None:
            return np.zeros(self.n, dtype=np.float32)
        lt = self.lexical.scores(query_text)
        if drop_text is not None:
            lt[drop_text] = 0.0
        return np.maximum.reduceat(lt, self.starts).astype(np.float32)

    def score(
        self,
        qvecs: Mapping[str, np.ndarray],
        query_text: str,
        qlang: str,
        *,
        drop_text: int | None = None,
        drop_entry: int | None = None,
        allowed: np.ndarray | None = None,
        candidates: int = CANDIDATES,
        head: bool | None = None,
    ) -> Scored:
        """Score entries for one question; entries left out are at NEG.

        Two stages: the weighted sum of every entry's z-scored centroid cosines (plus BM25) picks
        `candidates` entries per route, and only their texts are scored for the top-2 part
        (0 = score every text). `allowed` masks entries out (tags); `drop_text`/`drop_entry`
        hide one text or entry (self-calibration).

        The head of the question's language (if any) joins the entries in that language unless
        `head` is False; by default it is left out when a text or entry is hidden: a stored text
        is one the head was trained on, and its own scores of it would be over-confident (the
        self-calibration adds the cross-fitted ones itself).
        """
        if head is None:
            head = drop_text is None and drop_entry is None
        lex = self._lexical(query_text, drop_text)
        dense = np.full(self.n, NEG, dtype=np.float32)
        lexw = np.zeros(self.n, dtype=np.float32)
        for route in self.routes(qlang):
            parts, wanted = route.parts, route.entries
            usable = [(self.signals[e], w) for e, w in parts if e in self.signals and e in qvecs]
            if not usable or len(usable) < len(parts):
                continue  # a missing vector would make this route's scores incomparable
            legs = [
                _Leg(
                    sig,
                    qvecs[sig.encoder_id],
                    w,
                    self._positions(qlang, route.elang, sig.encoder_id, wanted),
                    self.norm_for(sig.encoder_id, qlang, route.elang),
                )
                for sig, w in usable
            ]
            pick = np.arange(len(wanted)) if allowed is None else np.flatnonzero(allowed[wanted])
            first_pass = bool(candidates) and len(pick) > candidates
            drop_at = -1
            if drop_text is not None:
                j = int(np.searchsorted(wanted, self.text_entry[drop_text]))
                drop_at = j if j < len(wanted) and wanted[j] == self.text_entry[drop_text] else -1
            # With a first pass, only the primary encoder (and BM25) picks the candidates; helpers
            # score the candidates alone (at 10k entries: 0.2 ms less; the top five were the same).
            for k, leg in enumerate(legs):
                leg.centroid_pass(
                    approximate=first_pass, skip=first_pass and k > 0, drop_text=drop_text, drop_at=drop_at
                )
            if first_pass:
                prelim = route.lexical * lex[wanted[pick]] + legs[0].cent_z[pick]
                pick = pick[np.argpartition(-prelim, candidates - 1)[:candidates]]
            if not len(pick):
                continue
            total = np.zeros(len(pick), dtype=np.float32)
            for leg in legs:
                total += leg.w * leg.exact(pick)
            dense[wanted[pick]] = total
            lexw[wanted[pick]] = route.lexical
        fused = np.where(dense > NEG, dense + lexw * lex, NEG).astype(np.float32)
        other = self._other_language(qlang)
        if other is not None:
            fused[other & (fused > NEG)] -= CROSS_LANGUAGE_PENALTY
        learned = self.heads.get(qlang) if head else None
        part = None
        confidence = None
        if learned is not None and learned.head.weight > 0 and all(e in qvecs for e in learned.encoders):
            z = learned.head.scores(np.concatenate([np.asarray(qvecs[e], np.float32) for e in learned.encoders]))
            fused, part, confidence = learned.add_to(fused, self.routes_entries(qlang), z)
        if drop_entry is not None:
            fused[drop_entry] = NEG
            if confidence is not None:
                confidence[drop_entry] = NEG
        return Scored(fused, dense, lex, part, confidence)

    def routes_entries(self, lang: str) -> np.ndarray:
        """The entries in `lang`, in order (those a head of that language scores)."""
        key = ("entries", lang)
        if key not in self._pos:
            self._pos[key] = np.flatnonzero(np.array(self.entry_langs) == lang)
        return self._pos[key]

    def signal_scores(
        self,
        qvecs: Mapping[str, np.ndarray],
        query_text: str,
        lang: str,
        *,
        drop_text: int | None = None,
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Each signal alone, for a question in `lang` against the entries in `lang`: the entries'
        positions, and for every encoder that serves the pair its exact z-scored dense score, and
        BM25's under "bm25" (what measuring the KB weighs against each other: selfmeasure.py)."""
        wanted = self.routes_entries(lang)
        out: dict[str, np.ndarray] = {"bm25": self._lexical(query_text, drop_text)[wanted]}
        drop_at = -1
        if drop_text is not None:
            j = int(np.searchsorted(wanted, self.text_entry[drop_text]))
            drop_at = j if j < len(wanted) and wanted[j] == self.text_entry[drop_text] else -1
        for enc in self.candidate_encoders(lang, lang):
            if enc not in qvecs:
                continue
            leg = _Leg(
                self.signals[enc],
                qvecs[enc],
                1.0,
                self._positions(lang, lang, enc, wanted),
                self.norm_for(enc, lang, lang),
            )
            leg.centroid_pass(approximate=False, skip=False, drop_text=drop_text, drop_at=drop_at)
            out[enc] = leg.exact(np.arange(len(wanted)))
        return wanted, out

    def text_query_vectors(self, t: int) -> dict[str, np.ndarray]:
        """The stored vectors of text `t`, to ask it as a question (self-calibration, self-test)."""
        out = {}
        for enc, sig in self.signals.items():
            row = np.searchsorted(sig.text_idx, t)
            if row < len(sig.text_idx) and sig.text_idx[row] == t:
                out[enc] = sig.vectors[row]
        return out


def pair_key(enc: str, qlang: str, elang: str) -> str:
    return f"{enc}|{qlang}>{elang}"


@dataclass(frozen=True)
class Route:
    """The entries of one language, and the encoders (with weights) that score them for a question."""

    parts: tuple[tuple[str, float], ...]
    elang: str
    entries: np.ndarray
    lexical: float = LEXICAL_WEIGHT


class _Leg:
    """One encoder's part of a route's dense score: centroid z-scores first, exact ones for candidates."""

    def __init__(self, sig: DenseSignal, q: np.ndarray, w: float, pos: np.ndarray, norm: tuple[float, float]):
        self.sig, self.q, self.w, self.pos = sig, q, w, pos
        self.mu, self.sd = norm
        self.cent_z = np.empty(0, dtype=np.float32)
        self.exact_cent = True
        self.drop_row, self.drop_at, self.drop_cent = -1, -1, 0.0

    def centroid_pass(self, *, approximate: bool, skip: bool, drop_text: int | None, drop_at: int) -> None:
        """Centroid cosines of every entry of the route (approximate ones, only to pick candidates,
        when the signal has a reduced basis), or none at all (`skip`: exact() computes them)."""
        sig, q, pos = self.sig, self.q, self.pos
        if skip:
            cent = np.zeros(len(pos), dtype=np.float32)
            self.exact_cent = False
        elif approximate and (red := sig.reduced()) is not None:
            basis, reduced = red
            cent = (reduced @ (basis @ q))[pos]  # approximate: only picks candidates
            self.exact_cent = False
        else:
            cent = sig.cents[pos] @ q if len(pos) != len(sig.entry_idx) else (sig.cents @ q)[pos]
        if drop_text is not None and drop_at >= 0:
            r = int(np.searchsorted(sig.text_idx, drop_text))
            if r < len(sig.text_idx) and sig.text_idx[r] == drop_text:
                self.drop_row, self.drop_at = r, drop_at
                sp = pos[drop_at]
                a, b = sig.starts[sp], sig.ends[sp]
                rest = np.r_[a:r, r + 1 : b]
                if len(rest):
                    c = sig.vectors[rest].sum(0)
                    self.drop_cent = float(c @ q) / max(float(np.linalg.norm(c)), 1e-9)
                    cent[drop_at] = self.drop_cent
        self.cent = cent
        self.cent_z = (cent - self.mu) / self.sd

    def exact(self, pick: np.ndarray) -> np.ndarray:
        """z-scored centroid + top-2 blend of the entries at `pick` (positions within the route)."""
        sig, q = self.sig, self.q
        cent_pick = self.cent[pick] if self.exact_cent else sig.cents[self.pos[pick]] @ q
        if self.drop_at >= 0:
            cent_pick[pick == self.drop_at] = self.drop_cent
        lo, hi = sig.starts[self.pos[pick]], sig.ends[self.pos[pick]]
        lengths = hi - lo
        local = np.cumsum(lengths) - lengths
        rows = np.arange(int(lengths.sum())) - np.repeat(local, lengths) + np.repeat(lo, lengths)
        ts = sig.vectors[rows] @ q if len(rows) < len(sig.text_idx) else (sig.vectors @ q)[rows]
        if self.drop_row >= 0:
            ts[rows == self.drop_row] = NEG
        s = CENTROID_WEIGHT * cent_pick + (1 - CENTROID_WEIGHT) * top2_mean(ts, local)
        return ((s - self.mu) / self.sd).astype(np.float32)
