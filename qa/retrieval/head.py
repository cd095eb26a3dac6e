"""A head the KB trains on its own texts: multinomial logistic regression from a question's vectors
to its entry, added to the retrieval score at a weight the KB measures for itself.

A KB whose entries carry several phrasings is a few-shot training set. `train` fits the head on every
stored question and alternate (the vectors of the encoders given, concatenated), after cross-fitting
it: each text of an entry with at least two is hidden with its fold (FOLDS folds, an entry's texts
spread over them), the head is trained on the other folds and scores it. Those cross-fitted scores
give the constants that z-score the head (the mean and spread of its scores for wrong entries, as
norms.py does for cosines), and, beside the retrieval scores of the same texts asked against the rest
of the KB, the weight at which the head joins the fused score: the one of WEIGHTS that ranks the
held-out texts best (0 = the head is not used). A KB with under MIN_HELD_OUT such texts gets no head.
The cross-fitted scores are returned too: the self-calibration must see the head's scores as real
questions will (a head scoring texts it was trained on is over-confident).

Pure numpy, deterministic (no randomness but the seeded folds; one BLAS thread). Measured against
the alternatives (ridge, sklearn, maps of the embedding space) on ../shared/data by bench/head_lab.py:
over all three encoders, hit@1 went from .839 to .850 on banking77, .861 to .873 on clinc150, .809 to
.836 on hwu64, .778 to .845 on hint3_sofmattress, .847 to .857 on smp2017_zh (over only the encoders
the KB's mix embeds questions with, so no time is added per question: .854, .873, .828, .825, .857);
sets without enough alternates get no head. The combined top score separates out-of-scope questions worse where the
weight is large (hint3_sofmattress: AUROC .901 to .885 at weight 4); the fused score plus the head at
CONFIDENCE_WEIGHT, taken at the combination's first entry, kept or raised it on every set (.957 to
.960, .901 to .901, .897 to .913), so that is the score to calibrate.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

FOLDS = 5
#: Held-out texts needed before the KB's own measurement is trusted (as selfmeasure.MIN_EXAMPLES).
MIN_HELD_OUT = 100
#: Inverse strengths of the L2 penalty (as sklearn's C) the KB chooses from: bench/head_lab.py.
CS = (3.0, 10.0, 30.0)
#: Weights of the head's z-scored score beside the fused retrieval score, the KB picks one.
WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
#: The head's weight (at most) in the score the answer/no-answer decision is calibrated on.
CONFIDENCE_WEIGHT = 0.25
#: Texts x dimensions x entries above which no head is trained (one gradient costs about that many
#: multiply-adds, and training takes ~16 fits of ~40 steps): clinc150 with MiniLM+USE is 1.3e8 and
#: trains in ~9 s on one core. A 10k-entry KB needs another method (sampled negatives, or a map of
#: the question's vector, whose cost does not grow with the entries: bench/head_lab.py's qmap).
MAX_WORK = 1e9
#: Raise when the head's training changes: stored heads of an older qa are then retrained.
VERSION = 1


def lbfgs(f: Callable[[np.ndarray], tuple[float, np.ndarray]], theta: np.ndarray, iters: int = 100, memory: int = 10):
    """Minimise f (returning the loss and its gradient) from theta by L-BFGS with a backtracking line
    search; deterministic. Stops when the loss moves by under 1e-5 of itself."""
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
        if float((new_g - g) @ (new - theta)) > 1e-12:  # keep the curvature pairs positive
            hist = [*hist[-(memory - 1) :], (new - theta, new_g - g)]
        done = abs(loss - new_loss) < 1e-5 * max(abs(loss), 1.0)
        theta, loss, g = new, new_loss, new_g
        if done:
            break
    return theta


def fit(x: np.ndarray, y: np.ndarray, n_classes: int, c: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression: mean cross-entropy plus |W|^2 / (2 C n), by L-BFGS from zero.
    Returns (W (d, n_classes), b (n_classes,)), float32."""
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

    theta = lbfgs(f, np.zeros(cut + n_classes, np.float32))
    return theta[:cut].reshape(d, n_classes).copy(), theta[cut:].copy()


def folds(owner: np.ndarray, k: int = FOLDS, seed: int = 0) -> np.ndarray:
    """Each text's fold, -1 for a text never held out (the only one of its entry). An entry's texts
    are spread round-robin over the folds in a seeded order, so it keeps one in training."""
    rng = np.random.default_rng(seed)
    out = np.full(len(owner), -1, dtype=np.int64)
    for e in np.unique(owner):
        idx = np.flatnonzero(owner == e)
        if len(idx) >= 2:
            out[rng.permutation(idx)] = (np.arange(len(idx)) + rng.integers(k)) % k
    return out


def held_out(owner: np.ndarray) -> np.ndarray:
    """The texts `train` holds out, in the order its cross-fitted scores (and `retrieval`) use."""
    return np.flatnonzero(folds(owner) >= 0)


