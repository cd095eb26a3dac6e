"""Answer quality of the default configuration on every set in ../shared/data, through the CLI.

For each set (every folder of ../shared/data with a kb.jsonl and a queries.jsonl): `qa import
kb.jsonl` into a fresh KB (it measures and calibrates itself, no tuning on the queries), then `qa
eval queries.jsonl --json`. Prints that JSON (plus timings, and the best single model's hit@1 and
AUROC from bench/single_models.py beside it) as one line per set, or with --table the Markdown
tables the README carries: qa's figures, and qa against the best single model.

    python bench/quality.py [--model auto] [--sets clinc150,banking77] [--data ../shared/data] [--table]
    python bench/quality.py --oos-share true   # `qa tune --oos-share` with each set's real share first

`--oos-share true` is not the default configuration: it tells each KB the share of its queries
that are out of scope (a number a deployment knows roughly; never fitted here), to show what that
assumption alone does to calibration.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `bench` and `qa` from a clone

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
QA = [sys.executable, "-m", "qa"]
COLUMNS = [
    ("hit@1", "hit@1"),
    ("mrr@10", "MRR@10"),
    ("recall@5", "recall@5"),
    ("auroc", "AUROC"),
    ("answered_accuracy", "answered accuracy"),
    ("coverage", "coverage"),
    ("fallback_recall", "fallback recall"),
    ("ambiguous_rate", "did-you-mean rate"),
    ("ece", "ECE"),
]


def qa(*args: str, env: dict[str, str]) -> str:
    r = subprocess.run([*QA, *args], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        sys.exit(f"qa {' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout


def evaluate_set(path: Path, model: str, workdir: Path, oos_share: str = "") -> dict:
    env = {**os.environ, "XDG_DATA_HOME": str(workdir / "data")}
    db = str(workdir / f"{path.name}.db")
    t0 = time.perf_counter()
    qa("import", str(path / "kb.jsonl"), "--db", db, "--model", model, env=env)
    built = time.perf_counter() - t0
    queries = path / "queries.jsonl"
    if oos_share:
        rows = [json.loads(x) for x in queries.read_text(encoding="utf-8").splitlines() if x.strip()]
        share = sum(not r["gold"] for r in rows) / len(rows) if oos_share == "true" else float(oos_share)
        qa("tune", "--db", db, "--oos-share", f"{min(share, 0.9):.4f}", env=env)
    t1 = time.perf_counter()
    m = json.loads(qa("eval", str(queries), "--db", db, "--json", env=env))
    asked = time.perf_counter() - t1
    stats = json.loads(qa("stats", "--db", db, "--json", env=env))
    m.pop("reliability", None)
    try:
        from bench.single_models import best

        bar = best(path)
    except Exception as e:  # the bar is context; a set it cannot measure still gets qa's figures
        bar = {"best_error": str(e)}
    return {
        "set": path.name,
        "model": model,
        **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in m.items() if k != "worst_confusions"},
        "oos_share": stats["oos_share"] if stats["oos_share"] is not None else 0.1,
        "answer_threshold": stats["answer_threshold"],
        "mixes": stats.get("mixes"),
        **bar,
        "import_s": round(built, 1),
        "eval_s": round(asked, 1),
        "worst_confusions": m.get("worst_confusions", [])[:3],
    }


def table(rows: list[dict]) -> str:
    head = "| set | " + " | ".join(label for _, label in COLUMNS) + " | calibration |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 2)]
    for r in rows:
        cells = ["–" if r.get(k) is None else f"{r[k]:.3f}".lstrip("0") for k, _ in COLUMNS]
        oos = f", {r['n_out_of_scope']} out of scope" if r["n_out_of_scope"] else ""
        lines.append(f"| {r['set']} ({r['n']} queries{oos}) | " + " | ".join(cells) + f" | {r['calibration']} |")
    return "\n".join(lines)


def versus(rows: list[dict]) -> str:
    """qa against the best single model (hit@1 and AUROC, each chosen with hindsight per set)."""
    lines = [
        "| set | best single hit@1 | qa hit@1 | best single AUROC | qa AUROC | ECE |",
        "|---|---|---|---|---|---|",
    ]

    def f(v: float | None) -> str:
        return "–" if v is None else f"{v:.3f}".lstrip("0")

    for r in rows:
        lines.append(
            f"| {r['set']} | {f(r.get('best_hit@1'))} ({r.get('best_hit@1_model', '?')}) | {f(r['hit@1'])} | "
            f"{f(r.get('best_auroc'))} ({r.get('best_auroc_model') or '–'}) | {f(r['auroc'])} | {f(r['ece'])} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="auto")
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--sets", default="")
    ap.add_argument("--oos-share", default="", help="'true' (each set's real share) or a number; default: qa's")
    ap.add_argument("--table", action="store_true", help="print the README's Markdown table instead of JSON lines")
    args = ap.parse_args()
    data = Path(args.data)
    if not data.is_dir():
        sys.exit(f"No evaluation data at {data}")
    sets = (
        [data / s for s in args.sets.split(",")]
        if args.sets
        else sorted(p for p in data.iterdir() if (p / "kb.jsonl").is_file() and (p / "queries.jsonl").is_file())
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for s in sets:
            row = evaluate_set(s, args.model, Path(tmp), args.oos_share)
            rows.append(row)
            if not args.table:
                print(json.dumps(row, ensure_ascii=False), flush=True)
    if args.table:
        print(table(rows))
        print()
        print(versus(rows))


if __name__ == "__main__":
    main()
