"""`qa chat` in a real pseudo-terminal: type English and Chinese, read the screen."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pexpect = pytest.importorskip("pexpect")

QA = str(Path(sys.executable).parent / "qa")


@pytest.fixture
def fake_kb(tmp_path, kb_file):
    import subprocess

    db = tmp_path / "kb.db"
    subprocess.run([QA, "import", str(kb_file), "--db", str(db), "--model", "fake"], check=True, capture_output=True)
    return db


def test_chat_in_a_terminal_english_and_chinese(fake_kb, tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "NO_COLOR": "1",
    }
    child = pexpect.spawn(
        QA, ["chat", "--db", str(fake_kb)], env=env, encoding="utf-8", timeout=30, dimensions=(40, 120)
    )
    try:
        child.expect("6 entries")
        child.expect("»")
        child.sendline("how do I reset my password")
        child.expect("forgot password")
        child.expect(r"\[pw\]")
        child.sendline("新冠肺炎的症状有哪些")
        child.expect("发热、干咳、乏力")
        child.sendline("/lang")
        child.expect("Detected language: zh")
        child.send("half a question")
        child.sendcontrol("c")  # clears the line, keeps the session
        child.expect("»")
        child.sendline("/quit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
