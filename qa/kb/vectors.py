"""Vectors as little-endian float32 BLOBs."""

from __future__ import annotations

import numpy as np


def encode_vector(v: np.ndarray) -> bytes:
    return np.asarray(v, dtype="<f4").tobytes()


def decode_vectors(blobs: list[bytes], dim: int) -> np.ndarray:
    """Stack BLOBs into one (n, dim) float32 matrix, copying each into a preallocated array."""
    out = np.empty((len(blobs), dim), dtype=np.float32)
    for i, b in enumerate(blobs):
        out[i] = np.frombuffer(b, dtype="<f4")
    return out
