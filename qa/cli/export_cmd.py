"""qa export: write the whole KB to a file in any import format."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path

import click

from qa.cli.common import db_option, json_option, resolve_db
from qa.errors import InputError
from qa.kb.formats import FORMATS


@click.command()
@click.argument("file", default="-", type=click.Path(dir_okay=False, allow_dash=True))
@db_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS, case_sensitive=False),
    help="File format (default: from the extension; jsonl for stdout).",
)
@click.option(
    "--encoding",
    default="utf-8",
    show_default=True,
    help="Text encoding of FILE or stdout (e.g. gbk, utf-8-sig for Excel); not used for xlsx.",
)
@json_option
def export(file: str, db: str | None, fmt: str | None, encoding: str, as_json: bool) -> None:
    """Export every entry of the KB to FILE (default -, stdout), in a format qa import reads back.

    The format comes from FILE's extension (.jsonl .json .yaml .csv .tsv .md .xlsx), or --format;
    Azure QnA Maker TSV only with --format azure. The file is replaced in one step: a failure never
    leaves half a file. Importing the export gives the same entries, ids included. xlsx (binary) goes
    to stdout only when stdout is not a terminal.

    \b
    Example:
      qa export faq.md --db faq.db
      qa export --db faq.db --format csv | head      # to stdout
      qa export azure-kb.tsv --db faq.db --format azure --json
      qa export faq.csv --db faq.db --encoding utf-8-sig   # a CSV that Excel opens with Chinese intact
      qa export faq.xlsx --db faq.db                       # an Excel workbook
    """
    from qa.kb.formats import BINARY_FORMATS, detect_format, to_bytes
    from qa.kb.store import KnowledgeBase

    if fmt is None:
        fmt = "jsonl" if file == "-" else detect_format(file)
    kb = KnowledgeBase(resolve_db(db), create=False)
    try:
        entries = kb.entries()
        path = str(kb.path)
    finally:
        kb.close()
    data = to_bytes(entries, fmt, encoding)  # render first: an unwritable entry raises before any output
    if file == "-":
        stdout = sys.stdout.buffer
        if fmt in BINARY_FORMATS and sys.stdout.isatty():
            raise InputError(
                f"{fmt} is binary and would garble the terminal. Name a file (qa export faq.{fmt}) or "
                f"redirect stdout (qa export --format {fmt} > faq.{fmt})."
            )
        stdout.write(data)
        stdout.flush()
    else:
        _replace(Path(file), data)
    summary = {"entries": len(entries), "path": file, "format": fmt, "db": path}
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False), err=file == "-")  # stdout holds the data when FILE is -
    elif file != "-":
        click.echo(f"Exported {len(entries)} entries to {file} ({fmt}).")


def _replace(target: Path, data: bytes) -> None:
    """Write `data` to a temp file beside `target`, then rename it over `target` (atomic)."""
    folder = target.parent
    if not folder.is_dir():
        raise InputError(f"The folder {folder} does not exist. Create it first, or export elsewhere.")
    if target.is_dir():
        raise InputError(f"{target} is a folder, not a file.")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as e:
        raise InputError(f"Cannot write in {folder}: {e.strerror}.") from e
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_umask()
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise InputError(f"Cannot write {target}: {e.strerror or e}.") from e
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
