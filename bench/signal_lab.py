"""What a KB's own measurement chooses, against what its real questions would have chosen.

For each set of ../shared/data whose questions and entries share one language: qa's SearchIndex over
the KB with every encoder that serves it (cached embeddings, bench/explore_scoring.py), the mix of
signals qa/retrieval/selfmeasure.py chooses from the KB alone, and every candidate mix scored on the
set's real questions. Prints, per set: the chosen mix with its held-out and real hit@1 and AUROC of the
top score, the starting (default) mix, and the best mix on the real questions (an oracle: it is
chosen on the queries, so it only says how much room the choice leaves).

    python bench/signal_lab.py [--sets clinc150,covidfaq_jhu] [--answers]

`--answers` also measures the entries' answers as a signal (e5 cosine of the question to the answer,
z-scored, and BM25 over the answers) added to the chosen mix at 0.25 and 0.5, on sets with answers:
on covidfaq_jhu (real answers of ~80 words) it moved hit@1 by under .01, so qa does not embed answers.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `bench` and `qa` from a clone

from bench.calibration_lab import default_vectors, index_for  # noqa: E402
from bench.explore_scoring import CACHE, embed  # noqa: E402
from qa.evaluate import auroc  # noqa: E402
from qa.retrieval import selfmeasure  # noqa: E402
from qa.retrieval.lexical import LexicalIndex  # noqa: E402

SETS = "clinc150,banking77,hwu64,hint3_sofmattress,covidfaq_jhu,tianchi_covid_zh,smp2017_zh"


def real_signals(name: str):
    kb, qs, texts, owner, lang, vec, qvec = default_vectors(name)
    index = index_for(kb, texts, owner, vec, lang)
    rows = [index.signal_scores({e: v[k] for e, v in qvec.items()}, q["query"], lang)[1] for k, q in enumerate(qs)]
    signals = {s: np.stack([r[s] for r in rows]) for s in rows[0]}
    ids = {e["id"]: i for i, e in enumerate(kb)}
    gold = [{ids[g] for g in q["gold"]} for q in qs]
    return kb, qs, texts, lang, index, signals, gold


def measure(mix_total: np.ndarray, gold: list[set[int]]) -> dict:
    top, best = mix_total.argmax(1), mix_total.max(1)
    ins = np.array([bool(g) for g in gold])
    hits = [top[i] in g for i, g in enumerate(gold) if g]
    au = auroc(best[ins], best[~ins])
    return {"hit@1": round(float(np.mean(hits)), 3), "auroc": None if au is None else round(au, 3)}


def total(mix: selfmeasure.Mix, signals: dict[str, np.ndarray]) -> np.ndarray:
    out = mix.lexical * signals["bm25"]
    for enc, w in mix.parts:
        out = out + w * signals[enc]
    return out


def answers(name: str, kb: list[dict], qs: list[dict], texts: list[str]) -> dict[str, np.ndarray] | None:
    ans = [e.get("answer", "") for e in kb]
    if not any(ans):
        return None
    path = CACHE / f"{name}.e5-small-q4.answers.npy"
    if path.exists():
        a = np.load(path)
    else:
        from qa.encoders import registry

        a = registry.create("e5-small-q4").embed([x or " " for x in ans])
        np.save(path, a)
    k, q = embed(name, "e5-small-q4", texts, [x["query"] for x in qs])
    owner = np.repeat(np.arange(len(kb)), [1 + len(e.get("alternates", [])) for e in kb])
    ta = k @ a.T
    other = owner[:, None] != np.arange(len(kb))[None, :]
    dense = (q @ a.T - ta[other].mean()) / ta[other].std()
    lex = LexicalIndex(ans)
    return {"dense": dense, "bm25": np.stack([lex.scores(x["query"]) for x in qs])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", default=SETS)
    ap.add_argument("--answers", action="store_true")
    args = ap.parse_args()
    for name in args.sets.split(","):
        kb, qs, texts, lang, index, signals, gold = real_signals(name)
        choice = selfmeasure.choose(index, lang)
        encoders = [e for e in index.candidate_encoders(lang, lang) if e in signals]
        mixes = selfmeasure.candidate_mixes(encoders, choice.default.mix)
        real = {m: measure(total(m, signals), gold) for m in mixes}
        oracle = max(real, key=lambda m: real[m]["hit@1"])
        row = {
            "set": name,
            "source": choice.source,
            "held_out_examples": choice.n_examples,
            "chosen": {**choice.chosen.to_json(), "real": measure(total(choice.chosen.mix, signals), gold)},
            "default": {**choice.default.to_json(), "real": real[choice.default.mix]},
            "best_on_real_questions": {**oracle.to_json(), "real": real[oracle]},
        }
        if args.answers:
            extra = answers(name, kb, qs, texts)
            if extra is not None:
                base = total(choice.chosen.mix, signals)
                row["with_answers"] = {
                    f"{kind} x{w}": measure(base + w * extra[kind], gold)
                    for kind in ("dense", "bm25")
                    for w in (0.25, 0.5)
                }
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
