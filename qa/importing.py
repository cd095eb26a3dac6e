"""Importing entries into a KB: embed, then write entries, vectors and calibration in one
transaction, then report which new or changed entries duplicate another (qa.curate.conflicts).

`qa import` is this function and a printout; a dry run is the same code on a scratch copy.

    from qa.importing import import_entries
    from qa.kb.formats import read_file
    report = import_entries("faq.db", read_file("faq.csv"), dry_run=True)
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qa import indexing
from qa.bot import Bot
from qa.curate.conflicts import ChangedReport, check_changed, encoder_embed
from qa.encoders import registry
from qa.kb.entry import Entry
from qa.kb.store import KnowledgeBase


@dataclass(frozen=True)
class ImportReport:
    """What an import did (or, with `dry_run`, would do)."""

    dry_run: bool
    added: int
    updated: int
    unchanged: int
    removed: int
    entries: int  # entries in the KB after the import; a dry run leaves it as it was
    changed: ChangedReport  # the new or changed entries that duplicate another, and conflicts

    def to_dict(self) -> dict[str, Any]:
        counts = {"added": self.added, "updated": self.updated, "unchanged": self.unchanged, "removed": self.removed}
        return {"dry_run": self.dry_run, **counts, "entries": self.entries, **self.changed.to_dict()}


def import_entries(
    db: KnowledgeBase | str | Path,
    entries: Sequence[Entry],
    *,
    replace: bool = False,
    dry_run: bool = False,
    model: str | None = None,
    progress: Callable[[int], indexing.Progress] | None = None,
) -> ImportReport:
    """Import `entries` into the KB `db` (a KnowledgeBase, or a path: a new KB is created there).

    Entries are matched by id: new ones are added, changed ones updated; `replace` removes the
    others. `model` (a --model value) chooses the encoders of a new KB or must match the KB's.
    All or nothing: an error or Ctrl-C at any point leaves the KB as it was. With `dry_run` the
    import runs on a scratch copy (so it embeds the changed texts too) and `db` is left as it is
    (a path with no KB yet stays without a file).
    """
    if dry_run:
        with _scratch_copy(db) as kb:
            total = kb.count()
            counts, changed = _import_into(kb, entries, replace, model, progress)
        return ImportReport(True, **counts, entries=total, changed=changed)
    if isinstance(db, KnowledgeBase):
        counts, changed = _import_into(db, entries, replace, model, progress)
        return ImportReport(False, **counts, entries=db.count(), changed=changed)
    kb = KnowledgeBase(Path(db))
    counts, changed = _import_into(kb, entries, replace, model, progress)
    return ImportReport(False, **counts, entries=kb.count(), changed=changed)


@contextlib.contextmanager
def _scratch_copy(db: KnowledgeBase | str | Path) -> Iterator[KnowledgeBase]:
    """A writable copy of the KB `db` (an empty KB if there is none) in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="qa-dry-run-") as tmp:
        copy = Path(tmp) / "kb.db"
        if isinstance(db, KnowledgeBase):
            db.copy_to(copy)
        elif Path(db).exists():
            source = KnowledgeBase(Path(db), readonly=True)
            try:
                source.copy_to(copy)
            finally:
                source.close()
        kb = KnowledgeBase(copy)
        try:
            yield kb
        finally:
            kb.close()


def _import_into(
    kb: KnowledgeBase,
    entries: Sequence[Entry],
    replace: bool,
    model: str | None,
    progress: Callable[[int], indexing.Progress] | None,
) -> tuple[dict[str, int], ChangedReport]:
    """Embed, then write entries, vectors and calibration in one transaction; then compare the
    entries that changed with the KB. Returns the counts and that report."""
    ids = registry.expand(model) if model else (indexing.kb_model(kb) or registry.expand(registry.DEFAULT_MODEL))
    encoders = indexing.make_encoders(ids, kb, texts=[t for e in entries for t in e.texts()])
    indexing.check_model(kb, [e.id for e in encoders])
    # Embed first, then write entries, vectors and calibration in one transaction: an error or
    # Ctrl-C at any point leaves the KB as it was.
    vectors = indexing.embed_entries(kb, encoders, list(entries), progress=progress)
    before = {e.id: e.content() for e in kb.entries([e.id for e in entries])} if entries else {}
    with kb.atomic():
        counts = kb.upsert(entries, replace=replace)
        for model_id, hashes, matrix in vectors:
            kb.store_vectors(model_id, hashes, matrix)
        indexing.index(kb, encoders, switch=indexing.kb_model(kb) is None)
        bot = Bot(kb, encoders)  # loads the index and refits the calibration if the KB changed enough
    changed = list(dict.fromkeys(e.id for e in entries if before.get(e.id) != e.content()))
    answers = {e.id: e.answer for e in kb.entries()}
    report = check_changed(bot.index, bot.calibration, changed, answers, encoder_embed(encoders))
    return counts, report
