"""The lexical signal: BM25 (bm25s) over the KB's texts, with Chinese split into words by jieba
(rjieba: jieba's dictionary and algorithm in Rust; it is ready in 0.1 s where jieba's Python
dictionary load takes 0.6 s, which alone broke the 1 s cold start of `qa ask`).

Scores are divided by one constant per KB (the 90th percentile of each sampled text's best match
among the other texts), never per query: per-query normalisation was measured to destroy
out-of-scope detection (../shared/MODELS.md). bench/explore_scoring.py shows the measurement.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

_WORD = re.compile(r"\w+", re.UNICODE)
#: Where jieba cuts: U+3400-U+9FFF. Not qa.text.HAN (which adds the Compatibility Ideographs
#: U+F900-U+FAFF and leaves out the Yijing symbols U+4DC0-U+4DFF): that pattern here would change
#: the BM25 tokens of texts holding those characters, so this one is kept as it was.
_HAN = re.compile(r"[\u3400-\u9fff]")


@lru_cache(maxsize=1)
def _jieba() -> Any:
    import rjieba

    return rjieba


def tokenize(text: str) -> list[str]:
    """Lower-cased words; runs of Chinese are cut into words by jieba."""
    text = text.lower()
    if _HAN.search(text):
        return [w for w in _jieba().cut(text) if _WORD.fullmatch(w)]
    return _WORD.findall(text)


class LexicalIndex:
    """BM25 over a list of texts. `scores(query)` gives one normalised score per text."""

    def __init__(self, texts: Sequence[str], sample: int = 300, seed: int = 0):
        import bm25s

        self.n = len(texts)
        self._bm25 = bm25s.BM25()
        corpus = [tokenize(t) or ["\u2205"] for t in texts]
        self._bm25.index(corpus, show_progress=False)
        self._vocab: dict[str, int] = self._bm25.vocab_dict
        self.scale = 1.0
        self.scale = self._fit_scale(corpus, sample, seed)

    def _raw(self, tokens: list[str]) -> np.ndarray:
        known = [t for t in tokens if t in self._vocab]
        if not known:
            return np.zeros(self.n, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)

    def _fit_scale(self, corpus: list[list[str]], sample: int, seed: int) -> float:
        if self.n < 2:
            return 1.0
        rng = np.random.default_rng(seed)
        picks = rng.choice(self.n, size=min(sample, self.n), replace=False)
        best = []
        for i in picks:
            s = self._raw(corpus[i])
            s[i] = 0.0
            best.append(float(s.max()))
        scale = float(np.percentile(best, 90))
        return scale if scale > 0 else 1.0

    def scores(self, query: str) -> np.ndarray:
        return self._raw(tokenize(query)) / self.scale

    def scores_tokens(self, tokens: list[str]) -> np.ndarray:
        return self._raw(tokens) / self.scale
