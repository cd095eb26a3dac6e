"""Bring a KB's vectors up to date: embed only texts with no vector for the KB's encoders."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

import numpy as np

from qa.encoders.base import Encoder, effective_languages
from qa.errors import ModelMismatchError, NotFoundError
from qa.kb.entry import Entry, text_hash
from qa.kb.store import KnowledgeBase

CHUNK = 512  # texts embedded and stored per transaction: an interrupted run keeps finished chunks

Progress = Callable[[int], None]


@dataclass
class IndexReport:
    model: list[str]
    embedded: dict[str, int]
    switched: bool


def kb_model(kb: KnowledgeBase) -> list[str] | None:
    m = kb.config.model
    return list(m) if m else None


def check_model(kb: KnowledgeBase, wanted: Sequence[str]) -> None:
    """Raise when the KB was indexed with other encoders than `wanted`."""
    have = kb_model(kb)
    if have is not None and list(have) != list(wanted):
        where = f" --db {kb.path}" if kb.path else ""
        raise ModelMismatchError(
            f"This KB was indexed with {'+'.join(have)}, not {'+'.join(wanted)}. To switch, "
            f"re-embed everything with: qa index --model {'+'.join(wanted)}{where}"
        )


def pending(kb: KnowledgeBase, encoders: Sequence[Encoder], *, full: bool = False) -> dict[str, list[tuple[str, str]]]:
    """Texts each encoder has no vector for. Only entries written since the last index are
    checked, unless `full` (or the encoder never indexed this KB)."""
    langs = effective_languages(encoders)
    done = {} if full else kb.config.indexed_revision
    return {enc.id: kb.missing_texts(enc.id, langs[enc.id], since=done.get(enc.id)) for enc in encoders}


def index(
    kb: KnowledgeBase,
    encoders: Sequence[Encoder],
    *,
    switch: bool = False,
    full: bool = False,
    progress: Callable[[int], Progress] | None = None,
    hold: Callable[[], AbstractContextManager[object]] | None = None,
) -> IndexReport:
    """Embed missing texts with each encoder; `switch` makes `encoders` the KB's model.

    `progress(total)` returns a callback taking the number of texts just embedded; `hold()` is
    entered while texts are embedded, if any are (a Bot keeps its questions off the encoders).
    """
    ids = [e.id for e in encoders]
    have = kb_model(kb)
    switched = have != ids
    if have is not None and switched and not switch:
        check_model(kb, ids)
    revision = kb.revision()
    todo = pending(kb, encoders, full=full)
    total = sum(len(v) for v in todo.values())
    tick = progress(total) if progress and total else None
    embedded: dict[str, int] = {}
    with hold() if hold is not None and total else contextlib.nullcontext():
        for enc in encoders:
            rows = sorted(todo[enc.id], key=lambda r: len(r[1]))  # similar lengths batch with less padding
            for start in range(0, len(rows), CHUNK):
                chunk = rows[start : start + CHUNK]
                vecs = enc.embed([t for _, t in chunk], progress=tick)
                kb.store_vectors(enc.id, [h for h, _ in chunk], vecs)
            embedded[enc.id] = len(rows)
    done = dict(kb.config.indexed_revision)
    updates: dict[str, object] = {}
    if any(done.get(i) != revision for i in ids) and not kb.readonly:
        updates["indexed_revision"] = {**done, **{i: revision for i in ids}}
    if switched:
        updates.update({"model": ids, "calibration": None})
    if updates:
        kb.config.update(**updates)
    return IndexReport(ids, embedded, switched)


def embed_entries(
    kb: KnowledgeBase,
    encoders: Sequence[Encoder],
    entries: Sequence[Entry],
    *,
    progress: Callable[[int], Progress] | None = None,
) -> list[tuple[str, list[str], np.ndarray]]:
    """Embed the texts of `entries` that have no stored vector yet, without writing anything.

    Lets an import embed first and then write entries and vectors in one transaction.
    """
    todo: list[tuple[Encoder, list[tuple[str, str]]]] = []
    langs = effective_languages(encoders)
    for enc in encoders:
        have = kb.vector_hashes(enc.id)
        seen: dict[str, str] = {}
        for e in entries:
            if "*" in langs[enc.id] or e.lang in langs[enc.id]:
                for t in e.texts():
                    h = text_hash(t)
                    if h not in have:
                        seen.setdefault(h, t)
        todo.append((enc, list(seen.items())))
    total = sum(len(rows) for _, rows in todo)
    tick = progress(total) if progress and total else None
    out = []
    for enc, rows in todo:
        vecs = enc.embed([t for _, t in rows], progress=tick)
        out.append((enc.id, [h for h, _ in rows], vecs))
    return out


def make_encoder(name: str, kb: KnowledgeBase, texts: Sequence[str] | None = None) -> Encoder:
    """Build an encoder by name (registry.create); word-vector encoders read (or, for GloVe, store)
    their state in the KB.

    `fasttext:NAME` / `w2v:NAME` resolve to the model trained by `qa train-vectors --name NAME`
    (its id carries a hash of the trained vectors, so retraining asks for a re-index).
    """
    from qa.encoders import registry

    return registry.create(name, word_models=lambda word_name: _word_encoder(word_name, kb, texts))


def _word_encoder(name: str, kb: KnowledgeBase, texts: Sequence[str] | None) -> Encoder:
    """The word-vector encoder `name` (registry.create has resolved it): GloVe, fitted on `texts` (else
    the KB's texts) and stored the first time, or vectors trained by `qa train-vectors`."""
    from qa.encoders import word_vectors
    from qa.kb import word_models

    if name == "glove-sif":
        try:
            kind, data, meta = word_models.load_word_model(kb, "glove-sif")
        except NotFoundError:
            corpus = list(texts) if texts is not None else [t for _, t, _ in kb.texts()]
            enc = word_vectors.glove_encoder(corpus)
            if not kb.readonly:
                word_models.save_word_model(kb, "glove-sif", *enc.to_stored())
            return enc
        return word_vectors.from_stored("glove-sif", kind, data, meta)
    model_name, _, digest = name.partition(":")[2].partition("@")
    kind, data, meta = word_models.load_word_model(kb, model_name)
    enc = word_vectors.from_stored(model_name, kind, data, meta)
    if digest and enc.id != name:
        raise ModelMismatchError(
            f"The word vectors {model_name!r} were retrained since this KB was indexed. Re-embed with: "
            f"qa index --model {name.split('@')[0]}"
        )
    return enc


def make_encoders(names: Sequence[str], kb: KnowledgeBase, texts: Sequence[str] | None = None) -> list[Encoder]:
    return [make_encoder(n, kb, texts) for n in names]
