"""Can a KB learn from its own alternates? Candidates for issue 13, on cached embeddings.

For every set of ../shared/data, with the vectors bench/explore_scoring.py caches (MiniLM, USE, e5 for
English; e5 and USE for Chinese), prints hit@1 over the answerable queries and the AUROC of the top
score (answerable vs out of scope) of:
  - `max <enc>`: plain cosine, an entry's score = its best text, per encoder;
  - `qa`: qa's fused score (z-scored centroid+top-2 blend per encoder, plus BM25) with the mix the KB
    measures for itself (selfmeasure, via bench.calibration_lab.index_for);
  - `softmax`: multinomial logistic regression (numpy, L-BFGS: qa/retrieval/head.py) over the
    concatenated frozen vectors of all the set's encoders, trained on the KB's questions and
    alternates; `qa+softmax` adds its z-scored score to qa's fused score at weight w;
    `softmax-mix`: the same over the mix's encoders only (no encoder time added per question);
  - `logreg`: sklearn's LogisticRegression on the same features; `ridge`: ridge regression to one-hot
    targets (closed form); each added to qa's score the same way;
  - `qmap`: a learned map of the question's vector q -> q(I + D), trained so each KB text lands on its
    own entry's centroid (softmax over entries of scaled cosines: same-entry against other-entry),
    then qa's scoring unchanged (nearest neighbour in a learned metric; new entries need no retraining);
    `qmap+softmax`: with the softmax head beside it (its weight chosen again on the mapped scores);
  - `wccn`: each encoder's space whitened by its within-entry covariance (shrunk towards the identity
    by alpha; alpha = inf is no map), qa's scoring unchanged in it; `wccn+ridge`: both.
Every hyper-parameter (C, lambda, alpha, scale, the weight w) is chosen by 5-fold cross-validation over
the KB's own texts (each text hidden with its fold, the head trained on the other folds, the text asked
against the rest of the KB): never from the queries. A KB with under MIN_HELD_OUT held-out texts gets
no head. For the out-of-scope decision, `oos_auroc_*` give the AUROC of the head's top probability
(`head_prob`), of qa's top fused score (`qa_top`), of qa's fused score of the entry the combination
ranks first (`qa_at_pick`), and of that plus the head at weight min(w, .25) (`qa+.25head_at_pick`);
`auroc` is that of the combination's top score. `train_s`: the whole training (cross-validation
included) on one thread.

    OMP_NUM_THREADS=1 python bench/head_lab.py [--sets clinc150,banking77] [--no-logreg] [--grid] [--table]

`--grid` also prints every weight's real figures (an oracle view: what the choice leaves on the table);
`--table` prints a Markdown summary (hit@1 / AUROC per set and candidate) after the JSON lines.
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
from qa.retrieval import head  # noqa: E402
from qa.retrieval.dense import centroids, top2_mean  # noqa: E402
from qa.retrieval.lexical import LexicalIndex  # noqa: E402
from qa.retrieval.norms import norm_constants  # noqa: E402

FOLDS = 5
MIN_HELD_OUT = 100
LAMBDAS = (0.03, 0.1, 0.3, 1.0, 3.0)
CS = (1.0, 3.0, 10.0, 30.0)
ALPHAS = (0.03, 0.1, 0.3, 1.0, np.inf)
WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
#: `qa+<head> (w<=1)`: the weight chosen among those up to this (a cap that keeps the top score's
#: out-of-scope AUROC, where a larger weight ranks better but separates worse: hint3_sofmattress).
CAPPED_W = 1.0
QMAP_SCALES = (10.0, 30.0)
QMAP_CS = (1.0, 10.0)


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


def softmax_fit(x: np.ndarray, y: np.ndarray, n_classes: int, c: float) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression in numpy by L-BFGS (qa/retrieval/head.py's fit). On banking77
    it converges in ~40 steps (0.4 s on one thread; plain gradient descent took 1.9 s)."""
    return head.fit(x, y, n_classes, c)


