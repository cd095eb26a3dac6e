"""Heads trained on the KB's own texts (table `heads`): one opaque blob per language, plus JSON metadata.

Storage only: what the blob holds is the business of `qa.retrieval.head`, when it is stale that of
`qa.learned`.
"""

from __future__ import annotations

import json
from typing import Any

from qa.kb.store import KnowledgeBase, now


def save_heads(kb: KnowledgeBase, heads: dict[str, tuple[bytes, dict[str, Any]]]) -> None:
    """Replace every stored head with `heads` (language -> (data, meta)); {} drops them all."""
    with kb.atomic():
        kb.db.execute("DELETE FROM heads")
        stamp = now()
        for lang, (data, meta) in sorted(heads.items()):
            kb.db.execute(
                "INSERT INTO heads(lang, created, data, meta) VALUES (?, ?, ?, ?)",
                [lang, stamp, bytes(data), json.dumps(meta, ensure_ascii=False, sort_keys=True)],
            )


def load_heads(kb: KnowledgeBase) -> dict[str, tuple[bytes, dict[str, Any]]]:
    """Language -> (data, meta, with its `created` time) of every stored head."""
    with kb._lock:
        rows = kb.db.execute("SELECT lang, created, data, meta FROM heads ORDER BY lang").fetchall()
    return {str(r[0]): (bytes(r[2]), {**json.loads(r[3]), "created": str(r[1])}) for r in rows}


def list_heads(kb: KnowledgeBase) -> list[dict[str, Any]]:
    """Language, created, size in bytes and metadata of every stored head (`qa stats`)."""
    with kb._lock:
        rows = kb.db.execute("SELECT lang, created, length(data), meta FROM heads ORDER BY lang").fetchall()
    return [{"lang": r[0], "created": r[1], "bytes": int(r[2]), **json.loads(r[3])} for r in rows]
