"""`qa ask` and `qa chat`."""

from __future__ import annotations

import io
import sys

import click

from qa.cli.common import db_option, json_option, open_bot, print_json
from qa.cli.render import render, use_colour


@click.command()
@click.argument("question", nargs=-1, required=True)
@db_option
@json_option
@click.option("--tag", "tags", multiple=True, help="Only consider entries with this tag (repeatable).")
@click.option("--top", "top_k", default=3, show_default=True, help="How many candidates to return.")
@click.option("--explain", is_flag=True, help="Also show the top candidates and each signal's score.")
def ask(
    question: tuple[str, ...], db: str | None, as_json: bool, tags: tuple[str, ...], top_k: int, explain: bool
) -> None:
    """Answer one QUESTION. Exit code 0 even when the bot falls back.

    \b
    Example:
      qa ask "how do I import a CSV file?"
      qa ask --json "如何导入文件？" --db faq.db
    """
    bot = open_bot(db)
    text = " ".join(question)
    ans = bot.ask(text, tags=list(tags) or None, top_k=top_k)
    cands = bot.explain(text, tags=list(tags) or None) if explain else []
    if as_json:
        out = ans.to_dict()
        if explain:
            out["candidates"] = [c.__dict__ for c in cands]
        print_json(out)
        return
    click.echo(render(ans, use_colour(sys.stdout.isatty())))
    for c in cands:
        click.echo(
            f"  {c.confidence:6.1%}  fused {c.fused:6.2f} = dense {c.dense:6.2f} ({c.encoder}) "
            f"+ lexical {c.lexical:5.2f}{f' + learned {c.learned:5.2f}' if c.learned else ''}  "
            f"[{c.entry_id}] {c.question}"
        )


@click.command()
@db_option
@json_option
@click.option("--model", help="Encoder(s) to use; the KB must be indexed with them.")
def chat(db: str | None, as_json: bool, model: str | None) -> None:
    """Chat with the KB. Ctrl-D or /quit exits, /help lists commands.

    With stdin piped, answers one question per line (--json: one JSON object per line).

    \b
    Example:
      qa chat
      printf 'what is qa?\\n怎么导入文件？\\n' | qa chat --json
    """
    from qa.cli.chat import run_piped, run_repl

    bot = open_bot(db, model)
    if not sys.stdin.isatty():
        if isinstance(sys.stdin, io.TextIOWrapper):  # a line that is not UTF-8 is reported, not fatal
            sys.stdin.reconfigure(errors="surrogateescape")
        failed = run_piped(bot, sys.stdin, as_json=as_json)
        if failed:
            click.echo(f"{failed} line(s) were not valid UTF-8 and were skipped (see above).", err=True)
            sys.exit(2)
    else:
        run_repl(bot)
