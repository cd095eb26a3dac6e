"""Reading and writing entries: JSONL (the ../shared/data format), JSON, CSV/TSV, YAML, Markdown
(formats_md) and the Azure QnA Maker TSV export (formats_azure).

Readers are all-or-nothing: they parse the whole file first and raise ImportFormatError with the
line number of the first bad row, so nothing is written from a malformed file. Writers are
lossless: reading back what they wrote gives the same entries, or they raise InputError naming the
entry a format cannot hold.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from qa.errors import ImportFormatError, InputError
from qa.kb.entry import MAX_FIELD_BYTES, Entry
from qa.text import detect_lang

FORMATS = ("jsonl", "json", "csv", "tsv", "yaml", "md", "azure")
_EXT = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".md": "md",
    ".markdown": "md",
}  # azure files end in .tsv too: they are read as azure only when asked with --format azure


def detect_format(path: str) -> str:
    fmt = _EXT.get(Path(path).suffix.lower())
    if fmt is None:
        raise InputError(
            f"Cannot tell the format of {path!r} from its extension. Say it with --format ({'|'.join(FORMATS)})."
        )
    return fmt


def _strs(value: Any, what: str, line: int | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split("|") if v.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    raise ImportFormatError(f"'{what}' must be a list of strings", line=line, column=what)


def entry_from_dict(d: Any, line: int | None = None) -> Entry:
    """Validate one record (the ../shared/data kb.jsonl shape) into an Entry.

    An ImportFormatError about one field has that field's name as its `column`."""
    if not isinstance(d, dict):
        raise ImportFormatError(f"expected an object with id, question, answer, got {type(d).__name__}", line=line)
    question = d.get("question")
    if not isinstance(question, str) or not question.strip():
        raise ImportFormatError("missing or empty 'question'", line=line, column="question")
    answer = d.get("answer", "")
    if answer is None:
        answer = ""
    if not isinstance(answer, str):
        raise ImportFormatError("'answer' must be text", line=line, column="answer")
    raw_id = d.get("id")
    if raw_id is None or (isinstance(raw_id, str) and not raw_id.strip()):
        raise ImportFormatError("missing 'id'", line=line, column="id")
    if not isinstance(raw_id, str | int):
        raise ImportFormatError("'id' must be text or a number", line=line, column="id")
    question = question.strip()
    alternates = [a for a in dict.fromkeys(_strs(d.get("alternates"), "alternates", line)) if a != question]
    lang = d.get("lang") or detect_lang(question)
    if not isinstance(lang, str):
        raise ImportFormatError("'lang' must be text", line=line, column="lang")
    entry = Entry(
        str(raw_id).strip(), question, answer.strip(), alternates, lang.strip(), _strs(d.get("tags"), "tags", line)
    )
    too_big = entry.oversized()
    if too_big is not None:
        raise ImportFormatError(too_big[1], line=line, column=too_big[0])
    try:
        entry.check_text()
    except InputError as e:  # a JSON "\udcff" escape, or YAML text that is not UTF-8
        raise ImportFormatError(str(e), line=line) from e
    return entry


def jsonl_records(lines: Iterable[str], path: str | None = None) -> Iterator[tuple[int, Any]]:
    """(line number, parsed object) for each non-blank line; ImportFormatError names a bad line."""
    for n, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            yield n, json.loads(raw)
        except json.JSONDecodeError as e:
            raise ImportFormatError(f"not valid JSON ({e.msg})", line=n, path=path) from e


def _slug(text: str) -> str:
    return re.sub(r"[\W_]+", "-", text.lower()).strip("-")[:60].strip("-")


def fill_ids(ids: Sequence[str | None], questions: Sequence[str], prefix: str) -> list[str]:
    """Keep the given ids; make the missing ones from the question (a slug, else `prefix-<n>`).

    Deterministic, and unique: a made id never equals a given id or another made one.
    """
    taken = {i for i in ids if i}
    out: list[str] = []
    for n, (given, question) in enumerate(zip(ids, questions, strict=True), start=1):
        if given:
            out.append(given)
            continue
        base = _slug(question) or f"{prefix}-{n}"
        made, k = base, 1
        while made in taken:
            k += 1
            made = f"{base}-{k}"
        taken.add(made)
        out.append(made)
    return out


def check_unique(entries: list[tuple[int, Entry]]) -> list[Entry]:
    seen: dict[str, int] = {}
    for line, e in entries:
        if e.id in seen:
            raise ImportFormatError(f"duplicate id {e.id!r} (first on line {seen[e.id]})", line=line)
        seen[e.id] = line
    return [e for _, e in entries]


