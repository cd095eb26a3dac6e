"""Word-vector models kept inside the KB (table `word_models`): one opaque blob per name, plus JSON metadata.

Storage only: what the blob holds is the business of `qa.encoders.word_vectors`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from qa.errors import InputError, NotFoundError
from qa.kb.store import KnowledgeBase, now

_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def check_name(name: str) -> str:
    """A model name goes into encoder ids (`fasttext:NAME@hash`), so it may not hold ':', '@' or spaces."""
    if not _NAME.fullmatch(name):
        raise InputError(
            f"Bad word-model name {name!r}: use 1-64 letters, digits, '_', '.' or '-' (for example: faq-vectors)."
        )
    return name


def save_word_model(kb: KnowledgeBase, name: str, kind: str, data: bytes, meta: dict[str, Any]) -> None:
    """Store (or replace) the model `name`."""
    check_name(name)
    with kb.atomic():
        kb.db.execute(
            "INSERT INTO word_models(name, kind, created, data, meta) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, created = excluded.created, "
            "data = excluded.data, meta = excluded.meta",
            [name, kind, now(), bytes(data), json.dumps(meta, ensure_ascii=False, sort_keys=True)],
        )


def load_word_model(kb: KnowledgeBase, name: str) -> tuple[str, bytes, dict[str, Any]]:
    """(kind, data, meta) of the model `name`; NotFoundError if the KB has none by that name."""
    row = kb.db.execute("SELECT kind, data, meta FROM word_models WHERE name = ?", [name]).fetchone()
    if row is None:
        known = [m["name"] for m in list_word_models(kb)]
        have = f" This KB has: {', '.join(known)}." if known else " This KB has none yet."
        raise NotFoundError(f"No word-vector model named {name!r}.{have} Train it with: qa train-vectors --name {name}")
    return str(row[0]), bytes(row[1]), json.loads(row[2])


def list_word_models(kb: KnowledgeBase) -> list[dict[str, Any]]:
    """Name, kind, created, size in bytes and metadata of every stored model, by name."""
    rows = kb.db.execute("SELECT name, kind, created, length(data), meta FROM word_models ORDER BY name").fetchall()
    return [{"name": r[0], "kind": r[1], "created": r[2], "bytes": int(r[3]), "meta": json.loads(r[4])} for r in rows]
