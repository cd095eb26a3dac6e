"""qa export: every format, stdout or a file replaced in one step, and its error exits."""

from __future__ import annotations

import io
import json

import pytest

from qa.kb.entry import Entry
from qa.kb.formats import read_entries, read_file
from qa.kb.store import KnowledgeBase
from tests.conftest import run_cli


def _run(monkeypatch, capsys, *args):
    return run_cli(monkeypatch, capsys, *args)


@pytest.fixture
def db(tmp_path, entries):
    path = tmp_path / "kb.db"
    kb = KnowledgeBase(path)
    kb.upsert(entries)
    kb.close()
    return str(path)


def _same(got, entries):
    assert [(g.id, g.content()) for g in got] == [(e.id, e.content()) for e in entries]


def test_stdout_defaults_to_jsonl(db, entries, monkeypatch, capsys):
    code, out, err = _run(monkeypatch, capsys, "export", "--db", db)
    assert code == 0, err
    _same(read_entries(io.StringIO(out), "jsonl"), entries)
    assert "口罩应该怎么戴" in out  # not \u-escaped
    code, out, err = _run(monkeypatch, capsys, "export", "-", "--db", db, "--format", "md", "--json")
    assert code == 0, err
    _same(read_entries(io.StringIO(out), "md"), entries)
    assert json.loads(err) == {"entries": 6, "path": "-", "format": "md", "db": db}  # stdout holds the data


@pytest.mark.parametrize(
    ("name", "fmt_option", "fmt"),
    [
        ("faq.md", [], "md"),
        ("faq.markdown", [], "md"),
        ("faq.yml", [], "yaml"),
        ("faq.csv", [], "csv"),
        ("faq.tsv", [], "tsv"),
        ("faq.json", [], "json"),
        ("faq.xlsx", [], "xlsx"),
        ("faq.XLSX", [], "xlsx"),
        ("azure.tsv", ["--format", "azure"], "azure"),
        ("faq.txt", ["--format", "JSONL"], "jsonl"),
    ],
)
def test_file_format_from_extension_or_option(tmp_path, db, entries, monkeypatch, capsys, name, fmt_option, fmt):
    target = tmp_path / name
    code, out, err = _run(monkeypatch, capsys, "export", str(target), "--db", db, *fmt_option, "--json")
    assert code == 0, err
    assert json.loads(out) == {"entries": 6, "path": str(target), "format": fmt, "db": db}
    _same(read_file(str(target), fmt), entries)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_plain_message_and_import_of_the_export(tmp_path, db, entries, monkeypatch, capsys):
    target = tmp_path / "faq.md"
    code, out, _ = _run(monkeypatch, capsys, "export", str(target), "--db", db)
    assert code == 0 and out == f"Exported 6 entries to {target} (md).\n"
    new_db = tmp_path / "new.db"
    code, _, err = _run(monkeypatch, capsys, "import", str(target), "--db", str(new_db), "--model", "fake")
    assert code == 0, err
    _same(KnowledgeBase(new_db, create=False).entries(), entries)


def test_unknown_extension_or_format_exits_2(tmp_path, db, monkeypatch, capsys):
    code, _, err = _run(monkeypatch, capsys, "export", str(tmp_path / "faq.txt"), "--db", db)
    assert code == 2 and "Cannot tell the format" in err and "--format" in err
    code, _, err = _run(monkeypatch, capsys, "export", "--db", db, "--format", "xml")
    assert code == 2 and "xml" in err
    assert not (tmp_path / "faq.txt").exists()


def test_missing_kb_exits_4(tmp_path, monkeypatch, capsys):
    code, out, err = _run(monkeypatch, capsys, "export", str(tmp_path / "out.jsonl"), "--db", str(tmp_path / "no.db"))
    assert code == 4 and "No knowledge base" in err and out == ""
    assert not (tmp_path / "no.db").exists() and not (tmp_path / "out.jsonl").exists()


def test_failure_keeps_the_old_file_whole(tmp_path, monkeypatch, capsys):
    path = tmp_path / "kb.db"
    kb = KnowledgeBase(path)
    kb.upsert([Entry("ok", "Fine?", "Yes."), Entry("bad", "two\nlines", "md cannot hold this question")])
    kb.close()
    target = tmp_path / "faq.md"
    target.write_text("old content\n", encoding="utf-8")
    code, out, err = _run(monkeypatch, capsys, "export", str(target), "--db", str(path))
    assert code == 2 and "spans several lines" in err and "'bad'" in err and out == ""
    assert target.read_text(encoding="utf-8") == "old content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["faq.md", "kb.db"]
    code, out, err = _run(monkeypatch, capsys, "export", "--db", str(path), "--format", "md")
    assert code == 2 and out == ""  # nothing half-written to stdout either


