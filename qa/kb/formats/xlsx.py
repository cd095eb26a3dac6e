"""Excel workbooks (.xlsx), read and written with openpyxl.

Read: the first sheet, its first row that is not blank the header. Its columns are CSV's (id,
question, answer, alternates, lang, tags; see table.py: `|` between alternates and tags, or
alternates as rows repeating an id), or, when the header has Azure's Question, Answer, Source and
Metadata, an Azure QnA export's (see azure.py; cells hold real line breaks, not `\\n`). Header
names match in any case and without surrounding spaces; rows of blank cells are skipped. A cell
becomes text: 12 or 12.0 -> "12", a date -> "2024-05-01", TRUE/FALSE; a formula gives the value the
spreadsheet program saved with it. Errors name the sheet, row and column.

Write: one sheet "FAQ" with the CSV header and a row per entry, every cell text (an answer starting
with "=" stays text). As the other writers refuse what their format cannot hold, naming the entry,
this one refuses a field over Excel's 32,767 characters a cell (the reader takes up to the 1 MiB of
every format) and control characters other than tab and line feed, even a carriage return: XLSX
cannot hold them.
"""

from __future__ import annotations

import datetime
import io
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from qa.errors import ImportFormatError, InputError
from qa.kb.entry import Entry
from qa.kb.formats.azure import COLUMNS as AZURE_COLUMNS
from qa.kb.formats.azure import azure_entries, column_key
from qa.kb.formats.table import COLUMNS, cells, check_no_pipes, table_entries

SHEET = "FAQ"
#: What XML 1.0, and so XLSX, cannot hold; openpyxl raises IllegalCharacterError on most of it.
UNSTORABLE = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]")
#: Excel's limit for one cell, in UTF-16 code units (openpyxl cuts longer text there without a word).
MAX_CELL_CHARS = 32_767
_NOT_XLSX = (
    "not an xlsx workbook ({}). qa reads Excel 2007+ workbooks: save an .xls or .ods file as .xlsx "
    "first; a CSV file imports with --format csv"
)


@dataclass(frozen=True)
class _Bad:
    """A cell that has no usable value: an error such as #N/A, or a formula saved without its value."""

    problem: str


def read_xlsx(data: bytes) -> list[Entry]:
    sheet, rows = _read_sheet(data)
    found = [(n, row) for n, row in rows if any(_filled(c) for c in row)]
    if not found:
        raise ImportFormatError(
            "the sheet is empty: qa reads the first sheet, a header row with at least 'question' first", sheet=sheet
        )
    (start, header_cells), body = found[0], found[1:]
    header = [c.strip() if isinstance(c, str) else "" for c in header_cells]
    azure = {"question", "answer", "source", "metadata"} <= {column_key(h) for h in header}
    key = column_key if azure else str.lower
    wanted = set(AZURE_COLUMNS if azure else COLUMNS)
    used = [i for i, h in enumerate(header) if key(h) in wanted]
    names = {key(h): h for h in reversed(header) if h}  # a field's column as the header writes it
    for field, column in _AZURE_FIELDS.items() if azure else ():
        names.setdefault(field, names.get(column, column))
    try:
        texts: list[tuple[int, list[str]]] = []
        for n, row in body:
            beyond = next((i for i in range(len(header), len(row)) if _filled(row[i])), None)
            if beyond is not None:
                raise ImportFormatError(
                    f"a cell right of the header's last column ({_letter(len(header) - 1)})",
                    line=n,
                    column=_letter(beyond),
                )
            for i in used:
                cell = row[i] if i < len(row) else ""
                if isinstance(cell, _Bad):
                    raise ImportFormatError(cell.problem, line=n, column=key(header[i]))
            texts.append((n, [c if isinstance(c, str) else "" for c in row[: len(header)]]))
        if azure:
            return azure_entries(
                [(n, {key(h): cells[i] if i < len(cells) else "" for i, h in enumerate(header)}) for n, cells in texts],
                unit="row",
            )
        return table_entries([(start, header), *texts], unit="row")
    except ImportFormatError as e:
        raise ImportFormatError(e.message, line=e.line, sheet=sheet, column=names.get(e.column or "", e.column)) from e


#: In an Azure sheet, the column an error about an entry's field is about.
_AZURE_FIELDS = {"id": "metadata", "tags": "metadata", "lang": "metadata", "alternates": "question"}


