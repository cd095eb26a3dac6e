"""The KB file every command opens: a wrong path, files that are not (usable) KBs, read-only and
locked files; and the installed `qa` script with its exit codes.

Run in-process with the `qa` fixture (tests/cli/conftest.py); every KB uses the FakeEncoder.
"""

from __future__ import annotations

import gc
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.cli.conftest import rows, snapshot, write_jsonl


def test_read_commands_do_not_create_a_kb_at_a_wrong_path(tmp_path, qa):
    path = tmp_path / "typo.db"
    r = qa("list", "--db", path)
    assert not path.exists()
    assert r.code == 4
    assert "qa import" in r.err


# ---- files that are not (usable) KBs -------------------------------------------------------------
def test_not_a_sqlite_file(tmp_path, kb_file, qa):
    path = tmp_path / "x.db"
    junk = random.Random(0).randbytes(8192)
    path.write_bytes(junk)
    for args in (["list"], ["ask", "hello"], ["import", kb_file, "--model", "fake"]):
        r = qa(*args, "--db", path)
        assert r.code == 4, (args, r.err)
        assert "not a usable SQLite file" in r.err
        assert "Traceback" not in r.err
    assert path.read_bytes() == junk


def foreign_db(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO users (name) VALUES ('ada')")
    conn.commit()
    conn.close()
    return path


def test_sqlite_file_with_foreign_tables(tmp_path, kb_file, qa):
    path = foreign_db(tmp_path / "app.db")
    for args in (["list"], ["import", kb_file, "--model", "fake"]):
        r = qa(*args, "--db", path)
        assert r.code == 4, (args, r.err)
        assert "not a qa knowledge base" in r.err and "users" in r.err
    assert snapshot(path) == {"user_version": 0, "users": [(1, "ada")]}


def test_sqlite_file_with_foreign_tables_is_left_byte_for_byte(tmp_path, qa):
    path = foreign_db(tmp_path / "app.db")
    before = path.read_bytes()
    assert qa("list", "--db", path).code == 4
    assert path.read_bytes() == before
    assert rows(path, "PRAGMA journal_mode") == [("delete",)]


def test_kb_from_a_newer_qa(db, qa):
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    before = snapshot(db)
    for args in (["list"], ["ask", "how do I reset my password"]):
        r = qa(*args, "--db", db)
        assert r.code == 4, (args, r.err)
        assert "newer qa" in r.err and "99" in r.err and "Upgrade" in r.err
    assert snapshot(db) == before


# ---- access: read-only and locked files ----------------------------------------------------------
@contextmanager
def read_only(*paths: Path) -> Iterator[None]:
    """Make files (and folders) read-only. Root ignores permission bits, so as root the immutable
    attribute is used instead (skips when chattr cannot set it)."""
    gc.collect()
    modes = {p: p.stat().st_mode for p in paths}
    immutable: list[Path] = []
    try:
        for p in paths:
            p.chmod(0o555 if p.is_dir() else 0o444)
        if os.access(paths[0], os.W_OK):  # root
            if not shutil.which("chattr"):
                pytest.skip("running as root without chattr: cannot make a file read-only")
            for p in paths:
                if subprocess.run(["chattr", "+i", p], capture_output=True).returncode != 0:
                    pytest.skip("running as root and chattr +i is not supported here")
                immutable.append(p)
        assert not os.access(paths[0], os.W_OK)
        yield
    finally:
        for p in immutable:
            subprocess.run(["chattr", "-i", p], check=True)
        for p, mode in modes.items():
            p.chmod(mode)


def test_read_only_file_can_still_answer(db, qa):
    before = snapshot(db)
    with read_only(db):
        r = qa("ask", "--json", "how do I reset my password", "--db", db)
        assert r.code == 0, r.err
        assert r.json["entry_id"] == "pw"
        r = qa("ask", "--json", "capital city of mongolia", "--db", db)
        assert r.code == 0, r.err
        assert r.json["status"] == "fallback"
        assert qa("list", "--db", db).code == 0
    assert snapshot(db) == before  # the fallback could not be logged, and that is fine


def test_read_only_file_in_read_only_folder_can_still_answer(tmp_path, db, qa):
    before = snapshot(db)
    folder = tmp_path / "shipped"
    folder.mkdir()
    kb = folder / "faq.db"
    shutil.copyfile(db, kb)  # the fixture's connections are closed: the KB is all in one file
    assert not list(folder.glob("faq.db-*"))
    with read_only(kb, folder):
        r = qa("ask", "--json", "how do I reset my password", "--db", kb)
        assert r.code == 0, r.err
        assert r.json["entry_id"] == "pw"
    assert snapshot(kb) == before


def test_kb_we_may_not_write_is_opened_read_only(db, qa, monkeypatch):
    """The same as above where root ignores permissions: pretend the file is not writable."""
    real_access = os.access
    target = os.path.realpath(db)

    def access(path, mode, *args, **kw):  # noqa: ANN001, ANN202
        if mode & os.W_OK and os.path.realpath(path) == target:
            return False
        return real_access(path, mode, *args, **kw)

    monkeypatch.setattr(os, "access", access)
    before = snapshot(db)
    r = qa("ask", "--json", "how do I reset my password", "--db", db)
    assert r.code == 0, r.err
    assert r.json["entry_id"] == "pw"
    assert qa("ask", "--json", "capital city of mongolia", "--db", db).json["status"] == "fallback"
    assert qa("list", "--db", db).code == 0
    assert snapshot(db) == before
    other = write_jsonl(db.parent / "new.jsonl", [{"id": "new", "question": "do you ship abroad", "answer": "Yes"}])
    r = qa("import", other, "--db", db)
    assert r.code == 4, r.err
    assert "read-only" in r.err
    assert snapshot(db) == before


def test_locked_kb(db, tmp_path, qa, monkeypatch):
    monkeypatch.setattr("qa.kb.store.BUSY_TIMEOUT_S", 0.2)
    before = snapshot(db)
    other = write_jsonl(tmp_path / "new.jsonl", [{"id": "new", "question": "do you ship abroad", "answer": "Yes"}])
    locker = sqlite3.connect(db, isolation_level=None)
    try:
        locker.execute("BEGIN EXCLUSIVE")
        r = qa("import", other, "--db", db)
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert r.code == 4, r.err
    assert "locked" in r.err and "try again" in r.err
    assert snapshot(db) == before
    assert qa("import", other, "--db", db).code == 0  # and once the lock is gone, it works


# ---- the installed entry point -------------------------------------------------------------------
def test_console_script_exit_codes(db, tmp_path):
    """One real process, to check that the `qa` script is `qa.cli:main` with its exit codes."""
    script = Path(sys.executable).with_name("qa")
    if not script.exists():
        pytest.skip("the qa console script is not installed next to this Python")
    env = {**os.environ, "NO_COLOR": "1"}
    r = subprocess.run([script, "show", "no-such-id", "--db", db], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 3
    assert r.stderr.startswith("Error: No entry with id 'no-such-id'") and "qa list" in r.stderr
    assert r.stdout == ""
    r = subprocess.run(
        [script, "ask", "--json", "how do I reset my password", "--db", db],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["entry_id"] == "pw"
