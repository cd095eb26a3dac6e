"""A KB's settings, typed: one attribute per key of the `settings` table (a JSON value each).

    kb.config.model                        # the encoder ids the KB is indexed with, or None
    kb.config.update(oos_share=0.3)        # several keys in one transaction; None deletes a key

Everything outside qa/kb/ reads and writes settings through this, never by SQL.
"""

from __future__ import annotations

from typing import Any, Protocol, cast

#: The keys qa stores, and what each holds.
KEYS = {
    "model": "the encoder ids the KB is indexed with (qa index --model)",
    "calibration": "the fitted calibration, the norms and mixes it was fitted with (qa.loader)",
    "thresholds": "answer_threshold / ambiguity_margin set by hand (qa tune --threshold/--margin)",
    "oos_share": "the out-of-scope share the KB calibrates itself at (qa tune --oos-share)",
    "oos_share_source": "where oos_share came from",
    "indexed_revision": "per encoder, the entries revision it has embedded everything up to",
    "fallback_answer": "the text of a fallback answer, in place of the built-in one",
    "source_hash": "the bundled KB: a digest of the files it was built from",
    "name": "a name for the KB",
}


class _Store(Protocol):
    def get_setting(self, key: str, default: Any = None) -> Any: ...

    def set_settings(self, values: dict[str, Any]) -> None: ...


class Settings:
    """Typed reads of a KB's settings, and `update` to write them."""

    def __init__(self, store: _Store) -> None:
        self._store = store

    @property
    def model(self) -> list[str] | None:
        return cast("list[str] | None", self._store.get_setting("model"))

    @property
    def calibration(self) -> dict[str, Any] | None:
        return cast("dict[str, Any] | None", self._store.get_setting("calibration"))

    @property
    def thresholds(self) -> dict[str, float]:
        return cast("dict[str, float]", self._store.get_setting("thresholds", {}))

    @property
    def oos_share(self) -> float | None:
        stored = self._store.get_setting("oos_share")
        return float(stored) if stored is not None else None

    @property
    def oos_share_source(self) -> str | None:
        return cast("str | None", self._store.get_setting("oos_share_source"))

    @property
    def indexed_revision(self) -> dict[str, int]:
        return cast("dict[str, int]", self._store.get_setting("indexed_revision", {}))

    @property
    def fallback_answer(self) -> str | None:
        return cast("str | None", self._store.get_setting("fallback_answer"))

    @property
    def source_hash(self) -> str | None:
        return cast("str | None", self._store.get_setting("source_hash"))

    def update(self, **values: Any) -> None:
        """Write these keys in one transaction; a value of None deletes its key."""
        unknown = sorted(set(values) - set(KEYS))
        if unknown:
            raise TypeError(f"Unknown setting(s) {', '.join(unknown)}; the settings are: {', '.join(KEYS)}")
        self._store.set_settings(values)
