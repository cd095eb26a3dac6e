"""Near-duplicate entries on ../shared/data: what `qa dupes` lists, and what it should.

Default: for each set, a KB with the model (built once, cached in $XDG_CACHE_HOME/qa/bench-dupes)
and a copy with PLANTED entries added (variants written for this bench of a text of an existing
entry, each with another answer, as a curator's import would bring in). One JSON line per set:
the pairs of entries listed before (the same text after folding case and punctuation, or the
cosine at the encoder's threshold) and after (qa.curate.duplicates.dupes: the same words, the cosine,
the spelling rule), how many planted pairs each finds (recall) and how many of its pairs are
planted ones (precision: on these sets every entry is a distinct intent or question, so a pair
of two original entries counts as wrong, although some are genuinely confusable; on
tianchi_covid_zh, whose KB has many real rewordings, precision is not counted), the planted
pairs `qa conflicts` lists, and the time of a full pass.

    python bench/dupes.py [--model auto] [--sets clinc150,banking77] [--data ../shared/data]
    python bench/dupes.py --distribution   # the cosines behind qa.curate.duplicates.DEFAULT_THRESHOLDS
    python bench/dupes.py --import-cost    # the end-of-import report: 1k entries into ~10k texts

--distribution prints, per encoder signal, each text's best similarity to a text of ANOTHER
entry beside its best similarity to another text of its OWN entry (paraphrases of one intent),
the share of each above candidate thresholds, the entry pairs flagged at each, the closest pairs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from qa import indexing
from qa.bot import Bot
from qa.curate.conflicts import check_changed, conflicts, encoder_embed
from qa.curate.duplicates import dupes, exact_duplicates, near_duplicates
from qa.curate.likeness import nearest
from qa.encoders import registry
from qa.kb.entry import Entry
from qa.kb.formats import read_file
from qa.kb.store import KnowledgeBase
from qa.text import detect_lang

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "qa" / "bench-dupes"
SETS = "clinc150,banking77,hwu64,hint3_sofmattress,covidfaq_jhu,smp2017_zh,xsid_zh2en,tianchi_covid_zh"
#: (set, entry id, its text, a variant of it, kind): the variants this bench plants, one entry each.
#: The kinds the issue names (a name spelt apart, case/punctuation, plural, Chinese full-/half-width
#: punctuation), and "near": a typo, a reordering, a word more or less.
PLANTED = [
    ("clinc150", "accept_reservations", "does redrobin take reservations", "Does Red Robin take reservations?", "name"),
    ("clinc150", "w2", "where can i locate my w-2 form", "Where can I locate my W2 form?", "case/punct"),
    ("clinc150", "date", "i need information on today's date", "I need information on todays date", "case/punct"),
    ("clinc150", "reminder", "tell me my reminders", "Tell me my reminder.", "plural"),
    (
        "clinc150",
        "international_fees",
        "does my usaa card have international transaction fees",
        "are there international transaction fees on my usaa card",
        "near",
    ),
    (
        "clinc150",
        "calories",
        "how many calories in this slice of pizza",
        "how many calroies in this slice of pizza",
        "near",
    ),
    (
        "banking77",
        "age_limit",
        "Whats the minimum age to have an account",
        "What's the minimum age to have an account?",
        "case/punct",
    ),
    ("banking77", "activate_my_card", "How do i activate my card", "How do I activate my cards?", "plural"),
    (
        "banking77",
        "verify_my_identity",
        "How do I verify my identity online",
        "how can I verify my identity online",
        "near",
    ),
    (
        "banking77",
        "activate_my_card",
        "Can someone assist me with activating my card?",
        "Can someone assist me with activating my new card?",
        "near",
    ),
    (
        "banking77",
        "age_limit",
        "What are age requirements for opening an account?",
        "What are the age requirments for opening an account?",
        "near",
    ),
    ("hwu64", "alarm_remove", "remove all alarms", "Remove all alarm.", "plural"),
    ("hwu64", "transport_taxi", "book a taxi uber", "Book a taxi (Uber)", "case/punct"),
    ("hwu64", "transport_taxi", "call a taxi for me", "please call a taxi for me", "near"),
    ("hwu64", "alarm_set", "set alarm at five am", "set an alarm at five am", "near"),
    ("hwu64", "iot_hue_lightoff", "turn off lights in my room", "turn of the lights in my room", "near"),
    (
        "hint3_sofmattress",
        "sofmattress-ABOUT_SOF_MATTRESS",
        "Tell me about SOF Mattress",
        "tell me about sof-mattresses",
        "plural",
    ),
    ("hint3_sofmattress", "sofmattress-COD", "COD option is availble?", "Is COD option available?", "near"),
    ("hint3_sofmattress", "sofmattress-CANCEL_ORDER", "How can I cancel my order", "How can i cancle my order", "near"),
    ("covidfaq_jhu", "jhucovid-09", "Should I wear a face mask?", "Should I wear a facemask?", "name"),
    ("covidfaq_jhu", "jhucovid-18", "What caused COVID-19?", "what caused covid 19", "case/punct"),
    (
        "covidfaq_jhu",
        "jhucovid-45",
        "What can I do to reduce my and my family's risk of getting COVID-19?",
        "What can I do to reduce my family's risk of getting COVID-19?",
        "near",
    ),
    ("smp2017_zh", "smp2017-bus", "从合肥到上海可以到哪坐车？", "从合肥到上海，可以到哪坐车?", "zh punct"),
    ("smp2017_zh", "smp2017-bus", "查看济南到东营的，汽车。", "查看济南到东营的汽车", "zh punct"),
    ("smp2017_zh", "smp2017-email", "帮我写个邮件", "帮我写一个邮件", "near"),
    ("xsid_zh2en", "xsid-reminder/show_reminders", "Read me my reminders.", "read me my reminder", "plural"),
    (
        "tianchi_covid_zh",
        "tcovid-00487",
        "肺气肿引发心脏问题能打感冒预防针吗",
        "肺气肿引发心脏问题，能打感冒预防针吗？",
        "zh punct",
    ),
    ("tianchi_covid_zh", "tcovid-00267", "长期坐姿不好会得胸膜炎吗", "长期坐姿不好,会得胸膜炎吗?", "zh punct"),
    ("tianchi_covid_zh", "tcovid-01213", "服用肾衰宁胶囊会降肌肝吗", "吃肾衰宁胶囊会降肌肝吗", "near"),
    ("tianchi_covid_zh", "tcovid-01114", "什么是小儿上呼吸道感染", "什么是小儿的上呼吸道感染", "near"),
]
#: Sets whose entries are not meant to duplicate one another (precision is counted on them).
DISTINCT = {"clinc150", "banking77", "hwu64", "hint3_sofmattress", "covidfaq_jhu", "smp2017_zh", "xsid_zh2en"}
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


def base_kb(data: Path, name: str, model: str) -> Path:
    """The set's KB embedded with `model`, built once (minutes for tianchi_covid_zh with auto)."""
    path = CACHE / f"{name}.{model}.db"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        part = path.with_suffix(".part")
        part.unlink(missing_ok=True)
        kb = KnowledgeBase(part)
        encoders = [registry.create(i) for i in registry.expand(model)]
        kb.upsert(read_file(str(data / name / "kb.jsonl")))
        indexing.index(kb, encoders, switch=True)
        Bot(kb, encoders)  # fits and stores the calibration
        kb.close()
        part.rename(path)
    return path


