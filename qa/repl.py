"""The console chat: a prompt-toolkit session, or one question per line when stdin is piped."""

from __future__ import annotations

import json
import os
import sys
from typing import Any, TextIO

from qa.bot import Bot
from qa.cli.common import data_dir
from qa.cli.render import render, use_colour
from qa.errors import InputError

HELP = """Type a question, or a command:
  /why      the top candidates for the last question, with their scores
  /kb       which KB and model this is, with its thresholds
  /help     this help
  /quit     leave (Ctrl-D works too; Ctrl-C clears the line)"""


def banner(bot: Bot) -> str:
    path = bot.kb.path or ":memory:"
    model = "+".join(e.id for e in bot.encoders)
    return f"qa · {path} · {bot.index.n} entries · {model} · /help for commands, Ctrl-D to quit"


def kb_info(bot: Bot) -> str:
    cal = bot.calibration
    return (
        f"KB {bot.kb.path or ':memory:'}: {bot.index.n} entries, {len(bot.index.texts)} texts; "
        f"model {'+'.join(e.id for e in bot.encoders)}; answer threshold {cal.answer_threshold:.0%}, "
        f"ambiguity margin {cal.ambiguity_margin:.2f}; calibration: {cal.source} ({cal.n_examples} examples)"
    )


def why(bot: Bot, question: str) -> str:
    lines = []
    for c in bot.explain(question):
        lines.append(
            f"{c.confidence:6.1%}  fused {c.fused:6.2f}  dense {c.dense:6.2f} ({c.encoder})  "
            f"lexical {c.lexical:5.2f}  [{c.entry_id}] {c.question}"
        )
    return "\n".join(lines)


def handle(bot: Bot, line: str, state: dict[str, Any], colour: bool) -> str | None:
    """One line of input -> the text to show (None: quit)."""
    line = line.strip()
    if not line:
        return ""
    if line.startswith("/"):
        cmd = line.split()[0].lower()
        if cmd in ("/quit", "/exit"):
            return None
        if cmd == "/help":
            return HELP
        if cmd == "/kb":
            return kb_info(bot)
        if cmd == "/why":
            if not state.get("last"):
                return "Ask a question first; /why then explains the answer."
            return why(bot, state["last"])
        return f"Unknown command {cmd}. Try /help."
    try:
        ans = bot.ask(line)
    except InputError as e:
        return str(e)
    state["last"] = line
    return render(ans, colour)


def run_piped(bot: Bot, stream: TextIO, *, as_json: bool) -> None:
    state: dict[str, Any] = {}
    for raw in stream:
        line = raw.strip()
        if not line:
            continue
        if as_json and line.startswith("/"):
            out = handle(bot, line, state, colour=False)
            if out is None:
                return
            print(json.dumps({"command": line, "output": out}, ensure_ascii=False), flush=True)
        elif as_json:
            try:
                print(json.dumps(bot.ask(line).to_dict(), ensure_ascii=False), flush=True)
                state["last"] = line
            except InputError as e:
                print(json.dumps({"error": str(e), "question": line}, ensure_ascii=False), flush=True)
        else:
            out = handle(bot, line, state, colour=False)
            if out is None:
                return
            print(out, flush=True)


def run_repl(bot: Bot, session: Any = None) -> None:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
    from prompt_toolkit.history import FileHistory

    if session is None:
        hist = data_dir() / "history"
        hist.parent.mkdir(parents=True, exist_ok=True)
        session = PromptSession(history=FileHistory(str(hist)), auto_suggest=AutoSuggestFromHistory())
    colour = use_colour(sys.stdout.isatty())
    print(banner(bot))
    state: dict[str, Any] = {}
    while True:
        try:
            line = session.prompt("» ")
        except KeyboardInterrupt:
            continue
        except EOFError:
            break
        out = handle(bot, line, state, colour)
        if out is None:
            break
        if out:
            print(out)
    if os.environ.get("QA_DEBUG"):
        print("bye", file=sys.stderr)
