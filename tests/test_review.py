"""The review queue: qa unanswered clusters logged questions; qa review acts on them."""

from __future__ import annotations

import json

import pytest

from qa.bot import Bot
from qa.curate.unanswered import clusters
from qa.encoders.fake import FakeEncoder
from tests.conftest import run_cli


@pytest.fixture
def db(tmp_path, kb_file, monkeypatch, capsys):
    path = tmp_path / "kb.db"
    assert run_cli(monkeypatch, capsys, "import", kb_file, "--db", path, "--model", "fake")[0] == 0
    return path


def ask_many(db, questions):
    bot = Bot.open(db)
    for q in questions:
        bot.ask(q)
    return bot


def test_clusters_group_near_copies_most_frequent_first(db):
    asked = [
        "quantum chromodynamics lattice",
        "quantum chromodynamics lattice?",
        "Quantum chromodynamics lattice",
        "zebra migration patterns",
        "quantum chromodynamics lattice",
    ]
    found = clusters(ask_many(db, asked))
    assert found[0].count == 4 and "quantum" in found[0].question
    assert found[1].count == 1 and "zebra" in found[1].question
    assert len(found[0].closest) == 3


def test_unanswered_command(db, monkeypatch, capsys):
    ask_many(db, ["quantum chromodynamics lattice", "quantum chromodynamics lattice?"])
    code, out, _ = run_cli(monkeypatch, capsys, "unanswered", "--db", db, "--json")
    rows = json.loads(out)
    assert code == 0 and rows[0]["count"] == 2 and rows[0]["closest"]
    code, out, _ = run_cli(monkeypatch, capsys, "unanswered", "--db", db)
    assert "2x" in out and "closest:" in out


def test_review_accept_new_and_dismiss(db, monkeypatch, capsys):
    asked = [
        "quantum chromodynamics lattice",
        "quantum chromodynamics lattice",
        "zebra migration patterns",
        "glacier ice thickness",
    ]
    ask_many(db, asked)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    answers = iter(["n", "We do not cover physics.", "d", "1"])
    monkeypatch.setattr("click.prompt", lambda *a, **k: next(answers))
    code, out, err = run_cli(monkeypatch, capsys, "review", "--db", db)
    assert code == 0, err
    assert "Added [quantum-chromodynamics-lattice]" in out and "Reviewed 3 of 3" in out
    bot = Bot.open(db)
    assert bot.ask("quantum chromodynamics lattice", log=False).entry_id == "quantum-chromodynamics-lattice"
    assert clusters(bot) == []  # all three clusters were dealt with
    resolutions = sorted(r[0] for r in bot.kb.db.execute("SELECT DISTINCT resolution FROM log"))
    assert resolutions[0].startswith("added:") and "dismissed" in resolutions
    assert any(r.startswith("alternate:") for r in resolutions)


def test_review_needs_a_terminal(db, monkeypatch, capsys):
    code, _, err = run_cli(monkeypatch, capsys, "review", "--db", db)
    assert code == 2 and "qa unanswered" in err


def test_no_logged_questions_no_clusters():
    from qa.kb.entry import Entry

    bot = Bot.from_entries(
        [Entry("a", "q one", "A"), Entry("b", "q two", "B"), Entry("c", "q three", "C")], encoders=[FakeEncoder()]
    )
    assert clusters(bot) == []
