"""Self-test of a KB: does every stored question and alternate find its own entry?

Each text is held out (hidden from its entry, as if a user had typed it) and asked against the
rest, using its stored vectors: no encoder runs. A text that is its entry's only phrasing is asked
as it is (it then fails only if another entry has the same or a closer text).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa.retrieval.index import NEG, SearchIndex


@dataclass(frozen=True)
class Failure:
    text: str
    entry_id: str
    got: str
    held_out: bool


@dataclass(frozen=True)
class SelfTest:
    n: int
    passed: int
    failures: list[Failure]

    @property
    def accuracy(self) -> float:
        return self.passed / self.n if self.n else 1.0


def selftest(index: SearchIndex) -> SelfTest:
    counts = np.bincount(index.text_entry, minlength=index.n)
    failures = []
    for t in range(len(index.texts)):
        owner = int(index.text_entry[t])
        hold = bool(counts[owner] >= 2)
        fused = index.score(
            index.text_query_vectors(t), index.texts[t], index.entry_langs[owner], drop_text=t if hold else None
        ).fused
        best = int(np.argmax(fused))
        if best != owner or fused[best] <= NEG:
            failures.append(Failure(index.texts[t], index.entry_ids[owner], index.entry_ids[best], hold))
    return SelfTest(len(index.texts), len(index.texts) - len(failures), failures)
