"""A KB chooses its own signals by measuring itself.

Each language the KB has entries in gets the mix of signals (encoders' dense scores and BM25, each
with a weight) that ranks its held-out texts best: every stored alternate, hidden in turn, is asked
against the rest, and each candidate mix is scored on the same examples (one pass per example gives
every signal's scores; the mixes are sums of those). The measurement pays for what a mix costs at
question time: an encoder's milliseconds per question count against its gain (COST_PER_MS), and a
mix replaces the default only when it beats it by more than the noise of the measurement (one
standard error). A KB with too few alternates to measure (under MIN_EXAMPLES) keeps the default,
and one with (almost) none leans on the encoder trained for search (`without_alternates`).

bench/signal_lab.py shows how the choice made here compares, on every set in ../shared/data, with the
mix that would have been best on the set's real questions.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from qa.retrieval.index import Mix, SearchIndex

#: Held-out texts needed before a KB's own measurement is trusted over the default mix.
MIN_EXAMPLES = 100
#: Under this many, a KB has (almost) no alternates: its questions are its only phrasings.
FEW_ALTERNATES = 30
MAX_EXAMPLES = 1000
#: Each example scores every text once per encoder: a big KB measures on fewer (333 at 30k texts,
#: where 1000 made the first open of a 10k-entry KB take 39 s instead of 10 s; 100 at 100k texts).
TEXT_SCORES_BUDGET = 10_000_000
#: What one millisecond of encoder time per question must buy in held-out hit@1 (e5's ~9 ms must
#: gain about .005 beyond the noise). At .002 smp2017_zh dropped e5 and BM25 for USE alone (held-out
#: .853 against .840, real questions .818 against .847): bench/signal_lab.py.
COST_PER_MS = 0.0005
#: A measured mix replaces the default when it beats it by more than this many standard errors.
NOISE_SE = 1.0
ENCODER_WEIGHTS = (0.0, 0.5, 1.0)
#: BM25's weight beside the search model in a KB without alternates.
NO_ALTERNATES_LEXICAL = 1.0
LEXICAL_WEIGHTS = (0.0, 0.25, 0.5, 1.0)


@dataclass(frozen=True)
class Measured:
    mix: Mix
    hit1: float | None  # on the held-out texts (None: not measured)
    mrr: float | None
    cost_ms: float

    def to_json(self) -> dict:
        return {**self.mix.to_json(), "hit1": self.hit1, "mrr": self.mrr, "cost_ms": self.cost_ms}


@dataclass(frozen=True)
class Choice:
    """What measuring one language's entries chose, and against what."""

    lang: str
    chosen: Measured
    default: Measured
    n_examples: int
    source: str  # "kb-alternates" or "default (too few alternates)"

    def to_json(self) -> dict:
        return {
            "lang": self.lang,
            "chosen": self.chosen.to_json(),
            "default": self.default.to_json(),
            "n_examples": self.n_examples,
            "source": self.source,
        }


