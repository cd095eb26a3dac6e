"""Bot: ask questions of a knowledge base. Retrieve, decide (answer / ambiguous / fallback), log."""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa import indexing, loader
from qa.answer import Answer, Suggestion, decide
from qa.encoders import registry
from qa.encoders.base import Encoder, encoder_threads
from qa.errors import InputError, KBError, ModelMismatchError, StaleIndexError
from qa.kb.entry import Entry
from qa.kb.store import KnowledgeBase
from qa.retrieval.calibration import Calibration
from qa.retrieval.index import NEG, QUESTION_LANGUAGES, SearchIndex
from qa.text import clean_question, detect_lang

FALLBACK_TEXT = {
    "en": "Sorry, I don't know the answer to that yet.",
    "zh": "抱歉，我还不知道这个问题的答案。",
}


@dataclass
class Candidate:
    """One entry's scores for a question, for /why and `qa ask --explain`."""

    entry_id: str
    question: str
    fused: float
    dense: float
    lexical: float
    encoder: str | None
    confidence: float
    learned: float = 0.0  # the KB's learned head's part of `fused` (0 without one)


#: Question vectors kept per Bot. FAQ traffic repeats itself; a repeated question then skips the
#: encoder (about 3-5 ms of a 5-8 ms answer). 4096 vectors of 384 floats: 6 MB per encoder.
QUERY_CACHE_SIZE = 4096
#: After a background reload fails, questions keep the loaded index this long before one tries again.
RELOAD_RETRY_S = 10.0

log = logging.getLogger(__name__)


