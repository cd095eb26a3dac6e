"""`qa import` (and `qa index`): the happy paths. (qa/cli/kb_cmds.py)

Run in-process with the `qa` fixture (tests/cli/conftest.py); every KB uses the FakeEncoder.
"""

from __future__ import annotations

import pytest

from tests.cli.conftest import record, rows, snapshot, write_jsonl
from tests.conftest import ENTRIES, xlsx_bytes


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
