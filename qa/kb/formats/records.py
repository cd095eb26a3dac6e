"""Records into entries: validating one record (the ../shared/data kb.jsonl shape), JSON lines,
ids made for entries that have none, and the check that ids are unique. Every format reader uses
these; they import nothing from the readers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from qa.errors import ImportFormatError, InputError
from qa.kb.entry import Entry
from qa.text import detect_lang


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


def listed_entry(d: Any, n: int) -> Entry:
    """The n-th entry of a JSON or YAML list; errors name it by its position (there are no line numbers)."""
    try:
        return entry_from_dict(d)
    except ImportFormatError as e:
        raise ImportFormatError(e.message, column=e.column, entry=n) from e
