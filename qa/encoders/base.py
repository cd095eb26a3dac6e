"""The Encoder interface: texts in, L2-normalised float32 vectors out.

A backend implements `embed_batch` (and loads its model lazily, on first use); batching, progress
and normalisation live here.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

import numpy as np

ALL_LANGUAGES = frozenset({"*"})


class Encoder(ABC):
    #: Stored with every vector. Two encoders with the same id must give the same vectors.
    id: str = ""
    #: Output dimension.
    dim: int = 0
    #: Languages it embeds well ("en", "zh"); {"*"} for a multilingual model.
    languages: frozenset[str] = ALL_LANGUAGES
    #: A helper is added (at retrieval.index.HELPER_WEIGHT) to whichever encoder serves a question,
    #: instead of serving questions itself; alone in a KB it serves them.
    helper: bool = False
    batch_size: int = 64
    #: About how long embedding one question takes (ms, 2-core CPU; ../shared/MODELS.md): measuring a
    #: KB (retrieval/selfmeasure.py) weighs an encoder's gain against it.
    query_ms: float = 1.0
    #: Trained on search queries against differently worded texts (e5), not only on paraphrase
    #: pairs: a KB with no alternates to measure on leans on it (retrieval/selfmeasure.py).
    search_model: bool = False
    #: One line for `qa models`.
    description: str = ""
    #: Whether its threads busy-wait after a run (set_spinning changes it); None: it has no such threads.
    spin: bool | None = None

    @abstractmethod
    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Embed at most `batch_size` texts; rows need not be normalised."""

    def set_spinning(self, spin: bool) -> None:  # noqa: B027 - a no-op unless an encoder has spinning threads
        """Let the encoder's threads busy-wait after a run (faster when it runs alone) or not."""

    def supports(self, lang: str) -> bool:
        return "*" in self.languages or lang in self.languages

    def embed(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Embed any number of texts in batches; returns (n, dim) unit-length float32 rows."""
        if not len(texts):
            return np.empty((0, self.dim), dtype=np.float32)
        # Batches of similar length waste less padding: embed in length order, return in input order.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        parts = []
        for start in range(0, len(texts), self.batch_size):
            batch = [texts[i] for i in order[start : start + self.batch_size]]
            parts.append(np.asarray(self.embed_batch(batch), dtype=np.float32))
            if progress is not None:
                progress(len(batch))
        out = np.empty((len(texts), parts[0].shape[1]), dtype=np.float32)
        out[order] = np.vstack(parts)
        return normalise(out)

    def embed_one(self, text: str) -> np.ndarray:
        return self.embed([text])[0]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id}>"


#: Threads each encoder may use for one batch. 2 suits one process answering one question at a time;
#: `qa serve --workers N` sets it to 1, since there the processes share the cores.
THREADS_ENV = "QA_ENCODER_THREADS"


def encoder_threads(default: int = 2) -> int:
    """The thread count encoders use: $QA_ENCODER_THREADS, or `default`."""
    raw = os.environ.get(THREADS_ENV, "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else default


def cache_dir() -> Path:
    """Where encoders keep what they derive from their packages to load faster ($XDG_CACHE_HOME/qa)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "qa"


def write_cache_file(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write a cache file through a temporary file and a rename, so a half-written one is never
    read; a cache that cannot be written (no space, read-only home) is skipped: it only saves time."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def normalise(m: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (m / norms).astype(np.float32, copy=False)


def effective_languages(encoders: Sequence[Encoder]) -> dict[str, frozenset[str]]:
    """The languages each encoder of a KB must embed.

    A language specialist (MiniLM: English) only embeds its languages when a multilingual encoder
    in the same KB covers the rest; alone, it embeds every entry (a weak match beats no match).
    """
    multi = any("*" in e.languages for e in encoders)
    return {e.id: (e.languages if multi else ALL_LANGUAGES) for e in encoders}
