"""Embedding questions for the Bot: one lock per encoder (indexing and spinning changes hold them
all), helpers on a thread of their own beside the main encoder, and a cache of recent questions."""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from qa.encoders.base import Encoder, encoder_threads

#: Question vectors kept per Bot. FAQ traffic repeats itself; a repeated question then skips the
#: encoder (about 3-5 ms of a 5-8 ms answer). 4096 vectors of 384 floats: 6 MB per encoder.
QUERY_CACHE_SIZE = 4096


class QueryEmbedder:
    """A question's vectors from the encoders it needs. Safe to share between threads."""

    def __init__(self, encoders: Sequence[Encoder], cache_size: int | None = None) -> None:
        self.encoders = list(encoders)
        self._locks = {e.id: threading.Lock() for e in self.encoders}
        # Helpers embed a question on a thread of their own while the main encoder runs (10k entries:
        # 0.4 ms less a question), unless the encoders get one thread each (qa serve --workers N).
        self.parallel = encoder_threads() >= 2 and any(e.helper for e in self.encoders)
        self._pool: ThreadPoolExecutor | None = None
        # functools' LRU is thread-safe; two threads may embed one new question at once, which is harmless
        size = QUERY_CACHE_SIZE if cache_size is None else cache_size
        self._embed_one = functools.lru_cache(maxsize=size)(self._embed_uncached)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """No question uses an encoder meanwhile (indexing embeds with them; spinning rebuilds them)."""
        with contextlib.ExitStack() as stack:
            for enc in self.encoders:
                stack.enter_context(self._locks[enc.id])
            yield

    def embed(self, text: str, needed: Iterable[str]) -> dict[str, np.ndarray]:
        """The vectors of `text` by the encoders `needed` (ids); read-only arrays, maybe cached."""
        wanted = set(needed)
        helpers = [e.id for e in self.encoders if e.helper and e.id in wanted]
        others = [e.id for e in self.encoders if not e.helper and e.id in wanted]
        pending = {}
        if self.parallel and helpers and others:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qa-helper")
            pending = {h: self._pool.submit(self._embed_one, h, text) for h in helpers}
        out = {h: self._embed_one(h, text) for h in helpers if h not in pending}  # before the others
        out.update({e: self._embed_one(e, text) for e in others})
        out.update({h: f.result() for h, f in pending.items()})
        return out

    def _embed_uncached(self, encoder_id: str, text: str) -> np.ndarray:
        enc = next(e for e in self.encoders if e.id == encoder_id)
        with self._locks[encoder_id]:
            vec = enc.embed([text])[0]
        vec.setflags(write=False)  # shared by every later ask of the same question
        return vec