def held_out_signals(
    index: SearchIndex, lang: str, max_examples: int = MAX_EXAMPLES, seed: int = 0
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Gold positions (within the entries in `lang`) of held-out alternates, and each signal's
    scores for them: (n_examples, n_entries in lang) per signal."""
    counts = np.bincount(index.text_entry, minlength=index.n)
    langs = np.array(index.entry_langs)
    ok = (counts[index.text_entry] >= 2) & (langs[index.text_entry] == lang)
    texts = np.random.default_rng(seed).permutation(np.flatnonzero(ok))[:max_examples]
    gold, rows = [], []
    wanted = np.flatnonzero(langs == lang)
    for t in texts:
        t = int(t)
        _, sig = index.signal_scores(index.text_query_vectors(t), index.texts[t], lang, drop_text=t)
        rows.append(sig)
        gold.append(int(np.searchsorted(wanted, index.text_entry[t])))
    names = list(rows[0]) if rows else []
    return np.array(gold, dtype=np.int64), {k: np.stack([r[k] for r in rows]) for k in names}


def candidate_mixes(encoders: list[str], default: Mix) -> list[Mix]:
    """Every weighting of the encoders (weights 0, .5, 1, the largest 1) and of BM25; the default too."""
    out = {default}
    for ws in itertools.product(ENCODER_WEIGHTS, repeat=len(encoders)):
        if max(ws) != 1.0:
            continue
        order = sorted(range(len(encoders)), key=lambda i: -ws[i])  # the heaviest picks candidates
        parts = tuple((encoders[i], ws[i]) for i in order if ws[i] > 0)
        for lex in LEXICAL_WEIGHTS:
            out.add(Mix(parts, lex))
    return sorted(out, key=lambda m: (m.label(), m.parts, m.lexical))


def evaluate(mix: Mix, gold: np.ndarray, signals: Mapping[str, np.ndarray], costs: Mapping[str, float]) -> Measured:
    total = mix.lexical * signals["bm25"]
    for enc, w in mix.parts:
        total = total + w * signals[enc]
    rank = (total > total[np.arange(len(gold)), gold][:, None]).sum(1)
    return Measured(mix, float((rank == 0).mean()), float((1.0 / (rank + 1)).mean()), mix_cost(mix, costs))


def mix_cost(mix: Mix, costs: Mapping[str, float]) -> float:
    """About how many ms a mix's encoders take to embed one question (1 for an encoder not known)."""
    return sum(costs.get(e, 1.0) for e, _ in mix.parts)


def without_alternates(index: SearchIndex, lang: str) -> Mix | None:
    """The mix for a KB with too few alternates to measure: a search model (trained on queries
    against differently worded texts) with BM25 at full weight, or None if no encoder is one.

    A stored question alone is one phrasing, and real questions are worded otherwise (search-style
    fragments, other words): on covidfaq_jhu (no alternates) MiniLM, a paraphrase model, ranked .584
    of its questions first and e5 .727; e5 + BM25 x1 .773 (bench/signal_lab.py).
    """
    search = [e for e in index.candidate_encoders(lang, lang) if e in index.search_models]
    return Mix(((search[0], 1.0),), NO_ALTERNATES_LEXICAL) if search else None


def choose(index: SearchIndex, lang: str) -> Choice:
    """The mix for questions in `lang` against entries in `lang` (see the module docstring)."""
    costs = index.costs
    default_mix = index.default_mix(lang, lang)
    gold, signals = held_out_signals(index, lang, min(MAX_EXAMPLES, TEXT_SCORES_BUDGET // max(len(index.texts), 1)))
    if len(gold) < MIN_EXAMPLES or not default_mix.parts:
        mix = (without_alternates(index, lang) if len(gold) < FEW_ALTERNATES else None) or default_mix
        unmeasured = Measured(mix, None, None, mix_cost(mix, costs))
        source = "no alternates: search model + BM25" if mix != default_mix else "default (too few alternates)"
        return Choice(
            lang, unmeasured, Measured(default_mix, None, None, mix_cost(default_mix, costs)), len(gold), source
        )
    encoders = [e for e in index.candidate_encoders(lang, lang) if e in signals]
    results = [evaluate(m, gold, signals, costs) for m in candidate_mixes(encoders, default_mix)]
    default = next(r for r in results if r.mix == default_mix)

    def value(r: Measured) -> tuple[float, float]:
        assert r.hit1 is not None and r.mrr is not None
        return r.hit1 - COST_PER_MS * r.cost_ms, r.mrr

    best = max(results, key=value)
    p = value(default)[0] + COST_PER_MS * default.cost_ms
    se = float(np.sqrt(max(p * (1 - p), 1e-4) / len(gold)))
    gain = value(best)[0] - value(default)[0]
    chosen = best if gain > NOISE_SE * se else default
    return Choice(lang, chosen, default, len(gold), "kb-alternates")


def choose_all(index: SearchIndex) -> list[Choice]:
    """One Choice per language the KB has entries in."""
    return [choose(index, lang) for lang in dict.fromkeys(index.entry_langs)]


def apply(index: SearchIndex, choices: list[Choice]) -> None:
    index.set_mixes({(c.lang, c.lang): c.chosen.mix for c in choices})


def parse_mixes(stored: Mapping[str, dict]) -> dict[tuple[str, str], Mix]:
    out = {}
    for key, d in stored.items():
        q, _, e = key.partition(">")
        out[(q, e)] = Mix.from_json(d)
    return out
