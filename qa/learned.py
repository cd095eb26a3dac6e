"""The heads a KB trains on its own texts (qa/retrieval/head.py), one per language: what they are
trained on, and whether a stored one still fits the KB.

A language's head is trained after measuring the KB has chosen the language's mix of signals
(selfmeasure.py): on the stored vectors of the mix's encoders side by side, so a question needs no
other encoder; its weight is chosen beside the fused retrieval scores of the same held-out texts,
each asked against the rest of the KB. A stored head is used only while the language's texts, their
entries, the mix and head.VERSION are those it was trained with (`fingerprint`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from qa.retrieval import head as head_mod
from qa.retrieval.index import Learned, SearchIndex


@dataclass(frozen=True)
class Outcome:
    """What training one language's head gave: the head (None: see `reason`), and what to store."""

    lang: str
    learned: Learned | None
    reason: str
    meta: dict[str, Any]


def _texts_of(index: SearchIndex, lang: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The language's entries, their texts (indices into index.texts) and each text's owner
    (a position among those entries)."""
    entries = index.routes_entries(lang)
    texts = np.flatnonzero(np.isin(index.text_entry, entries))
    return entries, texts, np.searchsorted(entries, index.text_entry[texts])


def fingerprint(index: SearchIndex, lang: str) -> dict[str, Any]:
    """What a language's head depends on: its texts and their entries, the mix, the head's version."""
    entries, texts, _ = _texts_of(index, lang)
    h = hashlib.md5(usedforsecurity=False)
    for t in texts:
        h.update(index.entry_ids[index.text_entry[t]].encode() + b"\x00" + index.texts[t].encode() + b"\x01")
    mix = index.mix_for(lang, lang)
    return {
        "version": head_mod.VERSION,
        "lang": lang,
        "encoders": [e for e, _ in mix.parts],
        "mix": mix.to_json(),
        "texts_hash": h.hexdigest(),
        "n_texts": int(len(texts)),
        "n_entries": int(len(entries)),
    }


def _vectors(index: SearchIndex, encoders: list[str], texts: np.ndarray) -> np.ndarray | None:
    parts = []
    for enc in encoders:
        sig = index.signals.get(enc)
        if sig is None:
            return None
        rows = np.minimum(np.searchsorted(sig.text_idx, texts), len(sig.text_idx) - 1)
        if not len(sig.text_idx) or not (sig.text_idx[rows] == texts).all():
            return None
        parts.append(sig.vectors[rows])
    return np.concatenate(parts, axis=1) if parts else None


def train(index: SearchIndex, lang: str) -> Outcome:
    """Train the head of the entries in `lang` (before any head joins the index's scores)."""
    meta = fingerprint(index, lang)
    entries, texts, owner = _texts_of(index, lang)
    held = head_mod.held_out(owner)
    if len(held) < head_mod.MIN_HELD_OUT:  # asked first: a KB without alternates pays nothing
        return Outcome(
            lang, None, f"{len(held)} held-out texts (under {head_mod.MIN_HELD_OUT}): too few alternates", meta
        )
    x = _vectors(index, meta["encoders"], texts)
    if x is None:
        return Outcome(lang, None, "the mix's encoders do not cover every text", meta)
    if x.shape[0] * x.shape[1] * len(entries) > head_mod.MAX_WORK:
        return Outcome(lang, None, "too large to train in time", meta)
    same = np.zeros(index.n, bool)
    same[entries] = True
    retrieval = np.empty((len(held), len(entries)), np.float32)
    for k, h in enumerate(held):
        t = int(texts[h])
        retrieval[k] = index.score(
            index.text_query_vectors(t), index.texts[t], lang, drop_text=t, allowed=same, head=False
        ).fused[entries]
    got = head_mod.train(x, owner, len(entries), retrieval)
    if got.head is None:
        return Outcome(lang, None, got.reason, meta)
    hd = got.head
    meta = {
        **meta,
        "weight": hd.weight,
        "confidence_weight": hd.confidence_weight,
        "cv_hit1": hd.cv_hit1,
        "cv_hit1_retrieval": hd.cv_hit1_retrieval,
        "n_held_out": int(len(held)),
    }
    learned = Learned(lang, tuple(meta["encoders"]), hd, texts[got.held], got.cross_fitted)
    return Outcome(lang, learned, "", meta)


def train_all(index: SearchIndex) -> list[Outcome]:
    return [train(index, lang) for lang in sorted(set(index.entry_langs))]


def usable(index: SearchIndex, stored: dict[str, tuple[bytes, dict[str, Any]]]) -> dict[str, Learned] | None:
    """The stored heads that still fit the index (language -> head), or None if any is stale."""
    out = {}
    for lang, (data, meta) in stored.items():
        if lang not in set(index.entry_langs):
            return None
        want = fingerprint(index, lang)
        if any(json.dumps(meta.get(k), sort_keys=True) != json.dumps(v, sort_keys=True) for k, v in want.items()):
            return None
        hd = head_mod.Head.from_bytes(data)
        if hd is None or hd.w.shape[1] != want["n_entries"]:
            return None
        out[lang] = Learned(lang, tuple(want["encoders"]), hd)
    return out
