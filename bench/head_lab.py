"""Can a KB learn from its own alternates? Candidates for issue 13, on cached embeddings.

For every set of ../shared/data, with the vectors bench/explore_scoring.py caches (MiniLM, USE, e5 for
English; e5 and USE for Chinese), prints hit@1 over the answerable queries and the AUROC of the top
score (answerable vs out of scope) of:
  - `max <enc>`: plain cosine, an entry's score = its best text, per encoder;
  - `qa`: qa's fused score (z-scored centroid+top-2 blend per encoder, plus BM25) with the mix the KB
    measures for itself (selfmeasure, via bench.calibration_lab.index_for);
  - `ridge`: a linear head over the concatenated frozen vectors, ridge regression to one-hot entry
    targets (closed form), trained on the KB's questions and alternates; `qa+ridge` adds its z-scored
    score to qa's fused score at weight w;
  - `logreg`: sklearn's multinomial logistic regression on the same features (`qa+logreg`: its
    z-scored logits added the same way);
  - `wccn`: a learned linear map of each encoder's space, the within-entry covariance whitened
    (shrunk towards the identity by alpha; alpha = inf is no map), then qa's scoring unchanged in it:
    nearest-neighbour retrieval itself, explainable as before;
  - `wccn+ridge`: both.
Every hyper-parameter (ridge lambda, C, alpha, the weight w) is chosen by 5-fold cross-validation over
the KB's own texts (each text hidden with its fold, the head trained on the other folds, the text
asked against the rest of the KB): never from the queries. A KB with under MIN_HELD_OUT held-out
texts gets no head (w = 0). `oos_auroc_*` compare, for the out-of-scope decision, the AUROC of the
head's top probability (`head_prob`), of qa's top fused score (`qa_top`), of qa's fused score of the
entry the combination ranks first (`qa_at_pick`), beside that of the combination's top score
(`auroc`). `train_s` is the whole training (cross-validation included) on one thread.

    OMP_NUM_THREADS=1 python bench/head_lab.py [--sets clinc150,banking77] [--no-logreg] [--grid]

`--grid` also prints every weight's real figures (an oracle view: what the choice leaves on the table).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # `bench` and `qa` from a clone

from bench.calibration_lab import default_vectors, index_for  # noqa: E402
from bench.explore_scoring import DATA  # noqa: E402
from qa.evaluate import auroc  # noqa: E402
from qa.retrieval.dense import centroids, top2_mean  # noqa: E402
from qa.retrieval.lexical import LexicalIndex  # noqa: E402
from qa.retrieval.norms import norm_constants  # noqa: E402

FOLDS = 5
MIN_HELD_OUT = 100
LAMBDAS = (0.03, 0.1, 0.3, 1.0, 3.0)
CS = (1.0, 3.0, 10.0, 30.0)
ALPHAS = (0.03, 0.1, 0.3, 1.0, np.inf)
WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0)


# ---- qa's dense scoring, vectorised, with an optional left-out text per query ----------------------
def dense_z(q: np.ndarray, k: np.ndarray, owner: np.ndarray, drop: np.ndarray | None = None) -> np.ndarray:
    """z-scored centroid+top-2 blend of every entry for every row of q (qa's dense signal);
    drop[i] = the text row i must not see (its own), or None."""
    starts = np.searchsorted(owner, np.arange(owner.max() + 1))
    mu, sd = norm_constants(k, owner)
    s = q @ k.T
    cent = q @ centroids(k, starts).T
    if drop is not None:
        rows = np.arange(len(q))
        s[rows, drop] = -np.inf
        own = owner[drop]
        sums = np.add.reduceat(k, starts, axis=0)[own] - k[drop]
        norms = np.linalg.norm(sums, axis=1)
        ok = norms > 1e-9
        cent[rows[ok], own[ok]] = np.einsum("ij,ij->i", q[ok], sums[ok]) / norms[ok]
    return ((0.5 * cent + 0.5 * top2_mean(s, starts) - mu) / sd).astype(np.float32)


def bm25(texts: list[str], owner: np.ndarray, asked: list[str], drop: np.ndarray | None = None) -> np.ndarray:
    starts = np.searchsorted(owner, np.arange(owner.max() + 1))
    lex = LexicalIndex(texts)
    rows = []
    for i, t in enumerate(asked):
        s = lex.scores(t)
        if drop is not None:
            s[drop[i]] = 0.0
        rows.append(np.maximum.reduceat(s, starts))
    return np.stack(rows).astype(np.float32)


def fused(mix, z: dict[str, np.ndarray], lex: np.ndarray) -> np.ndarray:
    out = mix.lexical * lex
    for enc, w in mix.parts:
        out = out + w * z[enc]
    return out


# ---- heads --------------------------------------------------------------------------------------
def ridge_fit(x: np.ndarray, y: np.ndarray, n_classes: int, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """W, b minimising |xW + b - onehot(y)|^2 + lam |W|^2 (closed form, dual when n < d)."""
    xm = x.mean(0)
    xc = x - xm
    t = np.eye(n_classes, dtype=np.float64)[y]
    tm = t.mean(0)
    tc = t - tm
    n, d = xc.shape
    if n < d:
        w = xc.T @ np.linalg.solve(xc @ xc.T + lam * np.eye(n), tc)
    else:
        w = np.linalg.solve(xc.T @ xc + lam * np.eye(d), xc.T @ tc)
    return w.astype(np.float32), (tm - xm @ w).astype(np.float32)


def logreg_fit(x: np.ndarray, y: np.ndarray, n_classes: int, c: float):
    from sklearn.linear_model import LogisticRegression

    m = LogisticRegression(C=c, max_iter=300, tol=1e-3)
    m.fit(x, y)
    return m


def softmax_fit(x: np.ndarray, y: np.ndarray, n_classes: int, c: float, iters: int = 100, memory: int = 10):
    """Multinomial logistic regression in numpy (what qa could ship): mean cross-entropy plus
    |W|^2 / (2 C n), by L-BFGS with a backtracking line search from zero (deterministic); (W, b).
    On banking77 it converges in ~40 steps (0.4 s on one thread; plain gradient descent took 1.9 s)."""
    n, d = x.shape
    x = np.ascontiguousarray(x, np.float32)
    t = np.eye(n_classes, dtype=np.float32)[y]
    reg = 1.0 / (c * n)
    cut = d * n_classes

    def f(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:cut].reshape(d, n_classes), theta[cut:]
        z = x @ w + b
        z -= z.max(1, keepdims=True)
        e = np.exp(z)
        s = e.sum(1, keepdims=True)
        loss = float((np.log(s[:, 0]) - (z * t).sum(1)).mean() + 0.5 * reg * float((w * w).sum()))
        g = (e / s - t) / n
        return loss, np.concatenate([(x.T @ g + reg * w).ravel(), g.sum(0)])

    theta = np.zeros(cut + n_classes, np.float32)
    loss, g = f(theta)
    hist: list[tuple[np.ndarray, np.ndarray]] = []
    for _ in range(iters):
        q, alphas = g.copy(), []
        for s_, y_ in reversed(hist):
            a = float(s_ @ q) / float(y_ @ s_)
            alphas.append(a)
            q -= a * y_
        if hist:
            q *= float(hist[-1][0] @ hist[-1][1]) / float(hist[-1][1] @ hist[-1][1])
        for (s_, y_), a in zip(hist, reversed(alphas), strict=True):
            q += (a - float(y_ @ q) / float(y_ @ s_)) * s_
        step = 1.0 if hist else 1.0 / max(float(np.linalg.norm(g)), 1e-12)
        slope = -float(g @ q)
        while True:
            new = theta - step * q
            new_loss, new_g = f(new)
            if new_loss <= loss + 1e-4 * step * slope or step < 1e-10:
                break
            step *= 0.5
        hist = [*hist[-(memory - 1) :], (new - theta, new_g - g)]
        done = abs(loss - new_loss) < 1e-5 * max(abs(loss), 1.0)
        theta, loss, g = new, new_loss, new_g
        if done:
            break
    return theta[:cut].reshape(d, n_classes), theta[cut:]


def logreg_scores(m, x: np.ndarray, n_classes: int) -> np.ndarray:
    out = np.full((len(x), n_classes), -1e3, dtype=np.float32)  # classes never seen in training
    out[:, m.classes_] = m.decision_function(x)
    return out


def wccn_map(k: np.ndarray, owner: np.ndarray, alpha: float) -> np.ndarray | None:
    """(Sw + alpha * mean eigenvalue * I)^-1/2, Sw the within-entry covariance (None: identity)."""
    if not np.isfinite(alpha):
        return None
    counts = np.bincount(owner)
    means = np.add.reduceat(k, np.searchsorted(owner, np.arange(len(counts))), axis=0) / np.maximum(counts, 1)[:, None]
    dev = (k - means[owner])[counts[owner] >= 2]
    if len(dev) < 2:
        return None
    sw = dev.T @ dev / len(dev)
    vals, vecs = np.linalg.eigh(sw + alpha * np.trace(sw) / len(sw) * np.eye(len(sw)))
    return ((vecs / np.sqrt(vals)) @ vecs.T).astype(np.float32)


def apply_map(v: np.ndarray, m: np.ndarray | None) -> np.ndarray:
    if m is None:
        return v
    out = v @ m
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def zscore_head(scores: np.ndarray, held: np.ndarray, owner_held: np.ndarray) -> tuple[float, float]:
    """Mean and spread of a head's scores for wrong entries on cross-fitted held-out texts."""
    wrong = np.ones_like(scores, dtype=bool)
    wrong[np.arange(len(held)), owner_held] = False
    v = scores[wrong]
    return float(v.mean()), float(v.std()) or 1.0


# ---- measurement --------------------------------------------------------------------------------
def measure(total: np.ndarray, gold: list[set[int]], conf: np.ndarray | None = None) -> dict:
    top = total.argmax(1)
    best = total.max(1) if conf is None else conf
    ins = np.array([bool(g) for g in gold])
    hits = [top[i] in g for i, g in enumerate(gold) if g]
    au = auroc(best[ins], best[~ins])
    return {"hit@1": round(float(np.mean(hits)), 3), "auroc": None if au is None else round(au, 3)}


def cv_hit(total: np.ndarray, gold: np.ndarray) -> float:
    return float((total.argmax(1) == gold).mean())


def folds_for(owner: np.ndarray, seed: int = 0) -> np.ndarray:
    """Each text's fold (-1: never held out, its entry has one text); an entry's texts spread
    round-robin over the folds in a seeded order, so every entry keeps a text in training."""
    rng = np.random.default_rng(seed)
    fold = np.full(len(owner), -1)
    for e in np.unique(owner):
        idx = np.flatnonzero(owner == e)
        if len(idx) >= 2:
            fold[rng.permutation(idx)] = (np.arange(len(idx)) + rng.integers(FOLDS)) % FOLDS
    return fold


def run(name: str, use_logreg: bool, grid: bool) -> dict:
    kb, qs, texts, owner, lang, vec, qvec = default_vectors(name)
    index = index_for(kb, texts, owner, vec, lang)
    mix = index.mix_for(lang, lang)
    encs = list(vec)
    n_e = len(kb)
    ids = {e["id"]: i for i, e in enumerate(kb)}
    gold = [{ids[g] for g in q["gold"] if g in ids} for q in qs]
    asked = [q["query"] for q in qs]
    row: dict = {"set": name, "mix": mix.to_json(), "texts": len(texts), "entries": n_e}

    # baselines on the real queries
    starts = np.searchsorted(owner, np.arange(n_e))
    for e in encs:
        row[f"max {e}"] = measure(np.maximum.reduceat(qvec[e] @ vec[e].T, starts, axis=1), gold)
    zq = {e: dense_z(qvec[e], vec[e], owner) for e in encs}
    lex_q = bm25(texts, owner, asked)
    base_q = fused(mix, zq, lex_q)
    row["qa"] = measure(base_q, gold)

    fold = folds_for(owner)
    held = np.flatnonzero(fold >= 0)
    row["held_out"] = int(len(held))
    if len(held) < MIN_HELD_OUT:
        row["head"] = "none (too few alternates)"
        return row

    # held-out (leave-one-out) retrieval signals of the KB's own texts
    zh = {e: dense_z(vec[e][held], vec[e], owner, drop=held) for e in encs}
    lex_h = bm25(texts, owner, [texts[t] for t in held], drop=held)
    base_h = fused(mix, zh, lex_h)
    gold_h = owner[held]
    row["qa"]["cv_hit@1"] = round(cv_hit(base_h, gold_h), 3)
    feat = np.concatenate([vec[e] for e in encs], axis=1).astype(np.float64)
    feat_q = np.concatenate([qvec[e] for e in encs], axis=1).astype(np.float64)
    pos_in_held = {int(t): i for i, t in enumerate(held)}

    def crossfit(fit, score, feat: np.ndarray) -> np.ndarray:
        """Scores of every held-out text from a head trained without its fold."""
        out = np.zeros((len(held), n_e), dtype=np.float32)
        for f in range(FOLDS):
            tr, te = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
            model = fit(feat[tr], owner[tr])
            out[[pos_in_held[int(t)] for t in te]] = score(model, feat[te])
        return out

    def choose_head(label: str, fit, score, params, feat: np.ndarray = feat, feat_q: np.ndarray = feat_q) -> None:
        t0 = time.perf_counter()
        best = None
        for p in params:
            h = crossfit(lambda x, y, p=p: fit(x, y, p), score, feat)
            mu, sd = zscore_head(h, held, gold_h)
            hz = (h - mu) / sd
            for w in WEIGHTS:
                v = cv_hit(base_h + w * hz, gold_h)
                if best is None or v > best[0] + 1e-9:
                    best = (v, p, w, mu, sd, cv_hit(hz, gold_h))
        assert best is not None
        v, p, w, mu, sd, alone = best
        model = fit(feat, owner, p)
        train_s = time.perf_counter() - t0
        hq = (score(model, feat_q) - mu) / sd
        row[label] = {**measure(hq, gold), "cv_hit@1": round(alone, 3), "param": p}
        comb = base_q + w * hq
        raw = hq * sd
        prob = 1 / np.exp(raw - raw.max(1, keepdims=True)).sum(1)  # the head's top probability
        row[f"qa+{label}"] = {
            **measure(comb, gold),
            "cv_hit@1": round(v, 3),
            "w": w,
            "train_s": round(train_s, 1),
            "oos_auroc_head_prob": measure(comb, gold, prob)["auroc"],
            "oos_auroc_qa_top": measure(comb, gold, base_q.max(1))["auroc"],
            "oos_auroc_qa_at_pick": measure(comb, gold, base_q[np.arange(len(comb)), comb.argmax(1)])["auroc"],
        }
        if grid:
            row[f"qa+{label} grid"] = {str(x): measure(base_q + x * hq, gold)["hit@1"] for x in WEIGHTS}

    def ridge_score(m, x):
        return x @ m[0] + m[1]

    choose_head("ridge", lambda x, y, lam: ridge_fit(x, y, n_e, lam), ridge_score, LAMBDAS)
    choose_head("softmax", lambda x, y, c: softmax_fit(x, y, n_e, c), ridge_score, CS)
    # only the encoders the KB's mix embeds questions with (no extra encoder time per question)
    used = [e for e, _ in mix.parts]
    if used != encs:
        choose_head(
            "softmax-mix",
            lambda x, y, c: softmax_fit(x, y, n_e, c),
            ridge_score,
            CS,
            np.concatenate([vec[e] for e in used], axis=1),
            np.concatenate([qvec[e] for e in used], axis=1),
        )
    if use_logreg:
        choose_head("logreg", lambda x, y, c: logreg_fit(x, y, n_e, c), lambda m, x: logreg_scores(m, x, n_e), CS)

    # a learned linear map per encoder (within-entry whitening), qa's scoring unchanged in it
    t0 = time.perf_counter()
    best = None
    for a in ALPHAS:
        zf = {e: np.zeros((len(held), n_e), dtype=np.float32) for e in encs}
        for f in range(FOLDS):
            tr, te = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
            rows = [pos_in_held[int(t)] for t in te]
            for e in encs:
                m = wccn_map(vec[e][tr], owner[tr], a)
                k = apply_map(vec[e], m)
                zf[e][rows] = dense_z(k[te], k, owner, drop=te)
        v = cv_hit(fused(mix, zf, lex_h), gold_h)
        if best is None or v > best[0] + 1e-9:
            best = (v, a, zf)
    assert best is not None
    v, a, zf = best
    maps = {e: wccn_map(vec[e], owner, a) for e in encs}
    kmap = {e: apply_map(vec[e], maps[e]) for e in encs}
    train_s = time.perf_counter() - t0
    zqm = {e: dense_z(apply_map(qvec[e], maps[e]), kmap[e], owner) for e in encs}
    wq = fused(mix, zqm, lex_q)
    row["wccn"] = {**measure(wq, gold), "cv_hit@1": round(v, 3), "alpha": None if np.isinf(a) else a}
    row["wccn"]["train_s"] = round(train_s, 1)
    if grid:
        g = {}
        for a2 in ALPHAS:
            ms = {e: wccn_map(vec[e], owner, a2) for e in encs}
            z2 = {e: dense_z(apply_map(qvec[e], ms[e]), apply_map(vec[e], ms[e]), owner) for e in encs}
            g[str(a2)] = measure(fused(mix, z2, lex_q), gold)["hit@1"]
        row["wccn grid"] = g

    # both: the ridge head over the mapped features (maps fitted without the held-out fold), beside
    # the mapped retrieval
    wh = fused(mix, zf, lex_h)
    featm_q = np.concatenate([apply_map(qvec[e], maps[e]) for e in encs], axis=1).astype(np.float64)
    featm = np.concatenate([kmap[e] for e in encs], axis=1).astype(np.float64)
    t0 = time.perf_counter()
    fold_feats = []
    for f in range(FOLDS):
        tr = np.flatnonzero(fold != f)
        ms = {e: wccn_map(vec[e][tr], owner[tr], a) for e in encs}
        fold_feats.append(np.concatenate([apply_map(vec[e], ms[e]) for e in encs], axis=1).astype(np.float64))
    best2 = None
    for lam in LAMBDAS:
        h = np.zeros((len(held), n_e), dtype=np.float32)
        for f in range(FOLDS):
            tr, te = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
            m = ridge_fit(fold_feats[f][tr], owner[tr], n_e, lam)
            h[[pos_in_held[int(t)] for t in te]] = ridge_score(m, fold_feats[f][te])
        mu, sd = zscore_head(h, held, gold_h)
        for w in WEIGHTS:
            v2 = cv_hit(wh + w * (h - mu) / sd, gold_h)
            if best2 is None or v2 > best2[0] + 1e-9:
                best2 = (v2, lam, w, mu, sd)
    assert best2 is not None
    v2, lam, w, mu, sd = best2
    m = ridge_fit(featm, owner, n_e, lam)
    hq = (ridge_score(m, featm_q) - mu) / sd
    row["wccn+ridge"] = {
        **measure(wq + w * hq, gold),
        "cv_hit@1": round(v2, 3),
        "lambda": lam,
        "w": w,
        "train_s": round(train_s + time.perf_counter() - t0, 1),
    }
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", default="")
    ap.add_argument("--no-logreg", action="store_true")
    ap.add_argument("--grid", action="store_true")
    args = ap.parse_args()
    sets = args.sets.split(",") if args.sets else sorted(p.name for p in DATA.iterdir() if p.is_dir())
    for name in sets:
        print(json.dumps(run(name, not args.no_logreg, args.grid), ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
