"""Answer quality of the default configuration on every set in ../shared/data.

For each set: import kb.jsonl as-is into a fresh KB (self-calibrated from its own alternates, no
tuning on the queries), ask every query, and print one JSON line of metrics (see qa/evaluate.py).

    python bench/quality.py [--model auto] [--sets clinc150,banking77] [--data ../shared/data]
    python bench/quality.py --oos-share true   # as `qa tune --oos-share` with each set's real share

`--oos-share true` is not the default configuration: it tells each KB the share of its queries
that are out of scope (a number a deployment knows roughly, never fitted here), to show what the
assumption alone does to calibration.
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


def evaluate_set(path: Path, model: str, workdir: Path, oos_share: str = "") -> dict:
    t0 = time.perf_counter()
    kb = KnowledgeBase(workdir / f"{path.name}.db")
    encoders = [registry.create(i) for i in registry.expand(model)]
    kb.upsert(read_file(str(path / "kb.jsonl")), replace=True)
    indexing.index(kb, encoders, switch=True)
    bot = Bot(kb, encoders)
    built = time.perf_counter() - t0
    queries = read_queries(str(path / "queries.jsonl"))
    if oos_share:
        share = sum(not q.gold for q in queries) / len(queries) if oos_share == "true" else float(oos_share)
        kb.set_settings({"oos_share": share})
        bot.recalibrate()
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
        "oos_share": round(bot.oos_share(), 3),
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
    ap.add_argument("--oos-share", default="", help="'true' (each set's real share) or a number; default: qa's")
    args = ap.parse_args()
    data = Path(args.data)
    if not data.is_dir():
        sys.exit(f"No evaluation data at {data}")
    sets = [data / s for s in args.sets.split(",")] if args.sets else sorted(p for p in data.iterdir() if p.is_dir())
    with tempfile.TemporaryDirectory() as tmp:
        for s in sets:
            print(json.dumps(evaluate_set(s, args.model, Path(tmp), args.oos_share), ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
