"""The fixed constants that put each encoder's cosines on one scale: z = (cos - mu) / sd.

mu and sd are the mean and spread of the cosine between unrelated texts, measured once per KB
(never per question: per-question normalisation was measured to destroy out-of-scope detection).
They depend on the languages: e5 scores an unrelated Chinese question against English texts about
.75, and an unrelated English one about .81. Measured with the same-language constants, a Chinese
question against an English KB (bench/crosslingual.py) ran 1-2 standard deviations low, and its
confidence was far too low (ECE .31; .08 with constants for the language pair). So each (encoder,
question language, entry language) gets its own pair. A KB with texts in both languages measures it
on them (the same way as within one language: unrelated texts of its own domain). A KB in one
language uses a fixed list of everyday questions in the question's language (reference/*.txt),
about other things than almost any KB, against its texts. That puts a cross-language paraphrase
well above a same-language one in z units (e5: 3.9 against 1.8 on the bundled KB), which happens to
make up for what a cross-language question lacks (BM25 overlap; e5 separates paraphrases less than
MiniLM does, and the calibration is fitted on same-language alternates); in a bilingual KB the
higher scale would make entries in the other language outrank those in the question's own.

Measured on the bundled KB in one language asked in the other, with 300 out-of-scope questions
(bench/crosslingual.py): ECE .10 (zh->en) and .06 (en->zh), from .31 and .39 with same-language
constants. Moving the KB's own same-language constants by the offset the reference lists show
between the two languages (they are translations of each other) tracked the mean measured with the
KB's own Chinese texts more closely, but answered less and was underconfident (ECE .14 and .14).
"""

from __future__ import annotations

import numpy as np

#: Texts a KB needs in a language to measure that language's constants from its own texts.
MIN_TEXTS = 30
N_PAIRS = 4000


def _finish(cos: np.ndarray) -> tuple[float, float]:
    if not len(cos):
        return 0.0, 1.0
    sd = float(cos.std())
    return float(cos.mean()), sd if sd > 1e-6 else 1.0


def norm_constants(vectors: np.ndarray, owner: np.ndarray, n_pairs: int = N_PAIRS) -> tuple[float, float]:
    """Mean and std of the cosine between texts of different entries (a seeded sample)."""
    n = len(vectors)
    if n < 2 or len(np.unique(owner)) < 2:
        return 0.0, 1.0
    rng = np.random.default_rng(0)
    a = rng.integers(0, n, n_pairs)
    b = rng.integers(0, n, n_pairs)
    keep = owner[a] != owner[b]
    return _finish(np.einsum("ij,ij->i", vectors[a[keep]], vectors[b[keep]]))


def cross_constants(questions: np.ndarray, texts: np.ndarray, n_pairs: int = N_PAIRS) -> tuple[float, float]:
    """Mean and std of the cosine between question vectors and KB text vectors of another language
    (a seeded sample; texts of different languages belong to different entries)."""
    if not len(questions) or not len(texts):
        return 0.0, 1.0
    rng = np.random.default_rng(0)
    a = rng.integers(0, len(questions), n_pairs)
    b = rng.integers(0, len(texts), n_pairs)
    return _finish(np.einsum("ij,ij->i", questions[a], texts[b]))
