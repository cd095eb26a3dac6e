"""qa.importing.import_entries, the library function behind `qa import` (whose CLI tests are in
tests/cli/test_import*.py): counts, the dry run as a mode of the same code, a KB object or a path."""

from __future__ import annotations

from qa.importing import ImportReport, import_entries
from qa.kb.entry import Entry
from qa.kb.store import KnowledgeBase


def test_import_into_a_path_then_again_changes_nothing(tmp_path, entries):
    path = tmp_path / "kb.db"
    first = import_entries(path, entries, model="fake")
    assert isinstance(first, ImportReport)
    assert (first.added, first.updated, first.unchanged, first.removed) == (len(entries), 0, 0, 0)
    assert first.entries == len(entries) and not first.dry_run
    again = import_entries(path, entries)
    assert (again.added, again.unchanged) == (0, len(entries))
    assert again.changed.checked == 0


def test_dry_run_counts_like_an_import_and_writes_nothing(tmp_path, entries):
    path = tmp_path / "none.db"
    dry = import_entries(path, entries, dry_run=True, model="fake")
    assert not path.exists()
    assert dry.dry_run and dry.added == len(entries) and dry.entries == 0
    assert dry.to_dict()["dry_run"] is True and dry.to_dict()["added"] == len(entries)


def test_a_knowledge_base_object_and_replace(entries):
    kb = KnowledgeBase()  # in memory
    import_entries(kb, entries, model="fake")
    keep = [Entry(e.id, e.question, e.answer + " Updated.", e.alternates, e.lang, e.tags) for e in entries[:2]]
    dry = import_entries(kb, keep, replace=True, dry_run=True)
    assert (dry.updated, dry.removed) == (2, len(entries) - 2)
    assert kb.count() == len(entries)  # the dry run ran on a copy
    done = import_entries(kb, keep, replace=True)
    assert (done.updated, done.removed, done.entries) == (2, len(entries) - 2, 2)
    assert kb.count() == 2
