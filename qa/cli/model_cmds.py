"""Model commands: models, train-vectors."""

from __future__ import annotations

import click

from qa.cli.common import db_option, json_option, print_json, resolve_db


@click.command()
@db_option
@json_option
def models(db: str | None, as_json: bool) -> None:
    """List the encoders qa can use offline, and which ones this KB uses.

    \b
    Example:
      qa models --db faq.db
    """
    from qa.encoders import registry
    from qa.kb.store import KnowledgeBase

    kb = KnowledgeBase(resolve_db(db))
    used = kb.get_setting("model") or []
    rows = registry.describe()
    for r in rows:
        r["used"] = r["id"] in used
    if as_json:
        print_json({"kb_model": used, "default": registry.AUTO, "encoders": rows})
        return
    click.echo(f"This KB uses: {'+'.join(used) or '(not indexed yet)'}   default (auto): {'+'.join(registry.AUTO)}")
    for r in rows:
        mark = "*" if r["used"] else " "
        click.echo(f"{mark} {r['id']:26s} {r['languages']:6s} {r['description']}")
