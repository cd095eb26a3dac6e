"""Speed of the default configuration. Prints one JSON line per measurement.

- ask latency (p50/p99) at 1k, 10k and 100k entries. The KBs are synthetic: entries reuse the
  questions and alternates of ../shared/data with a numbered suffix; their vectors are the real
  vectors of the base texts plus a little noise, written straight into the KB (embedding 300k
  texts with e5 would take an hour and measures nothing new). Questions are real English queries,
  embedded for real on every ask.
- build throughput: `qa index` over real texts vs. the encoder's own batch throughput;
- re-index after changing one entry of the 100k KB;
- a cold `qa ask` in a new process.

    python bench/speed.py [--sizes 1000,10000,100000] [--queries 300]
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

import numpy as np

from qa import indexing
from qa.bot import Bot
from qa.encoders import registry
from qa.kb.entry import Entry, text_hash
from qa.kb.store import KnowledgeBase

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
EN_SETS = ["clinc150", "banking77", "hwu64"]


def emit(**kw: object) -> None:
    print(json.dumps(kw, ensure_ascii=False), flush=True)


def base_texts() -> tuple[list[str], list[str]]:
    texts, queries = [], []
    for s in EN_SETS:
        for line in (DATA / s / "kb.jsonl").read_text().splitlines():
            d = json.loads(line)
            texts += [d["question"], *d.get("alternates", [])]
        queries += [json.loads(x)["query"] for x in (DATA / s / "queries.jsonl").read_text().splitlines()]
    return list(dict.fromkeys(texts)), queries


def synthetic_kb(path: Path, n: int, texts: list[str], base_vecs: dict[str, np.ndarray]) -> KnowledgeBase:
    rng = np.random.default_rng(n)
    kb = KnowledgeBase(path)
    entries, rows = [], []
    for k in range(n):
        picks = rng.integers(0, len(texts), 3)
        tx = [f"{texts[i]} #{k}" for i in picks]
        entries.append(Entry(f"e{k}", tx[0], f"answer {k}", tx[1:], "en"))
        rows += [(t, texts[i]) for t, i in zip(tx, picks, strict=True)]
    kb.upsert(entries)
    for enc_id, vecs in base_vecs.items():
        index_of = {t: i for i, t in enumerate(texts)}
        mat = vecs[[index_of[b] for _, b in rows]] + rng.normal(0, 0.02, (len(rows), vecs.shape[1])).astype(np.float32)
        mat /= np.linalg.norm(mat, axis=1, keepdims=True)
        kb.store_vectors(enc_id, [text_hash(t) for t, _ in rows], mat)
    kb.set_settings({"model": list(base_vecs)})
    return kb


def ask_latency(bot: Bot, queries: list[str], n: int) -> None:
    for q in queries[:5]:
        bot.ask(q, log=False)
    times = []
    for q in queries:
        t = time.perf_counter()
        bot.ask(q, log=False)
        times.append((time.perf_counter() - t) * 1000)
    t0 = time.perf_counter()
    qv = bot.embedder.embed(queries[0], bot.index.encoders_needed("en"))
    for _ in range(50):
        bot.index.score(qv, queries[0], "en")
    search_ms = (time.perf_counter() - t0) * 1000 / 50
    emit(
        measure="ask_latency_ms",
        entries=n,
        texts=len(bot.index.texts),
        p50=round(float(np.percentile(times, 50)), 2),
        p99=round(float(np.percentile(times, 99)), 2),
        search_only_ms=round(search_ms, 2),
        queries=len(queries),
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--queries", type=int, default=300)
    args = ap.parse_args()
    if not DATA.is_dir():
        sys.exit(f"No data at {DATA}")
    texts, queries = base_texts()
    rng = np.random.default_rng(0)
    queries = [queries[i] for i in rng.permutation(len(queries))[: args.queries]]
    encoders = [registry.create(i) for i in registry.AUTO]

    with tempfile.TemporaryDirectory() as tmp:
        # build throughput: the encoder alone vs. indexing a KB of the same texts
        sample = texts[:2000]
        for enc in encoders:
            enc.embed(sample[:64])
            t = time.perf_counter()
            enc.embed(sample)
            own = len(sample) / (time.perf_counter() - t)
            kb = KnowledgeBase(Path(tmp) / f"build-{enc.id}.db")
            kb.upsert([Entry(f"b{i}", s, "", [], "en") for i, s in enumerate(sample)])
            t = time.perf_counter()
            indexing.index(kb, [enc], switch=True)
            via = len(sample) / (time.perf_counter() - t)
            emit(
                measure="build_texts_per_s",
                encoder=enc.id,
                encoder_alone=round(own),
                qa_index=round(via),
                ratio=round(via / own, 3),
            )
        base = {enc.id: enc.embed(texts) for enc in encoders}
        last = None
        for n in [int(s) for s in args.sizes.split(",")]:
            t = time.perf_counter()
            kb = synthetic_kb(Path(tmp) / f"kb{n}.db", n, texts, base)
            built = time.perf_counter() - t
            t = time.perf_counter()
            bot = Bot(kb, encoders)
            emit(
                measure="open_kb_s",
                entries=n,
                build_synthetic_s=round(built, 1),
                load_and_calibrate_s=round(time.perf_counter() - t, 2),
            )
            ask_latency(bot, queries, n)
            last = (kb, bot, n)
        if last:
            kb, bot, n = last
            e = kb.get("e7")
            e.alternates = [*e.alternates, "a brand new way to ask this"]
            kb.upsert([e])
            t = time.perf_counter()
            report = indexing.index(kb, encoders)
            reindex = (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            bot.ask(queries[0], log=False)
            reload_ms = (time.perf_counter() - t) * 1000
            emit(
                measure="reindex_one_entry_ms",
                entries=n,
                index_ms=round(reindex, 1),
                embedded=report.embedded,
                next_ask_with_reload_ms=round(reload_ms, 1),
            )
            # as under qa serve: the change is loaded on a thread while questions get the old index
            served = Bot(KnowledgeBase(kb.path), encoders, background_reload=True)
            for q in queries[1:21]:  # a server that has been answering for a while
                served.ask(q, log=False)
            e.alternates = [*e.alternates, "yet another way to ask this"]
            kb.upsert([e])
            indexing.index(kb, encoders)
            t = time.perf_counter()
            served.ask(queries[0], log=False)
            first_ms = (time.perf_counter() - t) * 1000
            during = []
            while served.reloading:
                q0 = time.perf_counter()
                served.ask(queries[len(during) % len(queries)], log=False)
                during.append((time.perf_counter() - q0) * 1000)
            emit(
                measure="background_reload",
                entries=n,
                first_ask_after_change_ms=round(first_ms, 1),
                new_index_in_use_after_s=round(time.perf_counter() - t, 1),
                asks_meanwhile=len(during),
                p50_meanwhile_ms=round(float(np.percentile(during, 50)), 1) if during else None,
                p99_meanwhile_ms=round(float(np.percentile(during, 99)), 1) if during else None,
            )

        # a cold `qa ask` in a new process, on a 1k KB
        small = Path(tmp) / "kb1000.db"
        if small.exists():
            env = dict(os.environ)
            cmd = [str(Path(sys.executable).parent / "qa"), "ask", queries[1], "--db", str(small)]
            subprocess.run(cmd, env=env, capture_output=True, check=True)
            walls = []
            for _ in range(5):
                t = time.perf_counter()
                subprocess.run(cmd, env=env, capture_output=True, check=True)
                walls.append(time.perf_counter() - t)
            emit(
                measure="cold_qa_ask_s",
                entries=1000,
                median=round(float(np.median(walls)), 3),
                runs=[round(w, 3) for w in walls],
            )


if __name__ == "__main__":
    main()
