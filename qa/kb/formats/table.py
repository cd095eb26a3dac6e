"""Tables: CSV and TSV files, and the rows of a spreadsheet (xlsx.py), read the same way.

    id,question,answer,alternates,lang,tags
    pw,How do I reset my password?,Click the link.,I forgot my password|password reset,en,account
    pw,reset password,,,,

The header row names the columns, in any order and case: `question` is needed, the others are
optional (without `id`, rows are numbered), unknown ones are ignored. Alternates and tags are
separated by `|`. A row that repeats an id adds its question, alternates and tags to the entry of the
first such row: alternates as extra rows. Its answer must be empty or the same.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TextIO

from qa.errors import ImportFormatError, InputError
from qa.kb.entry import MAX_FIELD_BYTES, Entry
from qa.kb.formats.records import entry_from_dict

COLUMNS = ("id", "question", "answer", "alternates", "lang", "tags")


_CSV_CELL_CHARS = 4 * MAX_FIELD_BYTES  # a character takes 1 to 4 bytes in UTF-8


def read_table(f: TextIO, delimiter: str) -> list[Entry]:
    """One entry per row; a later row with the same id adds its question as an alternate."""
    # csv refuses a field over field_size_limit() characters (128 Ki by default; a setting of the whole
    # process, put back afterwards). Let through every cell that may be within MAX_FIELD_BYTES, so that
    # entry_from_dict can name the entry and field that is over it.
    old_limit = csv.field_size_limit(_CSV_CELL_CHARS)
    try:
        return table_entries(_csv_rows(f, delimiter))
    finally:
        csv.field_size_limit(old_limit)


def _csv_rows(f: TextIO, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(the line a row starts on, its cells) for every row, the header first."""
    reader = csv.reader(f, delimiter=delimiter)
    end = 0
    while True:
        n = end + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:  # the only error of a csv reader that is not strict
            raise ImportFormatError(
                f"a cell is over {_CSV_CELL_CHARS:,} characters; no field may be over {MAX_FIELD_BYTES:,} bytes "
                "of UTF-8 (1 MiB). Split it, or link to the full text",
                line=n,
            ) from e
        end = reader.line_num
        yield n, cells


def table_entries(rows: Iterable[tuple[int, list[str]]], unit: str = "line") -> list[Entry]:
    """Entries from (line, cells) rows, the header row first. Rows with only blank cells are skipped.
    `unit` is what the numbers count, for messages: lines of a file, rows of a sheet."""
    rows = iter(rows)
    start, header = next(rows, (1, []))
    fields = [c.strip().lower() for c in header]
    if "question" not in fields:
        raise ImportFormatError("the header row needs at least 'question' (and 'id', 'answer')", line=start)
    out: list[Entry] = []
    first: dict[str, tuple[int, Entry]] = {}  # id -> (line, entry)
    for n, cells in rows:
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(fields):
            raise ImportFormatError(f"more cells than header columns ({len(fields)})", line=n)
        d: dict[str, Any] = {k: v.strip() for k, v in zip(fields, cells, strict=False)}
        if "id" not in fields:
            d["id"] = str(len(out) + 1)
        row = entry_from_dict(d, n)
        if row.id not in first:
            first[row.id] = (n, row)
            out.append(row)
            continue
        line, e = first[row.id]
        if d.get("answer") and e.answer and row.answer != e.answer:
            raise ImportFormatError(
                f"duplicate id {row.id!r} with another answer (first on {unit} {line}). A row that repeats an "
                "id adds its question as an alternate: leave its answer empty or the same",
                line=n,
                column="answer",
            )
        e.answer = e.answer or row.answer
        e.alternates = [a for a in dict.fromkeys([*e.alternates, *row.texts()]) if a != e.question]
        e.tags = list(dict.fromkeys([*e.tags, *row.tags]))
    return out


def write_table(entries: Sequence[Entry], f: TextIO, fmt: str) -> None:
    check_no_pipes(entries, fmt)
    w = csv.writer(f, delimiter="\t" if fmt == "tsv" else ",", lineterminator="\n")
    w.writerow(COLUMNS)
    for e in entries:
        w.writerow(cells(e))


def cells(e: Entry) -> list[str]:
    """One entry's row under the COLUMNS header."""
    return [e.id, e.question, e.answer, "|".join(e.alternates), e.lang, "|".join(e.tags)]


def check_no_pipes(entries: Sequence[Entry], fmt: str) -> None:
    for e in entries:
        for what, texts in (("alternate", e.alternates), ("tag", e.tags)):
            bad = next((t for t in texts if "|" in t), None)
            if bad is not None:
                raise InputError(
                    f"Entry {e.id!r} has a {what} with '|' ({bad!r}), which {fmt} uses as a separator. "
                    "Export as jsonl, json or yaml instead."
                )