def planted(name: str) -> list[tuple[str, str, str]]:
    """(planted entry id, the entry it duplicates, kind) for one set."""
    return [(f"planted-{i}", p[1], p[4]) for i, p in enumerate(PLANTED) if p[0] == name]


def with_planted(base: Path, name: str, workdir: Path) -> KnowledgeBase:
    path = workdir / f"{name}.planted.db"
    kb = KnowledgeBase(base, readonly=True)
    kb.copy_to(path)
    kb.close()
    kb = KnowledgeBase(path)
    plants = [
        Entry(f"planted-{i}", p[3], f"Planted answer {i}: no, never.", [], detect_lang(p[3]))
        for i, p in enumerate(PLANTED)
        if p[0] == name
    ]
    encoders = indexing.make_encoders(indexing.kb_model(kb) or [], kb)
    with kb.atomic():
        kb.upsert(plants)
        indexing.index(kb, encoders)
    return kb


def score(name: str, pairs: set[tuple[str, str]]) -> dict:
    """Planted pairs found, per kind, and the precision of `pairs` (entry id pairs, a < b)."""
    plants = planted(name)
    source = {p: s for p, s, _ in plants}

    def right(a: str, b: str) -> bool:
        # a planted entry with the entry it copies, or two planted copies of one entry
        return source.get(a, a) == source.get(b, b) and (a in source or b in source)

    kinds: dict[str, list[int]] = {}
    for p, s, kind in plants:
        kinds.setdefault(kind, [0, 0])[1] += 1
        kinds[kind][0] += tuple(sorted((p, s))) in pairs or (s, p) in pairs
    good = sum(right(a, b) for a, b in pairs)
    return {
        "listed": len(pairs),
        "planted_found": f"{sum(k[0] for k in kinds.values())}/{len(plants)}",
        "by_kind": {k: f"{v[0]}/{v[1]}" for k, v in kinds.items()},
        "precision": round(good / len(pairs), 3) if pairs and name in DISTINCT else None,
        "other_pairs": len(pairs) - good,
    }


