"""Does agreement between signals make confidence better? (an idea from the quality issue)

For every real query and every held-out KB text (the same two kinds selfcal.py uses), the feature
is the share of qa's signals (each dense encoder alone, and BM25 alone) whose own best entry is the
entry qa's fused score ranks first. It is fitted like qa's calibration - an in-scope factor over
[top, agreement] and an answer factor over [top, margin, agreement], at out-of-scope share .1 -
both on the KB's own held-out texts ("self") and, pooled over the English KBs, as the prior a KB
without alternates gets ("prior"); then compared with the same fits without it. Queries are only
used to measure. Uses the embeddings cached by bench/explore_scoring.py.

    python -m bench.agreement_lab [--sets clinc150,tianchi_covid_zh]
"""

from __future__ import annotations

import argparse
import json
from functools import cache

import numpy as np

from bench.calibration_lab import default_vectors, index_for
from qa.evaluate import auroc, ece
from qa.retrieval.calibration import Logistic, features
from qa.retrieval.index import NEG
from qa.retrieval.lexical import LexicalIndex
from qa.retrieval.selfcal import PRIOR_OOS, Examples, scale_of

EN_SETS = ("clinc150", "banking77", "hwu64")


@cache
def data(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """[top, margin, agreement] with correct / in-scope flags, for the real queries and the held-out texts."""
    kb, qs, texts, owner, lang, vec, qvec = default_vectors(name)
    full = index_for(kb, texts, owner, vec, lang)
    alone = [index_for(kb, texts, owner, {e: m}, lang, lexical=False) for e, m in vec.items()]
    lex = LexicalIndex(texts)
    starts = full.starts

    def row(qv: dict, text: str, drop_text: int | None, drop_entry: int | None) -> tuple[list[float], int]:
        f = full.score(qv, text, lang, drop_text=drop_text, drop_entry=drop_entry).fused
        top = int(np.argmax(f))
        hide = {"drop_text": drop_text, "drop_entry": drop_entry}
        tops = [int(np.argmax(ix.score(qv, text, lang, **hide).fused)) for ix in alone]
        lt = lex.scores(text)
        if drop_text is not None:
            lt[drop_text] = 0.0
        le = np.maximum.reduceat(lt, starts)
        if drop_entry is not None:
            le[drop_entry] = -1.0
        if le.max() > 0:
            tops.append(int(np.argmax(le)))
        return [*features(f[f > NEG]), float(np.mean([t == top for t in tops]))], top

    ids = {e["id"]: i for i, e in enumerate(kb)}
    x, c, i = [], [], []
    for k, q in enumerate(qs):
        r, top = row({e: v[k] for e, v in qvec.items()}, q["query"], None, None)
        gold = {ids[g] for g in q["gold"]}
        x.append(r)
        c.append(bool(gold) and top in gold)
        i.append(bool(gold))
    rng = np.random.default_rng(0)
    counts = np.bincount(owner, minlength=len(kb))
    multi = np.flatnonzero(counts[owner] >= 2)
    hx, hc, hi = [], [], []
    for picks, hide in ((rng.permutation(multi)[:1000], False), (rng.permutation(len(texts))[:1000], True)):
        for t in (int(p) for p in picks):
            own = int(owner[t])
            r, top = row(full.text_query_vectors(t), texts[t], None if hide else t, own if hide else None)
            hx.append(r)
            hc.append(not hide and top == own)
            hi.append(not hide)
    return np.array(x), np.array(c), np.array(i), np.array(hx).reshape(-1, 3), np.array(hc), np.array(hi)


def _scale(hx: np.ndarray, hi: np.ndarray) -> tuple[float, float]:
    ex = Examples(hx[:, :2], hi, hi, hi, np.ones(len(hi)))
    return scale_of(ex)


def _z(x: np.ndarray, scale: tuple[float, float], agree: bool) -> np.ndarray:
    c, s = scale
    z = np.stack([(x[:, 0] - c) / s, x[:, 1] / s, x[:, 2]], 1)
    return z if agree else z[:, :2]


def _fit(z: np.ndarray, right: np.ndarray, ins: np.ndarray, w: np.ndarray, agree: bool):
    answer = Logistic.fit(z[ins], right[ins].astype(int), w[ins] / w[ins].mean())
    cols = [0, 2] if agree else [0]
    in_scope = Logistic.fit(z[:, cols], ins.astype(int), w / w.mean())
    return lambda zz: in_scope.predict(zz[:, cols]) * answer.predict(zz)


def _weights(hi: np.ndarray) -> np.ndarray:
    return np.where(hi, (1 - PRIOR_OOS) / hi.sum(), PRIOR_OOS / (~hi).sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", default="clinc150,banking77,hwu64,tianchi_covid_zh")
    args = ap.parse_args()
    for agree in (False, True):
        pooled = [(_z(d[3], _scale(d[3], d[5]), agree), d[4], d[5]) for d in map(data, EN_SETS)]
        z, r, i = (np.concatenate([p[k] for p in pooled]) for k in range(3))
        prior = _fit(z, r, i, np.concatenate([_weights(p[2]) for p in pooled]), agree)
        for name in args.sets.split(","):
            x, c, ins, hx, hc, hi = data(name)
            zq = _z(x, _scale(hx, hi), agree)
            out: dict = {"set": name, "agreement": agree}
            schemes = {"prior": prior}
            if hi.sum() >= 30:
                schemes["self"] = _fit(_z(hx, _scale(hx, hi), agree), hc, hi, _weights(hi), agree)
            for label, conf in schemes.items():
                p = conf(zq)
                au = auroc(p[ins], p[~ins])
                out[f"{label}_ece"] = round(ece(p, c)[0], 3)
                out[f"{label}_auroc"] = None if au is None else round(au, 3)
            out["mean_agreement_in_scope"] = round(float(x[ins, 2].mean()), 3)
            if (~ins).any():
                out["mean_agreement_oos"] = round(float(x[~ins, 2].mean()), 3)
            print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
