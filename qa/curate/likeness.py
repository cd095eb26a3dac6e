"""Do two stored texts ask the same question? The signals `qa dupes` combines, beside the cosine.

- `fold`: a key that ignores case, width, punctuation, spacing and a plural -s ("Does Red Robin
  take reservations?" and "does redrobin take reservation" share one).
- `ngram_matrix` / `lexical_pairs`: the character n-grams of those keys, so a typo or a name spelt
  apart still scores high (cosine of sets of character trigrams).
- `answered_by`: what the retrieval itself says: each text asked against the KB with its own entry
  hidden, and the calibrated confidence of the entries that answer it (qa.answer.decide).
- `nearest`: each text's most similar texts of other entries by stored vectors, in blocks.

Pure functions over texts, arrays and a SearchIndex: no encoder runs, nothing is written.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Sequence

import numpy as np
from scipy import sparse

from qa.answer import decide
from qa.retrieval.calibration import Calibration
from qa.retrieval.index import NEG, SearchIndex

#: Rows of a similarity matrix computed at once, and the cap on its cells (64 MB of float32;
#: with argpartition's indices about 250 MB at the peak).
BLOCK_ROWS = 2048
BLOCK_CELLS = 1 << 24

_KEEP_S = ("ss", "us", "is")
_ES = ("sses", "xes", "ches", "shes")


def _singular(word: str) -> str:
    """An English-looking word of more than three letters without a plural -s, -es or -ies; and
    -ie spelt -y, so that "movie", "movies", "policy" and "policies" fold to one form each."""
    if len(word) <= 3 or not word.isascii():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("ie"):
        return word[:-2] + "y"
    if not word.endswith("s") or word.endswith(_KEEP_S):
        return word
    return word[:-2] if word.endswith(_ES) else word[:-1]


class _Unpunctuated(dict[int, "int | None"]):
    """A str.translate table that deletes punctuation and symbols (Unicode categories P* and S*),
    filled in as characters are first seen (a cache of a pure function of the code point)."""

    def __missing__(self, code: int) -> int | None:
        kept = code if unicodedata.category(chr(code))[0] not in "PS" else None
        self[code] = kept
        return kept


_UNPUNCTUATED = _Unpunctuated()


def fold(text: str) -> str:
    """Case, width, punctuation, spacing and plural -s folded away: the key of texts that are the
    same words ("Red Robin's" / "redrobins", "W-2 forms" / "w2 form", "症状？" / "症状")."""
    # punctuation is dropped, so it joins a word ("w-2", "today's") before plurals are taken off
    words = unicodedata.normalize("NFKC", text).casefold().translate(_UNPUNCTUATED).split()
    return "".join(_singular(w) for w in words)


def grams(key: str) -> set[str]:
    """Character trigrams of a folded key, with its ends marked. Trigrams for Chinese too: bigrams
    scored "宝宝得了肺炎多久能康复?" ~ "大人得了肺炎多久能康复?" at .75 (trigrams: .73) and two
    of the four pairs they added on tianchi_covid_zh were of that kind (bench/dupes.py)."""
    padded = f"\x02{key}\x03"
    if len(padded) <= 3:
        return {padded}
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def ngram_matrix(texts: Sequence[str]) -> sparse.csr_matrix:
    """One unit row per text over the trigrams of its folded key (a dot product is the cosine of
    two sets)."""
    vocab: dict[str, int] = {}
    indptr, cols = [0], []
    for t in texts:
        cols.extend(sorted(vocab.setdefault(g, len(vocab)) for g in grams(fold(t))))
        indptr.append(len(cols))
    lengths = np.diff(indptr)
    data = np.repeat(1.0 / np.sqrt(np.maximum(lengths, 1)), lengths).astype(np.float32)
    return sparse.csr_matrix((data, np.array(cols, dtype=np.int64), np.array(indptr)), shape=(len(texts), len(vocab)))


def lexical_pairs(
    matrix: sparse.csr_matrix, floor: float, owner: np.ndarray, *, rows: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, col, similarity) of the pairs of rows of `matrix` (ngram_matrix) with different
    owners and a similarity of at least `floor`: each pair once (row < col), or with `rows`, the
    pairs of those rows with every row.

    A sparse product a block of rows at a time (at most BLOCK_CELLS pairs held at once). It grows
    with the square of the KB, as most pairs of texts share some common trigram: every pair of
    10k / 50k / 100k texts took 2 / 13 / 50 s of CPU (../shared/data texts and rewordings of them,
    2 cores); 1.7k texts against 11.5k, 0.3 s.
    """
    n = matrix.shape[0]
    asked = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
    step = max(1, min(BLOCK_ROWS, BLOCK_CELLS // max(n, 1)))
    every = matrix.T.tocsr() if rows is not None else None
    out_r, out_c, out_s = [], [], []
    for start in range(0, len(asked), step):
        block = asked[start : start + step]
        # every pair once: a block of rows against the rows from its first on
        first = int(block[0]) if rows is None else 0
        s = (matrix[block] @ (matrix[first:].T if every is None else every)).tocoo()
        r, c, v = block[s.row], s.col + first, s.data
        keep = (v >= floor - 1e-6) & (owner[r] != owner[c])
        if rows is None:
            keep &= r < c
        out_r.append(r[keep])
        out_c.append(c[keep])
        out_s.append(np.minimum(v[keep], 1.0).astype(np.float32))
    if not out_r:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    return np.concatenate(out_r), np.concatenate(out_c), np.concatenate(out_s)


def answered_by(index: SearchIndex, calibration: Calibration, text: int, top_k: int = 2) -> dict[int, float]:
    """Entry -> calibrated confidence, for the `top_k` entries that answer stored text `text` when
    its own entry is hidden (what a user typing it would get if that entry did not exist)."""
    owner = int(index.text_entry[text])
    fused = index.score(
        index.text_query_vectors(text), index.texts[text], index.entry_langs[owner], drop_entry=owner
    ).fused
    if not (fused > NEG).any():
        return {}
    d = decide(fused, calibration, top_k)
    return {int(e): c for e, c in zip(d.order[:top_k], d.confidences[:top_k], strict=True)}


def nearest(
    vectors: np.ndarray,
    owner: np.ndarray,
    k: int,
    *,
    floor: float | None = None,
    rows: np.ndarray | None = None,
    block_rows: int = BLOCK_ROWS,
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's `k` most similar rows of another owner, best first: (indices, cosines), both
    (len(rows), k); `rows` (default: all) are the rows asked about, compared with every row.

    Unit rows, so a dot product is the cosine. Computed a block of rows at a time (at most
    BLOCK_CELLS similarities in memory), never the n x n matrix. With `floor`, only neighbours at
    or above it are kept (twice as fast: no partial sort of every row). Missing ones are -1 / -inf.
    For scale (2 cores, 384 dimensions, with `floor`): 20k texts take 5 s, 100k take 77 s.
    """
    from threadpoolctl import threadpool_limits

    n = len(vectors)
    asked = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
    k = max(0, min(k, n - 1))
    idx = np.full((len(asked), k), -1, dtype=np.int64)
    sim = np.full((len(asked), k), -np.inf, dtype=np.float32)
    if k == 0 or not len(asked):
        return idx, sim
    step = max(1, min(block_rows, BLOCK_CELLS // n))
    # a matrix product, not one question: BLAS threads help here (the Bot limits them to one)
    with threadpool_limits(limits=os.cpu_count(), user_api="blas"):
        for start in range(0, len(asked), step):
            stop = min(len(asked), start + step)
            part_rows = asked[start:stop]
            s = vectors[part_rows] @ vectors.T
            s *= -1  # in place: the best neighbours are the smallest
            s[owner[part_rows, None] == owner[None, :]] = np.inf
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
