"""How similar are texts of different entries? The measurement behind qa.duplicates.DEFAULT_THRESHOLDS.

For each set: import kb.jsonl into a fresh KB with the model, then per encoder signal print one
JSON line with the distribution of each text's best similarity to a text of ANOTHER entry (in
these sets every entry is a distinct intent: what a threshold should rarely flag) beside its best
similarity to another text of its OWN entry (paraphrases of one intent), the share of each above
candidate thresholds, the entry pairs `qa dupes` would flag at each, and the closest pairs.

    python bench/dupes.py [--model auto] [--sets clinc150,banking77] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from qa import indexing
from qa.bot import Bot
from qa.duplicates import near_duplicates
from qa.encoders import registry
from qa.kb.formats import read_file
from qa.kb.store import KnowledgeBase
from qa.likeness import nearest

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
CANDIDATES = (0.8, 0.85, 0.88, 0.9, 0.92, 0.94, 0.96, 0.97, 0.98, 0.99)
PERCENTILES = (50, 90, 95, 99)


def distribution(x: np.ndarray) -> dict:
    if not len(x):
        return {"n": 0}
    return {
        "n": len(x),
        **{f"p{p}": round(float(np.percentile(x, p)), 3) for p in PERCENTILES},
        "max": round(float(x.max()), 3),
        "share_at_or_above": {str(t): round(float((x >= t).mean()), 4) for t in CANDIDATES},
    }


def same_entry_best(vectors: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Each text's best cosine to another text of its own entry (texts with no sibling left out)."""
    out = []
    for e in np.unique(owner):
        rows = vectors[owner == e]
        if len(rows) < 2:
            continue
        s = rows @ rows.T
        np.fill_diagonal(s, -np.inf)
        out.append(s.max(1))
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def measure_set(path: Path, model: str, workdir: Path) -> list[dict]:
    t0 = time.perf_counter()
    kb = KnowledgeBase(workdir / f"{path.name}.db")
    encoders = [registry.create(i) for i in registry.expand(model)]
    kb.upsert(read_file(str(path / "kb.jsonl")), replace=True)
    indexing.index(kb, encoders, switch=True)
    index = Bot(kb, encoders).index
    built = time.perf_counter() - t0
    lines = []
    for enc, sig in index.signals.items():
        if len(sig.text_idx) < 2:
            continue
        owner = index.text_entry[sig.text_idx]
        t1 = time.perf_counter()
        nb, sims = nearest(sig.vectors, owner, k=1)
        took = time.perf_counter() - t1
        cross = sims[:, 0]
        flagged = {}
        for t in CANDIDATES:
            pairs = [p for p in near_duplicates(index, t) if p[5] == enc]
            flagged[str(t)] = len(pairs)
        top = sorted(near_duplicates(index, 0.75), key=lambda p: -p[4])
        closest = [
            {
                "similarity": round(p[4], 3),
                "a": index.entry_ids[p[0]],
                "b": index.entry_ids[p[1]],
                "a_text": index.texts[p[2]],
                "b_text": index.texts[p[3]],
            }
            for p in top
            if p[5] == enc
        ][:8]
        lines.append(
            {
                "set": path.name,
                "model": model,
                "encoder": enc,
                "entries": len(sig.entry_idx),
                "texts": len(sig.text_idx),
                "cross_entry_best": distribution(cross),
                "same_entry_best": distribution(same_entry_best(sig.vectors, owner)),
                "entry_pairs_flagged": flagged,
                "closest_pairs": closest,
                "build_s": round(built, 1),
                "neighbours_s": round(took, 3),
            }
        )
    kb.close()
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="auto")
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--sets", default="clinc150,banking77")
    args = ap.parse_args()
    data = Path(args.data)
    if not data.is_dir():
        sys.exit(f"No evaluation data at {data}")
    with tempfile.TemporaryDirectory() as tmp:
        for s in args.sets.split(","):
            for line in measure_set(data / s, args.model, Path(tmp)):
                print(json.dumps(line, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
