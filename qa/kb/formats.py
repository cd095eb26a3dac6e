"""Reading and writing entries: JSONL (the ../shared/data format), JSON, YAML, CSV/TSV
(formats_table), Markdown (formats_md), the Azure QnA Maker TSV export (formats_azure) and Excel
workbooks (formats_xlsx, the one binary format: read_file and to_bytes handle it).

Readers are all-or-nothing: they parse the whole file first and raise ImportFormatError with the
line number of the first bad row, so nothing is written from a malformed file. Writers are
lossless: reading back what they wrote gives the same entries, or they raise InputError naming the
entry a format cannot hold.
"""

from __future__ import annotations

import codecs
import io
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from qa.errors import ImportFormatError, InputError
from qa.kb.entry import Entry
from qa.text import detect_lang

FORMATS = ("jsonl", "json", "csv", "tsv", "yaml", "md", "azure", "xlsx")
BINARY_FORMATS = ("xlsx",)
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
    ".xlsx": "xlsx",
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


def check_unique(entries: list[tuple[int, Entry]], unit: str = "line") -> list[Entry]:
    """The entries, or ImportFormatError for the first repeated id; the numbers count `unit`s: lines,
    rows, or (JSON, YAML) entries."""
    seen: dict[str, int] = {}
    for n, e in entries:
        if e.id in seen:
            by_entry = unit == "entry"
            raise ImportFormatError(
                f"duplicate id {e.id!r} (first on {unit} {seen[e.id]})",
                column="id",
                line=None if by_entry else n,
                entry=n if by_entry else None,
            )
        seen[e.id] = n
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
        return check_unique([(n, _listed_entry(d, n)) for n, d in enumerate(data, start=1)], unit="entry")
    if fmt in ("csv", "tsv"):
        from qa.kb.formats_table import read_table

        return read_table(f, "\t" if fmt == "tsv" else ",")
    if fmt == "md":
        from qa.kb.formats_md import read_md

        return read_md(f)
    if fmt == "azure":
        from qa.kb.formats_azure import read_azure

        return read_azure(f)
    raise _unknown(fmt)


def _listed_entry(d: Any, n: int) -> Entry:
    """The n-th entry of a JSON or YAML list; errors name it by its position (there are no line numbers)."""
    try:
        return entry_from_dict(d)
    except ImportFormatError as e:
        raise ImportFormatError(e.message, column=e.column, entry=n) from e


def _unknown(fmt: str) -> InputError:
    if fmt in BINARY_FORMATS:
        return InputError(f"{fmt} is a binary format: read it with read_file, write it with to_bytes.")
    return InputError(f"Unknown format {fmt!r}; choose one of {', '.join(FORMATS)}.")


def to_bytes(entries: Sequence[Entry], fmt: str, encoding: str = "utf-8") -> bytes:
    """The whole file for `entries` (a text format in `encoding`); InputError for what it cannot hold."""
    if fmt == "xlsx":
        from qa.kb.formats_xlsx import write_xlsx

        return write_xlsx(entries)
    try:
        codecs.lookup(encoding)
    except LookupError as e:
        raise InputError(f"Unknown encoding {encoding!r}.") from e
    buf = io.StringIO(newline="")
    write_entries(entries, buf, fmt)
    try:
        return buf.getvalue().encode(encoding)
    except UnicodeEncodeError as e:
        bad = e.object[e.start : e.end]
        raise InputError(f"{bad!r} cannot be written in {encoding}. Export as utf-8 (the default) or utf-8-sig.") from e


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
        from qa.kb.formats_table import write_table

        write_table(entries, f, fmt)
    elif fmt == "md":
        from qa.kb.formats_md import write_md

        write_md(entries, f)
    elif fmt == "azure":
        from qa.kb.formats_azure import write_azure

        write_azure(entries, f)
    else:
        raise _unknown(fmt)


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
        if fmt == "xlsx":
            from qa.kb.formats_xlsx import read_xlsx

            return read_xlsx(data)
        return read_entries(io.StringIO(_decode(data, encoding, path), newline=""), fmt)
    except ImportFormatError as e:
        if path == "-":
            raise
        raise e.located(path=path) from e


def _decode(data: bytes, encoding: str, path: str) -> str:
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
    return text.removeprefix("\ufeff")
