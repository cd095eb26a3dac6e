"""Answer quality of the default configuration on every set in ../shared/data.

For each set: import kb.jsonl as-is into a fresh KB (self-calibrated from its own alternates, no
tuning on the queries), ask every query, and print one JSON line of metrics (see qa/evaluate.py).

    python bench/quality.py [--model auto] [--sets clinc150,banking77] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from qa import indexing
from qa.bot import Bot
from qa.encoders import registry
from qa.evaluate import confusions, metrics, read_queries, run
from qa.kb.formats import read_file
from qa.kb.store import KnowledgeBase

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def evaluate_set(path: Path, model: str, workdir: Path) -> dict:
    t0 = time.perf_counter()
    kb = KnowledgeBase(workdir / f"{path.name}.db")
    encoders = [registry.create(i) for i in registry.expand(model)]
    kb.upsert(read_file(str(path / "kb.jsonl")), replace=True)
    indexing.index(kb, encoders, switch=True)
    bot = Bot(kb, encoders)
    built = time.perf_counter() - t0
    queries = read_queries(str(path / "queries.jsonl"))
    t1 = time.perf_counter()
    outs = run(lambda q: bot.ask(q, top_k=10, log=False), queries)
    asked = time.perf_counter() - t1
    m = metrics(outs)
    m.pop("reliability")
    return {
        "set": path.name,
        "model": model,
        **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in m.items()},
        "calibration": bot.calibration.source,
        "answer_threshold": round(bot.calibration.answer_threshold, 3),
        "build_s": round(built, 1),
        "ask_ms": round(1000 * asked / max(len(queries), 1), 2),
        "worst_confusions": confusions(outs, 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="auto")
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--sets", default="")
    args = ap.parse_args()
    data = Path(args.data)
    if not data.is_dir():
        sys.exit(f"No evaluation data at {data}")
    sets = [data / s for s in args.sets.split(",")] if args.sets else sorted(p for p in data.iterdir() if p.is_dir())
    with tempfile.TemporaryDirectory() as tmp:
        for s in sets:
            print(json.dumps(evaluate_set(s, args.model, Path(tmp)), ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
