"""Metric code on hand-made cases with known answers, and the eval/selftest commands."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qa.errors import ImportFormatError
from qa.evaluate import Outcome, auroc, ece, metrics, read_queries
from tests.conftest import run_cli


def test_metrics_on_a_hand_made_case():
    outs = [
        Outcome(["a"], ["a", "b"], "answered", "a", 0.9),  # right at rank 1
        Outcome(["b"], ["a", "b"], "answered", "a", 0.6),  # wrong answer, gold at rank 2
        Outcome(["c"], ["a", "b"], "fallback", None, 0.2),  # gold not in the top 10
        Outcome([], ["a"], "fallback", None, 0.1),  # out of scope, fell back: right
        Outcome([], ["b"], "answered", "b", 0.7),  # out of scope, answered: wrong
    ]
    m = metrics(outs)
    assert m["n"] == 5 and m["n_out_of_scope"] == 2
    assert m["hit@1"] == pytest.approx(1 / 3)
    assert m["mrr@10"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert m["recall@5"] == pytest.approx(2 / 3)
    assert m["answered_accuracy"] == pytest.approx(1 / 3)
    assert m["coverage"] == pytest.approx(1 / 3)
    assert m["fallback_precision"] == pytest.approx(1 / 2)
    assert m["fallback_recall"] == pytest.approx(1 / 2)
    assert m["ambiguous_rate"] == 0
    # answerable confidences .9 .6 .2 vs out of scope .1 .7: 4 of 6 pairs ordered right
    assert m["auroc"] == pytest.approx(4 / 6)


def test_auroc_and_ece_known_values():
    assert auroc(np.array([0.9, 0.8]), np.array([0.1, 0.2])) == 1.0
    assert auroc(np.array([0.5]), np.array([0.5])) == 0.5
    assert auroc(np.array([0.5]), np.array([])) is None
    conf = np.array([0.95, 0.95, 0.15, 0.15])
    correct = np.array([1, 1, 0, 0])
    e, table = ece(conf, correct)
    assert e == pytest.approx(0.1)  # each bin is off by .05 and .15: (.05*2 + .15*2) / 4
    assert [r["n"] for r in table] == [2, 2]


def test_read_queries_errors(tmp_path):
    p = tmp_path / "q.jsonl"
    p.write_text('{"query": "a", "gold": ["x"]}\n{"query": "b", "gold": "x"}\n')
    with pytest.raises(ImportFormatError, match="gold") as info:
        read_queries(str(p))
    assert info.value.line == 2
    p.write_text('{"query": "a", "gold": []}\nnot json\n')
    with pytest.raises(ImportFormatError) as info:
        read_queries(str(p))
    assert info.value.line == 2


def _run(monkeypatch, capsys, *args):
    return run_cli(monkeypatch, capsys, *args)


@pytest.fixture
def fake_db(tmp_path, kb_file, monkeypatch, capsys):
    db = tmp_path / "kb.db"
    assert _run(monkeypatch, capsys, "import", str(kb_file), "--db", str(db), "--model", "fake")[0] == 0
    return db


def test_eval_json_keys_and_values(tmp_path, fake_db, monkeypatch, capsys):
    q = tmp_path / "q.jsonl"
    q.write_text(
        json.dumps({"query": "how do I reset my password", "gold": ["pw"]})
        + "\n"
        + json.dumps({"query": "how long does shipping take", "gold": ["ship"]})
        + "\n"
        + json.dumps({"query": "quantum chromodynamics lattice gauge", "gold": []})
        + "\n",
        encoding="utf-8",
    )
    code, out, err = _run(monkeypatch, capsys, "eval", str(q), "--db", str(fake_db), "--json")
    assert code == 0, err
    m = json.loads(out)
    for key in (
        "n",
        "n_out_of_scope",
        "hit@1",
        "mrr@10",
        "recall@5",
        "auroc",
        "answered_accuracy",
        "coverage",
        "fallback_precision",
        "fallback_recall",
        "ambiguous_rate",
        "ece",
    ):
        assert key in m
    assert m["n"] == 3 and m["n_out_of_scope"] == 1 and m["hit@1"] == 1.0
    code, out, _ = _run(monkeypatch, capsys, "eval", str(q), "--db", str(fake_db))
    assert code == 0 and "Reliability" in out and "hit@1" in out


def test_eval_malformed_line_exit_2(tmp_path, fake_db, monkeypatch, capsys):
    q = tmp_path / "q.jsonl"
    q.write_text('{"query": "a", "gold": []}\n{"query": }\n')
    code, _, err = _run(monkeypatch, capsys, "eval", str(q), "--db", str(fake_db))
    assert code == 2 and "q.jsonl:2" in err


def test_selftest_passes_and_fails(tmp_path, fake_db, monkeypatch, capsys):
    # the fake encoder is weak: 24 of the 28 held-out texts find their entry
    code, out, err = _run(monkeypatch, capsys, "selftest", "--db", str(fake_db), "--json", "--min", "0.7")
    assert code == 0, err
    r = json.loads(out)
    assert r["n"] == 28 and r["passed"] == 24 and r["ok"] and len(r["failures"]) == 4
    code, out, _ = _run(monkeypatch, capsys, "selftest", "--db", str(fake_db))  # default --min 0.8
    assert code == 0 and "24 of 28" in out
    code, out, _ = _run(monkeypatch, capsys, "selftest", "--db", str(fake_db), "--min", "0.9")
    assert code == 1 and "24 of 28" in out
    # the same phrasing under two entries: one of them must fail
    dup = tmp_path / "dup.jsonl"
    dup.write_text(
        json.dumps({"id": "a", "question": "opening hours", "alternates": ["when do you open"]})
        + "\n"
        + json.dumps({"id": "b", "question": "closing time", "alternates": ["when do you open"]})
        + "\n"
        + json.dumps({"id": "c", "question": "refund policy", "alternates": ["money back"]})
        + "\n"
    )
    db2 = tmp_path / "dup.db"
    assert _run(monkeypatch, capsys, "import", str(dup), "--db", str(db2), "--model", "fake")[0] == 0
    code, out, _ = _run(monkeypatch, capsys, "selftest", "--db", str(db2), "--min", "1.0")
    assert code == 1 and "when do you open" in out
    code, _, err = _run(monkeypatch, capsys, "selftest", "--db", str(db2), "--min", "2")
    assert code == 2 and "--min" in err


def _labelled(tmp_path, n_each=8):
    import random

    rnd = random.Random(0)
    rows = []
    questions = {
        "pw": ["reset password", "forgot my password help", "password change"],
        "hours": ["opening hours please", "when do you open", "what time open"],
        "ship": ["delivery time", "when does my order arrive", "shipping how long"],
        "refund": ["money back", "refund please", "how to get refunded"],
    }
    for gold, qs in questions.items():
        for q in qs:
            rows.append({"query": q, "gold": [gold]})
    for q in [
        "quantum physics",
        "best pizza in town",
        "football scores",
        "weather tomorrow",
        "tell me a joke",
        "stock prices",
        "translate hello",
        "play music",
        "set an alarm",
        "who won the election",
    ]:
        rows.append({"query": q, "gold": []})
    rnd.shuffle(rows)
    p = tmp_path / "labelled.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return p


def test_tune_on_labelled_and_by_hand(tmp_path, fake_db, monkeypatch, capsys):
    q = _labelled(tmp_path)
    code, out, err = _run(monkeypatch, capsys, "tune", str(q), "--db", str(fake_db), "--precision", "0.9", "--json")
    assert code == 0, err
    r = json.loads(out)
    assert r["calibration"].startswith("labelled:") and r["examples"] == 22
    code, out, _ = _run(monkeypatch, capsys, "stats", "--db", str(fake_db), "--json")
    assert json.loads(out)["calibration"].startswith("labelled:")
    code, out, _ = _run(
        monkeypatch, capsys, "tune", "--db", str(fake_db), "--threshold", "0.42", "--margin", "0.7", "--json"
    )
    r = json.loads(out)
    assert code == 0 and r["answer_threshold"] == 0.42 and r["ambiguity_margin"] == 0.7
    code, out, _ = _run(monkeypatch, capsys, "tune", "--db", str(fake_db), "--reset", "--json")
    r = json.loads(out)
    assert code == 0 and r["hand_set"] == {} and not r["calibration"].startswith("labelled")


def test_tune_oos_share_refits_the_self_calibration_and_is_kept(fake_db, monkeypatch, capsys):
    from qa.bot import Bot
    from qa.encoders.fake import FakeEncoder
    from qa.kb.store import KnowledgeBase

    def confidence(question):
        kb = KnowledgeBase(fake_db)
        try:
            return Bot(kb, [FakeEncoder()]).ask(question, log=False).confidence
        finally:
            kb.close()

    unrelated = "quantum chromodynamics lecture notes"
    base = confidence(unrelated)
    code, out, err = _run(monkeypatch, capsys, "tune", "--db", str(fake_db), "--oos-share", "0.5", "--json")
    assert code == 0, err
    assert json.loads(out)["oos_share"] == 0.5
    wary = confidence(unrelated)
    assert wary < base  # more unanswerable traffic: lower confidence for a weak match
    code, out, _ = _run(monkeypatch, capsys, "stats", "--db", str(fake_db), "--json")
    assert json.loads(out)["oos_share"] == 0.5
    code, out, _ = _run(monkeypatch, capsys, "tune", "--db", str(fake_db), "--oos-share", "0", "--json")
    trusting = confidence(unrelated)
    assert code == 0 and trusting > base  # every question answerable: no in-scope factor
    code, out, _ = _run(monkeypatch, capsys, "tune", "--db", str(fake_db), "--reset", "--json")
    assert code == 0 and json.loads(out)["oos_share"] == 0.1
    assert confidence(unrelated) == pytest.approx(base, abs=1e-4)


@pytest.mark.parametrize(
    ("args", "msg"),
    [
        (["--oos-share", "0.95"], "--oos-share"),
        (["--oos-share", "-0.1"], "--oos-share"),
        (["--threshold", "1.5"], "--threshold"),
        (["--precision", "-1"], "--precision"),
        (["--margin", "-0.1"], "--margin"),
        ([], "QUERIES"),
    ],
)
def test_tune_bad_input(fake_db, monkeypatch, capsys, args, msg):
    code, _, err = _run(monkeypatch, capsys, "tune", "--db", str(fake_db), *args)
    assert code == 2 and msg in err


def test_tune_oos_share_is_not_for_labelled_questions(tmp_path, fake_db, monkeypatch, capsys):
    code, _, err = _run(
        monkeypatch, capsys, "tune", str(_labelled(tmp_path)), "--db", str(fake_db), "--oos-share", "0.2"
    )
    assert code == 2 and "labelled QUERIES bring their own share" in err


def test_tune_needs_enough_labelled_questions(tmp_path, fake_db, monkeypatch, capsys):
    q = tmp_path / "few.jsonl"
    q.write_text(json.dumps({"query": "reset password", "gold": ["pw"]}) + "\n")
    code, _, err = _run(monkeypatch, capsys, "tune", str(q), "--db", str(fake_db))
    assert code == 2 and "at least 20" in err


def test_eval_says_how_to_refit_a_confidence_that_runs_low(capsys):
    from qa.cli.quality_cmds import _calibration_hint

    rows = [{"bin": "0.6-0.7", "n": 50, "confidence": 0.65, "accuracy": 0.80}]
    m = {"n": 50, "n_out_of_scope": 0, "calibration": "kb-alternates", "reliability": rows}
    _calibration_hint(m, 0.1, "my queries.jsonl", "kb.db")
    out = capsys.readouterr().out
    assert "runs under the share correct here (mean 0.65 against 0.80)" in out
    assert "0% of these questions are out of scope; the KB's calibration assumes 10%" in out
    assert "qa tune --oos-share 0.00 --db kb.db" in out and "qa tune 'my queries.jsonl' --db kb.db" in out
    # close enough, or already fitted on labelled questions: nothing to say
    _calibration_hint({**m, "reliability": [{**rows[0], "accuracy": 0.66}]}, 0.1, "q.jsonl", "kb.db")
    _calibration_hint({**m, "calibration": "labelled (50 questions)"}, 0.1, "q.jsonl", "kb.db")
    assert capsys.readouterr().out == ""
    # the share matches: only the labelled fit is suggested
    _calibration_hint({**m, "n_out_of_scope": 5}, 0.1, "q.jsonl", None)
    out = capsys.readouterr().out
    assert "--oos-share" not in out and "qa tune q.jsonl\n" in out
