"""How close the wrong answers are to the right ones: for every answerable query whose top entry is
wrong, the cosine (the set's primary encoder) between the stored question of the entry qa ranked
first and that of the gold entry, whether the two fold to the same text, and whether the wrong entry
is the gold entry's nearest neighbour in the KB; beside them, the median cosine of an entry to its
nearest other entry and between any two entries, for scale. When most misses land on the gold's
nearest neighbour, telling such pairs apart is what limits hit@1.

    python -m bench.near_miss [--sets tianchi_covid_zh,banking77]
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from bench.calibration_lab import default_vectors, index_for
from qa.text import normalise_text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", default="clinc150,banking77,hwu64,tianchi_covid_zh")
    args = ap.parse_args()
    for name in args.sets.split(","):
        kb, qs, texts, owner, lang, vec, qvec = default_vectors(name)
        index = index_for(kb, texts, owner, vec, lang)
        ids = {e["id"]: i for i, e in enumerate(kb)}
        first = index.starts  # each entry's stored question is its first text
        q_vec = next(iter(vec.values()))[first]  # the primary encoder's
        qq = q_vec @ q_vec.T
        np.fill_diagonal(qq, -1.0)
        nearest = qq.argmax(1)  # each entry's nearest other entry, by stored question
        sims, same, answerable, neighbour = [], 0, 0, 0
        for k, q in enumerate(qs):
            if not q["gold"]:
                continue
            answerable += 1
            top = int(np.argmax(index.score({e: v[k] for e, v in qvec.items()}, q["query"], lang).fused))
            gold = [ids[g] for g in q["gold"]]
            if top in gold:
                continue
            g = max(gold, key=lambda j: float(q_vec[j] @ q_vec[top]))
            sims.append(float(q_vec[g] @ q_vec[top]))
            same += normalise_text(kb[g]["question"]) == normalise_text(kb[top]["question"])
            neighbour += int(nearest[g]) == top
        s = np.array(sims)
        print(
            json.dumps(
                {
                    "set": name,
                    "misses": len(s),
                    "miss_rate": round(len(s) / answerable, 3),
                    "same_text_after_folding": same,
                    "wrong_entry_is_the_golds_nearest_entry": neighbour,
                    "median_cos_wrong_to_gold": round(float(np.median(s)), 3) if len(s) else None,
                    "median_cos_entry_to_nearest_entry": round(float(np.median(qq.max(1))), 3),
                    "median_cos_between_entries": round(float(np.median(qq[np.triu_indices(len(qq), 1)])), 3),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
