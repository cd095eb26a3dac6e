"""The KB schema as numbered migrations, applied in order on open (the version lives in PRAGMA user_version).

Each migration is a function of a sqlite-utils Database. Never edit a released migration: add a new one.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

Migration = Callable[[sqlite_utils.Database], None]

OUR_TABLES = {"entries", "alternates", "vectors", "settings", "log", "word_models", "feedback", "history", "heads"}


def _run(db: sqlite_utils.Database, script: str) -> None:
    """Run `;`-separated statements one by one: executescript() would commit mid-migration."""
    script = "\n".join(line.split("--")[0] for line in script.splitlines())
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _m001_initial(db: sqlite_utils.Database) -> None:
    _run(
        db,
        """
        CREATE TABLE entries (
            id TEXT PRIMARY KEY,
            question TEXT NOT NULL,
            answer TEXT NOT NULL DEFAULT '',
            lang TEXT NOT NULL DEFAULT '',
            tags TEXT NOT NULL DEFAULT '[]',          -- JSON array of strings
            question_hash TEXT NOT NULL,              -- md5 of question, keys its vectors
            created TEXT NOT NULL,
            updated TEXT NOT NULL
        );
        CREATE TABLE alternates (
            entry_id TEXT NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,                -- 1, 2, ... in the order given
            text TEXT NOT NULL,
            hash TEXT NOT NULL,
            PRIMARY KEY (entry_id, position)
        );
        CREATE TABLE vectors (
            model TEXT NOT NULL,                      -- encoder id; a search uses one model only
            hash TEXT NOT NULL,                       -- md5 of the embedded text
            vector BLOB NOT NULL,                     -- little-endian float32
            UNIQUE (model, hash)                      -- a small index: lookups never touch the BLOBs
        );
        CREATE TABLE settings (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL                       -- JSON
        );
        CREATE TABLE log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            ts TEXT NOT NULL,
            question TEXT NOT NULL,
            lang TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL,                     -- fallback | ambiguous
            confidence REAL,
            entry_id TEXT,                            -- best candidate, if any
            suggestions TEXT NOT NULL DEFAULT '[]'    -- JSON array of entry ids
        );
        CREATE INDEX alternates_hash ON alternates(hash);
        CREATE INDEX entries_qhash ON entries(question_hash);
        CREATE VIEW texts AS
            SELECT id AS entry_id, 0 AS position, question AS text, question_hash AS hash
            FROM entries
            UNION ALL
            SELECT entry_id, position, text, hash FROM alternates;
        """,
    )


def _m002_word_models(db: sqlite_utils.Database) -> None:
    # One statement through execute(), not executescript(), so it runs inside the migration's transaction.
    db.execute(
        """
        CREATE TABLE word_models (
            name TEXT PRIMARY KEY,                    -- the NAME in fasttext:NAME@hash / w2v:NAME@hash
            kind TEXT NOT NULL,                       -- fasttext | word2vec | glove
            created TEXT NOT NULL,
            data BLOB NOT NULL,                       -- vectors, word probabilities, common component
            meta TEXT NOT NULL DEFAULT '{}'           -- JSON: training settings and sizes
        )
        """
    )


def _m003_revisions(db: sqlite_utils.Database) -> None:
    """A revision number per entry, raised on every write, so re-indexing looks only at entries
    changed since the last index (100k entries: 1 s -> a few ms)."""
    _run(
        db,
        """
        ALTER TABLE entries ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX entries_revision ON entries(revision)
        """,
    )


def _m004_feedback(db: sqlite_utils.Database) -> None:
    """Feedback on answers: /good and /bad in the chat, a picked "did you mean" choice, the API."""
    _run(
        db,
        """
        CREATE TABLE feedback (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            ts TEXT NOT NULL,
            question TEXT NOT NULL,
            entry_id TEXT NOT NULL,
            helpful INTEGER NOT NULL,                 -- 1 helpful, 0 not
            source TEXT NOT NULL DEFAULT ''           -- chat | choice | api
        );
        CREATE INDEX feedback_entry ON feedback(entry_id)
        """,
    )


def _m005_history(db: sqlite_utils.Database) -> None:
    """What changed: one row per entry added, updated or removed, with the entry before and after."""
    _run(
        db,
        """
        CREATE TABLE history (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            ts TEXT NOT NULL,
            entry_id TEXT NOT NULL,
            action TEXT NOT NULL,                     -- added | updated | removed
            before TEXT,                              -- JSON of the entry, NULL when added
            after TEXT                                -- JSON of the entry, NULL when removed
        );
        CREATE INDEX history_entry ON history(entry_id)
        """,
    )


def _m006_log_resolution(db: sqlite_utils.Database) -> None:
    """How a logged question was dealt with in `qa review`: NULL while open."""
    _run(db, "ALTER TABLE log ADD COLUMN resolution TEXT")  # added:ID | alternate:ID | dismissed


def _m007_heads(db: sqlite_utils.Database) -> None:
    """The heads a KB trains on its own texts (qa/retrieval/head.py), one per language."""
    db.execute(
        """
        CREATE TABLE heads (
            lang TEXT PRIMARY KEY,
            created TEXT NOT NULL,
            data BLOB NOT NULL,                       -- Head.to_bytes()
            meta TEXT NOT NULL DEFAULT '{}'           -- JSON: what it was trained on, its figures
        )
        """
    )


MIGRATIONS: list[Migration] = [
    _m001_initial,
    _m002_word_models,
    _m003_revisions,
    _m004_feedback,
    _m005_history,
    _m006_log_resolution,
    _m007_heads,
]


def current_version() -> int:
    return len(MIGRATIONS)