def _filled(cell: str | _Bad) -> bool:
    return isinstance(cell, _Bad) or bool(cell.strip())


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def _read_sheet(data: bytes) -> tuple[str, list[tuple[int, list[str | _Bad]]]]:
    """The first sheet's name and its rows that are not blank: (row number, cells as text or _Bad)."""
    import openpyxl

    try:
        with warnings.catch_warnings():  # e.g. "Workbook contains no default style": nothing for the user
            warnings.simplefilter("ignore")
            name, raw, formulas = _cells(openpyxl, data, data_only=False)
            if formulas:  # a second pass for the values saved with the formulas
                _, saved, _ = _cells(openpyxl, data, data_only=True)
    except Exception as e:  # a zip that is not a workbook fails deep inside openpyxl, in many ways
        raise ImportFormatError(_NOT_XLSX.format(f"{type(e).__name__}: {e}".strip(": "))) from e
    rows: list[tuple[int, list[str | _Bad]]] = []
    for n, row in raw.items():
        out: list[str | _Bad] = []
        for i, (value, kind) in enumerate(row):
            if (n, i) in formulas:
                value, kind = saved[n][i] if i < len(saved.get(n, [])) else (None, "n")
                out.append(_formula_value(formulas[(n, i)], value, kind))
            else:
                out.append(_Bad(f"the cell holds the error {value}") if kind == "e" else _text(value))
        rows.append((n, out))
    return name, rows


def _cells(
    openpyxl: Any, data: bytes, *, data_only: bool
) -> tuple[str, dict[int, list[tuple[Any, str]]], dict[tuple[int, int], str]]:
    """(sheet name, {row number: [(value, openpyxl data type)]} for rows with a value, {(row, column
    index): formula})."""
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=data_only)
    try:
        ws = wb.worksheets[0]
        ws.reset_dimensions()  # some programs save a wrong size; read every row there is
        rows: dict[int, list[tuple[Any, str]]] = {}
        formulas: dict[tuple[int, int], str] = {}
        for n, row in enumerate(ws.iter_rows(), start=1):
            values = [(c.value, getattr(c, "data_type", "n")) for c in row]
            for i, (value, kind) in enumerate(values):
                if kind == "f":
                    formulas[(n, i)] = str(getattr(value, "text", value))  # an ArrayFormula has .text
            if any(v is not None for v, _ in values):
                rows[n] = values
        return str(ws.title), rows, formulas
    finally:
        wb.close()


def _formula_value(formula: str, value: Any, kind: str) -> str | _Bad:
    if kind == "e":
        return _Bad(f"the formula {formula} gives the error {value}")
    if value is None and kind != "str":  # an empty text result is saved as t="str" with no value
        return _Bad(
            f"the formula {formula} was saved without its value, by a program that does not calculate "
            "formulas. Open the file in Excel or LibreOffice and save it, or type the value"
        )
    return _text(value)


def _text(value: Any) -> str:
    """A cell's value as the text it shows, near enough: 12.0 -> "12", dates in ISO form."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(sep=" ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def write_xlsx(entries: Sequence[Entry]) -> bytes:
    check_no_pipes(entries, "xlsx")
    for e in entries:
        _check_storable(e)
    import openpyxl
    from openpyxl.cell import WriteOnlyCell

    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet(SHEET)
    for letter, width in zip("ABCDEF", (16, 40, 60, 40, 6, 16), strict=True):
        ws.column_dimensions[letter].width = width
    ws.append(list(COLUMNS))
    for e in entries:
        row = []
        for text in cells(e):
            cell = WriteOnlyCell(ws, value=text or None)
            if text:
                cell.data_type = "s"  # text even when it starts with "=": openpyxl would write a formula
            row.append(cell)
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _check_storable(e: Entry) -> None:
    for what, texts in (
        ("id", [e.id]),
        ("question", [e.question]),
        ("answer", [e.answer]),
        ("alternate", e.alternates),
        ("language", [e.lang]),
        ("tag", e.tags),
    ):
        for t in texts:
            if len(t) > MAX_CELL_CHARS // 2 and len(t.encode("utf-16-le")) // 2 > MAX_CELL_CHARS:
                raise InputError(
                    f"Entry {e.id!r}: its {what} is {len(t):,} characters long, and an xlsx cell holds at most "
                    f"{MAX_CELL_CHARS:,} (Excel's limit). Export as jsonl, json, yaml or csv instead."
                )
            bad = UNSTORABLE.search(t)
            if bad is not None:
                char = bad.group()
                name = " (a carriage return, as in Windows line ends)" if char == "\r" else ""
                raise InputError(
                    f"Entry {e.id!r}: its {what} holds the character U+{ord(char):04X}{name}, which xlsx cannot "
                    "hold. Export as jsonl, json, yaml or csv instead."
                )
