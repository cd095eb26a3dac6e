"""Retrieval and scoring: pure functions and small immutable structures over numpy arrays."""
