"""Editing commands: add, edit, rm, alt, tag, search, history. Each edit is one transaction and is
embedded at once, so the next question sees it."""

from __future__ import annotations

import sys
from typing import Any

import click

from qa.cli.common import db_option, json_option, print_json, resolve_db, write_db_option


def _kb(db: str | None) -> Any:
    from qa.kb.store import KnowledgeBase

    return KnowledgeBase(resolve_db(db, bundled_ok=False), create=False)


def _reindex(kb: Any) -> None:
    """Embed what the edit added (and refit the calibration if the KB changed enough)."""
    from qa.bot import Bot

    Bot(kb)


@click.command()
@click.argument("question")
@click.argument("answer")
@write_db_option
@click.option("--id", "entry_id", help="The entry's id (default: made from the question).")
@click.option("--alt", "alternates", multiple=True, help="Another phrasing of the question (repeatable).")
@click.option("--tag", "tags", multiple=True, help="A tag (repeatable).")
@json_option
def add(
    question: str,
    answer: str,
    db: str | None,
    entry_id: str | None,
    alternates: tuple[str, ...],
    tags: tuple[str, ...],
    as_json: bool,
) -> None:
    """Add one entry: QUESTION and ANSWER, with alternates and tags.

    \b
    Example:
      qa add "How do I reset my password?" "Use 'forgot password'." --alt "forgot my password" --db faq.db
    """
    from qa import curate

    kb = _kb(db)
    entry = curate.add_entry(kb, question, answer, entry_id=entry_id, alternates=list(alternates), tags=list(tags))
    _reindex(kb)
    if as_json:
        print_json(entry.to_dict())
    else:
        click.echo(f"Added [{entry.id}] {entry.question} ({len(entry.alternates)} alternates).")


@click.command()
@click.argument("entry_id")
@write_db_option
@click.option("--question", help="New question text.")
@click.option("--answer", help="New answer text.")
@click.option("--lang", help="New language code (en, zh, ...).")
def edit(entry_id: str, db: str | None, question: str | None, answer: str | None, lang: str | None) -> None:
    """Edit an entry: with options, change those fields; without, open it in $EDITOR as YAML.

    \b
    Example:
      qa edit en-what-is-qa --answer "An offline FAQ bot." --db faq.db
      qa edit en-what-is-qa --db faq.db          # opens $EDITOR
    """
    import yaml

    from qa.errors import InputError
    from qa.kb.formats import entry_from_dict

    kb = _kb(db)
    entry = kb.get(entry_id)
    if question is None and answer is None and lang is None:
        if not sys.stdin.isatty():
            raise InputError("No changes given. Use --question/--answer/--lang, or run in a terminal for $EDITOR.")
        text = yaml.safe_dump(entry.to_dict(), allow_unicode=True, sort_keys=False)
        edited = click.edit(text, extension=".yaml")
        if edited is None or edited == text:
            click.echo("No changes.")
            return
        try:
            data = yaml.safe_load(edited)
        except yaml.YAMLError as e:
            raise InputError(f"Not valid YAML, nothing changed: {e}") from e
        new = entry_from_dict(data)
        if new.id != entry.id:
            raise InputError("The id cannot be changed here; nothing changed. Add a new entry and remove this one.")
    else:
        new = entry_from_dict(
            {
                **entry.to_dict(),
                **{k: v for k, v in (("question", question), ("answer", answer), ("lang", lang)) if v is not None},
            }
        )
    kb.upsert([new])
    _reindex(kb)
    click.echo(f"Updated [{new.id}].")


@click.command()
@click.argument("entry_id")
@write_db_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def rm(entry_id: str, db: str | None, yes: bool) -> None:
    """Remove an entry (asks first unless --yes).

    \b
    Example:
      qa rm en-old-question --db faq.db --yes
    """
    from qa.errors import InputError

    kb = _kb(db)
    entry = kb.get(entry_id)
    if not yes:
        if not sys.stdin.isatty():
            raise InputError("Removing needs confirmation: add --yes when not running in a terminal.")
        click.confirm(f"Remove [{entry.id}] {entry.question}?", abort=True)
    kb.remove(entry_id)
    _reindex(kb)
    click.echo(f"Removed [{entry_id}].")


