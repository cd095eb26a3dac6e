"""Encoders: one small interface (base.Encoder), one module per backend, and the registry of names."""

from qa.encoders.base import Encoder

__all__ = ["Encoder"]