def measure_planted(data: Path, name: str, model: str, workdir: Path) -> dict:
    kb = with_planted(base_kb(data, name, model), name, workdir)
    bot = Bot(kb)
    index, cal = bot.index, bot.calibration
    ids = index.entry_ids
    before = {(p.a, p.b) for p in exact_duplicates(index)}
    before |= {(ids[ea], ids[eb]) for ea, eb, *_ in near_duplicates(index)}
    t = time.perf_counter()
    after = dupes(index, None, cal)
    took = time.perf_counter() - t
    answers = {e.id: e.answer for e in kb.entries()}
    conflicting = {(c.pair.a, c.pair.b) for c in conflicts(after, answers, encoder_embed(bot.encoders))}
    plants = {p for p, _, _ in planted(name)}
    added = [p for p in after if (p.a, p.b) not in before and not {p.a, p.b} & plants]
    out = {
        "set": name,
        "model": model,
        "entries": index.n,
        "texts": len(index.texts),
        "before": score(name, before),
        "after": score(name, {(p.a, p.b) for p in after}),
        "after_by_reason": {
            r: sum(p.how == r for p in after) for r in ("same text", "same words", "cosine", "spelling")
        },
        "conflicts_on_planted": f"{sum((s, p) in conflicting for p, s, _ in planted(name))}/{len(plants)}",
        "added_pairs_of_original_entries": [
            {"how": p.how, "similarity": round(p.similarity, 3), "a_text": p.a_text, "b_text": p.b_text}
            for p in added[:6]
        ],
        "dupes_s": round(took, 2),
    }
    kb.close()
    return out


