"""Curation: small edits of the KB (storage only; the Bot embeds what changed on its next question)."""

from __future__ import annotations

import re
import unicodedata

from qa.errors import InputError, NotFoundError
from qa.kb.entry import Entry, text_hash
from qa.kb.store import KnowledgeBase
from qa.text import clean_question, detect_lang, normalise_text


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


def remove_alternate(kb: KnowledgeBase, entry_id: str, text: str) -> Entry:
    """Remove the alternate `text` from an entry; NotFoundError when it has no such alternate."""
    entry = kb.get(entry_id)
    if text not in entry.alternates:
        raise NotFoundError(f"[{entry_id}] has no alternate {text!r}. See them with: qa show {entry_id}")
    entry.alternates.remove(text)
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


def merge_preview(keep: Entry, gone: Entry) -> list[str]:
    """The texts of `gone` that merging it into `keep` adds as alternates: its question and
    alternates, less those `keep` already has (compared with case, punctuation and spacing folded)."""
    seen = {normalise_text(t) for t in keep.texts()}
    added = []
    for text in gone.texts():
        key = normalise_text(text)
        if key not in seen:
            seen.add(key)
            added.append(text)
    return added


def merge(kb: KnowledgeBase, keep_id: str, remove_id: str) -> Entry:
    """Fold entry `remove_id` into `keep_id` and remove it, in one transaction.

    Its question and alternates become alternates of `keep_id` (see merge_preview), whose answer
    stays; its tags are added; its feedback and log rows point to `keep_id`. On any error the KB is
    left as it was.
    """
    if keep_id == remove_id:
        raise InputError(f"Cannot merge entry {keep_id!r} into itself: give two different ids.")
    with kb.atomic():
        keep = kb.get(keep_id)
        gone = kb.get(remove_id)
        keep.alternates.extend(merge_preview(keep, gone))
        keep.tags.extend(t for t in gone.tags if t not in keep.tags)
        kb.upsert([keep])
        kb.remove(remove_id)
        kb.repoint(remove_id, keep_id)  # its feedback and logged suggestions now count for `keep_id`
    return keep
