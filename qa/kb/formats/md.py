"""Markdown FAQ files: one `## Question` heading per entry, its answer as the body.

    ## How do I reset my password?
    Id: pw
    Tags: account, login

    Click **Forgot password** on the login page.

    Also:
    - I forgot my password
    - password reset

`Id:`, `Lang:` and `Tags:` lines sit directly under the heading, all optional: a missing id is made
from the question (a slug, else `md-<n>`), a missing language is detected. The body is kept verbatim
apart from blank lines at its ends. A body line that would read as structure (`## ...` or `Also:`)
is written with a leading backslash, which the reader removes again. A `# Title` line may come
before the first entry. Tags holding a comma are written in double quotes.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TextIO

from qa.errors import ImportFormatError, InputError
from qa.kb.entry import Entry
from qa.kb.formats.records import check_unique, entry_from_dict, fill_ids
from qa.text import detect_lang

_HEADING = re.compile(r"##(\s|$)")
_TITLE = re.compile(r"#(\s|$)")
_META = re.compile(r"(id|lang|tags)\s*:(.*)", re.I)
_ALSO = re.compile(r"also:\s*", re.I)
_STRUCTURE = re.compile(r"\\*(##(\s|$)|also:\s*$)", re.I)  # body lines the writer escapes


@dataclass
class _Section:
    line: int
    question: str
    lines: list[tuple[int, str]] = field(default_factory=list)


def read_md(f: TextIO) -> list[Entry]:
    sections: list[_Section] = []
    for n, raw in enumerate(f.read().split("\n"), start=1):
        line = raw.removesuffix("\r")
        if _HEADING.match(line):
            question = line[2:].strip()
            if not question:
                raise ImportFormatError("empty '##' heading: write the question after it", line=n)
            sections.append(_Section(n, question))
        elif sections:
            sections[-1].lines.append((n, line))
        elif line.strip() and not _TITLE.match(line):
            raise ImportFormatError(
                "text before the first entry: each entry starts with a '## Question' heading", line=n
            )
    parsed = [_parse(s) for s in sections]
    ids = fill_ids([given for _, given, _ in parsed], [s.question for s in sections], "md")
    entries = [(n, entry_from_dict({**d, "id": i}, n)) for (n, _, d), i in zip(parsed, ids, strict=True)]
    return check_unique(entries)


def _parse(s: _Section) -> tuple[int, str | None, dict[str, object]]:
    """(line for errors about this entry, its given id, its record) from one heading's section."""
    meta: dict[str, tuple[int, str]] = {}
    lines = s.lines
    while lines and (m := _META.fullmatch(lines[0][1])):
        key = m.group(1).lower()
        if key in meta:
            raise ImportFormatError(f"a second '{key.title()}:' line for this entry", line=lines[0][0])
        meta[key] = (lines[0][0], m.group(2).strip())
        lines = lines[1:]
    alternates: list[str] = []
    also = next((k for k, (_, line) in enumerate(lines) if _ALSO.fullmatch(line)), None)
    if also is not None:
        for n, line in lines[also + 1 :]:
            item = line.strip()
            if not item:
                continue
            if item[0] not in "-*+" or (len(item) > 1 and not item[1].isspace()):
                raise ImportFormatError(
                    f"only '- alternate' lines may follow 'Also:' (line {lines[also][0]}). "
                    "Start the next entry with '## ', or write '\\Also:' for the text 'Also:' in an answer",
                    line=n,
                )
            alternates.append(item[1:].strip())
        lines = lines[:also]
    body = [line for _, line in lines]
    while body and not body[0].strip():
        body.pop(0)
    while body and not body[-1].strip():
        body.pop()
    answer = "\n".join(line[1:] if line.startswith("\\") and _STRUCTURE.match(line) else line for line in body)
    id_line, given = meta.get("id", (s.line, ""))
    tags = next(csv.reader([meta["tags"][1]], skipinitialspace=True), []) if "tags" in meta else []
    record: dict[str, object] = {
        "question": s.question,
        "answer": answer,
        "alternates": alternates,
        "lang": meta.get("lang", (0, ""))[1] or None,
        "tags": [t.strip() for t in tags],
    }
    return id_line, given or None, record


def _one_line(e: Entry, what: str, text: str) -> str:
    if "\n" in text or "\r" in text:
        raise InputError(
            f"Entry {e.id!r}: its {what} {text!r} spans several lines, which md cannot hold. "
            "Export as jsonl, json or yaml instead."
        )
    return text


def _tag(t: str) -> str:
    return '"' + t.replace('"', '""') + '"' if "," in t or '"' in t else t


def write_md(entries: Sequence[Entry], f: TextIO) -> None:
    for k, e in enumerate(entries):
        if k:
            f.write("\n")
        f.write(f"## {_one_line(e, 'question', e.question)}\nId: {_one_line(e, 'id', e.id)}\n")
        if e.lang and e.lang != detect_lang(e.question):
            f.write(f"Lang: {_one_line(e, 'lang', e.lang)}\n")
        if e.tags:
            f.write("Tags: " + ", ".join(_tag(_one_line(e, "tag", t)) for t in e.tags) + "\n")
        if e.answer.strip():
            body = ("\\" + line if _STRUCTURE.match(line) else line for line in e.answer.split("\n"))
            f.write("\n" + "\n".join(body) + "\n")
        if e.alternates:
            f.write("\nAlso:\n" + "".join(f"- {_one_line(e, 'alternate', a)}\n" for a in e.alternates))
