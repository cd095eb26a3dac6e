"""Read a KB into what answering needs: a SearchIndex (entries, texts and the vectors of the KB's
encoders) and its calibration, refitted and stored when it is stale."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace

import numpy as np

from qa import indexing, learned
from qa.encoders.base import Encoder, effective_languages
from qa.encoders.reference import reference_vectors
from qa.errors import StaleIndexError
from qa.kb.heads import load_heads, save_heads
from qa.kb.store import KnowledgeBase
from qa.retrieval import selfcal, selfmeasure
from qa.retrieval.calibration import PRIOR, Calibration
from qa.retrieval.index import SearchIndex
from qa.retrieval.reference import reference_texts
from qa.retrieval.selfcal import calibrate_from_kb

#: Recalibrate when the number of texts changed by more than this share since the last fit.
RECALIBRATE_AFTER = 0.1


def load_index(
    kb: KnowledgeBase,
    encoders: Sequence[Encoder],
    norms: Mapping[str, tuple[float, float]] | None = None,
) -> SearchIndex:
    entries = kb.entries()
    pos = {e.id: i for i, e in enumerate(entries)}
    rows = kb.texts()
    texts = [t for _, t, _ in rows]
    hashes = [h for _, _, h in rows]
    text_entry = np.array([pos[eid] for eid, _, _ in rows], dtype=np.int64)
    langs = [e.lang for e in entries]
    vectors: dict[str, np.ndarray] = {}
    languages = effective_languages(encoders)
    by_id = {e.id: e for e in encoders}
    for enc in encoders:
        serves = languages[enc.id]
        stored_hashes, mat = kb.load_vectors(enc.id)
        where = {h: i for i, h in enumerate(stored_hashes)}
        dim = mat.shape[1] if len(stored_hashes) else (enc.dim or 1)
        out = np.full((len(texts), dim), np.nan, dtype=np.float32)
        missing = 0
        for t, h in enumerate(hashes):
            i = where.get(h)
            if i is not None:
                out[t] = mat[i]
            elif "*" in serves or langs[text_entry[t]] in serves:
                missing += 1
        if missing:
            raise StaleIndexError(
                f"{missing} texts have no {enc.id} vector yet. Bring the index up to date with: "
                f"qa index{f' --db {kb.path}' if kb.path else ''}"
            )
        vectors[enc.id] = out
    return SearchIndex.build(
        entry_ids=[e.id for e in entries],
        entry_langs=langs,
        entry_tags=[e.tags for e in entries],
        texts=texts,
        text_entry=text_entry,
        vectors=vectors,
        languages=languages,
        norms=norms,
        helpers=frozenset(e.id for e in encoders if e.helper),
        reference=lambda enc_id, lang: reference_vectors(by_id[enc_id], lang),
        reference_texts=reference_texts,
        costs={e.id: e.query_ms for e in encoders},
        search_models=frozenset(e.id for e in encoders if e.search_model),
    )


def read(
    kb: KnowledgeBase,
    encoders: Sequence[Encoder],
    *,
    auto_index: bool,
    hold_encoders: Callable[[], AbstractContextManager[None]],
) -> tuple[SearchIndex, Calibration, int]:
    """Index `kb` (embedding texts that lack vectors, with `hold_encoders()` held), load it and, if
    its calibration is stale, refit and store it. Returns the index, the calibration and the KB's
    data_version after all that."""
    if auto_index and not kb.readonly:  # questions wait for the encoders only if texts are embedded
        indexing.index(kb, encoders, switch=indexing.kb_model(kb) is None, hold=hold_encoders)
    stored = kb.config.calibration
    cal = Calibration.from_json(stored["fit"]) if stored else None
    norms = {k: tuple(v) for k, v in stored["norms"].items()} if stored else None
    n_texts = kb.count_texts()  # not kb.texts(): load_index reads those once, below
    labelled = bool(stored and str(stored["fit"].get("source", "")).startswith("labelled"))
    stale = (
        not stored
        or stored.get("version") != selfcal.VERSION
        # a fit on labelled questions is kept as the KB grows; a self-calibration is redone
        or (not labelled and abs(n_texts - stored["n_texts"]) > RECALIBRATE_AFTER * max(stored["n_texts"], 1))
    )
    if stale:
        norms = None
    index = load_index(kb, encoders, norms)  # type: ignore[arg-type]
    if stored and not stale and stored.get("mixes"):
        index.set_mixes(selfmeasure.parse_mixes(stored["mixes"]))
    if not stale:
        heads = learned.usable(index, load_heads(kb))
        if heads is not None and stored is not None and set(heads) == set(stored.get("heads", [])):
            index.heads = heads
        elif kb.readonly:
            pass  # no head: the KB changed since its heads were trained, and cannot store new ones
        elif labelled:
            train_heads(kb, index)  # the labelled fit is kept; the heads follow the texts
        else:
            stale = True
            index = load_index(kb, encoders, None)
    if stale and not kb.readonly:
        cal = fit_and_store(kb, index, n_texts)
    return index, cal or PRIOR, kb.data_version()


def oos_share(kb: KnowledgeBase) -> float:
    """The out-of-scope share the KB calibrates itself at (`qa tune --oos-share`, else the default)."""
    stored = kb.config.oos_share
    return stored if stored is not None else selfcal.DEFAULT_OOS_PRIOR


def oos_share_source(kb: KnowledgeBase) -> str:
    """Where the share `oos_share` returns came from (`qa stats`, `qa tune`)."""
    stored = kb.config.oos_share_source
    if stored:
        return str(stored)
    return "qa tune --oos-share" if kb.config.oos_share is not None else "the default"


def fit_and_store(
    kb: KnowledgeBase,
    index: SearchIndex,
    n_texts: int,
    *,
    oos_prior: float | None = None,
    precision: float | None = None,
) -> Calibration:
    """Self-calibrate on `index`, store the fit with the constants it used, and return it (the
    KB's hand-set thresholds are applied where it is used: Bot.calibration)."""
    share = oos_share(kb) if oos_prior is None else oos_prior
    choices = selfmeasure.choose_all(index)
    selfmeasure.apply(index, choices)
    outcomes = _train_heads(index)
    cal = calibrate_from_kb(index, oos_prior=share, precision=precision)
    with kb.atomic():
        store_calibration(kb, cal, index, n_texts, choices)
        _store_heads(kb, outcomes)
    return cal


def _train_heads(index: SearchIndex) -> list[learned.Outcome]:
    """Train every language's head on `index` (with its mixes) and put those trained in it."""
    index.heads = {}  # the retrieval scores the heads are weighed against are those without one
    outcomes = learned.train_all(index)
    index.heads = {o.lang: o.learned for o in outcomes if o.learned is not None}
    return outcomes


def train_heads(kb: KnowledgeBase, index: SearchIndex) -> None:
    """Retrain and store the heads of `index`, its mixes and calibration kept (a labelled fit)."""
    outcomes = _train_heads(index)
    with kb.atomic():
        _store_heads(kb, outcomes)
        stored = {k: v for k, v in (kb.config.calibration or {}).items() if k != "heads"}
        if stored and index.heads:
            stored["heads"] = sorted(index.heads)
        if stored:
            kb.config.update(calibration=stored)


def _store_heads(kb: KnowledgeBase, outcomes: list[learned.Outcome]) -> None:
    save_heads(kb, {o.lang: (o.learned.head.to_bytes(), o.meta) for o in outcomes if o.learned is not None})


def store_calibration(
    kb: KnowledgeBase,
    cal: Calibration,
    index: SearchIndex,
    n_texts: int,
    choices: list[selfmeasure.Choice] | None = None,
) -> None:
    """Store the fit with what it was fitted on: the scale constants, the mixes of signals in use
    and, when they were measured just now, the measurements behind them (`qa stats` shows them)."""
    fit = {
        "fit": cal.to_json(),
        "version": selfcal.VERSION,
        "n_texts": n_texts,
        "norms": index.stored_norms(),
        "mixes": index.stored_mixes(),
    }
    if index.heads:
        fit["heads"] = sorted(index.heads)
    if choices is not None:
        fit["measured"] = [c.to_json() for c in choices]
    else:
        old = kb.config.calibration or {}
        if old.get("measured"):
            fit["measured"] = old["measured"]
    kb.config.update(calibration=fit)


def apply_overrides(cal: Calibration, overrides: dict) -> Calibration:
    """`cal` with the thresholds set by hand (`qa tune --threshold/--margin`) in place of its own."""
    thr = overrides.get("answer_threshold", cal.answer_threshold)
    margin = overrides.get("ambiguity_margin", cal.ambiguity_margin)
    return replace(cal, answer_threshold=float(thr), ambiguity_margin=float(margin))
