"""Storage: round trips, migrations, atomicity, bad files."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from qa.errors import KBError, NotFoundError
from qa.kb.entry import Entry, text_hash
from qa.kb.schema import current_version
from qa.kb.store import KnowledgeBase


def test_round_trip_entries(tmp_path, entries):
    kb = KnowledgeBase(tmp_path / "kb.db")
    counts = kb.upsert(entries)
    assert counts == {"added": len(entries), "updated": 0, "unchanged": 0, "removed": 0}
    kb.close()
    again = KnowledgeBase(tmp_path / "kb.db")
    got = again.entries()
    assert [e.content() for e in got] == [e.content() for e in entries]
    assert all(e.created and e.updated for e in got)


def test_upsert_counts_and_replace(entries):
    kb = KnowledgeBase.memory()
    kb.upsert(entries)
    changed = Entry(entries[0].id, entries[0].question, "new answer", entries[0].alternates, "en")
    assert kb.upsert([changed, entries[1]]) == {"added": 0, "updated": 1, "unchanged": 1, "removed": 0}
    assert kb.get(entries[0].id).answer == "new answer"
    assert kb.upsert([entries[1]], replace=True)["removed"] == len(entries) - 1
    assert kb.ids() == [entries[1].id]


def test_file_is_plain_sqlite_with_schema_version(tmp_path, entries):
    path = tmp_path / "kb.db"
    KnowledgeBase(path).upsert(entries)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == current_version()
    assert conn.execute("SELECT count(*) FROM texts").fetchone()[0] == sum(len(e.texts()) for e in entries)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_failure_inside_transaction_rolls_back(entries):
    kb = KnowledgeBase.memory()
    kb.upsert(entries[:2])
    before = [e.content() for e in kb.entries()]
    with pytest.raises(RuntimeError), kb.atomic():
        kb.upsert(entries[2:])
        raise RuntimeError("injected failure")
    assert [e.content() for e in kb.entries()] == before


def test_keyboard_interrupt_rolls_back(entries, monkeypatch):
    kb = KnowledgeBase.memory()
    kb.upsert(entries[:1])
    calls = {"n": 0}
    real = kb._write_entry

    def flaky(e, **kw):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        real(e, **kw)

    monkeypatch.setattr(kb, "_write_entry", flaky)
    with pytest.raises(KeyboardInterrupt):
        kb.upsert(entries[1:])
    assert kb.ids() == [entries[0].id]


def test_vectors_round_trip_and_missing(entries):
    kb = KnowledgeBase.memory()
    kb.upsert(entries)
    missing = kb.missing_texts("m")
    assert len(missing) == sum(len(e.texts()) for e in entries)
    hashes = [h for h, _ in missing]
    mat = np.random.default_rng(0).normal(size=(len(hashes), 8)).astype(np.float32)
    kb.store_vectors("m", hashes, mat)
    assert kb.missing_texts("m") == []
    got_hashes, got = kb.load_vectors("m")
    order = [got_hashes.index(h) for h in hashes]
    np.testing.assert_array_equal(got[order], mat)
    # only English entries need vectors from an English-only model
    en_texts = sum(len(e.texts()) for e in entries if e.lang == "en")
    assert len(kb.missing_texts("en-model", frozenset({"en"}))) == en_texts


def test_changed_alternate_needs_only_its_vector(entries):
    kb = KnowledgeBase.memory()
    kb.upsert(entries)
    kb.store_vectors("m", [h for h, _ in kb.missing_texts("m")], np.ones((len(kb.missing_texts("m")), 4)))
    e = entries[0]
    kb.upsert([Entry(e.id, e.question, e.answer, [*e.alternates, "brand new phrasing"], e.lang, e.tags)])
    assert kb.missing_texts("m") == [(text_hash("brand new phrasing"), "brand new phrasing")]


def test_remove_and_not_found(entries):
    kb = KnowledgeBase.memory()
    kb.upsert(entries)
    kb.remove(entries[0].id)
    with pytest.raises(NotFoundError, match="qa list"):
        kb.get(entries[0].id)
    with pytest.raises(NotFoundError):
        kb.remove("nope")
    # alternates go with their entry
    assert kb.db.execute("SELECT count(*) FROM alternates WHERE entry_id = ?", [entries[0].id]).fetchone()[0] == 0


def test_not_a_database(tmp_path):
    p = tmp_path / "x.db"
    p.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(KBError, match="not a usable SQLite file"):
        KnowledgeBase(p)


def test_foreign_sqlite_file_is_refused(tmp_path):
    p = tmp_path / "other.db"
    sqlite3.connect(p).execute("CREATE TABLE customers(id)")
    with pytest.raises(KBError, match="not a qa knowledge base"):
        KnowledgeBase(p)


def test_newer_schema_is_refused(tmp_path):
    p = tmp_path / "new.db"
    KnowledgeBase(p).close()
    conn = sqlite3.connect(p)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(KBError, match="newer qa"):
        KnowledgeBase(p)


def test_settings_round_trip():
    kb = KnowledgeBase.memory()
    kb.set_settings({"a": {"x": [1, 2]}, "b": "中文"})
    assert kb.get_setting("a") == {"x": [1, 2]}
    assert kb.settings()["b"] == "中文"
    kb.set_settings({"a": None})
    assert kb.get_setting("a", "gone") == "gone"


def test_concurrent_reader_while_writing(tmp_path, entries):
    path = tmp_path / "kb.db"
    writer = KnowledgeBase(path)
    writer.upsert(entries[:2])
    reader = KnowledgeBase(path)
    with writer.atomic():
        writer.upsert(entries[2:])
        # WAL: a reader sees the last committed state while a write is under way
        assert len(reader.ids()) == 2
    assert len(reader.ids()) == len(entries)


def test_a_version_1_file_is_migrated_and_keeps_its_data(tmp_path):
    import sqlite_utils

    from qa.kb.schema import MIGRATIONS

    path = tmp_path / "v1.db"
    db = sqlite_utils.Database(path)
    MIGRATIONS[0](db)
    db.execute(
        "INSERT INTO entries(id, question, answer, lang, tags, question_hash, created, updated) "
        "VALUES ('a', 'old question', 'old answer', 'en', '[]', ?, 't', 't')",
        [text_hash("old question")],
    )
    db.execute("PRAGMA user_version = 1")
    db.conn.commit()
    db.conn.close()
    kb = KnowledgeBase(path)
    assert kb.db.execute("PRAGMA user_version").fetchone()[0] == current_version() == len(MIGRATIONS) >= 3
    assert kb.get("a").answer == "old answer"
    assert "word_models" in kb.db.table_names()
    assert kb.revision() == 0
    kb.upsert([Entry("b", "new question", "new answer")])
    assert kb.revision() == 1
    assert kb.missing_texts("m", since=0) == [(text_hash("new question"), "new question")]


def test_the_write_ahead_log_is_cut_back_after_big_writes(tmp_path, entries):
    from qa.kb.store import WAL_SIZE_LIMIT

    kb = KnowledgeBase(tmp_path / "kb.db")
    kb.upsert(entries)
    # without a limit SQLite keeps the log at its largest size (1.25 GB after a 100k-entry KB)
    assert kb.db.execute("PRAGMA journal_size_limit").fetchone()[0] == WAL_SIZE_LIMIT


def test_typed_settings_read_and_write_the_settings_table():
    kb = KnowledgeBase()
    assert kb.config.model is None and kb.config.thresholds == {} and kb.config.oos_share is None
    kb.config.update(model=["fake"], oos_share=0.25, thresholds={"answer_threshold": 0.5})
    assert kb.get_setting("model") == ["fake"] and kb.config.model == ["fake"]
    assert kb.config.oos_share == 0.25 and kb.config.thresholds == {"answer_threshold": 0.5}
    kb.config.update(oos_share=None)
    assert kb.config.oos_share is None and kb.get_setting("oos_share", "gone") == "gone"
    with pytest.raises(TypeError, match="Unknown setting"):
        kb.config.update(treshold=1)
    assert kb.count_log() == 0
