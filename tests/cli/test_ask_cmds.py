"""`qa ask` and `qa chat` (piped), and the log of unanswered questions. (qa/cli/ask_cmds.py)

Run in-process with the `qa` fixture (tests/cli/conftest.py); every KB uses the FakeEncoder.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import ANSWER_KEYS, record, rows, snapshot, write_jsonl
from tests.conftest import ENTRIES


def test_chat_with_other_model_is_refused(db, qa, no_real_encoder):
    r = qa("chat", "--db", db, "--model", "minilm", input="how do I reset my password\n")
    assert r.code == 4
    assert "qa index --model minilm-l6-int8" in r.err
    assert r.out == ""


# ---- ask -----------------------------------------------------------------------------------------
def test_ask_json_keys(db, qa):
    r = qa("ask", "--json", "how do I reset my password", "--db", db)
    assert r.code == 0, r.err
    assert set(r.json) >= ANSWER_KEYS
    for s in r.json["suggestions"]:
        assert set(s) == {"entry_id", "question", "confidence"}


@pytest.mark.parametrize("e", ENTRIES, ids=[e.id for e in ENTRIES])
def test_ask_stored_question_is_answered_with_its_id(db, qa, e):
    r = qa("ask", "--json", e.question, "--db", db)
    assert r.code == 0, r.err
    a = r.json
    assert (a["status"], a["entry_id"], a["text"], a["matched_question"]) == ("answered", e.id, e.answer, e.question)
    assert a["lang"] == e.lang
    assert 0.5 <= a["confidence"] <= 1


def test_ask_text_output(db, qa):
    r = qa("ask", "how", "do", "I", "reset", "my", "password", "--db", db)  # words are joined
    assert r.code == 0, r.err
    assert "Click 'forgot password' on the login page." in r.out
    assert "[pw]" in r.out and "matched: how do I reset my password" in r.out
    assert "\x1b[" not in r.out  # no colour when not on a terminal


def test_ask_chinese(db, qa):
    r = qa("ask", "--json", "口罩怎么戴", "--db", db)
    assert r.code == 0, r.err
    assert (r.json["status"], r.json["entry_id"], r.json["lang"]) == ("answered", "mask", "zh")


def test_ask_unrelated_falls_back_with_exit_0(db, qa):
    r = qa("ask", "--json", "capital city of mongolia", "--db", db)
    assert r.code == 0, r.err
    assert r.json["status"] == "fallback"
    assert r.json["entry_id"] is None
    assert r.json["text"] == "Sorry, I don't know the answer to that yet."
    text = qa("ask", "capital city of mongolia", "--db", db)
    assert text.code == 0
    assert "Sorry" in text.out and "Related questions:" in text.out


@pytest.mark.parametrize("question", ["", "   ", "\t\n "])
def test_ask_empty_question(db, qa, question):
    before = snapshot(db)
    r = qa("ask", question, "--db", db)
    assert r.code == 2
    assert "The question is empty" in r.err
    assert snapshot(db) == before  # not logged either


#: what Python makes of the bytes b"caf\xe9" (Latin-1, not UTF-8) in argv or stdin
NOT_UTF8 = b"caf\xe9 menu".decode("utf-8", "surrogateescape")


def test_ask_question_that_is_not_utf8(db, qa):
    before = snapshot(db)
    r = qa("ask", NOT_UTF8, "--db", db)
    assert r.code == 2
    assert "not valid UTF-8 (byte 0xE9 at character 4)" in r.err and "iconv" in r.err
    assert snapshot(db) == before


@pytest.mark.parametrize(
    "args",
    [
        ("add", "a question", NOT_UTF8),
        ("add", "a question", "an answer", "--alt", NOT_UTF8),
        ("edit", "pw", "--answer", NOT_UTF8),
        ("alt", "add", "pw", NOT_UTF8),
        ("show", NOT_UTF8),
    ],
)
def test_text_that_is_not_utf8_changes_nothing(db, qa, args):
    before = snapshot(db)
    r = qa(*args, "--db", db)
    assert r.code == 2, r.err
    assert "not valid UTF-8" in r.err and "Traceback" not in r.err
    assert snapshot(db) == before


def test_ask_without_question_is_a_usage_error(db, qa):
    r = qa("ask", "--db", db)
    assert r.code == 2
    assert "QUESTION" in r.err


def test_ask_very_long_question(db, qa):
    question = "how do I reset my password " + "blah " * 20_000  # ~100 kB
    assert len(question) > 100_000
    r = qa("ask", "--json", question, "--db", db)
    assert r.code == 0, r.err
    assert r.json["truncated"] is True
    assert len(r.json["question"]) <= 1000
    text = qa("ask", question, "--db", db)
    assert text.code == 0 and "only its start was used" in text.out


def test_ask_tag_filter(db, qa):
    q = "how do I reset my password"
    assert qa("ask", "--json", q, "--db", db, "--tag", "account").json["entry_id"] == "pw"
    shop = qa("ask", "--json", q, "--db", db, "--tag", "shop").json
    assert shop["entry_id"] != "pw"
    assert all(s["entry_id"] in ("hours", "ship", "refund") for s in shop["suggestions"])
    several = qa("ask", "--json", q, "--db", db, "--tag", "shop", "--tag", "account").json
    assert several["entry_id"] == "pw"
    none = qa("ask", "--json", q, "--db", db, "--tag", "no-such-tag")
    assert none.code == 0
    assert none.json["status"] == "fallback" and none.json["suggestions"] == []
    assert "no-such-tag" in none.json["reason"]


def test_ask_explain(db, qa):
    r = qa("ask", "--explain", "how do I reset my password", "--db", db)
    assert r.code == 0, r.err
    lines = [line for line in r.out.splitlines() if "fused" in line]
    assert len(lines) == 5
    assert "[pw]" in lines[0] and "dense" in lines[0] and "lexical" in lines[0] and "(fake)" in lines[0]
    j = qa("ask", "--explain", "--json", "how do I reset my password", "--db", db).json
    assert j["candidates"][0]["entry_id"] == "pw"
    assert {"entry_id", "question", "fused", "dense", "lexical", "encoder", "confidence"} <= set(j["candidates"][0])


def test_ask_top(db, qa):
    r = qa("ask", "--json", "--top", "5", "capital city of mongolia", "--db", db)
    assert r.code == 0
    assert len(r.json["suggestions"]) == 5


def test_fallback_suggestions_are_in_decreasing_confidence(db, twin_db, qa):
    # "reset" matches only the twins: since calibration version 4 it may be offered as "did you mean"
    for path, question in ((db, "contact support"), (twin_db, "reset")):
        r = qa("ask", "--json", question, "--db", path)
        assert r.json["status"] in ("fallback", "ambiguous" if path == twin_db else "fallback")
        confidences = [s["confidence"] for s in r.json["suggestions"]]
        assert confidences == sorted(confidences, reverse=True), (question, r.json["suggestions"])


# ---- the log of unanswered questions -------------------------------------------------------------
@pytest.fixture
def twin_db(tmp_path: Path, qa) -> Path:  # noqa: ANN001
    """A KB where two entries share a question, so a vague question about it is ambiguous."""
    recs = [record(e) for e in ENTRIES if e.id != "pw"] + [
        {"id": "web", "question": "how do I reset my password", "answer": "Use the web form."},
        {"id": "app", "question": "how do I reset my password", "answer": "Use the app settings."},
    ]
    path = tmp_path / "twins.db"
    assert qa("import", write_jsonl(tmp_path / "twins.jsonl", recs), "--db", path, "--model", "fake").code == 0
    return path


def test_fallback_and_ambiguous_are_logged_answered_are_not(twin_db, qa):
    db = twin_db
    answered = qa("ask", "--json", "what are your opening hours", "--db", db).json
    fallback = qa("ask", "--json", "capital city of mongolia", "--db", db).json
    ambiguous = qa("ask", "--json", "what is my password", "--db", db).json
    assert [answered["status"], fallback["status"], ambiguous["status"]] == ["answered", "fallback", "ambiguous"]
    assert {s["entry_id"] for s in ambiguous["suggestions"][:2]} == {"web", "app"}
    assert ambiguous["text"].startswith("Did you mean: 1) how do I reset my password")
    logged = rows(db, "SELECT question, status, entry_id, suggestions FROM log ORDER BY id")
    assert [(q, s) for q, s, _, _ in logged] == [
        ("capital city of mongolia", "fallback"),
        ("what is my password", "ambiguous"),
    ]
    assert logged[1][2] in ("web", "app")
    assert set(json.loads(logged[1][3])[:2]) == {"web", "app"}
    assert qa("stats", "--db", db, "--json").json["logged_questions"] == 2


def test_ambiguous_text_output(twin_db, qa):
    r = qa("ask", "what is my password", "--db", twin_db)
    assert r.code == 0
    assert "Did you mean:" in r.out and "[web]" in r.out and "[app]" in r.out


# ---- chat with piped stdin -----------------------------------------------------------------------
def test_chat_piped_text(db, qa):
    r = qa("chat", "--db", db, input="how do I reset my password\n\n   \n口罩应该怎么戴\n")
    assert r.code == 0, r.err
    assert "Click 'forgot password' on the login page." in r.out and "[pw]" in r.out
    assert "有颜色的一面朝外，金属条在上。" in r.out and "[mask]" in r.out
    assert "qa ·" not in r.out  # no banner when piped


def test_chat_piped_json_one_object_per_line(db, qa):
    questions = "how do I reset my password\n\n  \n口罩应该怎么戴\ncapital city of mongolia\n"
    r = qa("chat", "--db", db, "--json", input=questions)
    assert r.code == 0, r.err
    objs = [json.loads(line) for line in r.out.splitlines()]
    assert len(objs) == 3  # empty lines skipped
    assert [o["status"] for o in objs] == ["answered", "answered", "fallback"]
    assert [o["entry_id"] for o in objs[:2]] == ["pw", "mask"]
    assert all(set(o) >= ANSWER_KEYS for o in objs)


def test_chat_piped_line_that_is_not_utf8_is_reported_and_skipped(db, qa):
    data = b"how do I reset my password\n" + b"\xff\xfe bad\n" + "口罩应该怎么戴\n".encode()
    r = qa("chat", "--db", db, input=data)
    assert r.code == 2
    assert "Line 2 is not valid UTF-8 (byte 0xFF at character 1)" in r.err
    assert "1 line(s) were not valid UTF-8" in r.err
    assert "[pw]" in r.out and "[mask]" in r.out  # the lines around it are answered
    j = qa("chat", "--db", db, "--json", input=data)
    assert j.code == 2
    objs = [json.loads(line) for line in j.out.splitlines()]
    assert [o.get("entry_id") for o in objs] == ["pw", None, "mask"]
    assert objs[1]["line"] == 2 and "not valid UTF-8" in objs[1]["error"] and objs[1]["question"] == "\ufffd\ufffd bad"


def test_chat_piped_commands(db, qa):
    r = qa("chat", "--db", db, input="/help\n/kb\n/foo bar\n/quit\nhow do I reset my password\n")
    assert r.code == 0, r.err
    assert "/why" in r.out and "/quit" in r.out  # the help
    assert f"KB {db}: 6 entries" in r.out and "model fake" in r.out
    assert "Unknown command /foo. Try /help." in r.out
    assert "Click 'forgot password'" not in r.out  # /quit stopped reading
    assert rows(db, "SELECT count(*) FROM log") == [(0,)]  # commands are not questions


def test_chat_piped_why_explains_previous_question(db, qa):
    r = qa("chat", "--db", db, input="how do I reset my password\n/why\n")
    assert r.code == 0
    assert "Ask a question first" not in r.out
    assert "fused" in r.out and "[pw]" in r.out
