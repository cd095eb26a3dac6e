"""The `qa check` report: findings in a KB as sections of errors, warnings and information.

A pure function over entries, a SearchIndex (its stored text vectors), a self-test and the usage
log: no encoder runs here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from qa.curate.duplicates import exact_duplicates
from qa.curate.selftest import SelfTest
from qa.kb.entry import Entry
from qa.retrieval.index import SearchIndex
from qa.text import detect_lang, normalise_text

SEVERITIES = ("error", "warning", "info")


@dataclass
class Section:
    name: str
    severity: str  # error | warning | info
    title: str
    items: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "title": self.title, "count": len(self.items), "items": self.items}


@dataclass
class Report:
    sections: list[Section]
    languages: dict[str, int]
    n_entries: int
    usage_recorded: bool  # the KB has logged questions or feedback to judge "never chosen" by

    def count(self, severity: str) -> int:
        return sum(len(s.items) for s in self.sections if s.severity == severity)

    def failed(self, strict: bool = False) -> bool:
        return self.count("error") > 0 or (strict and self.count("warning") > 0)

    def to_dict(self, strict: bool = False) -> dict[str, Any]:
        return {
            "ok": not self.failed(strict),
            "strict": strict,
            "errors": self.count("error"),
            "warnings": self.count("warning"),
            "entries": self.n_entries,
            "languages": self.languages,
            "usage_recorded": self.usage_recorded,
            "sections": {s.name: s.to_dict() for s in self.sections},
        }


def used_entries(log: Iterable[Mapping[str, Any]], feedback_ids: Iterable[str]) -> set[str]:
    """Entries that feedback names, or that a logged question had as its best guess or a suggestion."""
    used = set(feedback_ids)
    for row in log:
        if row.get("entry_id"):
            used.add(row["entry_id"])
        sugg = row.get("suggestions") or []
        used.update(json.loads(sugg) if isinstance(sugg, str) else sugg)
    return used


def check(
    entries: Sequence[Entry],
    index: SearchIndex,
    selftest: SelfTest,
    used: set[str],
    usage_recorded: bool,
) -> Report:
    """Everything `qa check` reports, as sections of findings (errors, warnings, information)."""
    empty = Section("empty_answers", "error", "entries with an empty answer")
    exact = Section("exact_duplicates", "error", "the same text in two entries")
    no_alts = Section("no_alternates", "warning", "entries without alternates")
    retrieves = Section("retrieves_other_entry", "warning", "texts that retrieve another entry (qa selftest)")
    mixed = Section("mixed_languages", "warning", "alternates in another language than their question")
    unused = Section("never_chosen_or_suggested", "info", "entries never chosen (feedback) nor suggested (log)")
    for e in entries:
        if not e.answer.strip():
            empty.items.append({"entry_id": e.id, "question": e.question})
        if not e.alternates:
            no_alts.items.append({"entry_id": e.id, "question": e.question})
        qlang = detect_lang(e.question)
        other = [a for a in e.alternates if detect_lang(a) != qlang]
        if other:
            mixed.items.append({"entry_id": e.id, "question": e.question, "lang": qlang, "alternates": other})
        if usage_recorded and e.id not in used:
            unused.items.append({"entry_id": e.id, "question": e.question})
    shared = set()
    for p in exact_duplicates(index):
        exact.items.append(p.to_dict())
        shared.update({(p.a, normalise_text(p.a_text)), (p.b, normalise_text(p.b_text))})
    for f in selftest.failures:
        if (f.entry_id, normalise_text(f.text)) not in shared:
            retrieves.items.append({"entry_id": f.entry_id, "text": f.text, "retrieves": f.got})
    langs: dict[str, int] = {}
    for e in entries:
        langs[e.lang or "?"] = langs.get(e.lang or "?", 0) + 1
    return Report(
        [empty, exact, no_alts, retrieves, mixed, unused],
        dict(sorted(langs.items(), key=lambda kv: -kv[1])),
        len(entries),
        usage_recorded,
    )
