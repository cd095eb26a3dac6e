"""Reading and writing entries: JSONL (the ../shared/data format), JSON and YAML here, CSV/TSV
(table.py), Markdown (md.py), the Azure QnA Maker TSV export (azure.py) and Excel workbooks
(xlsx.py, the one binary format: read_file and to_bytes handle it). records.py turns records
into entries for all of them.

Readers are all-or-nothing: they parse the whole file first and raise ImportFormatError with the
line number of the first bad row, so nothing is written from a malformed file. Writers are
lossless: reading back what they wrote gives the same entries, or they raise InputError naming the
entry a format cannot hold.
"""

from __future__ import annotations

import codecs
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from qa.errors import ImportFormatError, InputError
from qa.kb.entry import Entry
from qa.kb.formats.records import check_unique, entry_from_dict, jsonl_records, listed_entry

__all__ = [
    "BINARY_FORMATS",
    "FORMATS",
    "check_unique",
    "detect_format",
    "entry_from_dict",
    "jsonl_records",
    "read_entries",
    "read_file",
    "to_bytes",
    "write_entries",
]

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
        return check_unique([(n, listed_entry(d, n)) for n, d in enumerate(data, start=1)], unit="entry")
    if fmt in ("csv", "tsv"):
        from qa.kb.formats.table import read_table

        return read_table(f, "\t" if fmt == "tsv" else ",")
    if fmt == "md":
        from qa.kb.formats.md import read_md

        return read_md(f)
    if fmt == "azure":
        from qa.kb.formats.azure import read_azure

        return read_azure(f)
    raise _unknown(fmt)


def _unknown(fmt: str) -> InputError:
    if fmt in BINARY_FORMATS:
        return InputError(f"{fmt} is a binary format: read it with read_file, write it with to_bytes.")
    return InputError(f"Unknown format {fmt!r}; choose one of {', '.join(FORMATS)}.")


def to_bytes(entries: Sequence[Entry], fmt: str, encoding: str = "utf-8") -> bytes:
    """The whole file for `entries` (a text format in `encoding`); InputError for what it cannot hold."""
    if fmt == "xlsx":
        from qa.kb.formats.xlsx import write_xlsx

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
        from qa.kb.formats.table import write_table

        write_table(entries, f, fmt)
    elif fmt == "md":
        from qa.kb.formats.md import write_md

        write_md(entries, f)
    elif fmt == "azure":
        from qa.kb.formats.azure import write_azure

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
            from qa.kb.formats.xlsx import read_xlsx

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
