"""The offline review queue: qa unanswered (clusters of logged questions) and qa review (walk them)."""

from __future__ import annotations

import sys

import click

from qa.cli.common import db_option, json_option, print_json, resolve_db


@click.command()
@db_option
@json_option
@click.option("--limit", default=20, show_default=True, help="How many clusters to show.")
def unanswered(db: str | None, as_json: bool, limit: int) -> None:
    """Questions the bot could not answer, grouped, most frequent first, with the closest entries.

    \b
    Example:
      qa unanswered --db faq.db
    """
    from qa.bot import Bot
    from qa.curate.unanswered import clusters

    found = clusters(Bot.open(resolve_db(db)), limit=limit)
    if as_json:
        print_json(
            [
                {
                    "question": c.question,
                    "count": c.count,
                    "questions": c.questions,
                    "log_ids": c.log_ids,
                    "closest": [{"entry_id": e, "question": q, "confidence": p} for e, q, p in c.closest],
                }
                for c in found
            ]
        )
        return
    if not found:
        click.echo("No open questions: everything asked was answered or has been reviewed.")
    for c in found:
        click.echo(
            f"{c.count:4d}x  {c.question}" + (f"  (+{len(c.questions) - 1} similar)" if len(c.questions) > 1 else "")
        )
        if c.closest:
            e, q, p = c.closest[0]
            click.echo(f"       closest: [{e}] {q} ({p:.0%})")


@click.command()
@db_option
def review(db: str | None) -> None:
    """Walk the unanswered questions: accept each cluster as an alternate, pick another entry,
    create a new entry, or dismiss it. Each choice takes effect (and is embedded) at once.

    \b
    Example:
      qa review --db faq.db
    """
    from qa import curate
    from qa.bot import Bot
    from qa.curate.unanswered import clusters
    from qa.errors import InputError, NotFoundError

    if not sys.stdin.isatty():
        raise InputError("qa review is interactive: run it in a terminal. See the queue with: qa unanswered")
    bot = Bot.open(resolve_db(db))
    queue = clusters(bot, limit=1000)
    if not queue:
        click.echo("Nothing to review.")
        return
    done = 0
    for n, c in enumerate(queue, start=1):
        click.echo(f"\n[{n}/{len(queue)}] {c.count}x  {c.question}")
        for q in c.questions[1:4]:
            click.echo(f"        also asked: {q}")
        for i, (e, q, p) in enumerate(c.closest, start=1):
            click.echo(f"  {i}) [{e}] {q}  ({p:.0%})")
        choice = (
            click.prompt(
                "a=accept as alternate of 1, 1-3=alternate of that entry, i=another entry id, n=new entry, "
                "d=dismiss, s=skip, q=quit",
                default="s",
                show_default=False,
            )
            .strip()
            .lower()
        )
        try:
            if choice == "q":
                break
            if choice == "s":
                continue
            if choice == "d":
                bot.kb.resolve_log(c.log_ids, "dismissed")
            elif choice == "n":
                answer = click.prompt("Answer", default="", show_default=False)
                entry = curate.add_entry(bot.kb, c.question, answer, alternates=c.questions[1:])
                bot.kb.resolve_log(c.log_ids, f"added:{entry.id}")
                click.echo(f"Added [{entry.id}].")
            else:
                if choice == "a":
                    choice = "1"
                if choice == "i":
                    entry_id = click.prompt("Entry id").strip()
                elif choice.isdigit() and 1 <= int(choice) <= len(c.closest):
                    entry_id = c.closest[int(choice) - 1][0]
                else:
                    click.echo(f"Not a choice: {choice!r}; skipped.")
                    continue
                for q in c.questions:
                    curate.add_alternate(bot.kb, entry_id, q)
                bot.kb.resolve_log(c.log_ids, f"alternate:{entry_id}")
                click.echo(f"Added {len(c.questions)} alternate(s) to [{entry_id}].")
            done += 1
            bot.refresh()  # embeds what was added, now
        except (InputError, NotFoundError) as e:
            click.echo(f"Nothing changed: {e}")
    click.echo(f"\nReviewed {done} of {len(queue)} clusters.")
