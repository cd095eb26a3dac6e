"""SearchIndex: the in-memory view of a KB used to score entries for one question.

Built from plain arrays (no database access). Each encoder gives a dense signal over the entries
whose language it serves; a question is scored with, per entry, the encoder chosen for the
(question language, entry language) pair, normalised with constants fixed per KB, plus a BM25
signal at a fixed weight.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from qa.retrieval.dense import CENTROID_WEIGHT, centroids, top2_mean
from qa.retrieval.lexical import LexicalIndex

#: Weight of the normalised BM25 score beside the z-scored dense one (bench/explore_scoring.py).
LEXICAL_WEIGHT = 0.5
#: Subtracted from entries in another language than the question, when the KB has entries in the
#: question's language: a bilingual KB answers in the language asked (its e5 cross-language scores
#: ran above MiniLM's same-language ones for one-word English questions).
CROSS_LANGUAGE_PENALTY = 1.5
#: Entries per encoder whose texts are scored one by one after the centroid pass.
CANDIDATES = 200
NEG = np.float32(-1e9)


@dataclass(frozen=True)
class DenseSignal:
    encoder_id: str
    entry_idx: np.ndarray  # the entries this signal covers (indices into SearchIndex.entry_ids)
    text_idx: np.ndarray  # their texts (indices into SearchIndex.texts), grouped by entry
    starts: np.ndarray  # start row of each covered entry within `vectors`
    vectors: np.ndarray  # (len(text_idx), dim) unit rows
    cents: np.ndarray  # (len(entry_idx), dim)
    ends: np.ndarray  # end row (exclusive) of each covered entry within `vectors`
    mu: float  # mean and spread of entry scores between unrelated texts: the fixed normalisation
    sd: float
    basis: np.ndarray | None = None  # (r, dim): the centroids' top directions, for the first pass
    reduced: np.ndarray | None = None  # (len(entry_idx), r) centroids in that basis


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


def norm_constants(vectors: np.ndarray, owner: np.ndarray, n_pairs: int = 4000) -> tuple[float, float]:
    """Mean and std of the cosine between texts of different entries (a seeded sample)."""
    n = len(vectors)
    if n < 2 or len(np.unique(owner)) < 2:
        return 0.0, 1.0
    rng = np.random.default_rng(0)
    a = rng.integers(0, n, n_pairs)
    b = rng.integers(0, n, n_pairs)
    keep = owner[a] != owner[b]
    cos = np.einsum("ij,ij->i", vectors[a[keep]], vectors[b[keep]])
    sd = float(cos.std())
    return float(cos.mean()), sd if sd > 1e-6 else 1.0


@dataclass
class Scored:
    """Scores of every entry for one question, with the parts they were made of (for /why)."""

    fused: np.ndarray
    dense: np.ndarray  # z-scored dense part
    lexical: np.ndarray  # normalised BM25 part (before its weight)


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
    starts: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.starts = np.searchsorted(self.text_entry, np.arange(len(self.entry_ids)))
        self._routes: dict[str, list[tuple[str, np.ndarray]]] = {}
        self._pos: dict[tuple[str, str], np.ndarray] = {}

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
    ) -> SearchIndex:
        """`vectors[enc]` has one row per text (NaN rows for texts that encoder does not embed)."""
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
            basis, reduced = (
                reduce(cents) if len(covered) > 4 * CANDIDATES and mat.shape[1] > REDUCED_DIM else (None, None)
            )
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
                basis,
                reduced,
            )
        lex = LexicalIndex(texts) if lexical and len(texts) else None
        return cls(
            list(entry_ids),
            list(entry_langs),
            [list(t) for t in entry_tags],
            list(texts),
            text_entry,
            signals,
            list(vectors),
            dict(languages),
            lex,
        )

    # ---- routing -----------------------------------------------------------------------------
    def encoder_for(self, qlang: str, elang: str) -> str | None:
        """A specialist serving both languages if there is one, else the first multilingual one."""
        for enc in self.encoder_order:
            langs = self.specialists[enc]
            if "*" not in langs and qlang in langs and elang in langs:
                return enc
        for enc in self.encoder_order:
            if "*" in self.specialists[enc]:
                return enc
        return self.encoder_order[0] if self.encoder_order else None

    def routes(self, qlang: str) -> list[tuple[str, np.ndarray]]:
        """For a question language: (encoder, entry indices it scores), covering every entry."""
        if qlang not in self._routes:
            by_enc: dict[str, list[int]] = {}
            for i, elang in enumerate(self.entry_langs):
                enc = self.encoder_for(qlang, elang)
                if enc is not None:
                    by_enc.setdefault(enc, []).append(i)
            self._routes[qlang] = [(e, np.array(ix, dtype=np.int64)) for e, ix in by_enc.items()]
        return self._routes[qlang]

    def encoders_needed(self, qlang: str) -> list[str]:
        return [enc for enc, _ in self.routes(qlang)]

    # ---- scoring -----------------------------------------------------------------------------
    def _positions(self, qlang: str, enc: str, wanted: np.ndarray) -> np.ndarray:
        """Positions within signal `enc` of the entries `wanted` (all covered by construction)."""
        key = (qlang, enc)
        if key not in self._pos:
            sig = self.signals[enc]
            pos = np.searchsorted(sig.entry_idx, wanted)
            pos = np.minimum(pos, max(len(sig.entry_idx) - 1, 0))
            ok = sig.entry_idx[pos] == wanted if len(sig.entry_idx) else np.zeros(len(wanted), bool)
            self._pos[key] = pos[ok]
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
    ) -> Scored:
        """Score entries for one question; entries left out are at NEG.

        Two stages: every entry's centroid cosine (plus BM25) picks `candidates` entries per
        encoder, and only their texts are scored for the top-2 part (0 = score every text).
        `allowed` masks entries out (tags); `drop_text`/`drop_entry` hide one text or entry
        (self-calibration).
        """
        lex = np.zeros(self.n, dtype=np.float32)
        if self.lexical is not None:
            lt = self.lexical.scores(query_text)
            if drop_text is not None:
                lt[drop_text] = 0.0
            lex = np.maximum.reduceat(lt, self.starts).astype(np.float32)
        dense = np.full(self.n, NEG, dtype=np.float32)
        for enc, wanted in self.routes(qlang):
            sig = self.signals.get(enc)
            if sig is None or enc not in qvecs or not len(sig.entry_idx):
                continue
            q = qvecs[enc]
            pos = self._positions(qlang, enc, wanted)
            ent = sig.entry_idx[pos]
            keep = np.ones(len(pos), bool) if allowed is None else allowed[ent]
            pick = np.flatnonzero(keep)
            first_pass = bool(candidates) and len(pick) > candidates
            if first_pass and sig.reduced is not None and sig.basis is not None:
                cent = (sig.reduced @ (sig.basis @ q))[pos]  # approximate: only picks candidates
                exact = False
            else:
                cent = sig.cents[pos] @ q if len(pos) != len(sig.entry_idx) else (sig.cents @ q)[pos]
                exact = True
            drop_row, drop_at, drop_cent = -1, -1, 0.0
            if drop_text is not None:
                r = int(np.searchsorted(sig.text_idx, drop_text))
                sp = int(np.searchsorted(sig.entry_idx, self.text_entry[drop_text]))
                j = int(np.searchsorted(pos, sp))
                if r < len(sig.text_idx) and sig.text_idx[r] == drop_text and j < len(pos) and pos[j] == sp:
                    drop_row, drop_at = r, j
                    a, b = sig.starts[sp], sig.ends[sp]
                    rest = np.r_[a:drop_row, drop_row + 1 : b]
                    if len(rest):
                        c = sig.vectors[rest].sum(0)
                        drop_cent = float(c @ q) / max(float(np.linalg.norm(c)), 1e-9)
                        cent[j] = drop_cent
            if first_pass:
                prelim = (cent[pick] - sig.mu) / sig.sd + LEXICAL_WEIGHT * lex[ent[pick]]
                pick = pick[np.argpartition(-prelim, candidates - 1)[:candidates]]
            if not len(pick):
                continue
            cent_pick = cent[pick] if exact else sig.cents[pos[pick]] @ q
            if drop_at >= 0:
                cent_pick[pick == drop_at] = drop_cent
            lo, hi = sig.starts[pos[pick]], sig.ends[pos[pick]]
            lengths = hi - lo
            local = np.cumsum(lengths) - lengths
            rows = np.arange(int(lengths.sum())) - np.repeat(local, lengths) + np.repeat(lo, lengths)
            ts = sig.vectors[rows] @ q if len(rows) < len(sig.text_idx) else (sig.vectors @ q)[rows]
            if drop_row >= 0:
                ts[rows == drop_row] = NEG
            s = CENTROID_WEIGHT * cent_pick + (1 - CENTROID_WEIGHT) * top2_mean(ts, local)
            dense[ent[pick]] = (s - sig.mu) / sig.sd
        fused = np.where(dense > NEG, dense + LEXICAL_WEIGHT * lex, NEG).astype(np.float32)
        other = self._other_language(qlang)
        if other is not None:
            fused[other & (fused > NEG)] -= CROSS_LANGUAGE_PENALTY
        if drop_entry is not None:
            fused[drop_entry] = NEG
        return Scored(fused, dense, lex)

    def text_query_vectors(self, t: int) -> dict[str, np.ndarray]:
        """The stored vectors of text `t`, to ask it as a question (self-calibration, self-test)."""
        out = {}
        for enc, sig in self.signals.items():
            row = np.searchsorted(sig.text_idx, t)
            if row < len(sig.text_idx) and sig.text_idx[row] == t:
                out[enc] = sig.vectors[row]
        return out