def qmap_fit(x: np.ndarray, owner: np.ndarray, blocks: list[int], c: float, s: float) -> np.ndarray:
    """A map of the question's vector, q -> q (I + D), the KB's vectors left as they are: the softmax
    over entries of s * cos(x (I + D), centroid) (the text's own entry's centroid without it) for every
    training text x, with |D|^2 / (2 C n) as penalty. x: the encoders' unit vectors side by side,
    each block divided by sqrt(#blocks), so x . centroid is the mean of the encoders' cosines."""
    n, d = x.shape
    n_e = int(owner.max()) + 1
    x = np.ascontiguousarray(x, np.float32)
    sums = np.zeros((n_e, d), np.float32)
    np.add.at(sums, owner, x)
    loo = sums[owner] - x
    cents, own = unit_blocks(sums, blocks), unit_blocks(loo, blocks)
    t = np.eye(n_e, dtype=bool)[owner]
    reg = 1.0 / (c * n)

    def f(theta: np.ndarray) -> tuple[float, np.ndarray]:
        dm = theta.reshape(d, d)
        xm = x + x @ dm
        z = s * (xm @ cents.T)
        z[t] = s * np.einsum("ij,ij->i", xm, own)
        z -= z.max(1, keepdims=True)
        e = np.exp(z)
        tot = e.sum(1, keepdims=True)
        loss = float((np.log(tot[:, 0]) - z[t]).mean() + 0.5 * reg * float((dm * dm).sum()))
        g = (e / tot - t) / n
        g_own = g[t].copy()
        g[t] = 0.0
        grad = s * (x.T @ (g @ cents) + x.T @ (g_own[:, None] * own)) + reg * dm
        return loss, grad.ravel()

    return head.lbfgs(f, np.zeros(d * d, np.float32)).reshape(d, d)


def unit_blocks(v: np.ndarray, blocks: list[int]) -> np.ndarray:
    """Each encoder's block of v at unit length, divided by sqrt(#blocks)."""
    out, off = np.zeros_like(v), 0
    for dim in blocks:
        part = v[:, off : off + dim]
        out[:, off : off + dim] = part / np.maximum(np.linalg.norm(part, axis=1, keepdims=True), 1e-9)
        off += dim
    return out / np.sqrt(len(blocks))


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

    def choose_head(
        label: str, fit, score, params, feat: np.ndarray = feat, feat_q: np.ndarray = feat_q
    ) -> dict[str, np.ndarray]:
        """The head with the penalty and weight that rank the held-out texts best (as `label`), and
        the best with the weight capped at CAPPED_W (as `label (w<=1)`)."""
        t0 = time.perf_counter()
        tried, kept = [], {}
        for p in params:
            h = crossfit(lambda x, y, p=p: fit(x, y, p), score, feat)
            mu, sd = zscore_head(h, held, gold_h)
            hz = (h - mu) / sd
            kept[p] = hz
            for w in WEIGHTS:
                tried.append((cv_hit(base_h + w * hz, gold_h), -w, -params.index(p), p, mu, sd, cv_hit(hz, gold_h)))
        models: dict = {}
        out: dict[str, np.ndarray] = {}
        for suffix, pool in (("", tried), (f" (w<={CAPPED_W:g})", [t for t in tried if -t[1] <= CAPPED_W])):
            v, w, _, p, mu, sd, alone = max(pool, key=lambda t: t[:3])  # ties: smaller w, then smaller p
            w = -w
            if p not in models:
                models[p] = fit(feat, owner, p)
            train_s = time.perf_counter() - t0
            hq = (score(models[p], feat_q) - mu) / sd
            if not suffix:
                out["held"], out["queries"] = kept[p], hq
            if not suffix:
                row[label] = {**measure(hq, gold), "cv_hit@1": round(alone, 3), "param": p}
            comb = base_q + w * hq
            pick = comb.argmax(1)

            def at_pick(m: np.ndarray, pick: np.ndarray = pick) -> np.ndarray:
                return m[np.arange(len(m)), pick]

            raw = hq * sd
            prob = 1 / np.exp(raw - raw.max(1, keepdims=True)).sum(1)  # the head's top probability
            row[f"qa+{label}{suffix}"] = {
                **measure(comb, gold),
                "cv_hit@1": round(v, 3),
                "w": w,
                "param": p,
                "train_s": round(train_s, 1),
                "oos_auroc_head_prob": measure(comb, gold, prob)["auroc"],
                "oos_auroc_qa_top": measure(comb, gold, base_q.max(1))["auroc"],
                "oos_auroc_qa_at_pick": measure(comb, gold, at_pick(base_q))["auroc"],
                "oos_auroc_qa+.25head_at_pick": measure(comb, gold, at_pick(base_q + min(w, 0.25) * hq))["auroc"],
            }
            if grid and not suffix:
                row[f"qa+{label} grid"] = {str(x): list(measure(base_q + x * hq, gold).values()) for x in WEIGHTS}
        return out

    def ridge_score(m, x):
        return x @ m[0] + m[1]

    choose_head("ridge", lambda x, y, lam: ridge_fit(x, y, n_e, lam), ridge_score, LAMBDAS)
    soft = choose_head("softmax", lambda x, y, c: softmax_fit(x, y, n_e, c), ridge_score, CS)
    # only the encoders the KB's mix embeds questions with (no extra encoder time per question)
    used = [e for e, _ in mix.parts]
    if used == encs:
        row["qa+softmax-mix"] = row["qa+softmax"]
    else:
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

    # a learned map of the question's vector (qmap_fit), over the mix's encoders; qa's scoring unchanged
    used = [e for e, _ in mix.parts]
    blocks = [vec[e].shape[1] for e in used]
    xq = unit_blocks(np.concatenate([vec[e] for e in used], axis=1), blocks)
    qq = unit_blocks(np.concatenate([qvec[e] for e in used], axis=1), blocks)

    def mapped_z(dm: np.ndarray, q: np.ndarray, drop: np.ndarray | None) -> dict[str, np.ndarray]:
        qm = q + q @ dm
        out, off = {}, 0
        for e, dim in zip(used, blocks, strict=True):
            part = qm[:, off : off + dim]
            out[e] = dense_z(part / np.linalg.norm(part, axis=1, keepdims=True), vec[e], owner, drop=drop)
            off += dim
        return out

    t0 = time.perf_counter()
    best_q = (row["qa"]["cv_hit@1"], None, None, {e: zh[e] for e in encs})
    for sc in QMAP_SCALES:
        for c in QMAP_CS:
            zf = {e: zh[e].copy() for e in encs}
            for f in range(FOLDS):
                tr, te = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
                dm = qmap_fit(xq[tr], owner[tr], blocks, c, sc)
                rows = [pos_in_held[int(t)] for t in te]
                for e, z in mapped_z(dm, xq[te], te).items():
                    zf[e][rows] = z
            v = cv_hit(fused(mix, zf, lex_h), gold_h)
            if v > best_q[0] + 1e-9:
                best_q = (v, sc, c, zf)
    v, sc, c, zf_best = best_q
    if sc is None:
        row["qmap"] = {**row["qa"], "scale": None}
    else:
        dm = qmap_fit(xq, owner, blocks, c, sc)
        row["qmap"] = {**measure(fused(mix, {**zq, **mapped_z(dm, qq, None)}, lex_q), gold), "cv_hit@1": round(v, 3)}
        row["qmap"].update({"scale": sc, "C": c})
        mapped_q = fused(mix, {**zq, **mapped_z(dm, qq, None)}, lex_q)
        pick = mapped_q.argmax(1)
        row["qmap"]["oos_auroc_qa_at_pick"] = measure(mapped_q, gold, base_q[np.arange(len(pick)), pick])["auroc"]
        # and the softmax head beside it (its weight chosen again, on the mapped held-out scores)
        mapped_h = fused(mix, zf_best, lex_h)
        w = max(WEIGHTS, key=lambda x: (cv_hit(mapped_h + x * soft["held"], gold_h), -x))
        comb = mapped_q + w * soft["queries"]
        pick = comb.argmax(1)
        row["qmap+softmax"] = {
            **measure(comb, gold),
            "cv_hit@1": round(cv_hit(mapped_h + w * soft["held"], gold_h), 3),
            "w": w,
            "oos_auroc_qa_at_pick": measure(comb, gold, base_q[np.arange(len(pick)), pick])["auroc"],
        }
    row["qmap"]["train_s"] = round(time.perf_counter() - t0, 1)

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


