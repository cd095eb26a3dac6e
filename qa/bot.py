"""Bot: ask questions of a knowledge base. Retrieve, decide (answer / ambiguous / fallback), log."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa import indexing, loader
from qa.answer import Answer, Suggestion, decide
from qa.encoders import registry
from qa.encoders.base import Encoder
from qa.errors import InputError, KBError, StaleIndexError
from qa.kb.entry import Entry
from qa.kb.store import KnowledgeBase
from qa.query_embedder import QueryEmbedder
from qa.reloader import Reloader
from qa.retrieval.calibration import Calibration
from qa.retrieval.index import NEG, QUESTION_LANGUAGES, Scored, SearchIndex
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


@dataclass(frozen=True)
class ScoredQuestion:
    """One question scored against the index loaded when it was asked (ask, explain, confidence_scores)."""

    text: str  # the question as understood (cleaned, maybe truncated)
    truncated: bool
    lang: str
    index: SearchIndex
    scored: Scored  # fused and per-signal entry scores
    vectors: dict[str, np.ndarray]  # the question's vector per encoder

    @property
    def fused(self) -> np.ndarray:
        return self.scored.fused


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
        self.embedder = QueryEmbedder(self.encoders)
        self._lock = threading.Lock()
        self.auto_index = auto_index
        self.background_reload = background_reload
        self._reloader: Reloader[tuple[SearchIndex, Calibration, int]] | None = None
        if kb.path is not None:
            self._reloader = Reloader(
                kb.path,
                readonly=kb.readonly,
                load=self._read_fresh,
                install=lambda r: self._install(*r),
                lock=self._lock,
            )
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
        reloader = self._reloader
        if not force and reloader is not None and reloader.running:
            return
        with self._lock:
            if self.kb.data_version() == self._version and not force:
                return
            if self.background_reload and not force and self._version != -1 and reloader is not None:
                if reloader.due():
                    reloader.start()
                return
            self._install(*self._read(self.kb))

    @property
    def reloading(self) -> bool:
        """A changed KB is being loaded in the background (questions get the previous index)."""
        return self._reloader is not None and self._reloader.running

    @property
    def reload_error(self) -> str | None:
        """Why the last background reload failed (None once one succeeds): questions meanwhile get
        the index loaded before it."""
        return self._reloader.error if self._reloader is not None else None

    def _read_fresh(self, kb: KnowledgeBase) -> tuple[SearchIndex, Calibration, int]:
        """_read on a second connection (the background reload)."""
        # A KB switched to another model meanwhile is not reindexed back to this one.
        indexing.check_model(kb, [e.id for e in self.encoders])
        return self._read(kb)

    def _encoders_held(self) -> contextlib.AbstractContextManager[None]:
        return self.embedder.held()

    def _read(self, kb: KnowledgeBase) -> tuple[SearchIndex, Calibration, int]:
        return loader.read(kb, self.encoders, auto_index=self.auto_index, hold_encoders=self._encoders_held)

    def _install(self, index: SearchIndex, cal: Calibration, version: int) -> None:
        self._index, self._cal = index, cal
        # An encoder may busy-wait after its run when it is the only one a question needs: helpers
        # run beside it on their own thread (see _embed), or before it when threads are scarce.
        helpers = {e.id for e in self.encoders if e.helper}
        alone = all(
            len(set(index.encoders_needed(lang)) - helpers) <= 1 for lang in {*QUESTION_LANGUAGES, *index.entry_langs}
        ) and not (helpers and self.embedder.parallel)
        spinning = [e for e in self.encoders if e.spin is not None and e.spin != alone]
        if spinning:
            with self._encoders_held():
                for enc in spinning:
                    enc.set_spinning(alone)
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
        return loader.apply_overrides(self._cal, self.kb.config.thresholds)

    @property
    def index(self) -> SearchIndex:
        return self._index

    # ---- asking --------------------------------------------------------------------------------
    def _scores(self, question: str, tags: Sequence[str] | None) -> ScoredQuestion:
        self.refresh()
        text, truncated = clean_question(question)
        lang = detect_lang(text)
        index = self._index
        if index.n == 0:
            raise InputError("The knowledge base is empty. Add entries with: qa import FILE")
        qv = self.embedder.embed(text, index.encoders_needed(lang))
        allowed = None
        if tags:
            wanted = set(tags)
            allowed = np.array([bool(wanted & set(t)) for t in index.entry_tags], dtype=bool)
        return ScoredQuestion(text, truncated, lang, index, index.score(qv, text, lang, allowed=allowed), qv)

    def confidence_scores(
        self, question: str, *, tags: Sequence[str] | None = None
    ) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Entry ids, the scores that rank them and those the confidence is calibrated on (the same
        array unless the KB has a learned head: retrieval/head.py). Reads only."""
        q = self._scores(question, tags)
        conf = q.scored.confidence
        return q.index.entry_ids, q.fused, q.fused if conf is None else conf

    def ask(self, question: str, *, tags: Sequence[str] | None = None, top_k: int = 3, log: bool = True) -> Answer:
        """Answer one question. Fallbacks and ambiguous questions are logged unless `log=False`
        (the one write this method makes)."""
        q = self._scores(question, tags)
        index, fused, lang = q.index, q.fused, q.lang
        cal = self.calibration
        if tags and (fused <= NEG).all():
            d_status, order, confs = "fallback", np.array([], dtype=np.int64), []
            reason = f"no entry has the tags {', '.join(tags)}"
        else:
            d = decide(fused, cal, top_k, q.scored.confidence)
            d_status, order, confs, reason = d.status, d.order, d.confidences, d.reason
        ids = [index.entry_ids[i] for i in order]
        entries = {e.id: e for e in self.kb.entries(ids)}
        sugg = [Suggestion(i, entries[i].question, round(c, 4)) for i, c in zip(ids, confs, strict=True)]
        conf = round(confs[0], 4) if confs else 0.0
        fallback = self.kb.config.fallback_answer or FALLBACK_TEXT.get(lang, FALLBACK_TEXT["en"])
        if d_status == "answered":
            best = entries[ids[0]]
            ans = Answer(
                "answered",
                best.answer,
                conf,
                entry_id=best.id,
                matched_question=self._matched(index, q.vectors, lang, order[0]),
                suggestions=sugg[1:],
                reason=reason,
                question=q.text,
                lang=lang,
                truncated=q.truncated,
            )
        elif d_status == "ambiguous":
            a, b = sugg[0], sugg[1]
            msg = (
                f"Did you mean: 1) {a.question}  2) {b.question}"
                if lang != "zh"
                else f"您是想问：1）{a.question}  2）{b.question}"
            )
            ans = Answer(
                "ambiguous",
                msg,
                conf,
                entry_id=None,
                matched_question=None,
                suggestions=sugg[:2] + sugg[2:],
                reason=reason,
                question=q.text,
                lang=lang,
                truncated=q.truncated,
            )
        else:
            ans = Answer(
                "fallback",
                fallback,
                conf,
                entry_id=None,
                matched_question=None,
                suggestions=sugg,
                reason=reason,
                question=q.text,
                lang=lang,
                truncated=q.truncated,
            )
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

    def _matched(self, index: SearchIndex, qv: dict[str, np.ndarray], lang: str, entry: int) -> str:
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
        q = self._scores(question, tags)
        index, fused, lang, scored = q.index, q.fused, q.lang, q.scored
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
