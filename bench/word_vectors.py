"""Word-vector encoders on a labelled FAQ set: hit@1 and MRR@10, with and without common component removal.

The KB is each entry's question plus its alternates; a query is scored against every text by cosine and
an entry's score is the best of its texts. Out-of-scope queries (no gold entry) are left out. Prints one
JSON line per run.

    python bench/word_vectors.py                       # GloVe-SIF on ../shared/data/clinc150
    python bench/word_vectors.py --trained --data DIR  # also FastText / Word2Vec trained on the KB texts
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from qa.encoders import word_vectors as wv
from qa.encoders.base import Encoder

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "clinc150"


def load(folder: Path) -> tuple[list[str], list[str], list[str], list[str]]:
    """(text, its entry id) for every KB text, and (query, gold entry id) for in-scope queries."""
    texts, owners = [], []
    for line in (folder / "kb.jsonl").open(encoding="utf-8"):
        e = json.loads(line)
        for t in [e["question"], *e.get("alternates", [])]:
            texts.append(t)
            owners.append(e["id"])
    queries, gold = [], []
    for line in (folder / "queries.jsonl").open(encoding="utf-8"):
        q = json.loads(line)
        if q["gold"]:
            queries.append(q["query"])
            gold.append(q["gold"][0])
    return texts, owners, queries, gold


def score(enc: Encoder, texts: list[str], owners: list[str], queries: list[str], gold: list[str]) -> dict[str, float]:
    entries = sorted(set(owners))
    col = {e: i for i, e in enumerate(entries)}
    owner_col = np.array([col[o] for o in owners])
    sims = enc.embed(queries) @ enc.embed(texts).T  # (queries, texts)
    best = np.full((len(queries), len(entries)), -np.inf, dtype=np.float32)
    for j in range(len(entries)):
        best[:, j] = sims[:, owner_col == j].max(axis=1)
    gold_col = np.array([col[g] for g in gold])
    rank = (best > best[np.arange(len(queries)), gold_col][:, None]).sum(axis=1)  # 0 = first
    return {
        "hit@1": round(float((rank == 0).mean()), 4),
        "mrr@10": round(float(np.where(rank < 10, 1.0 / (rank + 1), 0.0).mean()), 4),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--trained", action="store_true", help="also train FastText and Word2Vec on the KB texts")
    args = ap.parse_args()
    texts, owners, queries, gold = load(args.data)
    base = {"dataset": args.data.name, "texts": len(texts), "queries": len(queries)}

    runs: list[tuple[str, dict[str, object], Encoder]] = []
    t = time.perf_counter()
    glove = wv.glove_encoder(texts)
    ready = round(time.perf_counter() - t, 2)
    runs.append(("glove-sif", {"common_component_removed": True, "ready_s": ready}, glove))
    runs.append(("glove-sif", {"common_component_removed": False}, wv.glove_encoder(texts, u=np.zeros(glove.dim))))
    if args.trained:
        for kind in ("fasttext", "word2vec"):
            t = time.perf_counter()
            data, meta = wv.train(texts, kind)
            info = {"train_s": round(time.perf_counter() - t, 2), "bytes": len(data), "epochs": meta["epochs"]}
            enc = wv.from_stored("bench", kind, data, meta)
            runs.append((enc.id, {"common_component_removed": True, **info}, enc))
            plain = wv.from_stored("bench", kind, data, meta)
            plain.u = np.zeros(plain.dim, np.float32)
            runs.append((enc.id, {"common_component_removed": False}, plain))
    for name, info, encoder in runs:
        t = time.perf_counter()
        result = score(encoder, texts, owners, queries, gold)
        print(json.dumps({**base, "model": name, **info, **result, "score_s": round(time.perf_counter() - t, 2)}))


if __name__ == "__main__":
    main()