def limit_blas_threads() -> None:
    """Run numpy's BLAS on one thread (process-wide).

    One question is a matrix-vector product: BLAS threads gain nothing there, and their spin-waiting
    steals the cores the encoders' own thread pools need (e5 per question: 24 ms with it, 10 ms
    without). Pass `single_thread_blas=False` to Bot to leave BLAS alone.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


class Bot:
    """A KB plus its encoders. Safe to share between threads.

    >>> bot = Bot.open("faq.db")
    >>> bot.ask("how do I reset my password?").status
    """

    def __init__(
        self,
        kb: KnowledgeBase,
        encoders: Sequence[Encoder] | None = None,
        *,
        auto_index: bool = True,
        single_thread_blas: bool = True,
        background_reload: bool = False,
    ):
        if single_thread_blas:
            limit_blas_threads()
        self.kb = kb
        if encoders is None:
            ids = indexing.kb_model(kb) or registry.expand(registry.DEFAULT_MODEL)
            encoders = indexing.make_encoders(ids, kb)
        self.encoders = list(encoders)
        indexing.check_model(kb, [e.id for e in self.encoders])
        self._enc_locks = {e.id: threading.Lock() for e in self.encoders}
        # Helpers embed a question on a thread of their own while the main encoder runs (10k entries:
        # 0.4 ms less a question), unless the encoders get one thread each (qa serve --workers N).
        self._parallel = encoder_threads() >= 2 and any(e.helper for e in self.encoders)
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        # functools' LRU is thread-safe; two threads may embed one new question at once, which is harmless
        self._embed_one = functools.lru_cache(maxsize=QUERY_CACHE_SIZE)(self._embed_uncached)
        self.auto_index = auto_index
        self.background_reload = background_reload
        self._reloading: threading.Thread | None = None
        self._reload_failed_at = -float("inf")
        #: Why the last background reload failed (None once one succeeds): questions meanwhile get the
        #: index loaded before it.
        self.reload_error: str | None = None
        self._version = -1
        self._index: SearchIndex
        self._cal: Calibration
        self.refresh()

    # ---- constructors --------------------------------------------------------------------------
    @classmethod
    def open(
        cls, path: str | Path, *, model: str | None = None, auto_index: bool = True, background_reload: bool = False
    ) -> Bot:
        kb = KnowledgeBase(path, create=False)
        encoders = indexing.make_encoders(registry.expand(model), kb) if model else None
        return cls(kb, encoders, auto_index=auto_index, background_reload=background_reload)

    @classmethod
    def from_entries(
        cls,
        entries: Iterable[Entry | dict],
        *,
        model: str = registry.DEFAULT_MODEL,
        encoders: Sequence[Encoder] | None = None,
    ) -> Bot:
        from qa.kb.formats import entry_from_dict

        kb = KnowledgeBase.memory()
        kb.upsert([e if isinstance(e, Entry) else entry_from_dict(e) for e in entries])
        texts = [t for e in kb.entries() for t in e.texts()]
        encs = list(encoders) if encoders is not None else indexing.make_encoders(registry.expand(model), kb, texts)
        return cls(kb, encs)

    # ---- keeping up with the file ----------------------------------------------------------------
    def refresh(self, *, force: bool = False) -> None:
        """Reload the index if the KB changed (in this process or another) since it was loaded.

        With `background_reload` (as under qa serve), a change after the first load is read on a
        thread of its own, through a second connection, while questions are answered from the index
        already loaded until the new one replaces it (a 100k-entry KB takes ~27 s to reload, 10k ~2 s).
        `force` reloads here and now.
        """
        if not force and self._reloading is not None and self._reloading.is_alive():
            return
        with self._lock:
            if self.kb.data_version() == self._version and not force:
                return
            if self.background_reload and not force and self._version != -1 and self.kb.path is not None:
                if time.monotonic() - self._reload_failed_at < RELOAD_RETRY_S:
                    return
                self._reloading = threading.Thread(target=self._reload_in_background, name="qa-reload", daemon=True)
                self._reloading.start()
                return
            self._install(*self._read(self.kb))

    @property
    def reloading(self) -> bool:
        """A changed KB is being loaded in the background (questions get the previous index)."""
        return self._reloading is not None and self._reloading.is_alive()

    def _reload_in_background(self) -> None:
        assert self.kb.path is not None
        try:
            kb = KnowledgeBase(self.kb.path, readonly=self.kb.readonly, create=False)
            try:
                # A KB switched to another model meanwhile is not reindexed back to this one.
                indexing.check_model(kb, [e.id for e in self.encoders])
                loaded = self._read(kb)
            finally:
                kb.close()
            with self._lock:
                self._install(*loaded)
            self.reload_error = None
        except Exception as e:  # the index already loaded stays in use; a later question tries again
            self._reload_failed_at = time.monotonic()
            self.reload_error = str(e) or type(e).__name__
            if isinstance(e, ModelMismatchError):
                self.reload_error += " (until it restarts, this process answers from the index it has)"
            log.exception("reloading the knowledge base %s failed", self.kb.path)

    @contextlib.contextmanager
    def _encoders_held(self) -> Iterator[None]:
        """No question uses an encoder meanwhile (indexing embeds with them; spinning rebuilds them)."""
        with contextlib.ExitStack() as stack:
            for enc in self.encoders:
                stack.enter_context(self._enc_locks[enc.id])
            yield

    def _read(self, kb: KnowledgeBase) -> tuple[SearchIndex, Calibration, int]:
        return loader.read(kb, self.encoders, auto_index=self.auto_index, hold_encoders=self._encoders_held)

    def _install(self, index: SearchIndex, cal: Calibration, version: int) -> None:
        self._index, self._cal = index, cal
        # An encoder may busy-wait after its run when it is the only one a question needs: helpers
        # run beside it on their own thread (see _embed), or before it when threads are scarce.
        helpers = {e.id for e in self.encoders if e.helper}
        alone = all(
            len(set(index.encoders_needed(lang)) - helpers) <= 1 for lang in {*QUESTION_LANGUAGES, *index.entry_langs}
        ) and not (helpers and self._parallel)
        spinning = [e for e in self.encoders if hasattr(e, "set_spinning") and getattr(e, "spin", alone) != alone]
        if spinning:
            with self._encoders_held():
                for enc in spinning:
                    enc.set_spinning(alone)  # type: ignore[attr-defined]
        self._version = version

    def oos_share(self) -> float:
        """The share of questions assumed to be out of scope when the KB calibrates itself
        (`qa tune --oos-share`; default selfcal.DEFAULT_OOS_PRIOR)."""
        return loader.oos_share(self.kb)

    def set_calibration(self, cal: Calibration) -> None:
        """Store a calibration fitted elsewhere (`qa tune` on labelled questions) and use it."""
        with self._lock:
            loader.store_calibration(self.kb, cal, self._index, len(self._index.texts))
            self._cal = cal
            self._version = self.kb.data_version()

    def recalibrate(self, *, oos_prior: float | None = None, precision: float | None = None) -> Calibration:
        """Refit the self-calibration (at the KB's stored out-of-scope share unless `oos_prior`)."""
        with self._lock:
            self._cal = loader.fit_and_store(
                self.kb, self._index, len(self._index.texts), oos_prior=oos_prior, precision=precision
            )
            self._version = self.kb.data_version()
        return self.calibration

    @property
    def calibration(self) -> Calibration:
        return loader.apply_overrides(self._cal, self.kb.get_setting("thresholds", {}))

    @property
    def index(self) -> SearchIndex:
        return self._index

    # ---- asking --------------------------------------------------------------------------------
    def _embed(self, text: str, needed: Iterable[str]) -> dict[str, np.ndarray]:
        wanted = set(needed)
        helpers = [e.id for e in self.encoders if e.helper and e.id in wanted]
        others = [e.id for e in self.encoders if not e.helper and e.id in wanted]
        pending = {}
        if self._parallel and helpers and others:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qa-helper")
            pending = {h: self._pool.submit(self._embed_one, h, text) for h in helpers}
        out = {h: self._embed_one(h, text) for h in helpers if h not in pending}  # before the others
        out.update({e: self._embed_one(e, text) for e in others})
        out.update({h: f.result() for h, f in pending.items()})
        return out

    def _embed_uncached(self, encoder_id: str, text: str) -> np.ndarray:
        enc = next(e for e in self.encoders if e.id == encoder_id)
        with self._enc_locks[encoder_id]:
            vec = enc.embed([text])[0]
        vec.setflags(write=False)  # shared by every later ask of the same question
        return vec

    def _scores(
        self, question: str, tags: Sequence[str] | None
    ) -> tuple[str, bool, str, SearchIndex, np.ndarray, dict]:
        self.refresh()
        text, truncated = clean_question(question)
        lang = detect_lang(text)
        index = self._index
        if index.n == 0:
            raise InputError("The knowledge base is empty. Add entries with: qa import FILE")
        qv = self._embed(text, index.encoders_needed(lang))
        allowed = None
        if tags:
            wanted = set(tags)
            allowed = np.array([bool(wanted & set(t)) for t in index.entry_tags], dtype=bool)
        scored = index.score(qv, text, lang, allowed=allowed)
        fused = scored.fused
        return text, truncated, lang, index, fused, {"scored": scored, "qv": qv}

    def fused_scores(self, question: str, *, tags: Sequence[str] | None = None) -> tuple[list[str], np.ndarray]:
        """Entry ids and their fused scores for one question (reads only; for tuning and tools)."""
        _, _, _, index, fused, _ = self._scores(question, tags)
        return index.entry_ids, fused

    def confidence_scores(
        self, question: str, *, tags: Sequence[str] | None = None
    ) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Entry ids, the scores that rank them and those the confidence is calibrated on (the same
        array unless the KB has a learned head: retrieval/head.py). Reads only."""
        _, _, _, index, fused, extra = self._scores(question, tags)
        conf = extra["scored"].confidence
        return index.entry_ids, fused, fused if conf is None else conf

    def ask(self, question: str, *, tags: Sequence[str] | None = None, top_k: int = 3, log: bool = True) -> Answer:
        """Answer one question. Fallbacks and ambiguous questions are logged unless `log=False`
        (the one write this method makes)."""
        text, truncated, lang, index, fused, extra = self._scores(question, tags)
        cal = self.calibration
        if tags and (fused <= NEG).all():
            d_status, order, confs = "fallback", np.array([], dtype=np.int64), []
            reason = f"no entry has the tags {', '.join(tags)}"
        else:
            d = decide(fused, cal, top_k, extra["scored"].confidence)
            d_status, order, confs, reason = d.status, d.order, d.confidences, d.reason
        ids = [index.entry_ids[i] for i in order]
        entries = {e.id: e for e in self.kb.entries(ids)}
        sugg = [Suggestion(i, entries[i].question, round(c, 4)) for i, c in zip(ids, confs, strict=True)]
        conf = round(confs[0], 4) if confs else 0.0
        fallback = self.kb.get_setting("fallback_answer") or FALLBACK_TEXT.get(lang, FALLBACK_TEXT["en"])
        if d_status == "answered":
            best = entries[ids[0]]
            ans = Answer(
                "answered",
                best.answer,
                conf,
                best.id,
                self._matched(index, extra["qv"], lang, order[0]),
                sugg[1:],
                reason,
                text,
                lang,
                truncated,
            )
        elif d_status == "ambiguous":
            a, b = sugg[0], sugg[1]
            msg = (
                f"Did you mean: 1) {a.question}  2) {b.question}"
                if lang != "zh"
                else f"您是想问：1）{a.question}  2）{b.question}"
            )
            ans = Answer("ambiguous", msg, conf, None, None, sugg[:2] + sugg[2:], reason, text, lang, truncated)
        else:
            ans = Answer("fallback", fallback, conf, None, None, sugg, reason, text, lang, truncated)
        if log and ans.status != "answered" and not self.kb.readonly:
            self._log(ans, ids)
        return ans

    def feedback(self, question: str, entry_id: str, helpful: bool, *, source: str = "api") -> None:
        """Record whether the answer from `entry_id` helped with `question` (shown by `qa stats`)."""
        text, _ = clean_question(question)
        self.kb.get(entry_id)  # NotFoundError for an unknown id
        self.kb.add_feedback(text, entry_id, helpful, source)

    def _log(self, ans: Answer, ids: list[str]) -> None:
        # a KB we turn out not to be allowed to write: answering matters more than the log
        with contextlib.suppress(KBError):
            self.kb.log_question(
                ans.question,
                lang=ans.lang,
                status=ans.status,
                confidence=ans.confidence,
                entry_id=ids[0] if ids else None,
                suggestions=ids,
            )

    def _matched(self, index: SearchIndex, qv: dict, lang: str, entry: int) -> str:
        enc = index.encoder_for(lang, index.entry_langs[entry])
        start = index.starts[entry]
        end = index.starts[entry + 1] if entry + 1 < index.n else len(index.texts)
        sig = index.signals.get(enc) if enc else None
        if sig is None or enc not in qv:
            return index.texts[start]
        rows = np.searchsorted(sig.text_idx, np.arange(start, end))
        best = int(np.argmax(sig.vectors[rows] @ qv[enc]))
        return index.texts[start + best]

    def explain(self, question: str, *, k: int = 5, tags: Sequence[str] | None = None) -> list[Candidate]:
        """The top `k` candidates with each signal's part of the score (reads only)."""
        _, _, lang, index, fused, extra = self._scores(question, tags)
        scored = extra["scored"]
        d = decide(fused, self.calibration, k, scored.confidence)
        entries = {e.id: e for e in self.kb.entries([index.entry_ids[i] for i in d.order])}
        out = []
        for i, c in zip(d.order, d.confidences, strict=True):
            eid = index.entry_ids[i]
            out.append(
                Candidate(
                    eid,
                    entries[eid].question,
                    float(fused[i]),
                    float(scored.dense[i]),
                    float(scored.lexical[i]),
                    index.label_for(lang, index.entry_langs[i]) or None,
                    c,
                    0.0 if scored.learned is None else float(scored.learned[i]),
                )
            )
        return out


def ensure_indexed(bot: Bot) -> None:
    """Raise StaleIndexError if texts lack vectors (for read-only callers)."""
    if any(indexing.pending(bot.kb, bot.encoders).values()):
        raise StaleIndexError("The index is out of date: run qa index")
