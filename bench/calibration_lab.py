"""Compare calibration schemes on ../shared/data without re-embedding (for the quality issue).

For each set: the KB's held-out examples (selfcal.held_out_examples) and every real query's fused
scores, from cached embeddings (bench/explore_scoring.py makes them). Prints ECE and AUROC of
  - `raw-top`: the top fused score alone (AUROC only: it is not a probability);
  - `one-logistic pi=.2`: qa's calibration before version 4 (one model over [top, margin]);
  - `self pi=P`: qa's self-calibration (selfcal.fit) with out-of-scope share P;
  - `self pi=P, with margin`: the same with the margin to the next entry in P(right | in scope), as
    before calibration version 6 (it ranks answerable against unanswerable questions worse);
  - `prior pi=P`: selfcal.prior_for, i.e. what a KB without alternates gets (the PRIOR on the
    KB's own scale), as if this KB had none.
The queries are only used to measure; nothing is fitted on them.

    python -m bench.calibration_lab [--sets clinc150,banking77]
    python -m bench.calibration_lab --fit-prior   # the PRIOR's coefficients, from the KBs' held-out texts
    python -m bench.calibration_lab --frontier    # the best ECE any fixed out-of-scope share allows
    python -m bench.calibration_lab --far-share 0.25   # weigh the everyday questions otherwise

`--frontier` is an oracle, not a method: for each set it fits P(right | in scope) on the set's own
answerable queries and the score distributions of its in-scope and out-of-scope queries (hidden
KB entries where it has none), then reports the ECE of the resulting confidence at several fixed
out-of-scope shares. If no single share brings every set under a target, no calibration that
assumes one share for every KB can. On sets with out-of-scope queries it also prints the AUROC of
the raw top score and of a confidence whose two factors are fitted on the queries themselves (the
most a calibrated confidence over [top, margin] separates answerable from unanswerable).
"""

from __future__ import annotations

import argparse
import json
from functools import cache

import numpy as np

from bench.explore_scoring import embed, load
from qa.evaluate import auroc, ece
from qa.retrieval import selfcal, selfmeasure
from qa.retrieval.calibration import Logistic, features
from qa.retrieval.index import NEG, SearchIndex
from qa.retrieval.selfcal import PRIOR_OOS, Examples, fit, held_out_examples, prior_for, scale_of, weigh

LANGS = {"minilm-l6-int8": frozenset({"en"}), "e5-small-q4": frozenset({"*"}), "use-m3": frozenset({"*"})}
#: The KBs with alternates the PRIOR is fitted on (their kb.jsonl only).
PRIOR_SETS = ("clinc150", "banking77", "hwu64")


def index_for(
    kb: list[dict], texts: list[str], owner: np.ndarray, vec: dict, lang: str, lexical: bool = True
) -> SearchIndex:
    """qa's SearchIndex over a set's KB in one language, with `vec` (USE, when there, as the helper),
    with the mix of signals the KB measures for itself (retrieval/selfmeasure.py), as qa runs it."""
    from qa.encoders import registry
    from qa.encoders.reference import reference_vectors
    from qa.retrieval.reference import reference_texts

    index = SearchIndex.build(
        entry_ids=[e["id"] for e in kb],
        entry_langs=[lang] * len(kb),
        entry_tags=[[] for _ in kb],
        texts=texts,
        text_entry=owner,
        vectors=vec,
        languages={e: LANGS[e] for e in vec},
        helpers=frozenset({"use-m3"}) if len(vec) > 1 else frozenset(),
        lexical=lexical,
        costs={e: registry.create(e).query_ms for e in vec},
        search_models=frozenset(e for e in vec if registry.create(e).search_model),
        reference=lambda enc, lg: reference_vectors(registry.create(enc), lg),
        reference_texts=reference_texts,
    )
    selfmeasure.apply(index, selfmeasure.choose_all(index))
    return index


def default_vectors(name: str) -> tuple[list[dict], list[dict], list[str], np.ndarray, str, dict, dict]:
    """A set's KB, queries, texts, text owners, language, and the cached vectors of its texts and
    queries for qa's default encoders there (MiniLM or e5 first, then USE)."""
    kb, qs, texts, owner = load(name)
    lang = "zh" if name.endswith("_zh") else "en"
    vec, qvec = {}, {}
    for e in ["e5-small-q4", "use-m3"] if lang == "zh" else ["minilm-l6-int8", "e5-small-q4", "use-m3"]:
        vec[e], qvec[e] = embed(name, e, texts, [q["query"] for q in qs])
    return kb, qs, texts, owner, lang, vec, qvec


@cache
def build(name: str) -> tuple[Examples, np.ndarray, np.ndarray, np.ndarray]:
    kb, qs, texts, owner, lang, vec, qvec = default_vectors(name)
    index = index_for(kb, texts, owner, vec, lang)
    ids = {e["id"]: i for i, e in enumerate(kb)}
    x, correct, in_scope = [], [], []
    for k, q in enumerate(qs):
        full = index.score({e: v[k] for e, v in qvec.items()}, q["query"], lang).fused
        gold = {ids[g] for g in q["gold"]}
        x.append(features(full[full > NEG]))
        correct.append(bool(gold) and int(np.argmax(full)) in gold)
        in_scope.append(bool(gold))
    return held_out_examples(index), np.array(x), np.array(correct), np.array(in_scope)


