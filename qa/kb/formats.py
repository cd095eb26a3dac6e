"""Reading and writing entries: JSONL (the ../shared/data format), CSV/TSV and YAML.

Readers are all-or-nothing: they parse the whole file first and raise ImportFormatError with the
line number of the first bad row, so nothing is written from a malformed file.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from qa.errors import ImportFormatError, InputError
from qa.kb.entry import Entry
from qa.text import detect_lang

FORMATS = ("jsonl", "json", "csv", "tsv", "yaml")
_EXT = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv",
    ".yaml": "yaml",
    ".yml": "yaml",
}


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
    raise ImportFormatError(f"{what} must be a list of strings", line=line)


def entry_from_dict(d: Any, line: int | None = None) -> Entry:
    """Validate one record (the ../shared/data kb.jsonl shape) into an Entry."""
    if not isinstance(d, dict):
        raise ImportFormatError(f"expected an object with id, question, answer, got {type(d).__name__}", line=line)
    question = d.get("question")
    if not isinstance(question, str) or not question.strip():
        raise ImportFormatError("missing or empty 'question'", line=line)
    answer = d.get("answer", "")
    if answer is None:
        answer = ""
    if not isinstance(answer, str):
        raise ImportFormatError("'answer' must be text", line=line)
    raw_id = d.get("id")
    if raw_id is None or (isinstance(raw_id, str) and not raw_id.strip()):
        raise ImportFormatError("missing 'id'", line=line)
    if not isinstance(raw_id, str | int):
        raise ImportFormatError("'id' must be text or a number", line=line)
    question = question.strip()
    alternates = [a for a in dict.fromkeys(_strs(d.get("alternates"), "'alternates'", line)) if a != question]
    lang = d.get("lang") or detect_lang(question)
    if not isinstance(lang, str):
        raise ImportFormatError("'lang' must be text", line=line)
    return Entry(
        str(raw_id).strip(), question, answer.strip(), alternates, lang.strip(), _strs(d.get("tags"), "'tags'", line)
    )


def jsonl_records(lines: Iterable[str], path: str | None = None) -> Iterator[tuple[int, Any]]:
    """(line number, parsed object) for each non-blank line; ImportFormatError names a bad line."""
    for n, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            yield n, json.loads(raw)
        except json.JSONDecodeError as e:
            raise ImportFormatError(f"not valid JSON ({e.msg})", line=n, path=path) from e


def _check_unique(entries: list[tuple[int, Entry]]) -> list[Entry]:
    seen: dict[str, int] = {}
    for line, e in entries:
        if e.id in seen:
            raise ImportFormatError(f"duplicate id {e.id!r} (first on line {seen[e.id]})", line=line)
        seen[e.id] = line
    return [e for _, e in entries]


def read_entries(f: TextIO, fmt: str) -> list[Entry]:
    if fmt == "jsonl":
        return _check_unique([(n, entry_from_dict(d, n)) for n, d in jsonl_records(f)])
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
        return _check_unique(
            [(i + 1, entry_from_dict(d, None if fmt == "yaml" else i + 1)) for i, d in enumerate(data)]
        )
    if fmt in ("csv", "tsv"):
        return _read_table(f, "\t" if fmt == "tsv" else ",")
    raise InputError(f"Unknown format {fmt!r}; choose one of {', '.join(FORMATS)}.")


def _read_table(f: TextIO, delimiter: str) -> list[Entry]:
    reader = csv.DictReader(f, delimiter=delimiter)
    fields = [c.strip().lower() for c in (reader.fieldnames or [])]
    if "question" not in fields:
        raise ImportFormatError("the header row needs at least 'question' (and 'id', 'answer')", line=1)
    reader.fieldnames = fields
    out: list[tuple[int, Entry]] = []
    for row in reader:
        n = reader.line_num
        if None in row:
            raise ImportFormatError(f"more cells than header columns ({len(fields)})", line=n)
        d: dict[str, Any] = {k: (v or "").strip() for k, v in row.items()}
        if not d.get("id"):
            d["id"] = str(len(out) + 1) if "id" not in fields else ""
        out.append((n, entry_from_dict(d, n)))
    return _check_unique(out)


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
        w = csv.writer(f, delimiter="\t" if fmt == "tsv" else ",", lineterminator="\n")
        w.writerow(["id", "question", "answer", "alternates", "lang", "tags"])
        for e in entries:
            w.writerow([e.id, e.question, e.answer, "|".join(e.alternates), e.lang, "|".join(e.tags)])
    else:
        raise InputError(f"Unknown format {fmt!r}; choose one of {', '.join(FORMATS)}.")


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
        if e.path is None and path != "-":
            raise ImportFormatError(
                str(e).removeprefix(f"line {e.line}: ") if e.line else str(e), line=e.line, path=path
            ) from e
        raise
