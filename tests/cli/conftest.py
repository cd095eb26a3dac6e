"""Shared pieces of the command-line tests: `qa` runs a command in-process through
`qa.cli.main()` (so that QAError -> exit codes), `db` is a KB of the sample entries.

Every KB is built with the FakeEncoder (`--model fake`), so no model is loaded. Failing writes are
checked against a snapshot of every table: "nothing was written" means the snapshot is identical.
"""

from __future__ import annotations

import gc
import hashlib
import io
import json
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from qa.cli import main as qa_main

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
