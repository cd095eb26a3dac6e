"""The Entry record: one FAQ question with its answer and alternate phrasings."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from qa.text import MAX_QUESTION_CHARS

#: The most UTF-8 bytes one field (an answer, most of all) may hold: long answers pasted from documents
#: fit, a runaway cell (a whole file pasted into one, a fuzzed file) does not. The same for every format.
MAX_FIELD_BYTES = 1024 * 1024


def text_hash(text: str) -> str:
    """The content hash that keys a text's vectors."""
    return hashlib.md5(text.encode("utf-8")).hexdigest()


@dataclass
class Entry:
    id: str
    question: str
    answer: str = ""
    alternates: list[str] = field(default_factory=list)
    lang: str = ""
    tags: list[str] = field(default_factory=list)
    created: str = ""
    updated: str = ""

    def texts(self) -> list[str]:
        """The question first, then the alternates: every phrasing that retrieves this entry."""
        return [self.question, *self.alternates]

    def to_dict(self) -> dict[str, object]:
        """The record as import files hold it (the ../shared/data kb.jsonl shape, plus tags)."""
        return {
            "id": self.id,
            "question": self.question,
            "answer": self.answer,
            "alternates": self.alternates,
            "lang": self.lang,
            "tags": self.tags,
        }

    def check_text(self) -> None:
        """Raise InputError when a field holds bytes that were not UTF-8 (SQLite cannot store them)."""
        from qa.text import check_utf8

        check_utf8(self.id, "The id")
        for what, texts in (
            ("question", [self.question]),
            ("answer", [self.answer]),
            ("alternate", self.alternates),
            ("tag", self.tags),
            ("language", [self.lang]),
        ):
            for t in texts:
                check_utf8(t, f"The {what} of entry {self.id!r}")

    def oversized(self) -> tuple[str, str] | None:
        """(field, what is wrong) for the first field over its limit, else None. A question or an
        alternate may hold MAX_QUESTION_CHARS characters (`qa ask` and `qa add` cut questions there, so a
        longer one could never be asked in full); every other field MAX_FIELD_BYTES bytes of UTF-8."""
        name = repr(self.id if len(self.id) <= 60 else self.id[:57] + "...")
        for what, texts in (("question", [self.question]), ("alternates", self.alternates)):
            for t in texts:
                if len(t) > MAX_QUESTION_CHARS:
                    return what, (
                        f"{'an alternate' if what == 'alternates' else 'the question'} of entry {name} is "
                        f"{len(t):,} characters long, over the limit of {MAX_QUESTION_CHARS:,} (a question that "
                        "long is most often an answer in the wrong column)"
                    )
        for what, texts in (("id", [self.id]), ("answer", [self.answer]), ("tags", self.tags), ("lang", [self.lang])):
            for t in texts:
                size = len(t) if len(t) * 4 <= MAX_FIELD_BYTES else len(t.encode("utf-8", "surrogatepass"))
                if size > MAX_FIELD_BYTES:
                    return what, (
                        f"the {what.removesuffix('s')} of entry {name} is {size:,} bytes of UTF-8, over the limit of "
                        f"{MAX_FIELD_BYTES:,} (1 MiB). Split it, or link to the full text"
                    )
        return None

    def content(self) -> tuple[object, ...]:
        """What an import compares to decide whether an entry changed (timestamps excluded)."""
        return (self.question, self.answer, tuple(self.alternates), self.lang, tuple(self.tags))
