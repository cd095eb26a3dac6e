"""The prompt-toolkit chat driven in-process with a pipe input (no terminal needed)."""

from __future__ import annotations

import pytest
from prompt_toolkit import PromptSession
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from qa.bot import Bot
from qa.repl import run_repl


@pytest.fixture
def bot(fake, entries):
    return Bot.from_entries(entries, encoders=[fake])


def drive(bot, keys: str, capsys) -> str:
    with create_pipe_input() as inp:
        inp.send_text(keys)
        session = PromptSession(input=inp, output=DummyOutput())
        run_repl(bot, session=session)
    return capsys.readouterr().out


def test_answers_and_quits(bot, capsys):
    out = drive(bot, "how do I reset my password\r/quit\r", capsys)
    assert "Click 'forgot password'" in out and "[pw]" in out
    assert "6 entries" in out.splitlines()[0]


def test_ctrl_c_clears_and_ctrl_d_exits(bot, capsys):
    out = drive(bot, "half typed\x03how long does shipping take\r\x04", capsys)
    assert "3 to 5 days" in out and "half typed" not in out


def test_why_kb_help_unknown_and_empty(bot, capsys):
    out = drive(bot, "\r/why\rrefund policy\r/why\r/kb\r/help\r/nope\r/quit\r", capsys)
    assert "Ask a question first" in out
    assert "[refund]" in out and "fused" in out
    assert "answer threshold" in out and "/quit" in out
    assert "Unknown command /nope" in out


def test_blank_and_huge_lines_do_not_crash(bot, capsys):
    out = drive(bot, "   \r" + "x" * 5000 + "\r/quit\r", capsys)
    assert "(your question was very long" in out