def test_missing_folder_exits_2(tmp_path, db, monkeypatch, capsys):
    code, _, err = _run(monkeypatch, capsys, "export", str(tmp_path / "nope" / "faq.jsonl"), "--db", db)
    assert code == 2 and "does not exist" in err


def test_replacing_keeps_the_file_mode(tmp_path, db, monkeypatch, capsys):
    target = tmp_path / "faq.jsonl"
    target.write_text("", encoding="utf-8")
    target.chmod(0o640)
    assert _run(monkeypatch, capsys, "export", str(target), "--db", db)[0] == 0
    assert target.stat().st_mode & 0o777 == 0o640 and target.read_text(encoding="utf-8").count("\n") == 6


def test_export_in_another_encoding_round_trips(tmp_path, db, entries, monkeypatch, capsys):
    target = tmp_path / "faq.csv"
    code, _, err = _run(monkeypatch, capsys, "export", str(target), "--db", db, "--encoding", "gbk")
    assert code == 0, err
    assert "新冠".encode("gbk") in target.read_bytes()
    _same(read_file(str(target), encoding="gbk"), entries)


def test_export_encoding_errors_exit_2_and_write_nothing(tmp_path, db, monkeypatch, capsys):
    target = tmp_path / "faq.csv"
    code, _, err = _run(monkeypatch, capsys, "export", str(target), "--db", db, "--encoding", "latin-1")
    assert code == 2 and "cannot be written in latin-1" in err and "utf-8" in err
    code, _, err = _run(monkeypatch, capsys, "export", str(target), "--db", db, "--encoding", "klingon")
    assert code == 2 and "Unknown encoding 'klingon'" in err
    assert not target.exists()


class _Stdout(io.TextIOWrapper):
    def __init__(self, tty: bool):
        super().__init__(io.BytesIO(), encoding="utf-8")
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_xlsx_to_stdout_only_when_it_is_not_a_terminal(db, entries, monkeypatch, capsys):
    from qa.kb.formats.xlsx import read_xlsx

    piped = _Stdout(tty=False)
    monkeypatch.setattr("sys.stdout", piped)
    code, _, err = _run(monkeypatch, capsys, "export", "-", "--db", db, "--format", "xlsx", "--json")
    assert code == 0, err
    assert json.loads(err)["format"] == "xlsx"
    _same(read_xlsx(piped.buffer.getvalue()), entries)
    terminal = _Stdout(tty=True)
    monkeypatch.setattr("sys.stdout", terminal)
    code, _, err = _run(monkeypatch, capsys, "export", "--db", db, "--format", "xlsx")
    assert code == 2 and terminal.buffer.getvalue() == b""
    assert "xlsx is binary and would garble the terminal" in err and "qa export faq.xlsx" in err
    assert "> faq.xlsx" in err


def test_xlsx_export_refuses_what_it_cannot_hold_and_writes_nothing(tmp_path, monkeypatch, capsys):
    path = tmp_path / "kb.db"
    kb = KnowledgeBase(path)
    kb.upsert([Entry("ok", "Fine?", "Yes."), Entry("crlf", "Windows?", "one\r\ntwo")])
    kb.close()
    target = tmp_path / "faq.xlsx"
    code, out, err = _run(monkeypatch, capsys, "export", str(target), "--db", str(path))
    assert code == 2 and out == ""
    assert "Entry 'crlf': its answer holds the character U+000D (a carriage return" in err and "csv" in err
    assert not target.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["kb.db"]


def test_stdout_is_written_in_the_encoding_asked(db, entries, monkeypatch, capsys):
    piped = _Stdout(tty=False)
    monkeypatch.setattr("sys.stdout", piped)
    code, _, err = _run(monkeypatch, capsys, "export", "--db", db, "--format", "csv", "--encoding", "gbk")
    assert code == 0, err
    _same(read_entries(io.StringIO(piped.buffer.getvalue().decode("gbk")), "csv"), entries)
