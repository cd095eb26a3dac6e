"""Editing commands: add, edit, rm, alt, tag, search, history - and their bad-input paths."""

from __future__ import annotations

import json
import sqlite3

import pytest


def rows(db, sql):
    return sqlite3.connect(db).execute(sql).fetchall()


def test_add_then_ask_answers_it(db, qa):
    code, out, err = qa(
        "add",
        "Do you sell gift cards?",
        "Yes, in every shop.",
        "--alt",
        "gift card",
        "--tag",
        "shop",
        "--db",
        db,
        "--json",
    )
    assert code == 0, err
    e = json.loads(out)
    assert e["id"] == "do-you-sell-gift-cards" and e["alternates"] == ["gift card"] and e["tags"] == ["shop"]
    code, out, _ = qa("ask", "--json", "do you sell gift cards", "--db", db)
    assert json.loads(out)["entry_id"] == "do-you-sell-gift-cards"
    assert rows(db, "SELECT action FROM history WHERE entry_id = 'do-you-sell-gift-cards'") == [("added",)]


@pytest.mark.parametrize(
    ("args", "code", "msg"),
    [
        (["add", "   ", "an answer"], 2, "empty"),
        (["add", "a question", "  "], 2, "answer is empty"),
        (["add", "a question", "an answer", "--id", "pw"], 2, "exists already"),
        (["edit", "nope", "--answer", "x"], 3, "qa list"),
        (["edit", "pw"], 2, "No changes given"),
        (["rm", "nope", "--yes"], 3, "qa list"),
        (["rm", "pw"], 2, "--yes"),
        (["alt", "add", "nope", "text"], 3, "qa list"),
        (["alt", "rm", "pw", "not an alternate"], 3, "qa show pw"),
        (["tag", "nope", "x"], 3, "qa list"),
    ],
)
def test_bad_input_is_refused_and_nothing_changes(db, qa, args, code, msg):
    before = (
        rows(db, "SELECT * FROM entries ORDER BY id"),
        rows(db, "SELECT * FROM alternates ORDER BY entry_id, position"),
    )
    got, _, err = qa(*args, "--db", db)
    assert got == code and msg in err
    assert (
        rows(db, "SELECT * FROM entries ORDER BY id"),
        rows(db, "SELECT * FROM alternates ORDER BY entry_id, position"),
    ) == before


def test_edit_fields_and_history(db, qa):
    assert qa("edit", "pw", "--answer", "Ask the admin.", "--db", db)[0] == 0
    code, out, _ = qa("show", "pw", "--db", db, "--json")
    assert json.loads(out)["answer"] == "Ask the admin."
    code, out, _ = qa("history", "pw", "--db", db)
    assert "updated" in out and "(answer)" in out


def test_edit_in_editor(db, qa, monkeypatch):
    import click

    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr(click, "edit", lambda text, extension: text.replace("Click 'forgot password'", "Call us"))
    assert qa("edit", "pw", "--db", db)[0] == 0
    assert rows(db, "SELECT answer FROM entries WHERE id = 'pw'")[0][0].startswith("Call us")
    monkeypatch.setattr(click, "edit", lambda text, extension: "id: [broken")
    code, _, err = qa("edit", "pw", "--db", db)
    assert code == 2 and "nothing changed" in err


def test_rm_alt_and_tag(db, qa):
    assert qa("alt", "add", "pw", "lost my login", "--db", db)[0] == 0
    assert ("lost my login",) in rows(db, "SELECT text FROM alternates WHERE entry_id = 'pw'")
    assert qa("alt", "rm", "pw", "lost my login", "--db", db)[0] == 0
    assert ("lost my login",) not in rows(db, "SELECT text FROM alternates WHERE entry_id = 'pw'")
    assert qa("tag", "pw", "security", "--db", db)[0] == 0
    assert json.loads(rows(db, "SELECT tags FROM entries WHERE id = 'pw'")[0][0]) == ["account", "security"]
    assert qa("tag", "pw", "account", "--remove", "--db", db)[0] == 0
    assert json.loads(rows(db, "SELECT tags FROM entries WHERE id = 'pw'")[0][0]) == ["security"]
    assert qa("rm", "pw", "--yes", "--db", db)[0] == 0
    assert rows(db, "SELECT count(*) FROM entries WHERE id = 'pw'") == [(0,)]
    assert rows(db, "SELECT action FROM history WHERE entry_id = 'pw' ORDER BY id DESC LIMIT 1") == [("removed",)]


def test_search_lists_ranked_entries(db, qa):
    code, out, _ = qa("search", "password", "--db", db, "--limit", "3", "--json")
    cands = json.loads(out)
    assert code == 0 and len(cands) == 3 and cands[0]["entry_id"] == "pw"
    assert cands[0]["fused"] >= cands[1]["fused"] >= cands[2]["fused"]


def test_editing_needs_an_existing_db(tmp_path, qa):
    code, _, err = qa("add", "q", "a", "--db", tmp_path / "missing.db")
    assert code == 4 and "qa import" in err
    code, _, err = qa("add", "q", "a")
    assert code == 2 and "--db" in err


@pytest.mark.parametrize(
    "args",
    [
        ["add", "a new question", "an answer"],
        ["alt", "add", "pw", "lost my login"],
        ["tag", "pw", "x"],
        ["rm", "pw", "--yes"],
        ["edit", "pw", "--answer", "x"],
    ],
)
def test_edits_on_a_read_only_kb_fail_clearly(db, qa, monkeypatch, args):
    import os

    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(db) and mode == os.W_OK else real(p, mode))
    before = rows(db, "SELECT * FROM entries ORDER BY id")
    code, _, err = qa(*args, "--db", db)
    assert code == 4 and "read-only" in err
    assert rows(db, "SELECT * FROM entries ORDER BY id") == before
