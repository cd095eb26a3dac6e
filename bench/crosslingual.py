"""Chinese questions against an English KB, and English questions against a Chinese KB.

The bundled KB (qa/knowledge/en.yaml, qa/knowledge/zh.yaml) holds the same 84 topics in both languages,
with ids `en-X` and `zh-X`. Each direction imports one language as the KB (self-calibrated from its
own alternates, as `qa import` does) and asks every question and alternate of the other language,
whose right answer is the entry with the same topic. When ../shared/data is there, it also asks
--oos questions in the question language that the KB cannot answer (Chinese: tianchi_covid_zh
queries, medical; English: clinc150's out-of-scope queries), so out-of-scope detection across
languages is measured too. A second run per direction (`"hidden": 0.5`) drops a seeded half of the
KB's entries and asks their questions as out of scope: unanswerable questions about the KB's own
subject, the hard kind. Prints one JSON line per (direction, model, hidden) with the metrics of
`qa eval`.

    python bench/crosslingual.py [--models auto,minilm+e5,e5,use] [--oos 300]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from qa import indexing
from qa.bot import Bot
from qa.encoders import registry
from qa.evaluate import Labelled, metrics, run
from qa.kb.formats import read_file
from qa.kb.store import KnowledgeBase

KNOWLEDGE = Path(__file__).resolve().parent.parent / "qa" / "knowledge"
DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def out_of_scope(lang: str, n: int) -> list[Labelled]:
    """`n` questions in `lang` about other things than qa (none without ../shared/data)."""
    path = DATA / ("tianchi_covid_zh" if lang == "zh" else "clinc150") / "queries.jsonl"
    if not n or not path.is_file():
        return []
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    picked = [r["query"] for r in rows if lang == "zh" or not r["gold"]]
    return [Labelled(q, []) for q in picked[:n]]


def direction(kb_lang: str, q_lang: str, model: str, workdir: Path, n_oos: int, hidden: float = 0.0) -> dict:
    entries = read_file(str(KNOWLEDGE / f"{kb_lang}.yaml"))
    questions = read_file(str(KNOWLEDGE / f"{q_lang}.yaml"))
    if hidden:
        rng = np.random.default_rng(0)
        entries = [entries[i] for i in sorted(rng.permutation(len(entries))[int(hidden * len(entries)) :])]
    topics = {e.id[3:] for e in entries}
    kb = KnowledgeBase(workdir / f"{kb_lang}-{model}-{hidden}.db")
    kb.upsert(entries, replace=True)
    encoders = [registry.create(i) for i in registry.expand(model)]
    indexing.index(kb, encoders, switch=True)
    bot = Bot(kb, encoders)
    labelled = [
        Labelled(t, [f"{kb_lang}-{e.id[3:]}"] if e.id[3:] in topics else []) for e in questions for t in e.texts()
    ]
    if not hidden:
        labelled += out_of_scope(q_lang, n_oos)
    m = metrics(run(lambda q: bot.ask(q, top_k=10, log=False), labelled))
    m.pop("reliability")
    keep = (
        "n",
        "n_out_of_scope",
        "hit@1",
        "mrr@10",
        "auroc",
        "answered_accuracy",
        "coverage",
        "fallback_recall",
        "ambiguous_rate",
        "ece",
    )
    return {
        "direction": f"{q_lang}->{kb_lang}",
        "model": model,
        "hidden": hidden,
        **{k: round(m[k], 4) if isinstance(m[k], float) else m[k] for k in keep},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="auto,minilm+e5,e5,use")
    ap.add_argument("--oos", type=int, default=300, help="out-of-scope questions per direction (0: none)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for kb_lang, q_lang in (("en", "zh"), ("zh", "en")):
            for model in args.models.split(","):
                for hidden in (0.0, 0.5):
                    row = direction(kb_lang, q_lang, model, Path(tmp), args.oos, hidden)
                    print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
