"""Storage: the SQLite knowledge base, its schema and the import/export formats."""

from qa.kb.entry import Entry
from qa.kb.store import KnowledgeBase

__all__ = ["Entry", "KnowledgeBase"]
