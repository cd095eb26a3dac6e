"""Read a KB into a SearchIndex: entries, texts and the vectors of the KB's encoders."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from qa.encoders.base import Encoder, effective_languages
from qa.errors import StaleIndexError
from qa.kb.store import KnowledgeBase
from qa.reference import reference_vectors
from qa.retrieval.index import SearchIndex


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
    )
