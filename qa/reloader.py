"""Reloading a changed KB on a thread of its own (the Bot under qa serve): questions are answered
from the index already loaded until the new one replaces it, and a failed reload is retried only
after RELOAD_RETRY_S."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from qa.errors import ModelMismatchError
from qa.kb.store import KnowledgeBase

#: After a background reload fails, questions keep the loaded index this long before one tries again.
RELOAD_RETRY_S = 10.0

log = logging.getLogger("qa.bot")

T = TypeVar("T")


class Reloader(Generic[T]):
    """Runs `load` on a second connection to the KB at `path`, then `install` under `lock`."""

    def __init__(
        self,
        path: Path,
        *,
        readonly: bool,
        load: Callable[[KnowledgeBase], T],
        install: Callable[[T], None],
        lock: threading.Lock,
    ) -> None:
        self.path, self.readonly = path, readonly
        self._load, self._install, self._lock = load, install, lock
        self.thread: threading.Thread | None = None
        self._failed_at = -float("inf")
        #: Why the last reload failed (None once one succeeds): questions meanwhile get the index
        #: loaded before it.
        self.error: str | None = None

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def due(self) -> bool:
        """False for RELOAD_RETRY_S after a failed reload."""
        return time.monotonic() - self._failed_at >= RELOAD_RETRY_S

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="qa-reload", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            kb = KnowledgeBase(self.path, readonly=self.readonly, create=False)
            try:
                loaded = self._load(kb)
            finally:
                kb.close()
            with self._lock:
                self._install(loaded)
            self.error = None
        except Exception as e:  # the index already loaded stays in use; a later question tries again
            self._failed_at = time.monotonic()
            self.error = str(e) or type(e).__name__
            if isinstance(e, ModelMismatchError):
                self.error += " (until it restarts, this process answers from the index it has)"
            log.exception("reloading the knowledge base %s failed", self.path)