@dataclass(frozen=True)
class Head:
    w: np.ndarray  # (dim, n_entries)
    b: np.ndarray  # (n_entries,)
    mu: float  # mean and spread of the head's cross-fitted scores for wrong entries
    sd: float
    weight: float  # beside the fused retrieval score (0: measured not to help)
    c: float  # the penalty chosen
    n_texts: int
    cv_hit1: float  # held-out hit@1 of retrieval + weight * head (cross-fitted)
    cv_hit1_retrieval: float | None  # held-out hit@1 of retrieval alone

    @property
    def confidence_weight(self) -> float:
        """The head's weight in the score the confidence is calibrated on (see the module docstring)."""
        return min(self.weight, CONFIDENCE_WEIGHT)

    def scores(self, q: np.ndarray) -> np.ndarray:
        """z-scored head scores of every entry, for one (dim,) or many (n, dim) question vectors."""
        return ((q @ self.w + self.b - self.mu) / self.sd).astype(np.float32)

    def to_bytes(self) -> bytes:
        """A JSON header (its length first, 4 bytes little-endian), then W and b as little-endian float32."""
        meta = {
            "version": VERSION,
            "shape": list(self.w.shape),
            "mu": self.mu,
            "sd": self.sd,
            "weight": self.weight,
            "c": self.c,
            "n_texts": self.n_texts,
            "cv_hit1": self.cv_hit1,
            "cv_hit1_retrieval": self.cv_hit1_retrieval,
        }
        header = json.dumps(meta, sort_keys=True).encode()
        body = self.w.astype("<f4").tobytes() + self.b.astype("<f4").tobytes()
        return len(header).to_bytes(4, "little") + header + body

    @classmethod
    def from_bytes(cls, data: bytes) -> Head | None:
        """The stored head, or None if another version of qa stored it (retrain it)."""
        n = int.from_bytes(data[:4], "little")
        meta = json.loads(data[4 : 4 + n])
        if meta.pop("version", None) != VERSION:
            return None
        d, k = meta.pop("shape")
        flat = np.frombuffer(data, "<f4", offset=4 + n).astype(np.float32)
        return cls(flat[: d * k].reshape(d, k), flat[d * k :], **meta)


@dataclass(frozen=True)
class Trained:
    head: Head | None  # None: see `reason`
    held: np.ndarray  # the held-out texts (held_out(owner))
    cross_fitted: np.ndarray  # (len(held), n_entries): z-scored head scores from heads blind to them
    reason: str = ""  # why there is no head


def _hit1(scores: np.ndarray, gold: np.ndarray) -> float:
    return float((scores.argmax(1) == gold).mean()) if len(gold) else 0.0


def train(
    vectors: np.ndarray,
    owner: np.ndarray,
    n_entries: int,
    retrieval: np.ndarray | None = None,
    *,
    cs: tuple[float, ...] = CS,
    weights: tuple[float, ...] = WEIGHTS,
) -> Trained:
    """Train a head on every text's `vectors` (rows grouped by owner entry, owner[i] in [0, n_entries)).

    `retrieval`: the fused retrieval scores of the held-out texts (held_out(owner), each asked against
    the rest of the KB), (len(held), n_entries). The penalty (one of `cs`) and the weight (one of
    `weights`) are those that rank the held-out texts best with it; without it, the head alone picks
    the penalty and the weight is the smallest non-zero one. Ties go to the smaller weight and penalty.
    """
    from threadpoolctl import threadpool_limits

    # One BLAS thread: sums in another order would move the weights by rounding, and L-BFGS can carry
    # that far enough to change an answer; a KB must get the same head on any machine of the kind.
    with threadpool_limits(limits=1, user_api="blas"):
        return _train(vectors, owner, n_entries, retrieval, cs, weights)


def _train(
    vectors: np.ndarray,
    owner: np.ndarray,
    n_entries: int,
    retrieval: np.ndarray | None,
    cs: tuple[float, ...],
    weights: tuple[float, ...],
) -> Trained:
    owner = np.asarray(owner, dtype=np.int64)
    fold = folds(owner)
    held = np.flatnonzero(fold >= 0)
    x = np.asarray(vectors, np.float32)
    none = np.zeros((len(held), n_entries), np.float32)
    if len(held) < MIN_HELD_OUT:
        return Trained(None, held, none, f"{len(held)} held-out texts (under {MIN_HELD_OUT}): too few alternates")
    if x.shape[0] * x.shape[1] * n_entries > MAX_WORK:
        return Trained(None, held, none, "too large to train in time")
    row = np.full(len(owner), -1)
    row[held] = np.arange(len(held))
    gold = owner[held]
    wrong = np.ones((len(held), n_entries), bool)
    wrong[np.arange(len(held)), gold] = False
    base = None if retrieval is None else _hit1(retrieval, gold)
    best: tuple | None = None
    for c in cs:
        raw = np.zeros((len(held), n_entries), np.float32)
        for f in range(FOLDS):
            tr, te = np.flatnonzero(fold != f), np.flatnonzero(fold == f)
            w, b = fit(x[tr], owner[tr], n_entries, c)
            raw[row[te]] = x[te] @ w + b
        mu, sd = float(raw[wrong].mean()), float(raw[wrong].std()) or 1.0
        z = (raw - mu) / sd
        if retrieval is None:
            options = [(_hit1(z, gold), min(x for x in weights if x > 0))]
        else:
            options = [(_hit1(retrieval + wt * z, gold), wt) for wt in weights]
        for cv, wt in options:
            if best is None or cv > best[0] + 1e-9:
                best = (cv, wt, c, mu, sd, z)
    assert best is not None
    cv, weight, c, mu, sd, z = best
    w, b = fit(x, owner, n_entries, c)
    head = Head(w, b, mu, sd, float(weight), float(c), len(owner), cv, base)
    return Trained(head, held, z)