def import_cost(data: Path, model: str, workdir: Path, n_import: int = 1000) -> dict:
    """A 1k-entry import into a KB of ~10k texts (clinc150 and banking77 with their in-scope
    queries as alternates), measured the way qa import runs: embed, write, load, then the report."""
    base = CACHE / f"import-base.{model}.db"
    if not base.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        entries = []
        for name in ("clinc150", "banking77"):
            rows = {e.id: e for e in read_file(str(data / name / "kb.jsonl"))}
            for line in (data / name / "queries.jsonl").read_text(encoding="utf-8").splitlines():
                q = json.loads(line)
                if q["gold"]:
                    rows[q["gold"][0]].alternates.append(q["query"])
            entries += [e for e in rows.values()]
        part = base.with_suffix(".part")
        part.unlink(missing_ok=True)
        kb = KnowledgeBase(part)
        encoders = [registry.create(i) for i in registry.expand(model)]
        kb.upsert(entries)
        indexing.index(kb, encoders, switch=True)
        Bot(kb, encoders)
        kb.close()
        part.rename(base)
    # the import: hwu64's texts (its KB and queries), one or two of one intent per entry
    texts: list[tuple[str, str]] = [(e.id, t) for e in read_file(str(data / "hwu64" / "kb.jsonl")) for t in e.texts()]
    for line in (data / "hwu64" / "queries.jsonl").read_text(encoding="utf-8").splitlines():
        q = json.loads(line)
        texts.append((q["gold"][0], q["query"]))
    texts.sort(key=lambda x: x[0])
    pairs_left, i, entries = len(texts) - n_import, 0, []
    while i < len(texts) and len(entries) < n_import:
        two = pairs_left > 0 and i + 1 < len(texts) and texts[i + 1][0] == texts[i][0]
        group = texts[i : i + 1 + two]
        entries.append(
            Entry(f"hwu-{len(entries)}", group[0][1], f"About {group[0][0]}.", [t for _, t in group[1:]], "en")
        )
        pairs_left -= two
        i += 1 + two
    path = workdir / "import.db"
    shutil.copy(base, path)
    kb = KnowledgeBase(path)
    texts_before = kb.count_texts()
    encoders = indexing.make_encoders(indexing.kb_model(kb) or [], kb)
    t0 = time.perf_counter()
    vectors = indexing.embed_entries(kb, encoders, entries)
    t1 = time.perf_counter()
    with kb.atomic():
        kb.upsert(entries)
        for model_id, hashes, matrix in vectors:
            kb.store_vectors(model_id, hashes, matrix)
        indexing.index(kb, encoders)
        bot = Bot(kb, encoders)
    t2, c2 = time.perf_counter(), time.process_time()
    answers = {e.id: e.answer for e in kb.entries()}
    report = check_changed(bot.index, bot.calibration, [e.id for e in entries], answers, encoder_embed(encoders))
    t3, c3 = time.perf_counter(), time.process_time()
    full = dupes(bot.index, None, bot.calibration)
    t4, c4 = time.perf_counter(), time.process_time()
    kb.close()
    return {
        "measure": "import_report",
        "model": model,
        "kb_texts_before": texts_before,
        "imported_entries": len(entries),
        "imported_texts": sum(len(e.texts()) for e in entries),
        "embed_s": round(t1 - t0, 1),
        "write_load_calibrate_s": round(t2 - t1, 1),
        "report_s": round(t3 - t2, 2),
        "report_cpu_s": round(c3 - c2, 2),  # wall time depends on what else runs on the machine
        "report_pairs": len(report.pairs),
        "report_conflicts": len(report.conflicts),
        "report_by_reason": {
            r: sum(p.how == r for p in report.pairs) for r in ("same text", "same words", "cosine", "spelling")
        },
        "full_dupes_s": round(t4 - t3, 2),
        "full_dupes_cpu_s": round(c4 - c3, 2),
        "full_dupes_pairs": len(full),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="auto")
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--sets", default=SETS)
    ap.add_argument("--distribution", action="store_true", help="the cosine distributions per encoder")
    ap.add_argument("--import-cost", action="store_true", help="time the end-of-import report")
    args = ap.parse_args()
    data = Path(args.data)
    if not data.is_dir():
        sys.exit(f"No evaluation data at {data}")
    with tempfile.TemporaryDirectory() as tmp:
        if args.import_cost:
            print(json.dumps(import_cost(data, args.model, Path(tmp)), ensure_ascii=False), flush=True)
            return
        for s in args.sets.split(","):
            lines = (
                measure_set(data / s, args.model, Path(tmp))
                if args.distribution
                else [measure_planted(data, s, args.model, Path(tmp))]
            )
            for line in lines:
                print(json.dumps(line, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
