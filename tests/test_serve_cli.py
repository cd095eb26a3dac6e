"""`qa serve` as users start it: bad options, and a real server process on a free port."""

from __future__ import annotations

import json
import os
import socket
import urllib.error
import urllib.request

import pytest

from tests.conftest import run_cli, serve_process

pytest.importorskip("uvicorn")


def test_private_without_a_token_is_refused(monkeypatch, capsys, db):
    monkeypatch.delenv("QA_TOKEN", raising=False)
    code, _, err = run_cli(monkeypatch, capsys, "serve", "--db", db, "--private")
    assert code == 2 and "--private needs a token" in err


def test_a_missing_kb_is_refused_before_binding(monkeypatch, capsys, tmp_path):
    code, _, err = run_cli(monkeypatch, capsys, "serve", "--db", tmp_path / "nope.db")
    assert code == 4 and "No knowledge base" in err


def test_a_bad_port_is_a_usage_error(monkeypatch, capsys, db):
    code, _, err = run_cli(monkeypatch, capsys, "serve", "--db", db, "--port", "70000")
    assert code == 2 and "70000" in err


def _get(url: str, data: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = json.dumps(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_process_answers_and_shares_the_kb(db, workers):
    env = {**os.environ, "QA_TOKEN": "tok"}
    args = ["--db", str(db), "--workers", str(workers)]
    with serve_process(args, env=env, log=db.parent / "serve.log", timeout=60) as base:
        code, ans = _get(base + "/ask", {"question": "how do I reset my password"})
        assert code == 200 and ans["entry_id"] == "pw"
        for i in range(6):  # spread over both workers: each logs to the one file
            assert _get(base + "/ask", {"question": f"zzz unrelated {i}"})[0] == 200
        assert _get(base + "/feedback", {"question": "q", "entry_id": "pw", "helpful": True})[0] == 401
        assert _get(base + "/feedback", {"question": "q", "entry_id": "pw", "helpful": True}, "tok")[0] == 200
    from qa.kb.store import KnowledgeBase

    kb = KnowledgeBase(db)
    assert len(kb.open_log()) == 6 and kb.feedback_counts() == {"pw": (1, 0)}


def test_a_port_in_use_is_a_clear_error(monkeypatch, capsys, db):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        code, _, err = run_cli(monkeypatch, capsys, "serve", "--db", db, "--port", port)
    assert code == 2 and f"Cannot listen on 127.0.0.1:{port}" in err and "--port" in err
