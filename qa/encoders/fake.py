"""A deterministic, dependency-free encoder for tests: hashed character n-grams and words.

Similar strings get similar vectors, so retrieval logic can be tested without model weights.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from qa.encoders.base import Encoder

_WORD = re.compile(r"\w+", re.UNICODE)


def _bucket(token: str, dim: int) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "little") % dim


class FakeEncoder(Encoder):
    description = "hashed character trigrams and words; deterministic, for tests only"

    def __init__(self, dim: int = 256, id: str = "fake"):
        self.dim = dim
        self.id = id

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            t = f"  {text.lower()}  "
            for j in range(len(t) - 2):
                out[i, _bucket(t[j : j + 3], self.dim)] += 1.0
            for w in _WORD.findall(text.lower()):
                out[i, _bucket("w:" + w, self.dim)] += 2.0
        return out
