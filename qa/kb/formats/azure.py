"""The Azure QnA Maker / custom question answering TSV export, read and written. With → for a tab:

    Question→Answer→Source→Metadata→SuggestedQuestions→IsContextOnly→Prompts→QnaId
    How to reset my password?→Click "Forgot password".\\nCheck your mail.→Editorial→area:account|qa_id:pw→[]→false→[]→1
    I forgot my password→Click "Forgot password".\\nCheck your mail.→Editorial→area:account|qa_id:pw→[]→false→[]→1

Cells are not quoted; a newline, tab or backslash inside one is written `\\n`, `\\t`, `\\\\`, as
Azure does for newlines. Rows sharing a QnA id are one entry: the first row's question is the
question, the others are alternates. Without a QnA id column, rows with the same Answer and Source
are one entry. Metadata `key:value|key2:value2` becomes the tags `key:value`, `key2:value2`; qa keeps
its own fields there too: `qa_id:<id>` (the entry id, else the QnA id is the id), `qa_lang:<lang>`
(when it differs from the detected one) and `qa_tag:<tag>` (a tag that is not `key:value`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from qa.errors import ImportFormatError, InputError
from qa.kb.entry import Entry
from qa.kb.formats.records import check_unique, entry_from_dict, fill_ids
from qa.text import detect_lang

HEADER = ("Question", "Answer", "Source", "Metadata", "SuggestedQuestions", "IsContextOnly", "Prompts", "QnaId")
COLUMNS = ("question", "answer", "source", "metadata", "qnaid")  # the ones read, as column_key names them
_RESERVED = ("qa_id", "qa_lang", "qa_tag")
_UNESCAPE = {"\\": "\\", "n": "\n", "r": "\r", "t": "\t"}


def _unescape(cell: str) -> str:
    return re.sub(r"\\([\\nrt])", lambda m: _UNESCAPE[m.group(1)], cell)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


@dataclass
class _Group:
    line: int
    question: str
    answer: str
    qna_id: str
    alternates: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    qa_id: str = ""
    lang: str = ""

    def add_metadata(self, metadata: str, line: int) -> None:
        for item in (i.strip() for i in metadata.split("|")):
            key, sep, value = item.partition(":")
            key, value = key.strip().lower(), value.strip()
            if not item:
                continue
            if sep and key in ("qa_id", "qa_lang"):
                old = self.qa_id if key == "qa_id" else self.lang
                if old and value and old != value:
                    raise ImportFormatError(
                        f"rows of one QnA pair disagree on {key} ({old!r}, {value!r})", line=line, column="metadata"
                    )
                if key == "qa_id":
                    self.qa_id = old or value
                else:
                    self.lang = old or value
            else:
                tag = value if sep and key == "qa_tag" else item
                if tag and tag not in self.tags:
                    self.tags.append(tag)


def read_azure(f: TextIO) -> list[Entry]:
    lines = f.read().split("\n")
    columns = [column_key(c) for c in lines[0].split("\t")]
    missing = [c for c in HEADER[:4] if c.lower() not in columns]
    if missing:
        raise ImportFormatError(
            f"the header row has no {', '.join(missing)} column: an Azure QnA Maker export starts with "
            "Question, Answer, Source, Metadata (then QnaId and others). For a plain TSV file use --format tsv",
            line=1,
        )
    at = {name: columns.index(name) for name in COLUMNS if name in columns}
    rows: list[tuple[int, dict[str, str]]] = []
    for n, raw in enumerate(lines[1:], start=2):
        line = raw.removesuffix("\r")
        if not line.strip():
            continue
        cells = line.split("\t")
        if any(c.strip() for c in cells[len(columns) :]):
            raise ImportFormatError(f"more cells than header columns ({len(columns)})", line=n)
        rows.append((n, {name: _unescape(cells[i]) if i < len(cells) else "" for name, i in at.items()}))
    return azure_entries(rows)


def column_key(name: str) -> str:
    """A header cell as azure_entries names its column: "QnA Id" -> "qnaid"."""
    return name.strip().lower().replace(" ", "").replace("_", "")


def azure_entries(rows: Iterable[tuple[int, dict[str, str]]], unit: str = "line") -> list[Entry]:
    """Entries from (line, {column key: cell}) rows with the COLUMNS keys (question and answer
    needed); each key's name is also the `column` of an error about its cell."""
    groups: dict[tuple[str, ...], _Group] = {}
    for n, row in rows:
        cell = {name: text.strip() for name, text in row.items()}
        question, answer, qna_id = cell["question"], cell["answer"], cell.get("qnaid", "")
        if not question:
            raise ImportFormatError("empty Question", line=n, column="question")
        if qna_id:
            key: tuple[str, ...] = ("id", qna_id)
        else:
            key = ("answer", answer, cell.get("source", "")) if answer else ("line", str(n))
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(n, question, answer, qna_id)
        else:
            if answer and group.answer and answer != group.answer:
                raise ImportFormatError(
                    f"QnA id {qna_id} has another answer here than on {unit} {group.line}; rows sharing a QnA id "
                    "are alternate questions for one answer",
                    line=n,
                    column="answer",
                )
            group.answer = group.answer or answer
            group.alternates.append(question)
        group.add_metadata(cell.get("metadata", ""), n)
    found = list(groups.values())
    ids = fill_ids([g.qa_id or g.qna_id or None for g in found], [g.question for g in found], "azure")
    return check_unique(
        [
            (
                g.line,
                entry_from_dict(
                    {
                        "id": i,
                        "question": g.question,
                        "answer": g.answer,
                        "alternates": g.alternates,
                        "lang": g.lang or None,
                        "tags": g.tags,
                    },
                    g.line,
                ),
            )
            for g, i in zip(found, ids, strict=True)
        ],
        unit,
    )


def _metadata(e: Entry) -> str:
    items: list[str] = []
    for what, text in (("id", e.id), *(("tag", t) for t in e.tags)):
        if "|" in text:
            raise InputError(
                f"Entry {e.id!r} has a {what} with '|' ({text!r}), which Azure metadata uses as a separator. "
                "Export as jsonl, json or yaml instead."
            )
    for t in e.tags:
        key, sep, _ = t.partition(":")
        items.append(t if sep and key.strip() and key.strip().lower() not in _RESERVED else f"qa_tag:{t}")
    items.append(f"qa_id:{e.id}")
    if e.lang and e.lang != detect_lang(e.question):
        items.append(f"qa_lang:{e.lang}")
    return "|".join(items)


def write_azure(entries: Sequence[Entry], f: TextIO) -> None:
    f.write("\t".join(HEADER) + "\n")
    for n, e in enumerate(entries, start=1):
        answer, metadata = _escape(e.answer), _escape(_metadata(e))
        for q in e.texts():
            f.write("\t".join([_escape(q), answer, "Editorial", metadata, "[]", "false", "[]", str(n)]) + "\n")