def one_logistic(ex: Examples):
    """The calibration qa used before version 4: one logistic over raw [top, margin], pi = .2."""
    w = weigh(ex, 0.2).weight
    m = Logistic.fit(ex.x, ex.correct.astype(int), w)
    return lambda z: m.predict(z)


def fit_prior() -> dict:
    """Both factors on the pooled, standardised held-out examples of PRIOR_SETS, each set weighted
    equally (and its out-of-scope examples to PRIOR_OOS)."""
    zs, ins, right, top2, w = [], [], [], [], []
    for name in PRIOR_SETS:
        ex = build(name)[0]
        center, scale = scale_of(ex)
        z = np.stack([(ex.x[:, 0] - center) / scale, ex.x[:, 1] / scale], 1)
        zs.append(z)
        ins.append(ex.in_scope)
        right.append(ex.correct)
        top2.append(ex.in_top2)
        w.append(weigh(ex, PRIOR_OOS).weight / len(ex.x))
        print(json.dumps({"set": name, "center": round(center, 2), "scale": round(scale, 2)}))
    z, i, r, t2, ww = (np.concatenate(a) for a in (zs, ins, right, top2, w))
    in_scope = Logistic.fit(z[:, :1], i.astype(int), ww / ww.mean())
    answer = Logistic.fit(z[i], r[i].astype(int), ww[i] / ww[i].mean())
    either = Logistic.fit(z[i][:, :1], t2[i].astype(int), ww[i] / ww[i].mean())
    answer_top = Logistic.fit(z[i][:, :1], r[i].astype(int), ww[i] / ww[i].mean())
    rnd = lambda m: {"coef": [round(c, 2) for c in m.coef], "intercept": round(m.intercept, 2)}  # noqa: E731
    return {"in_scope": rnd(in_scope), "answer": rnd(answer), "either": rnd(either), "answer_top": rnd(answer_top)}


def frontier(name: str, shares: list[float]) -> dict:
    from scipy.stats import norm

    ex, x, correct, in_scope = build(name)
    answer = Logistic.fit(x[in_scope], correct[in_scope].astype(int))
    p_ans = answer.predict(x)
    top_in = x[in_scope, 0]
    top_out = x[~in_scope, 0] if (~in_scope).any() else ex.x[~ex.in_scope, 0]
    f_in, f_out = norm(top_in.mean(), top_in.std()), norm(top_out.mean(), top_out.std())
    row: dict = {"set": name, "real_share": round(float((~in_scope).mean()), 3)}
    if (~in_scope).any():
        # Both factors fitted on the set's own queries: the best AUROC a calibrated confidence over
        # [top, margin] reaches, beside the raw top score's.
        z = prior_for(ex).standardise(x)
        own = Logistic.fit(z[:, :1], in_scope.astype(int)).predict(z[:, :1])
        p = own * Logistic.fit(z[in_scope], correct[in_scope].astype(int)).predict(z)
        row["raw_top_auroc"] = round(float(auroc(x[in_scope, 0], x[~in_scope, 0]) or 0), 3)
        row["oracle_auroc"] = round(float(auroc(p[in_scope], p[~in_scope]) or 0), 3)
        row["oracle_ece"] = round(ece(p, correct)[0], 3)
    for pi in shares:
        a, b = (1 - pi) * f_in.pdf(x[:, 0]), pi * f_out.pdf(x[:, 0])
        row[f"ece@{pi}"] = round(ece(a / (a + b) * p_ans, correct)[0], 3)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", default="clinc150,banking77,hwu64,tianchi_covid_zh")
    ap.add_argument("--priors", default="0.05,0.1,0.2")
    ap.add_argument("--fit-prior", action="store_true")
    ap.add_argument("--frontier", action="store_true")
    ap.add_argument("--far-share", type=float, help="selfcal.FAR_SHARE to measure with (default: qa's)")
    args = ap.parse_args()
    if args.far_share is not None:
        selfcal.FAR_SHARE = args.far_share
    if args.fit_prior:
        print(json.dumps(fit_prior()))
        return
    if args.frontier:
        for name in args.sets.split(","):
            print(json.dumps(frontier(name, [0.0, 0.05, 0.1, 0.2, 0.33])), flush=True)
        return
    for name in args.sets.split(","):
        ex, x, correct, in_scope = build(name)
        schemes = {"raw-top": None}
        for prior in (float(p) for p in args.priors.split(",")):
            cal = prior_for(ex, prior)
            schemes[f"prior pi={prior}"] = lambda z, c=cal: np.array([c.confidence(r) for r in z])
        if int(ex.in_scope.sum()) >= 30:
            schemes["one-logistic pi=.2"] = one_logistic(ex)
            for prior in (float(p) for p in args.priors.split(",")):
                cal = fit(weigh(ex, prior), source="lab")
                schemes[f"self pi={prior}"] = lambda z, c=cal: np.array([c.confidence(r) for r in z])
                cal = fit(weigh(ex, prior), source="lab", use_margin=True)
                schemes[f"self pi={prior}, with margin"] = lambda z, c=cal: np.array([c.confidence(r) for r in z])
        for label, fn in schemes.items():
            p = x[:, 0] if fn is None else fn(x)
            au = auroc(p[in_scope], p[~in_scope])
            e = None if fn is None else round(ece(p, correct)[0], 3)
            print(
                json.dumps({"set": name, "scheme": label, "ece": e, "auroc": None if au is None else round(au, 3)}),
                flush=True,
            )


if __name__ == "__main__":
    main()
