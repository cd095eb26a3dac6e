"""The review queue: questions the bot logged as fallback or ambiguous, grouped into clusters of
near-identical questions, most frequent first, each with the closest existing entries."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from qa.bot import Bot

#: Two logged questions join a cluster when their cosine is at least this (MiniLM/e5 scale: clear
#: paraphrases of one question sit above ~.8; distinct questions on one topic below).
SAME_QUESTION = 0.8


@dataclass
class Cluster:
    questions: list[str]  # distinct texts, most asked first
    log_ids: list[int] = field(default_factory=list)
    count: int = 0
    closest: list[tuple[str, str, float]] = field(default_factory=list)  # (entry id, question, confidence)

    @property
    def question(self) -> str:
        return self.questions[0]


def clusters(bot: Bot, *, limit: int = 50) -> list[Cluster]:
    rows = bot.kb.open_log()
    if not rows:
        return []
    by_text: dict[str, list[int]] = {}
    for r in rows:
        by_text.setdefault(r["question"], []).append(int(r["id"]))
    texts = list(by_text)
    vecs = _embed(bot, texts)
    order = sorted(range(len(texts)), key=lambda i: -len(by_text[texts[i]]))
    assigned = np.full(len(texts), -1)
    groups: list[list[int]] = []
    for i in order:  # greedy: the most asked open question seeds a cluster of its near-copies
        if assigned[i] >= 0:
            continue
        sims = vecs @ vecs[i]
        members = [j for j in order if assigned[j] < 0 and sims[j] >= SAME_QUESTION]
        for j in members:
            assigned[j] = len(groups)
        groups.append(members)
    out = []
    for members in groups:
        ids = [log_id for j in members for log_id in by_text[texts[j]]]
        c = Cluster([texts[j] for j in members], ids, len(ids))
        c.closest = [(x.entry_id, x.question, x.confidence) for x in bot.explain(c.question, k=3)]
        out.append(c)
    out.sort(key=lambda c: -c.count)
    return out[:limit]


def _embed(bot: Bot, texts: list[str]) -> np.ndarray:
    """One vector space for all logged questions: the KB's multilingual encoder if it has one."""
    enc = next((e for e in bot.encoders if "*" in e.languages), bot.encoders[0])
    return enc.embed(texts)
