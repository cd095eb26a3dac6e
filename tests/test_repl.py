"""The chat: every slash command, numbered choices, feedback and /add, in-process; and the
prompt-toolkit session driven with a pipe input (no terminal needed)."""

from __future__ import annotations

import pytest
from prompt_toolkit import PromptSession
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from qa.bot import Bot
from qa.cli.chat import COMMANDS, Chat, run_repl


@pytest.fixture
def bot(fake, entries):
    return Bot.from_entries(entries, encoders=[fake])


def feedback_rows(bot):
    return bot.kb.db.execute("SELECT question, entry_id, helpful, source FROM feedback ORDER BY id").fetchall()


def test_question_then_good_and_bad_are_stored(bot):
    chat = Chat(bot)
    out = chat.handle("how do I reset my password")
    assert "Click 'forgot password'" in out and "[pw]" in out
    assert "Thanks" in chat.handle("/good")
    assert "did not help" in chat.handle("/bad")
    assert feedback_rows(bot) == [
        ("how do I reset my password", "pw", 1, "chat"),
        ("how do I reset my password", "pw", 0, "chat"),
    ]


def test_commands_before_any_question_say_what_to_do(bot):
    chat = Chat(bot)
    for cmd in ("/why", "/more", "/good", "/bad", "/add", "/lang"):
        assert "Ask a question first" in chat.handle(cmd)
    assert chat.handle("/quit") is None and chat.handle("/exit") is None
    assert all(c in chat.handle("/help") for c in COMMANDS)
    assert "answer threshold" in chat.handle("/kb")


def test_unknown_command_hint_and_empty_line(bot):
    chat = Chat(bot)
    assert chat.handle("   ") == ""
    out = chat.handle("/hepl")
    assert "Unknown command /hepl" in out and "/help" in out


def test_why_more_and_lang(bot):
    chat = Chat(bot)
    chat.handle("refund policy")
    why = chat.handle("/why")
    assert "[refund]" in why.splitlines()[0] and "fused" in why and "lexical" in why
    more = chat.handle("/more")
    assert "1)" in more and "[refund]" not in more.splitlines()[0]
    assert chat.handle("/lang") == "Detected language: en"
    chat.handle("口罩怎么戴")
    assert chat.handle("/lang") == "Detected language: zh"


def test_numbered_choice_after_fallback_and_bad_numbers(bot):
    chat = Chat(bot)
    assert "nothing to pick" in chat.handle("1")
    out = chat.handle("quantum chromodynamics lattice gauge")
    assert "type a number" in out
    assert "Pick a number from 1 to" in chat.handle("9")
    picked = chat.handle("1")
    first = chat.choices[0]
    assert f"[{first}]" in picked
    assert feedback_rows(bot)[-1][1:] == (first, 1, "choice")


def test_ambiguous_choice_records_feedback(ambiguous_bot):
    bot, kb = ambiguous_bot, ambiguous_bot.kb
    chat = Chat(bot)
    out = chat.handle("reset password")
    assert "Did you mean" in out and "1)" in out and "2)" in out
    assert chat.handle("2").startswith(kb.get(chat.choices[1]).answer)
    assert feedback_rows(bot)[-1][1:] == (chat.choices[1], 1, "choice")


def test_add_as_alternate_raises_confidence(bot):
    replies = iter(["1"])
    chat = Chat(bot, prompt=lambda message: next(replies, ""))
    question = "shipping speed to europe"
    before = bot.ask(question, log=False)
    target = before.entry_id or before.suggestions[0].entry_id
    chat.handle(question)
    out = chat.handle("/add")
    assert f"alternate of [{target}]" in out
    assert question in bot.kb.get(target).alternates
    after = bot.ask(question, log=False)
    assert after.entry_id == target and after.confidence > before.confidence


def test_add_as_new_entry_and_cancel(bot):
    replies = iter(["", "x", "99"])
    chat = Chat(bot, prompt=lambda message: next(replies, ""))
    chat.handle("do you sell gift cards")
    assert chat.handle("/add") == "Nothing added."
    assert "Not a choice" in chat.handle("/add")
    assert "Not a choice" in chat.handle("/add")
    n_options = len(chat.answer.suggestions) + (1 if chat.answer.entry_id else 0)
    replies2 = iter([str(min(n_options, 5) + 1), "Yes, in every shop."])
    chat.prompt = lambda message: next(replies2, "")
    out = chat.handle("/add")
    assert "new entry [do-you-sell-gift-cards]" in out
    assert bot.ask("do you sell gift cards", log=False).entry_id == "do-you-sell-gift-cards"


def test_tags_restrict_and_clear(bot):
    chat = Chat(bot)
    assert "tagged: shop" in chat.handle("/tags shop")
    chat.handle("how do I reset my password")
    assert chat.answer.entry_id != "pw"
    assert chat.handle("/tags") == "Tags cleared."
    chat.handle("how do I reset my password")
    assert chat.answer.entry_id == "pw"


def test_huge_line_is_answered_with_a_note(bot):
    out = Chat(bot).handle("password " * 12000)
    assert "(your question was very long" in out


def drive(bot, keys: str, capsys) -> str:
    with create_pipe_input() as inp:
        inp.send_text(keys)
        run_repl(bot, session=PromptSession(input=inp, output=DummyOutput()))
    return capsys.readouterr().out


def test_session_answers_and_quits(bot, capsys):
    out = drive(bot, "how do I reset my password\r/quit\r", capsys)
    assert "Click 'forgot password'" in out and "[pw]" in out
    assert "6 entries" in out.splitlines()[0]


def test_session_ctrl_c_clears_and_ctrl_d_exits(bot, capsys):
    out = drive(bot, "half typed\x03how long does shipping take\r\x04", capsys)
    assert "3 to 5 days" in out and "half typed" not in out


def test_session_add_prompts_for_a_choice(bot, capsys):
    out = drive(bot, "do you sell gift cards\r/add\r\r/quit\r", capsys)
    assert "Nothing added." in out


def test_colour_only_on_a_colour_terminal(bot, monkeypatch):
    from qa.cli.render import render, use_colour

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert use_colour(True) and not use_colour(False)
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_colour(True)
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "dumb")
    assert not use_colour(True)
    ans = bot.ask("how do I reset my password")
    assert "\x1b[" in render(ans, colour=True) and "\x1b[" not in render(ans, colour=False)
