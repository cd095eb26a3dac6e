"""The best single model on each set: plain cosine, an entry's score = its best text, per encoder
(MiniLM, USE multilingual, e5-small) and BM25 alone; hit@1 over answerable queries and the AUROC
of the top score (answerable vs out of scope). This is what one off-the-shelf model gives, chosen
with hindsight per set: the bar bench/quality.py prints beside qa.

Results are cached per set (keyed by the md5 of its two files) in $XDG_CACHE_HOME/qa/bench; the
embeddings are those of bench/explore_scoring.py (first run: minutes per set on 2 cores).

    python bench/single_models.py [--sets clinc150,covidfaq_jhu] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `bench` and `qa` from a clone

import numpy as np

from bench.explore_scoring import CACHE, DATA, embed
from qa.evaluate import auroc
from qa.retrieval.lexical import LexicalIndex

MODELS = {"minilm-l6-int8": "MiniLM", "use-m3": "USE multilingual", "e5-small-q4": "e5-small", "bm25": "BM25"}


def _rows(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def measure(folder: Path) -> dict[str, dict]:
    """{model: {"hit@1", "auroc"}} for one set, from the cache when its files are unchanged."""
    digest = hashlib.md5((folder / "kb.jsonl").read_bytes() + (folder / "queries.jsonl").read_bytes()).hexdigest()
    cache = CACHE / f"single.{folder.name}.{digest[:12]}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    kb, qs = _rows(folder / "kb.jsonl"), _rows(folder / "queries.jsonl")
    texts, owner = [], []
    for i, e in enumerate(kb):
        for t in [e["question"], *e.get("alternates", [])]:
            texts.append(t)
            owner.append(i)
    starts = np.searchsorted(np.array(owner), np.arange(len(kb)))
    ids = {e["id"]: i for i, e in enumerate(kb)}
    out = {}
    for model in MODELS:
        if model == "bm25":
            lex = LexicalIndex(texts)
            scores = np.stack([np.maximum.reduceat(lex.scores(q["query"]), starts) for q in qs])
        else:
            k, q = embed(folder.name, model, texts, [x["query"] for x in qs])
            scores = np.maximum.reduceat(q @ k.T, starts, axis=1)
        top, best = scores.argmax(1), scores.max(1)
        gold = [{ids[g] for g in q["gold"] if g in ids} for q in qs]
        hits = [top[i] in g for i, g in enumerate(gold) if g]
        au = auroc(best[[bool(g) for g in gold]], best[[not g for g in gold]])
        out[model] = {"hit@1": round(float(np.mean(hits)), 4), "auroc": None if au is None else round(au, 4)}
    CACHE.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(out))
    return out


def best(folder: Path) -> dict:
    """The best single model's hit@1 and AUROC on a set (each chosen with hindsight on its own)."""
    m = measure(folder)
    h = max(m, key=lambda k: m[k]["hit@1"])
    aurocs = {k: v["auroc"] for k, v in m.items() if v["auroc"] is not None}
    a = max(aurocs, key=lambda k: aurocs[k]) if aurocs else None
    return {
        "best_hit@1": m[h]["hit@1"],
        "best_hit@1_model": MODELS[h],
        "best_auroc": aurocs[a] if a else None,
        "best_auroc_model": MODELS[a] if a else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--sets", default="")
    args = ap.parse_args()
    data = Path(args.data)
    sets = [data / s for s in args.sets.split(",")] if args.sets else sorted(p for p in data.iterdir() if p.is_dir())
    for s in sets:
        print(json.dumps({"set": s.name, **measure(s), **best(s)}), flush=True)


if __name__ == "__main__":
    main()
