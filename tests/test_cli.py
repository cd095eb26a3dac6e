"""The `qa` command line, run in-process through `qa.cli.main()` so that QAError -> exit codes.

Every KB is built with the FakeEncoder (`--model fake`), so no model is loaded. Failing writes are
checked against a snapshot of every table: "nothing was written" means the snapshot is identical.
"""

from __future__ import annotations

import gc
import hashlib
import io
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from qa.cli import main as qa_main
from qa.encoders.base import Encoder
from qa.encoders.fake import FakeEncoder
from qa.kb.store import KnowledgeBase
from tests.conftest import ENTRIES, xlsx_bytes

ANSWER_KEYS = {"status", "text", "confidence", "entry_id", "matched_question", "suggestions", "reason"}


# ---- helpers -------------------------------------------------------------------------------------
@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def json(self):  # noqa: ANN201 - whatever the command printed
        return json.loads(self.out)


@pytest.fixture
def qa(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """run(*args, input=None) -> Result(code, out, err), exactly as `qa ARGS < input` would exit."""

    def run(*args: object, input: str | bytes | None = None) -> Result:
        if input is not None:
            data = input.encode("utf-8") if isinstance(input, str) else input
            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
        monkeypatch.setattr(sys, "argv", ["qa", *map(str, args)])
        capsys.readouterr()
        code = 0
        try:
            qa_main()
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        finally:
            gc.collect()  # close the connections the command left open, as process exit would
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


def record(e) -> dict:  # noqa: ANN001
    return e.to_dict()


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def snapshot(db: Path) -> dict:
    """Everything a KB holds: every row of every table (vectors by digest) and the schema version."""
    conn = sqlite3.connect(db)
    try:
        out: dict = {"user_version": conn.execute("PRAGMA user_version").fetchone()[0]}
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        for t in tables:
            rows = conn.execute(f"SELECT * FROM {t}").fetchall()
            out[t] = sorted(
                tuple(hashlib.md5(v).hexdigest() if isinstance(v, bytes) else v for v in row) for row in rows
            )
        return out
    finally:
        conn.close()


def rows(db: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.fixture
def db(tmp_path: Path, kb_file: Path, qa) -> Path:  # noqa: ANN001
    """A KB with the six sample entries (en + zh), embedded with the fake encoder."""
    path = tmp_path / "kb.db"
    r = qa("import", kb_file, "--db", path, "--model", "fake")
    assert r.code == 0, r.err
    return path


@pytest.fixture
def no_real_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything but the fake encoder embeds a text (i.e. a real model would load)."""
    from qa.encoders import e5, minilm_onnx

    def boom(self, texts):  # noqa: ANN001, ANN202
        raise AssertionError(f"{type(self).__name__} was asked to embed: a real model would load")

    for cls in (minilm_onnx.MiniLMOnnxEncoder, e5.E5Encoder):
        monkeypatch.setattr(cls, "embed_batch", boom)


# ---- import: the happy paths ---------------------------------------------------------------------
def test_import_jsonl_reports_counts(tmp_path, kb_file, qa):
    path = tmp_path / "kb.db"
    r = qa("import", kb_file, "--db", path, "--model", "fake")
    assert r.code == 0, r.err
    assert "6 added, 0 updated, 0 unchanged, 0 removed" in r.out
    assert "6 entries" in r.out
    listed = qa("list", "--db", path, "--json").json
    assert [e["id"] for e in listed] == [e.id for e in ENTRIES]
    assert rows(path, "SELECT model, count(*) FROM vectors GROUP BY model") == [
        ("fake", sum(len(e.texts()) for e in ENTRIES))
    ]


def test_import_json_output(tmp_path, kb_file, qa):
    r = qa("import", kb_file, "--db", tmp_path / "kb.db", "--model", "fake", "--json")
    assert r.code == 0, r.err
    assert r.json == {
        "dry_run": False,
        "added": 6,
        "updated": 0,
        "unchanged": 0,
        "removed": 0,
        "entries": 6,
        "checked": 6,
        "duplicates": [],
        "conflicts": [],
    }


def test_reimport_same_file_changes_nothing(db, kb_file, qa):
    before = snapshot(db)
    r = qa("import", kb_file, "--db", db, "--json")  # no --model: the KB's own model (fake) is used
    assert r.code == 0, r.err
    assert r.json["unchanged"] == 6 and r.json["added"] == r.json["updated"] == 0
    assert snapshot(db)["entries"] == before["entries"]
    assert snapshot(db)["vectors"] == before["vectors"]


def test_reimport_changed_entry_is_updated(db, tmp_path, qa):
    recs = [record(e) for e in ENTRIES]
    recs[0]["answer"] = "A brand new answer."
    r = qa("import", write_jsonl(tmp_path / "v2.jsonl", recs), "--db", db)
    assert r.code == 0, r.err
    assert "0 added, 1 updated, 5 unchanged" in r.out
    assert qa("show", "pw", "--db", db, "--json").json["answer"] == "A brand new answer."


def test_dry_run_reports_and_writes_nothing(db, tmp_path, qa):
    recs = [record(e) for e in ENTRIES[:3]]
    recs[0]["answer"] = "changed"
    recs.append({"id": "new", "question": "do you ship abroad", "answer": "Yes."})
    before = snapshot(db)
    r = qa("import", write_jsonl(tmp_path / "v2.jsonl", recs), "--db", db, "--dry-run", "--replace", "--json")
    assert r.code == 0, r.err
    assert {k: r.json[k] for k in ("dry_run", "added", "updated", "unchanged", "removed", "entries", "checked")} == {
        "dry_run": True,
        "added": 1,
        "updated": 1,
        "unchanged": 2,
        "removed": 3,
        "entries": 6,
        "checked": 2,
    }
    text = qa("import", tmp_path / "v2.jsonl", "--db", db, "--dry-run")
    assert text.code == 0 and text.out.startswith("Would change: 1 added, 1 updated, 2 unchanged")
    assert snapshot(db) == before


def test_dry_run_into_new_path_creates_no_file(tmp_path, kb_file, qa):
    path = tmp_path / "new.db"
    r = qa("import", kb_file, "--db", path, "--dry-run", "--model", "fake")
    assert r.code == 0, r.err
    assert "6 added" in r.out
    assert not path.exists()


def test_replace_removes_entries_not_in_file(db, tmp_path, qa):
    keep = [record(e) for e in ENTRIES if e.id in ("pw", "sym")]
    r = qa("import", write_jsonl(tmp_path / "two.jsonl", keep), "--db", db, "--replace", "--json")
    assert r.code == 0, r.err
    assert r.json["removed"] == 4 and r.json["unchanged"] == 2 and r.json["entries"] == 2
    assert [e["id"] for e in qa("list", "--db", db, "--json").json] == ["pw", "sym"]
    assert rows(db, "SELECT DISTINCT entry_id FROM alternates ORDER BY entry_id") == [("pw",), ("sym",)]
    assert qa("show", "hours", "--db", db).code == 3


def test_import_csv_with_pipe_separated_alternates(tmp_path, qa):
    csv_file = tmp_path / "faq.csv"
    csv_file.write_text(
        "id,question,answer,alternates,tags\n"
        'pw,how do I reset my password,"Use the link, then check your mail.",forgot my password|password reset,'
        "account|web\n"
        "hours,what are your opening hours,9 to 5,when are you open,\n",
        encoding="utf-8",
    )
    path = tmp_path / "kb.db"
    r = qa("import", csv_file, "--db", path, "--model", "fake")
    assert r.code == 0, r.err
    assert "2 added" in r.out
    pw = qa("show", "pw", "--db", path, "--json").json
    assert pw["alternates"] == ["forgot my password", "password reset"]
    assert pw["tags"] == ["account", "web"]
    assert pw["answer"] == "Use the link, then check your mail."
    assert qa("show", "hours", "--db", path, "--json").json["alternates"] == ["when are you open"]


def test_import_yaml(tmp_path, qa):
    yml = tmp_path / "faq.yaml"
    yml.write_text(
        "- id: mask\n  question: 口罩应该怎么戴\n  answer: 有颜色的一面朝外。\n  alternates: [怎样正确佩戴口罩]\n"
        "- id: hours\n  question: what are your opening hours\n  answer: 9 to 5\n  tags: [shop]\n",
        encoding="utf-8",
    )
    path = tmp_path / "kb.db"
    r = qa("import", yml, "--db", path, "--model", "fake")
    assert r.code == 0, r.err
    mask = qa("show", "mask", "--db", path, "--json").json
    assert mask["lang"] == "zh" and mask["alternates"] == ["怎样正确佩戴口罩"]
    assert qa("show", "hours", "--db", path, "--json").json["tags"] == ["shop"]


def test_import_from_stdin(tmp_path, kb_file, qa):
    path = tmp_path / "kb.db"
    r = qa("import", "-", "--format", "jsonl", "--db", path, "--model", "fake", input=kb_file.read_bytes())
    assert r.code == 0, r.err
    assert "6 added" in r.out


def test_import_from_stdin_needs_format(tmp_path, kb_file, qa):
    path = tmp_path / "kb.db"
    r = qa("import", "-", "--db", path, "--model", "fake", input=kb_file.read_bytes())
    assert r.code == 2
    assert "--format" in r.err


def test_import_xlsx_then_ask_and_from_stdin(tmp_path, qa):
    rows = [
        [None],
        ["ID", " Question ", "Answer", "Alternates"],
        [1, "how do I reset my password", "Click 'forgot password'.", "I forgot my password"],
        [1.0, "password reset", None, None],
        [2, "口罩应该怎么戴", "有颜色的一面朝外。", None],
    ]
    f = tmp_path / "faq.xlsx"
    f.write_bytes(xlsx_bytes(rows))
    path = tmp_path / "kb.db"
    r = qa("import", f, "--db", path, "--model", "fake", "--json")
    assert r.code == 0, r.err
    assert r.json["added"] == 2
    assert qa("show", "1", "--db", path, "--json").json["alternates"] == ["I forgot my password", "password reset"]
    answer = qa("ask", "--json", "how do I reset my password", "--db", path).json
    assert answer["suggestions"][0]["entry_id"] == "1"  # two entries: too few to be confident with the fake
    r = qa("import", "-", "--format", "xlsx", "--db", tmp_path / "stdin.db", "--model", "fake", input=f.read_bytes())
    assert r.code == 0, r.err
    assert "2 added" in r.out


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            xlsx_bytes([["id", "question"], ["a", "Q?"], ["b", None]]),
            "faq.xlsx: sheet 'FAQ' row 3, column 'question': missing or empty 'question'",
            id="empty-question",
        ),
        pytest.param(b"id,question\na,Q?\n", "faq.xlsx: not an xlsx workbook (BadZipFile", id="csv-renamed"),
    ],
)
def test_bad_xlsx_exits_2_and_writes_nothing(db, tmp_path, qa, data, message):
    f = tmp_path / "faq.xlsx"
    f.write_bytes(data)
    before = snapshot(db)
    r = qa("import", f, "--db", db)
    assert r.code == 2 and r.out == ""
    assert r.err.startswith(f"Error: {tmp_path / message}")
    assert snapshot(db) == before


def test_import_without_db_is_a_usage_error(kb_file, qa):
    r = qa("import", kb_file)
    assert r.code == 2
    assert "--db" in r.err


# ---- import: bad input, all or nothing -----------------------------------------------------------
def bad_file_cases() -> list:
    good = [json.dumps(record(e), ensure_ascii=False) for e in ENTRIES[:2]]
    cases = {
        "malformed": ('{"id": "x", "question": "oops"', "not valid JSON"),
        "missing-question": ('{"id": "x", "answer": "no question"}', "missing or empty 'question'"),
        "empty-question": ('{"id": "x", "question": "   "}', "missing or empty 'question'"),
        "missing-id": ('{"question": "no id"}', "missing 'id'"),
        "not-an-object": ('["a", "list"]', "expected an object"),
        "bad-alternates": (
            '{"id": "y", "question": "q", "alternates": [1, 2]}',
            "'alternates' must be a list of strings",
        ),
    }
    return [pytest.param([*good, bad, *good], ":3:", what, id=name) for name, (bad, what) in cases.items()]


@pytest.mark.parametrize(("lines", "where", "what"), bad_file_cases())
def test_bad_jsonl_line_names_line_and_writes_nothing(db, tmp_path, qa, lines, where, what):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = snapshot(db)
    r = qa("import", bad, "--db", db)
    assert r.code == 2, r.err
    assert f"bad.jsonl{where}" in r.err
    assert what in r.err
    assert r.err.startswith("Error: ")
    assert "Traceback" not in r.err
    assert snapshot(db) == before


def test_duplicate_id_names_both_lines(db, tmp_path, qa):
    recs = [record(e) for e in ENTRIES[:3]] + [dict(record(ENTRIES[0]), answer="again")]
    before = snapshot(db)
    r = qa("import", write_jsonl(tmp_path / "dup.jsonl", recs), "--db", db)
    assert r.code == 2
    assert "duplicate id 'pw'" in r.err
    assert "dup.jsonl:4:" in r.err and "line 1" in r.err
    assert snapshot(db) == before


def test_import_json_escape_of_a_lone_surrogate_names_its_line(db, tmp_path, qa):
    f = tmp_path / "escaped.jsonl"
    f.write_text(
        '{"id": "ok", "question": "fine", "answer": "yes"}\n{"id": "x", "question": "bad \\udcff", "answer": "no"}\n'
    )
    before = snapshot(db)
    r = qa("import", f, "--db", db)
    assert r.code == 2
    assert "escaped.jsonl:2:" in r.err and "The question of entry 'x'" in r.err
    assert snapshot(db) == before


def test_invalid_utf8_suggests_encoding_then_latin1_works(db, tmp_path, qa):
    f = tmp_path / "latin.jsonl"
    f.write_bytes(
        b'{"id": "ok", "question": "plain ascii", "answer": "yes"}\n'
        b'{"id": "cafe", "question": "where is the caf\xe9", "answer": "upstairs"}\n'
    )
    before = snapshot(db)
    r = qa("import", f, "--db", db)
    assert r.code == 2
    assert "--encoding" in r.err
    assert "latin.jsonl:2:" in r.err and "utf-8" in r.err
    assert snapshot(db) == before
    r = qa("import", f, "--db", db, "--encoding", "latin-1")
    assert r.code == 0, r.err
    assert "2 added" in r.out
    assert qa("show", "cafe", "--db", db, "--json").json["question"] == "where is the café"


def test_unknown_encoding(db, kb_file, qa):
    r = qa("import", kb_file, "--db", db, "--encoding", "no-such-codec")
    assert r.code == 2
    assert "no-such-codec" in r.err


def test_unknown_extension_asks_for_format(db, tmp_path, kb_file, qa):
    f = tmp_path / "faq.txt"
    f.write_bytes(kb_file.read_bytes())
    before = snapshot(db)
    r = qa("import", f, "--db", db)
    assert r.code == 2
    assert "--format" in r.err and "faq.txt" in r.err
    assert snapshot(db) == before
    assert qa("import", f, "--db", db, "--format", "jsonl").code == 0


def test_missing_file(db, tmp_path, qa):
    r = qa("import", tmp_path / "nope.jsonl", "--db", db)
    assert r.code == 2
    assert "No such file" in r.err and "nope.jsonl" in r.err


def test_folder_instead_of_file(db, tmp_path, qa):
    folder = tmp_path / "faq.jsonl"
    folder.mkdir()
    r = qa("import", folder, "--db", db)
    assert r.code == 2
    assert "directory" in r.err or "folder" in r.err


def test_a_1_mb_answer_imports_and_one_over_the_limit_exits_2(db, tmp_path, qa):
    answer = "Pasted from a long document. " * 35_000  # 1,015,000 bytes: csv alone stops at 128 KiB
    f = tmp_path / "long.csv"
    f.write_text(f'id,question,answer\nlong,how long can an answer be,"{answer}"\n', encoding="utf-8")
    r = qa("import", f, "--db", db, "--json")
    assert r.code == 0, r.err
    assert qa("show", "long", "--db", db, "--json").json["answer"] == answer.strip()
    f.write_text(f'id,question,answer\nok,fine,yes\nlong,how long can an answer be,"{answer * 2}"\n', encoding="utf-8")
    before = snapshot(db)
    r = qa("import", f, "--db", db)
    assert r.code == 2 and r.out == ""
    assert r.err == (
        f"Error: {f}:3: the answer of entry 'long' is 2,029,999 bytes of UTF-8, over the limit of 1,048,576 (1 MiB). "
        "Split it, or link to the full text\n"
    )
    assert snapshot(db) == before


def big_file(tmp_path: Path, n: int = 300) -> Path:
    return write_jsonl(
        tmp_path / "big.jsonl",
        [
            {"id": f"gen-{i}", "question": f"generated question number {i} about topic {i % 17}", "answer": f"a{i}"}
            for i in range(n)
        ],
    )


def test_ctrl_c_while_embedding_leaves_kb_unchanged(db, tmp_path, qa, monkeypatch):
    big = big_file(tmp_path)
    assert 2 * Encoder.batch_size < 300  # the import needs several batches
    calls = {"n": 0}
    real = FakeEncoder.embed_batch

    def interrupted(self, texts):  # noqa: ANN001, ANN202
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(self, texts)

    monkeypatch.setattr(FakeEncoder, "embed_batch", interrupted)
    before = snapshot(db)
    r = qa("import", big, "--db", db)
    assert r.code == 130
    assert "Interrupted; nothing was changed." in r.err
    assert calls["n"] == 2
    assert snapshot(db) == before
    assert rows(db, "SELECT count(*) FROM entries") == [(6,)]
    assert rows(db, "SELECT count(*) FROM vectors") == [(sum(len(e.texts()) for e in ENTRIES),)]
    # and the same import, not interrupted, goes through
    monkeypatch.setattr(FakeEncoder, "embed_batch", real)
    assert qa("import", big, "--db", db, "--json").json["entries"] == 306


@pytest.mark.parametrize(
    ("exc", "code", "message"),
    [
        pytest.param(KeyboardInterrupt(), 130, "Interrupted", id="ctrl-c"),
        pytest.param(sqlite3.OperationalError("disk I/O error"), 4, "disk I/O error", id="sqlite-error"),
    ],
)
def test_failure_after_upsert_rolls_back(db, tmp_path, qa, monkeypatch, exc, code, message):
    seen = {}

    def failing_store_vectors(self, model, hashes, matrix):  # noqa: ANN001, ANN202
        seen["count"] = self.count()  # the entries are already written, inside the transaction
        raise exc

    monkeypatch.setattr(KnowledgeBase, "store_vectors", failing_store_vectors)
    before = snapshot(db)
    r = qa("import", big_file(tmp_path, 20), "--db", db)
    assert r.code == code, r.err
    assert message in r.err
    assert seen["count"] == 26
    assert snapshot(db) == before


def test_unexpected_error_after_upsert_rolls_back(db, tmp_path, qa, monkeypatch):
    def failing_store_vectors(self, model, hashes, matrix):  # noqa: ANN001, ANN202
        raise RuntimeError("injected")

    monkeypatch.setattr(KnowledgeBase, "store_vectors", failing_store_vectors)
    before = snapshot(db)
    with pytest.raises(RuntimeError, match="injected"):
        qa("import", big_file(tmp_path, 20), "--db", db)
    assert snapshot(db) == before


def test_import_with_other_model_is_refused_before_embedding(db, tmp_path, qa, no_real_encoder):
    other = write_jsonl(tmp_path / "other.jsonl", [{"id": "new", "question": "do you ship abroad", "answer": "Yes"}])
    before = snapshot(db)
    r = qa("import", other, "--db", db, "--model", "auto")
    assert r.code == 4, r.err
    assert "indexed with fake" in r.err
    assert "qa index --model" in r.err and str(db) in r.err
    assert snapshot(db) == before


def test_chat_with_other_model_is_refused(db, qa, no_real_encoder):
    r = qa("chat", "--db", db, "--model", "minilm", input="how do I reset my password\n")
    assert r.code == 4
    assert "qa index --model minilm-l6-int8" in r.err
    assert r.out == ""


def test_index_brings_nothing_new_and_prunes(db, tmp_path, qa):
    keep = [record(e) for e in ENTRIES[:2]]
    assert qa("import", write_jsonl(tmp_path / "two.jsonl", keep), "--db", db, "--replace").code == 0
    r = qa("index", "--db", db, "--json", "--prune")
    assert r.code == 0, r.err
    assert r.json == {
        "model": ["fake"],
        "embedded": {"fake": 0},
        "switched": False,
        "pruned": sum(len(e.texts()) for e in ENTRIES[2:]),
    }
    r = qa("index", "--db", db)
    assert r.code == 0 and "Model fake." in r.out


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


# ---- list, show, stats, models -------------------------------------------------------------------
def test_list(db, qa):
    r = qa("list", "--db", db)
    assert r.code == 0
    lines = r.out.splitlines()
    assert lines[0] == "pw\ten\t+4\thow do I reset my password"
    assert lines[4] == "sym\tzh\t+3\t新冠肺炎有哪些症状"
    assert len(lines) == 6
    j = qa("list", "--db", db, "--json", "--limit", "2").json
    assert j == [
        {"id": "pw", "question": "how do I reset my password", "lang": "en", "alternates": 4, "tags": ["account"]},
        {"id": "hours", "question": "what are your opening hours", "lang": "en", "alternates": 4, "tags": ["shop"]},
    ]


def test_show(db, qa):
    r = qa("show", "sym", "--db", db)
    assert r.code == 0
    assert "id:        sym" in r.out and "lang:      zh" in r.out
    assert "question:  新冠肺炎有哪些症状" in r.out and "  also:    新冠的症状是什么" in r.out
    assert "answer:    发热、干咳、乏力。" in r.out
    j = qa("show", "pw", "--db", db, "--json").json
    assert {k: j[k] for k in ("id", "question", "answer", "alternates", "lang", "tags")} == record(ENTRIES[0])
    assert j["created"] and j["updated"]


def test_show_unknown_id(db, qa):
    r = qa("show", "no-such-id", "--db", db)
    assert r.code == 3
    assert "no-such-id" in r.err and "qa list" in r.err


def test_stats(db, qa):
    j = qa("stats", "--db", db, "--json").json
    assert j["entries"] == 6
    assert j["texts"] == sum(len(e.texts()) for e in ENTRIES)
    assert j["languages"] == {"en": 4, "zh": 2}
    assert j["model"] == ["fake"]
    assert j["vectors"] == {"fake": j["texts"]}
    assert j["logged_questions"] == 0
    assert 0 < j["answer_threshold"] < 1
    r = qa("stats", "--db", db)
    assert r.code == 0
    assert "entries:" in r.out and "model:" in r.out and "answer_threshold:" in r.out
    assert j["oos_share"] == 0.1 and "0.1 (the default; qa tune --oos-share or --from-review sets it)" in r.out
    assert j["calibration"] == "prior" and "too few alternates to calibrate itself" in r.out  # 6 entries


def test_models(db, qa):
    j = qa("models", "--db", db, "--json").json
    assert j["kb_model"] == ["fake"]
    ids = {e["id"]: e for e in j["encoders"]}
    assert ids["fake"]["used"] is True
    assert ids["minilm-l6-int8"]["used"] is False
    assert set(j["default"]) <= set(ids)
    r = qa("models", "--db", db)
    assert r.code == 0
    assert r.out.startswith("This KB uses: fake")
    assert any(line.startswith("* fake") for line in r.out.splitlines())


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
