"""KnowledgeBase: the SQLite file (via sqlite-utils) holding entries, alternates, vectors, settings and the log.

Storage only: no retrieval logic lives here. Every multi-row write runs inside one transaction, so a
failure or Ctrl-C part way leaves the file as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import sqlite_utils

from qa.errors import KBError, NotFoundError
from qa.kb.entry import Entry, text_hash
from qa.kb.schema import MIGRATIONS, OUR_TABLES, current_version
from qa.kb.settings import Settings
from qa.kb.vectors import decode_vectors, encode_vector

BUSY_TIMEOUT_S = 10.0
#: Bytes the write-ahead log is cut back to once folded into the file (PRAGMA journal_size_limit).
WAL_SIZE_LIMIT = 64 * 1024 * 1024


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _connect(path: Path, readonly: bool) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.OperationalError:
            # A WAL-mode file in a folder we cannot write: no -shm can be made, so read it as immutable.
            conn.close()
            conn = sqlite3.connect(
                f"file:{path}?mode=ro&immutable=1", uri=True, timeout=BUSY_TIMEOUT_S, check_same_thread=False
            )
    else:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, check_same_thread=False)
    return conn


class KnowledgeBase:
    """One KB file. `KnowledgeBase(path)` opens (creating and migrating if needed); `memory()` for tests."""

    def __init__(self, path: str | Path | None = None, *, readonly: bool = False, create: bool = True):
        self.path = Path(path) if path is not None else None
        self._lock = threading.RLock()
        self._seen: tuple[int, int] = (-1, -1)
        self._content = 0
        try:
            if self.path is None:
                conn = sqlite3.connect(":memory:", check_same_thread=False)
            else:
                if (readonly or not create) and not self.path.exists():
                    raise KBError(
                        f"No knowledge base at {self.path}. Check the path, or create one with: "
                        f"qa import FILE --db {self.path}"
                    )
                if self.path.parent and not self.path.parent.exists():
                    raise KBError(f"The folder {self.path.parent} does not exist.")
                # A file we may not write is opened read-only, so asking questions still works.
                if self.path.exists() and not os.access(self.path, os.W_OK):
                    readonly = True
                conn = _connect(self.path, readonly)
                if not readonly and self.path.exists():
                    try:
                        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                    except sqlite3.OperationalError as e:
                        if "locked" in str(e) or "busy" in str(e):
                            raise
                        # a file or folder we cannot write after all (read-only media, immutable):
                        # asking questions still works
                        conn.close()
                        readonly = True
                        conn = _connect(self.path, readonly)
            self.readonly = readonly
            self.db = sqlite_utils.Database(conn)
            conn.execute("PRAGMA foreign_keys = ON")
            self._migrate()  # refuses files that are not qa KBs before changing anything in them
            if not readonly and self.path is not None:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
                # After a big write the log is cut back to this once it is folded into the file,
                # instead of keeping its largest size (1.25 GB after 100k entries) for good.
                conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
        except sqlite3.DatabaseError as e:
            raise KBError(self._explain(e)) from e

    @classmethod
    def memory(cls) -> KnowledgeBase:
        return cls(None)

    # ---- opening ---------------------------------------------------------------------------
    def _explain(self, e: sqlite3.DatabaseError) -> str:
        msg = str(e)
        where = self.path or ":memory:"
        if "not a database" in msg or "malformed" in msg:
            return (
                f"{where} is not a usable SQLite file ({msg}). If it is a KB, restore it from a "
                "backup or rebuild it with: qa import FILE --db NEW.db"
            )
        if "locked" in msg or "busy" in msg:
            return (
                f"{where} is locked by another process and stayed locked for {BUSY_TIMEOUT_S:g} s. "
                "Wait for the other writer (an import?) to finish, then try again."
            )
        if "readonly" in msg or "read-only" in msg:
            return f"{where} is read-only, so it cannot be changed. Copy it somewhere writable."
        return f"{where}: {msg}"

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        target = current_version()
        if version > target:
            raise KBError(
                f"{self.path} was written by a newer qa (schema {version}, this one knows {target}). Upgrade qa."
            )
        if version == 0:
            foreign = set(self.db.table_names()) - OUR_TABLES
            if foreign:
                raise KBError(
                    f"{self.path} is a SQLite file but not a qa knowledge base "
                    f"(it has tables {sorted(foreign)[:5]}). Pick another --db path."
                )
        if version == target:
            return
        if self.readonly:
            raise KBError(f"{self.path} needs a schema upgrade but is read-only.")
        with self.atomic():
            for i in range(version, target):
                MIGRATIONS[i](self.db)
            self.db.execute(f"PRAGMA user_version = {target}")

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """All-or-nothing: commits at the end, rolls back on any exception (KeyboardInterrupt too)."""
        with self._lock:
            conn = self.db.conn
            if conn.in_transaction:  # nested: the outer block owns the transaction
                yield
                return
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield
                conn.execute("COMMIT")
            except BaseException as e:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(e, sqlite3.DatabaseError):
                    raise KBError(self._explain(e)) from e
                raise

    def close(self) -> None:
        self.db.conn.close()

    def copy_to(self, path: str | Path) -> None:
        """Write a copy of this KB to a new file (SQLite's backup: consistent while others write)."""
        target = sqlite3.connect(str(path))
        try:
            with self._lock:
                self.db.conn.backup(target)
        except sqlite3.DatabaseError as e:
            raise KBError(self._explain(e)) from e
        finally:
            target.close()

    def data_version(self) -> int:
        """Changes when what answers depend on changes: entries, alternates, vectors, settings, word
        models - by any connection. Writes to the log, feedback and history do not count, so a server
        that logs unanswered questions does not reload its index after each of them.

        Cheap to poll before each question: `PRAGMA data_version` first, and the content fingerprint
        (a few aggregate queries) only after some connection wrote something.
        """
        with self._lock:
            other = self.db.execute("PRAGMA data_version").fetchone()[0]
            seen = (int(other), self.db.conn.total_changes)
            if seen != self._seen:
                self._seen = seen
                self._content = self._fingerprint()
            return self._content

    def _fingerprint(self) -> int:
        # Every aggregate here reads an index or the end of a b-tree: ~0.05 ms at 10k entries.
        # (Not count(*) of vectors: that scans them, 0.7 ms at 10k; pruning vectors of texts that
        # are gone changes no answer, and new vectors raise max(rowid).)
        row = self.db.execute(
            "SELECT (SELECT coalesce(max(revision), 0) FROM entries), (SELECT count(*) FROM entries), "
            "(SELECT count(*) FROM alternates), (SELECT coalesce(max(rowid), 0) FROM vectors), "
            "(SELECT count(*) FROM word_models), "
            "(SELECT coalesce(max(rowid), 0) FROM word_models), "
            "(SELECT count(*) FROM heads), (SELECT coalesce(max(rowid), 0) FROM heads)"
        ).fetchone()
        settings = self.db.execute("SELECT key, value FROM settings ORDER BY key").fetchall()
        digest = hashlib.md5(repr((tuple(row), settings)).encode(), usedforsecurity=False).digest()
        return int.from_bytes(digest[:7], "little")

    # ---- settings --------------------------------------------------------------------------
    def get_setting(self, key: str, default: Any = None) -> Any:
        with self._lock:
            row = self.db.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
        return json.loads(row[0]) if row else default

    def settings(self) -> dict[str, Any]:
        with self._lock:
            rows = self.db.execute("SELECT key, value FROM settings ORDER BY key").fetchall()
        return {k: json.loads(v) for k, v in rows}

    @property
    def config(self) -> Settings:
        """The settings, typed (qa.kb.settings): `kb.config.model`, `kb.config.update(oos_share=.3)`."""
        return Settings(self)

    def set_settings(self, values: dict[str, Any]) -> None:
        with self.atomic():
            for key, value in values.items():
                if value is None:
                    self.db.execute("DELETE FROM settings WHERE key = ?", [key])
                else:
                    self.db.execute(
                        "INSERT INTO settings(key, value) VALUES (?, ?) "
                        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                        [key, json.dumps(value, ensure_ascii=False)],
                    )

    # ---- entries ---------------------------------------------------------------------------
    def count(self) -> int:
        with self._lock:
            return int(self.db.execute("SELECT count(*) FROM entries").fetchone()[0])

    def count_texts(self) -> int:
        """Questions plus alternates."""
        with self._lock:
            return int(
                self.db.execute("SELECT (SELECT count(*) FROM entries) + (SELECT count(*) FROM alternates)").fetchone()[
                    0
                ]
            )

    def ids(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self.db.execute("SELECT id FROM entries ORDER BY rowid")]

    def entries(self, ids: Iterable[str] | None = None) -> list[Entry]:
        """Entries in insertion order (all, or the given ids that exist)."""
        with self._lock:
            if ids is None:
                rows = self.db.execute(
                    "SELECT id, question, answer, lang, tags, created, updated FROM entries ORDER BY rowid"
                ).fetchall()
                alt_rows = self.db.execute(
                    "SELECT entry_id, text FROM alternates ORDER BY entry_id, position"
                ).fetchall()
            else:
                wanted = list(ids)
                marks = ",".join("?" * len(wanted))
                rows = self.db.execute(
                    "SELECT id, question, answer, lang, tags, created, updated FROM entries "
                    f"WHERE id IN ({marks}) ORDER BY rowid",
                    wanted,
                ).fetchall()
                alt_rows = self.db.execute(
                    f"SELECT entry_id, text FROM alternates WHERE entry_id IN ({marks}) ORDER BY entry_id, position",
                    wanted,
                ).fetchall()
        alts: dict[str, list[str]] = {}
        for eid, text in alt_rows:
            alts.setdefault(eid, []).append(text)
        return [
            Entry(
                id=r[0],
                question=r[1],
                answer=r[2],
                lang=r[3],
                tags=json.loads(r[4]),
                created=r[5],
                updated=r[6],
                alternates=alts.get(r[0], []),
            )
            for r in rows
        ]

    def get(self, entry_id: str) -> Entry:
        found = self.entries([entry_id])
        if not found:
            raise NotFoundError(f"No entry with id {entry_id!r}. See the ids with: qa list")
        return found[0]

    def upsert(self, entries: Iterable[Entry], *, replace: bool = False) -> dict[str, int]:
        """Insert or update entries by id in one transaction; `replace` first removes the rest.

        Returns counts of added, updated, unchanged and removed entries.
        """
        entries = list(entries)
        for e in entries:
            e.check_text()
        counts = {"added": 0, "updated": 0, "unchanged": 0, "removed": 0}
        stamp = now()
        with self.atomic():
            existing = {e.id: e for e in self.entries([e.id for e in entries])} if entries else {}
            if replace:
                keep = {e.id for e in entries}
                gone = [i for i in self.ids() if i not in keep]
                for old_entry in self.entries(gone):
                    self._history(old_entry.id, "removed", old_entry, None, stamp)
                for i in gone:
                    self.db.execute("DELETE FROM entries WHERE id = ?", [i])
                counts["removed"] = len(gone)
            for e in entries:
                old = existing.get(e.id)
                if old is not None and old.content() == e.content():
                    counts["unchanged"] += 1
                    continue
                counts["updated" if old else "added"] += 1
                self._write_entry(e, created=old.created if old else stamp, updated=stamp)
                self._history(e.id, "updated" if old else "added", old, e, stamp)
        return counts

    def _write_entry(self, e: Entry, *, created: str, updated: str) -> None:
        rev = self.db.execute("SELECT coalesce(max(revision), 0) + 1 FROM entries").fetchone()[0]
        self.db.execute(
            "INSERT INTO entries(id, question, answer, lang, tags, question_hash, created, updated, revision) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET question=excluded.question, "
            "answer=excluded.answer, lang=excluded.lang, tags=excluded.tags, "
            "question_hash=excluded.question_hash, updated=excluded.updated, revision=excluded.revision",
            [
                e.id,
                e.question,
                e.answer,
                e.lang,
                json.dumps(e.tags, ensure_ascii=False),
                text_hash(e.question),
                created,
                updated,
                rev,
            ],
        )
        self.db.execute("DELETE FROM alternates WHERE entry_id = ?", [e.id])
        self.db.conn.executemany(
            "INSERT INTO alternates(entry_id, position, text, hash) VALUES (?, ?, ?, ?)",
            [(e.id, i, t, text_hash(t)) for i, t in enumerate(e.alternates, start=1)],
        )

    def revision(self) -> int:
        """The highest entry revision: it grows with every entry written."""
        with self._lock:
            return int(self.db.execute("SELECT coalesce(max(revision), 0) FROM entries").fetchone()[0])

    def remove(self, entry_id: str) -> None:
        with self.atomic():
            old = self.entries([entry_id])
            cur = self.db.execute("DELETE FROM entries WHERE id = ?", [entry_id])
            if cur.rowcount == 0:
                raise NotFoundError(f"No entry with id {entry_id!r}. See the ids with: qa list")
            self._history(entry_id, "removed", old[0], None, now())

    def _history(self, entry_id: str, action: str, before: Entry | None, after: Entry | None, stamp: str) -> None:
        def dump(e: Entry | None) -> str | None:
            return None if e is None else json.dumps(e.to_dict(), ensure_ascii=False)

        self.db.execute(
            "INSERT INTO history(ts, entry_id, action, before, after) VALUES (?, ?, ?, ?, ?)",
            [stamp, entry_id, action, dump(before), dump(after)],
        )

    def history(self, entry_id: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Changes, newest first (of one entry, or all)."""
        where, args = ("WHERE entry_id = ?", [entry_id]) if entry_id else ("", [])
        with self._lock:
            rows = list(self.db.query(f"SELECT * FROM history {where} ORDER BY id DESC LIMIT ?", [*args, limit]))
        for r in rows:
            r["before"] = json.loads(r["before"]) if r["before"] else None
            r["after"] = json.loads(r["after"]) if r["after"] else None
        return rows

    # ---- texts and vectors -----------------------------------------------------------------
    def texts(self) -> list[tuple[str, str, str]]:
        """(entry_id, text, hash) for every question and alternate, entries in insertion order."""
        with self._lock:
            return self.db.execute(
                "SELECT t.entry_id, t.text, t.hash FROM texts t JOIN entries e ON e.id = t.entry_id "
                "ORDER BY e.rowid, t.position"
            ).fetchall()

    def missing_texts(
        self, model: str, langs: frozenset[str] | None = None, since: int | None = None
    ) -> list[tuple[str, str]]:
        """(hash, text) of distinct texts with no vector for `model`; only entries in `langs`
        (None or {"*"}: all entries) and, with `since`, only entries written after that revision."""
        cond, args = "", list[object]()
        if since is not None:
            cond += " AND e.revision > ?"
            args.append(since)
        if langs is not None and "*" not in langs:
            cond += f" AND e.lang IN ({','.join('?' * len(langs))})"
            args += sorted(langs)
        novec = "NOT EXISTS (SELECT 1 FROM vectors v WHERE v.model = ? AND v.hash = {})"
        sql = (
            f"SELECT e.question_hash, e.question FROM entries e WHERE {novec.format('e.question_hash')}{cond} "
            "UNION "
            "SELECT a.hash, a.text FROM alternates a JOIN entries e ON e.id = a.entry_id "
            f"WHERE {novec.format('a.hash')}{cond}"
        )
        with self._lock:
            rows = self.db.execute(sql, [model, *args, model, *args]).fetchall()
        return list({h: t for h, t in rows}.items())

    def store_vectors(self, model: str, hashes: list[str], matrix: np.ndarray) -> None:
        with self.atomic():
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO vectors(model, hash, vector) VALUES (?, ?, ?)",
                [(model, h, encode_vector(v)) for h, v in zip(hashes, matrix, strict=True)],
            )

    def load_vectors(self, model: str) -> tuple[list[str], np.ndarray]:
        """Hashes and their vectors for `model`, only those a current text uses."""
        with self._lock:
            rows = self.db.execute(
                "SELECT hash, vector FROM vectors WHERE model = ? AND hash IN (SELECT hash FROM texts)",
                [model],
            ).fetchall()
        dim = len(rows[0][1]) // 4 if rows else 0
        return [r[0] for r in rows], decode_vectors([r[1] for r in rows], dim)

    def vector_hashes(self, model: str) -> set[str]:
        with self._lock:
            return {r[0] for r in self.db.execute("SELECT hash FROM vectors WHERE model = ?", [model])}

    def vector_models(self) -> dict[str, int]:
        """Models with stored vectors, and how many each has."""
        with self._lock:
            rows = self.db.execute("SELECT model, count(*) FROM vectors GROUP BY model").fetchall()
        return {m: int(n) for m, n in rows}

    def prune_vectors(self, keep_model: str | None = None) -> int:
        """Delete vectors no current text uses, and (if given) those of every other model."""
        with self.atomic():
            cur = self.db.execute("DELETE FROM vectors WHERE hash NOT IN (SELECT hash FROM texts)")
            n = cur.rowcount
            if keep_model is not None:
                n += self.db.execute("DELETE FROM vectors WHERE model != ?", [keep_model]).rowcount
        return n

    # ---- the log of questions the bot could not answer ---------------------------------------
    def log_question(
        self,
        question: str,
        *,
        lang: str,
        status: str,
        confidence: float | None,
        entry_id: str | None,
        suggestions: list[str],
    ) -> None:
        with self.atomic():
            self.db.execute(
                "INSERT INTO log(ts, question, lang, status, confidence, entry_id, suggestions) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [now(), question, lang, status, confidence, entry_id, json.dumps(suggestions)],
            )

    def repoint(self, old_id: str, new_id: str) -> None:
        """Make feedback and logged questions about entry `old_id` refer to `new_id` (after a merge)."""
        with self.atomic():
            self.db.execute("UPDATE feedback SET entry_id = ? WHERE entry_id = ?", [new_id, old_id])
            self.db.execute("UPDATE log SET entry_id = ? WHERE entry_id = ?", [new_id, old_id])
            rows = self.db.execute(
                "SELECT id, suggestions FROM log WHERE suggestions LIKE ?", [f'%"{old_id}"%']
            ).fetchall()
            for row_id, raw in rows:
                ids = list(dict.fromkeys(new_id if i == old_id else i for i in json.loads(raw)))
                self.db.execute("UPDATE log SET suggestions = ? WHERE id = ?", [json.dumps(ids), row_id])

    def open_log(self) -> list[dict[str, Any]]:
        """Logged questions nobody has dealt with yet (oldest first)."""
        with self._lock:
            rows = list(self.db.query("SELECT * FROM log WHERE resolution IS NULL ORDER BY id"))
        for r in rows:
            r["suggestions"] = json.loads(r["suggestions"])
        return rows

    def reviewed_log(self) -> list[dict[str, Any]]:
        """Logged questions a curator decided about (`qa review`): question and resolution."""
        with self._lock:
            return list(self.db.query("SELECT question, resolution FROM log WHERE resolution IS NOT NULL ORDER BY id"))

    def resolve_log(self, ids: list[int], resolution: str) -> None:
        with self.atomic():
            self.db.conn.executemany("UPDATE log SET resolution = ? WHERE id = ?", [(resolution, i) for i in ids])

    def add_feedback(self, question: str, entry_id: str, helpful: bool, source: str = "") -> None:
        with self.atomic():
            self.db.execute(
                "INSERT INTO feedback(ts, question, entry_id, helpful, source) VALUES (?, ?, ?, ?, ?)",
                [now(), question, entry_id, int(helpful), source],
            )

    def count_log(self) -> int:
        """Logged questions, dealt with or not."""
        with self._lock:
            return int(self.db.execute("SELECT count(*) FROM log").fetchone()[0])

    def feedback_counts(self) -> dict[str, tuple[int, int]]:
        """entry id -> (helpful, not helpful)."""
        with self._lock:
            rows = self.db.execute(
                "SELECT entry_id, sum(helpful), sum(1 - helpful) FROM feedback GROUP BY entry_id"
            ).fetchall()
        return {r[0]: (int(r[1]), int(r[2])) for r in rows}

    def logged(self, limit: int = 100) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.db.query("SELECT * FROM log ORDER BY id DESC LIMIT ?", [limit]))
