"""The console chat: a prompt-toolkit session, or one question per line when stdin is piped.

`Chat.handle(line)` holds all behaviour (questions, numbered choices, slash commands), so the
terminal session, piped input and tests drive the same code.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from qa import curate
from qa.answer import Answer
from qa.bot import Bot
from qa.cli.common import data_dir
from qa.cli.render import render, use_colour
from qa.errors import InputError, NotFoundError
from qa.text import check_utf8, detect_lang, printable

COMMANDS = {
    "/why": "the top candidates for the last question, with each signal's score",
    "/more": "the next candidates for the last question (pick one by number)",
    "/good": "the last answer helped (stored as feedback)",
    "/bad": "the last answer did not help (stored as feedback)",
    "/add": "add the last question to the KB: as an alternate of an entry, or a new entry",
    "/tags": "answer only from entries with these tags (/tags shop account); /tags alone clears",
    "/lang": "the language detected for the last question",
    "/kb": "which KB and model this is, with its thresholds",
    "/help": "this help",
    "/quit": "leave (Ctrl-D works too; Ctrl-C clears the line)",
}
HELP = "Type a question, a number to pick a numbered choice, or a command:\n" + "\n".join(
    f"  {c:7s} {d}" for c, d in COMMANDS.items()
)


def banner(bot: Bot) -> str:
    model = "+".join(e.id for e in bot.encoders)
    return f"qa · {bot.kb.path or ':memory:'} · {bot.index.n} entries · {model} · /help for commands, Ctrl-D to quit"


def kb_info(bot: Bot) -> str:
    cal = bot.calibration
    return (
        f"KB {bot.kb.path or ':memory:'}: {bot.index.n} entries, {len(bot.index.texts)} texts; "
        f"model {'+'.join(e.id for e in bot.encoders)}; answer threshold {cal.answer_threshold:.0%}, "
        f"ambiguity margin {cal.ambiguity_margin:.2f}; calibration: {cal.source} ({cal.n_examples} examples, "
        f"out-of-scope share {bot.oos_share():.0%})"
    )


@dataclass
class Chat:
    bot: Bot
    colour: bool = False
    #: asks a follow-up question (for /add); returns "" when there is no more input
    prompt: Callable[[str], str] = field(default=lambda message: "")
    last: str | None = None
    answer: Answer | None = None
    choices: list[str] = field(default_factory=list)  # entry ids a number picks
    tags: list[str] = field(default_factory=list)

    # ---- one line in, text out --------------------------------------------------------------
    def handle(self, line: str) -> str | None:
        """The text to show for one line of input; None means quit."""
        line = line.strip()
        if not line:
            return ""
        if line.startswith("/"):
            return self.command(line)
        if line.isdigit() and len(line) <= 3:
            return self.pick(int(line))
        return self.ask(line)

    def ask(self, question: str) -> str:
        try:
            ans = self.bot.ask(question, tags=self.tags or None)
        except InputError as e:
            return str(e)
        self.last, self.answer = question, ans
        numbered = {"ambiguous": ans.suggestions[:2], "fallback": ans.suggestions}.get(ans.status, [])
        self.choices = [s.entry_id for s in numbered]
        text = render(ans, self.colour)
        if self.choices:
            text += "\n" + self._dim("(type a number to see that answer)")
        return text

    def pick(self, n: int) -> str:
        if not self.choices:
            return "There is nothing to pick: numbers choose from a numbered list after a question."
        if not 1 <= n <= len(self.choices):
            return f"Pick a number from 1 to {len(self.choices)}."
        entry = self.bot.kb.get(self.choices[n - 1])
        if self.last is not None and self.answer is not None and self.answer.status != "answered":
            self.bot.feedback(self.last, entry.id, True, source="choice")  # the user's own pick
        self.answer = Answer("answered", entry.answer, 1.0, entry.id, entry.question, question=self.last or "")
        return f"{entry.answer}\n" + self._dim(f"  [{entry.id}] {entry.question}")

    # ---- slash commands ---------------------------------------------------------------------------
    def command(self, line: str) -> str | None:
        cmd, *args = line.split()
        cmd = cmd.lower()
        if cmd in ("/quit", "/exit"):
            return None
        if cmd == "/help":
            return HELP
        if cmd == "/kb":
            return kb_info(self.bot)
        if cmd == "/tags":
            self.tags = args
            return f"Answering only from entries tagged: {', '.join(args)}." if args else "Tags cleared."
        if cmd not in COMMANDS:
            near = [c for c in COMMANDS if c.startswith(cmd[:3])]
            return f"Unknown command {cmd}." + (f" Did you mean {near[0]}?" if near else "") + " Try /help."
        if self.last is None:
            return f"Ask a question first; {cmd} then works on it."
        if cmd == "/lang":
            return f"Detected language: {detect_lang(self.last)}"
        if cmd == "/why":
            return self.why()
        if cmd == "/more":
            return self.more()
        if cmd in ("/good", "/bad"):
            return self.feedback(cmd == "/good")
        return self.add()  # /add

    def why(self) -> str:
        lines = []
        for c in self.bot.explain(self.last or "", tags=self.tags or None):
            lines.append(
                f"{c.confidence:6.1%}  fused {c.fused:6.2f}  dense {c.dense:6.2f} ({c.encoder})  "
                f"lexical {c.lexical:5.2f}{f'  learned {c.learned:5.2f}' if c.learned else ''}  "
                f"[{c.entry_id}] {c.question}"
            )
        return "\n".join(lines)

    def more(self) -> str:
        cands = self.bot.explain(self.last or "", k=8, tags=self.tags or None)
        shown = {self.answer.entry_id} if self.answer and self.answer.entry_id else set()
        shown |= {s.entry_id for s in (self.answer.suggestions if self.answer else [])}
        rest = [c for c in cands if c.entry_id not in shown] or cands
        self.choices = [c.entry_id for c in rest]
        lines = [
            f"  {i}) {c.question}  " + self._dim(f"[{c.entry_id}] {c.confidence:.0%}") for i, c in enumerate(rest, 1)
        ]
        return "\n".join(lines) + "\n" + self._dim("(type a number to see that answer)")

    def feedback(self, helpful: bool) -> str:
        entry_id = self.answer.entry_id if self.answer else None
        if entry_id is None:
            return "The last question got no answer to rate. Pick a suggestion by number first."
        self.bot.feedback(self.last or "", entry_id, helpful, source="chat")
        return f"Thanks: noted that [{entry_id}] {'helped' if helpful else 'did not help'}."

    def add(self) -> str:
        question = self.last or ""
        options = [s.entry_id for s in (self.answer.suggestions if self.answer else [])]
        if self.answer and self.answer.entry_id:
            options.insert(0, self.answer.entry_id)
        options = list(dict.fromkeys(options))[:5]
        menu = [f"Add {question!r} as:"]
        menu += [f"  {i}) an alternate of [{eid}] {self.bot.kb.get(eid).question}" for i, eid in enumerate(options, 1)]
        menu.append(f"  {len(options) + 1}) a new entry")
        choice = self.prompt("\n".join(menu) + "\nNumber (Enter cancels): ").strip()
        if not choice:
            return "Nothing added."
        if not choice.isdigit() or not 1 <= int(choice) <= len(options) + 1:
            return f"Not a choice: {choice!r}. Nothing added; /add to try again."
        k = int(choice)
        try:
            if k <= len(options):
                entry = curate.add_alternate(self.bot.kb, options[k - 1], question)
                return f"Added as an alternate of [{entry.id}]. Ask it again to see the difference."
            answer = self.prompt("Answer for the new entry (Enter cancels): ").strip()
            if not answer:
                return "Nothing added."
            entry = curate.add_entry(self.bot.kb, question, answer)
            return f"Added a new entry [{entry.id}]."
        except (InputError, NotFoundError) as e:
            return f"Nothing added: {e}"

    def _dim(self, s: str) -> str:
        if not self.colour:
            return s
        import click

        return click.style(s, dim=True)


def run_piped(bot: Bot, stream: TextIO, *, as_json: bool) -> int:
    """One question (or command) per line; /add reads its follow-up answers from the next lines.

    A line that is not valid UTF-8 is reported with its number (on stderr, or as a JSON object with
    "error") and skipped; returns how many were.
    """
    lines = enumerate(stream, 1)
    chat = Chat(bot, prompt=lambda message: next(lines, (0, ""))[1])
    failed = 0
    for n, raw in lines:
        line = raw.strip()
        if not line:
            continue
        try:
            check_utf8(line, f"Line {n}")
        except InputError as e:
            failed += 1
            if as_json:
                print(json.dumps({"error": str(e), "question": printable(line), "line": n}, ensure_ascii=False))
            else:
                print(e, file=sys.stderr, flush=True)
            continue
        if as_json and not line.startswith("/") and not (line.isdigit() and chat.choices):
            try:
                ans = bot.ask(line, tags=chat.tags or None)
                chat.last, chat.answer = line, ans
                chat.choices = [s.entry_id for s in ans.suggestions]
                out: dict[str, Any] = ans.to_dict()
            except InputError as e:
                out = {"error": str(e), "question": line, "line": n}
            print(json.dumps(out, ensure_ascii=False), flush=True)
            continue
        shown = chat.handle(line)
        if shown is None:
            return failed
        print(json.dumps({"command": line, "output": shown}, ensure_ascii=False) if as_json else shown, flush=True)
    return failed


def run_repl(bot: Bot, session: Any = None) -> None:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
    from prompt_toolkit.completion import WordCompleter
    from prompt_toolkit.history import FileHistory

    if session is None:
        hist = data_dir() / "history"
        hist.parent.mkdir(parents=True, exist_ok=True)
        session = PromptSession(
            history=FileHistory(str(hist)),
            auto_suggest=AutoSuggestFromHistory(),
            completer=WordCompleter(list(COMMANDS), sentence=True, pattern=None),
            complete_while_typing=False,
        )

    def ask_more(message: str) -> str:
        try:
            return str(session.prompt(message))
        except (KeyboardInterrupt, EOFError):
            return ""

    chat = Chat(bot, colour=use_colour(sys.stdout.isatty()), prompt=ask_more)
    print(banner(bot))
    while True:
        try:
            line = session.prompt("» ")
        except KeyboardInterrupt:
            continue
        except EOFError:
            break
        out = chat.handle(line)
        if out is None:
            break
        if out:
            print(out)
