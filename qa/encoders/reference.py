"""The vectors of the reference questions (qa.retrieval.reference: everyday questions in each
language, unrelated to almost any KB), which give the cosine scale of a question language a KB has
no texts in (retrieval/norms.py).

They are cached per built-in encoder in the user cache folder; other encoders (word vectors trained
on one KB, local sentence-transformers folders) embed them each time.
"""

from __future__ import annotations

import hashlib

import numpy as np

from qa.encoders.base import Encoder, cache_dir, write_cache_file
from qa.retrieval.reference import reference_texts


def reference_vectors(encoder: Encoder, lang: str) -> np.ndarray | None:
    """The encoder's vectors of the reference questions in `lang` (None: no such questions)."""
    from qa.encoders import registry

    texts = reference_texts(lang)
    if not texts:
        return None
    if encoder.id not in registry.BUILTIN:
        return encoder.embed(list(texts))
    digest = hashlib.md5("\n".join(texts).encode()).hexdigest()[:12]
    path = cache_dir() / f"reference-{encoder.id}-{lang}-{digest}.npy"
    try:
        vecs = np.load(path)
        if vecs.shape == (len(texts), encoder.dim):
            return vecs
    except (OSError, ValueError):
        pass
    vecs = encoder.embed(list(texts))
    write_cache_file(path, lambda f: np.save(f, vecs))
    return vecs