@click.group()
def alt() -> None:
    """Add or remove alternate phrasings of an entry.

    \b
    Example:
      qa alt add en-what-is-qa "what's this bot" --db faq.db
      qa alt rm en-what-is-qa "what's this bot" --db faq.db
    """


@alt.command(name="add")
@click.argument("entry_id")
@click.argument("text")
@write_db_option
def alt_add(entry_id: str, text: str, db: str | None) -> None:
    """Add TEXT as an alternate of ENTRY_ID.

    \b
    Example:
      qa alt add en-what-is-qa "what's this bot" --db faq.db
    """
    from qa import curate

    kb = _kb(db)
    entry = curate.add_alternate(kb, entry_id, text)
    _reindex(kb)
    click.echo(f"[{entry.id}] has {len(entry.alternates)} alternates.")


@alt.command(name="rm")
@click.argument("entry_id")
@click.argument("text")
@write_db_option
def alt_rm(entry_id: str, text: str, db: str | None) -> None:
    """Remove the alternate TEXT from ENTRY_ID.

    \b
    Example:
      qa alt rm en-what-is-qa "what's this bot" --db faq.db
    """
    from qa import curate

    kb = _kb(db)
    entry = curate.remove_alternate(kb, entry_id, text)
    _reindex(kb)
    click.echo(f"[{entry.id}] has {len(entry.alternates)} alternates.")


@click.command()
@click.argument("entry_id")
@click.argument("tags", nargs=-1, required=True)
@write_db_option
@click.option("--remove", is_flag=True, help="Remove these tags instead of adding them.")
def tag(entry_id: str, tags: tuple[str, ...], db: str | None, remove: bool) -> None:
    """Add (or --remove) TAGS on an entry.

    \b
    Example:
      qa tag en-what-is-qa about basics --db faq.db
    """
    kb = _kb(db)
    entry = kb.get(entry_id)
    entry.tags = [t for t in entry.tags if t not in tags] if remove else list(dict.fromkeys([*entry.tags, *tags]))
    kb.upsert([entry])
    click.echo(f"[{entry.id}] tags: {', '.join(entry.tags) or '(none)'}")


@click.command()
@click.argument("text")
@db_option
@click.option("--limit", default=10, show_default=True, help="How many entries to list.")
@json_option
def search(text: str, db: str | None, limit: int, as_json: bool) -> None:
    """Ranked entries for TEXT with their scores: a curator's view, not an answer.

    \b
    Example:
      qa search "password" --db faq.db --limit 5
    """
    from qa.bot import Bot

    bot = Bot.open(resolve_db(db))
    cands = bot.explain(text, k=limit)
    if as_json:
        print_json([c.__dict__ for c in cands])
        return
    for c in cands:
        click.echo(f"{c.fused:7.2f}  {c.confidence:6.1%}  [{c.entry_id}] {c.question}")


@click.command()
@click.argument("entry_id", required=False)
@write_db_option
@click.option("--limit", default=20, show_default=True, help="How many changes to show.")
@json_option
def history(entry_id: str | None, db: str | None, limit: int, as_json: bool) -> None:
    """What changed in the KB (or in one entry), newest first.

    \b
    Example:
      qa history en-what-is-qa --db faq.db
    """
    kb = _kb(db)
    rows = kb.history(entry_id, limit)
    if as_json:
        print_json(rows)
        return
    for r in rows:
        what = ""
        if r["action"] == "updated":
            changed = [k for k in r["after"] if r["before"].get(k) != r["after"].get(k)]
            what = f" ({', '.join(changed)})"
        click.echo(f"{r['ts']}  {r['action']:8s} [{r['entry_id']}]{what}")