TABLE = [
    "qa",
    "qa+softmax",
    "qa+softmax (w<=1)",
    "qa+softmax-mix",
    "qa+logreg",
    "qa+ridge",
    "qmap",
    "qmap+softmax",
    "wccn",
    "wccn+ridge",
]


def table(rows: list[dict]) -> str:
    def cell(r: dict, k: str) -> str:
        m = r.get(k) or (r["qa"] if "head" in r else None)  # no head: the same as qa
        if m is None:
            return "–"
        au = "" if m.get("auroc") is None else f" / {m['auroc']:.3f}".replace("0.", ".")
        return f"{m['hit@1']:.3f}".lstrip("0") + au

    lines = ["| set | " + " | ".join(TABLE) + " |", "|---" * (len(TABLE) + 1) + "|"]
    for r in rows:
        lines.append(f"| {r['set']} | " + " | ".join(cell(r, k) for k in TABLE) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", default="")
    ap.add_argument("--no-logreg", action="store_true")
    ap.add_argument("--grid", action="store_true")
    ap.add_argument("--table", action="store_true")
    args = ap.parse_args()
    sets = args.sets.split(",") if args.sets else sorted(p.name for p in DATA.iterdir() if p.is_dir())
    rows = []
    for name in sets:
        rows.append(run(name, not args.no_logreg, args.grid))
        print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    if args.table:
        print(table(rows))


if __name__ == "__main__":
    main()