def read_entries(f: TextIO, fmt: str) -> list[Entry]:
    if fmt == "jsonl":
        return check_unique([(n, entry_from_dict(d, n)) for n, d in jsonl_records(f)])
    if fmt in ("json", "yaml"):
        text = f.read()
        try:
            if fmt == "json":
                data = json.loads(text)
            else:
                import yaml

                data = yaml.safe_load(text)
        except json.JSONDecodeError as e:
            raise ImportFormatError(f"not valid JSON ({e.msg})", line=e.lineno) from e
        except Exception as e:  # yaml.YAMLError
            mark = getattr(e, "problem_mark", None)
            raise ImportFormatError(
                f"not valid YAML ({getattr(e, 'problem', e)})", line=mark.line + 1 if mark else None
            ) from e
        if data is None:
            return []
        if not isinstance(data, list):
            raise ImportFormatError(f"expected a list of entries, got {type(data).__name__}", line=1)
        return check_unique([(i + 1, entry_from_dict(d, None if fmt == "yaml" else i + 1)) for i, d in enumerate(data)])
    if fmt in ("csv", "tsv"):
        return _read_table(f, "\t" if fmt == "tsv" else ",")
    if fmt == "md":
        from qa.kb.formats_md import read_md

        return read_md(f)
    if fmt == "azure":
        from qa.kb.formats_azure import read_azure

        return read_azure(f)
    raise _unknown(fmt)


def _unknown(fmt: str) -> InputError:
    return InputError(f"Unknown format {fmt!r}; choose one of {', '.join(FORMATS)}.")


_CSV_CELL_CHARS = 4 * MAX_FIELD_BYTES  # a character takes 1 to 4 bytes in UTF-8


def _read_table(f: TextIO, delimiter: str) -> list[Entry]:
    """One entry per row; a later row with the same id adds its question as an alternate."""
    # csv refuses a field over field_size_limit() characters (128 Ki by default; a setting of the whole
    # process, put back afterwards). Let through every cell that may be within MAX_FIELD_BYTES, so that
    # entry_from_dict can name the entry and field that is over it.
    old_limit = csv.field_size_limit(_CSV_CELL_CHARS)
    try:
        return _table_entries(_csv_rows(f, delimiter))
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


def _table_entries(rows: Iterator[tuple[int, list[str]]]) -> list[Entry]:
    _, header = next(rows, (1, []))
    fields = [c.strip().lower() for c in header]
    if "question" not in fields:
        raise ImportFormatError("the header row needs at least 'question' (and 'id', 'answer')", line=1)
    out: list[Entry] = []
    first: dict[str, tuple[int, Entry]] = {}  # id -> (line, entry)
    for n, cells in rows:
        if not cells:
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
                f"duplicate id {row.id!r} with another answer (first on line {line}). A row that repeats an "
                "id adds its question as an alternate: leave its answer empty or the same",
                line=n,
                column="answer",
            )
        e.answer = e.answer or row.answer
        e.alternates = [a for a in dict.fromkeys([*e.alternates, *row.texts()]) if a != e.question]
        e.tags = list(dict.fromkeys([*e.tags, *row.tags]))
    return out


def write_entries(entries: Sequence[Entry], f: TextIO, fmt: str) -> None:
    rows = [e.to_dict() for e in entries]
    if fmt == "jsonl":
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    elif fmt == "json":
        json.dump(rows, f, ensure_ascii=False, indent=2)
        f.write("\n")
    elif fmt == "yaml":
        import yaml

        yaml.safe_dump(rows, f, allow_unicode=True, sort_keys=False)
    elif fmt in ("csv", "tsv"):
        _check_no_pipes(entries, fmt)
        w = csv.writer(f, delimiter="\t" if fmt == "tsv" else ",", lineterminator="\n")
        w.writerow(["id", "question", "answer", "alternates", "lang", "tags"])
        for e in entries:
            w.writerow([e.id, e.question, e.answer, "|".join(e.alternates), e.lang, "|".join(e.tags)])
    elif fmt == "md":
        from qa.kb.formats_md import write_md

        write_md(entries, f)
    elif fmt == "azure":
        from qa.kb.formats_azure import write_azure

        write_azure(entries, f)
    else:
        raise _unknown(fmt)


def _check_no_pipes(entries: Sequence[Entry], fmt: str) -> None:
    for e in entries:
        for what, texts in (("alternate", e.alternates), ("tag", e.tags)):
            bad = next((t for t in texts if "|" in t), None)
            if bad is not None:
                raise InputError(
                    f"Entry {e.id!r} has a {what} with '|' ({bad!r}), which {fmt} uses as a separator. "
                    "Export as jsonl, json or yaml instead."
                )


def read_file(path: str, fmt: str | None = None, encoding: str = "utf-8") -> list[Entry]:
    """Read a file (or '-' for stdin) strictly: bad bytes or rows raise before anything is written."""
    fmt = fmt or detect_format(path)
    try:
        if path == "-":
            import sys

            data = sys.stdin.buffer.read()
        else:
            data = Path(path).read_bytes()
    except FileNotFoundError as e:
        raise InputError(f"No such file: {path}") from e
    except IsADirectoryError as e:
        raise InputError(f"{path} is a folder, not a file.") from e
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ImportFormatError(
            f"not valid {encoding} (byte {e.start}). If the file uses another encoding, say "
            "which, e.g.: --encoding latin-1 (or gbk for older Chinese files)",
            line=line,
            path=path,
        ) from e
    except LookupError as e:
        raise InputError(f"Unknown encoding {encoding!r}.") from e
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        return read_entries(io.StringIO(text, newline=""), fmt)
    except ImportFormatError as e:
        if path == "-":
            raise
        raise e.located(path=path) from e
