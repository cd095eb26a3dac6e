"""`qa import`: bad input, all or nothing; a KB indexed with another model. (qa/cli/kb_cmds.py)

Run in-process with the `qa` fixture (tests/cli/conftest.py); every KB uses the FakeEncoder.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from qa.encoders.base import Encoder
from qa.encoders.fake import FakeEncoder
from qa.kb.store import KnowledgeBase
from tests.cli.conftest import record, rows, snapshot, write_jsonl
from tests.conftest import ENTRIES


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
