"""Compare calibration schemes on ../shared/data without re-embedding (for the quality issue).

For each set: the KB's held-out examples (selfcal.held_out_examples) and every real query's fused
scores, from cached embeddings (bench/explore_scoring.py makes them). Prints ECE and AUROC of
  - `current`: qa's self-calibration (one logistic over [top score, margin]);
  - `raw-top`: the top fused score alone (AUROC only: it is not a probability);
  - `two-factor pi=P`: P(in scope | top score) x P(right | in scope, score, margin), with
    out-of-scope examples weighted to a share P.

    python -m bench.calibration_lab [--sets clinc150,banking77]
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from bench.explore_scoring import embed, load
from qa.evaluate import auroc, ece
from qa.retrieval.calibration import Logistic, features
from qa.retrieval.index import NEG, SearchIndex
from qa.retrieval.selfcal import fit, held_out_examples, weigh

LANGS = {"minilm-l6-int8": frozenset({"en"}), "e5-small-q4": frozenset({"*"})}


def build(name: str):
    kb, qs, texts, owner = load(name)
    encs = ["e5-small-q4"] if name.endswith("_zh") else ["minilm-l6-int8", "e5-small-q4"]
    vec, qvec = {}, {}
    for e in encs:
        vec[e], qvec[e] = embed(name, e, texts, [q["query"] for q in qs])
    lang = "zh" if name.endswith("_zh") else "en"
    index = SearchIndex.build(
        entry_ids=[e["id"] for e in kb],
        entry_langs=[lang] * len(kb),
        entry_tags=[[] for _ in kb],
        texts=texts,
        text_entry=owner,
        vectors=vec,
        languages={e: LANGS[e] for e in encs},
    )
    ids = {e["id"]: i for i, e in enumerate(kb)}
    x, correct, in_scope = [], [], []
    for k, q in enumerate(qs):
        full = index.score({e: v[k] for e, v in qvec.items()}, q["query"], lang).fused
        gold = {ids[g] for g in q["gold"]}
        x.append(features(full[full > NEG]))
        correct.append(bool(gold) and int(np.argmax(full)) in gold)
        in_scope.append(bool(gold))
    return held_out_examples(index), np.array(x), np.array(correct), np.array(in_scope)


def two_factor(ex, prior: float):
    n_in, n_out = int(ex.in_scope.sum()), int((~ex.in_scope).sum())
    w = np.where(ex.in_scope, (1 - prior) / n_in, prior / n_out) * len(ex.x)
    m_in = Logistic.fit(ex.x[:, :1], ex.in_scope.astype(int), w)
    m_right = Logistic.fit(ex.x[ex.in_scope], ex.correct[ex.in_scope].astype(int))
    return lambda x: m_in.predict(x[:, :1]) * m_right.predict(x)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", default="clinc150,banking77,hwu64,tianchi_covid_zh")
    args = ap.parse_args()
    for name in args.sets.split(","):
        ex, x, correct, in_scope = build(name)
        schemes = {"raw-top": None}
        if int(ex.in_scope.sum()) >= 10:
            cal = fit(weigh(ex, 0.2), source="lab")
            schemes["current"] = lambda z, cal=cal: np.array([cal.confidence(r) for r in z])
            for prior in (0.05, 0.1, 0.2):
                schemes[f"two-factor pi={prior}"] = two_factor(ex, prior)
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
