"""Curation: small edits of the KB (storage only; the Bot embeds what changed on its next question)."""

from __future__ import annotations

import re
import unicodedata

from qa.errors import InputError
from qa.kb.entry import Entry, text_hash
from qa.kb.store import KnowledgeBase
from qa.text import clean_question, detect_lang


def new_id(kb: KnowledgeBase, question: str) -> str:
    """A readable id from the question (ASCII words, else a hash), unique in the KB."""
    ascii_words = unicodedata.normalize("NFKD", question).encode("ascii", "ignore").decode().lower()
    slug = "-".join(re.findall(r"[a-z0-9]+", ascii_words)[:6]) or "q-" + text_hash(question)[:8]
    taken = set(kb.ids())
    candidate, n = slug, 2
    while candidate in taken:
        candidate, n = f"{slug}-{n}", n + 1
    return candidate


def add_alternate(kb: KnowledgeBase, entry_id: str, text: str) -> Entry:
    """Add `text` as another phrasing of an entry (no-op when it is already one)."""
    text, _ = clean_question(text)
    entry = kb.get(entry_id)
    if text != entry.question and text not in entry.alternates:
        entry.alternates.append(text)
        kb.upsert([entry])
    return entry


def add_entry(
    kb: KnowledgeBase,
    question: str,
    answer: str,
    *,
    entry_id: str | None = None,
    alternates: list[str] | None = None,
    tags: list[str] | None = None,
) -> Entry:
    question, _ = clean_question(question)
    if not answer.strip():
        raise InputError("The answer is empty. Give the text the bot should reply with.")
    entry = Entry(
        entry_id or new_id(kb, question),
        question,
        answer.strip(),
        list(alternates or []),
        detect_lang(question),
        list(tags or []),
    )
    if entry.id in set(kb.ids()):
        raise InputError(f"An entry with id {entry.id!r} exists already. Pick another id.")
    kb.upsert([entry])
    return entry
