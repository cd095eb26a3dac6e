"""The Entry record: one FAQ question with its answer and alternate phrasings."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


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

    def content(self) -> tuple[object, ...]:
        """What an import compares to decide whether an entry changed (timestamps excluded)."""
        return (self.question, self.answer, tuple(self.alternates), self.lang, tuple(self.tags))
