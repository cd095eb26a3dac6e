"""Shared CLI pieces: the --db option, the bundled default KB, output helpers, progress bars."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from qa.errors import ImportFormatError, InputError

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    from qa.bot import Bot
    from qa.kb.entry import Entry


def data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "qa"


def _db_option(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option("--db", "db", envvar="QA_DB", type=click.Path(dir_okay=False), help=help_text)


#: --db for commands that read: without it they use the bundled KB.
db_option = _db_option("The KB file (also from $QA_DB). Without it: the bundled KB.")
#: --db for commands that change a KB: required, since the bundled KB is rebuilt from qa's own files.
write_db_option = _db_option(
    "The KB file to use (also from $QA_DB); required: the bundled KB is rebuilt from qa's own files."
)


def json_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")(f)


def knowledge_dir() -> Traversable:
    """The bundled KB sources (qa/knowledge/*.yaml), package data of the installed qa."""
    return resources.files("qa") / "knowledge"


def knowledge_files() -> list[Traversable]:
    try:
        return sorted((f for f in knowledge_dir().iterdir() if f.name.endswith(".yaml")), key=lambda f: f.name)
    except (FileNotFoundError, NotADirectoryError):
        return []


def read_knowledge(file: Traversable) -> list[Entry]:
    """The entries of one bundled YAML file (read as text: package data need not be a file on disk)."""
    from qa.kb.formats import read_entries

    try:
        return read_entries(io.StringIO(file.read_text(encoding="utf-8"), newline=""), "yaml")
    except ImportFormatError as e:
        message = str(e).removeprefix(f"line {e.line}: ") if e.line else str(e)
        raise ImportFormatError(message, line=e.line, path=str(file)) from e


def bundled_db_path() -> Path:
    """The bundled KB, built from qa/knowledge/ on first use, and rebuilt when those files or the
    default model change (a newer qa then re-embeds it with its own default)."""
    from qa.encoders import registry
    from qa.kb.store import KnowledgeBase

    files = knowledge_files()
    if not files:
        raise InputError(
            f"No bundled knowledge found in {knowledge_dir()}: this qa was installed without its data "
            "files. Reinstall qa, or pass --db PATH."
        )
    model = "+".join(registry.expand(registry.DEFAULT_MODEL)).encode()
    digest = hashlib.md5(b"".join(f.read_bytes() for f in files) + model).hexdigest()
    path = data_dir() / "default.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    kb = KnowledgeBase(path)
    try:
        if kb.config.source_hash != digest:
            entries = [e for f in files for e in read_knowledge(f)]
            with kb.atomic():
                kb.upsert(entries, replace=True)
                # model None: the next Bot indexes it with the default model (only missing vectors)
                kb.config.update(source_hash=digest, name="bundled qa help", model=None)
    finally:
        kb.close()
    return path


def resolve_db(db: str | None, *, bundled_ok: bool = True) -> Path:
    """The KB path from --db/$QA_DB, else the bundled KB (if allowed)."""
    if db:
        return Path(db)
    if not bundled_ok:
        raise click.UsageError("Say which KB to use: --db PATH (or set QA_DB).")
    return bundled_db_path()


def open_bot(db: str | None, model: str | None = None) -> Bot:
    """The Bot over the KB named by --db (see resolve_db); qa.bot is imported only when called."""
    from qa.bot import Bot

    return Bot.open(resolve_db(db), model=model)


def print_json(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, indent=None))


def progress_factory(label: str, silent: bool) -> Callable[[int], Callable[[int], None]] | None:
    """A progress bar on a terminal (stderr), nothing when silent or piped."""
    if silent or not sys.stderr.isatty():
        return None

    def make(total: int) -> Callable[[int], None]:
        bar = click.progressbar(length=total, label=label, file=sys.stderr)
        bar.__enter__()
        done = [0]

        def tick(n: int) -> None:
            bar.update(n)
            done[0] += n
            if done[0] >= total:
                bar.__exit__(None, None, None)

        return tick

    return make


def bar(confidence: float, width: int = 10) -> str:
    full = round(confidence * width)
    return "█" * full + "░" * (width - full)
