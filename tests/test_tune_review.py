"""`qa tune --from-review`: the out-of-scope share from what `qa review` decided, and its bad input."""

from __future__ import annotations

import json

from qa.kb.store import KnowledgeBase

UNRELATED = [
    "capital city of mongolia",
    "who won the football world cup",
    "how tall is mount everest",
    "recommend a good novel",
    "what is the boiling point of water",
    "how do volcanoes form",
    "translate hello into french",
    "what is the speed of light",
    "best pizza topping",
    "how many legs does a spider have",
    "tell me a joke",
    "what is quantum computing",
]
RELATED = [
    "my password stopped working",
    "I need a new password",
    "money back please",
    "when do parcels come",
    "is the shop open on holidays",
    "send my item back for cash",
    "password help",
    "delivery is late",
    "refund status",
    "what time do you close",
    "forgot login",
    "return policy",
]


def review(path, dismissed: list[str], mapped: list[str]) -> None:
    """Log the questions as `qa ask` would, then record a curator's decision on each."""
    kb = KnowledgeBase(path, create=False)
    for q in dismissed + mapped:
        kb.log_question(q, lang="en", status="fallback", confidence=0.1, entry_id=None, suggestions=[])
    rows = kb.open_log()
    for r in rows:
        kb.resolve_log([r["id"]], "dismissed" if r["question"] in dismissed else "alternate:pw")
    kb.close()


def test_from_review_sets_the_share_and_says_where_it_came_from(db, qa):
    review(db, UNRELATED, RELATED)
    code, out, err = qa("tune", "--db", db, "--from-review", "--json")
    assert code == 0, err
    got = json.loads(out)
    assert 0.0 < got["oos_share"] <= 0.9
    assert got["oos_share_source"] == "qa review: 12 questions mapped to an entry, 12 dismissed"
    stats = json.loads(qa("stats", "--db", db, "--json")[1])
    assert stats["oos_share"] == got["oos_share"] and stats["oos_share_source"].startswith("qa review")
    # more questions found out of scope means a larger share
    review(db, UNRELATED + [u + " please" for u in UNRELATED], [])
    again = json.loads(qa("tune", "--db", db, "--from-review", "--json")[1])
    assert again["oos_share"] > got["oos_share"]
    # --reset forgets the share and where it came from
    assert qa("tune", "--db", db, "--reset")[0] == 0
    stats = json.loads(qa("stats", "--db", db, "--json")[1])
    assert stats["oos_share_source"] == "the default"


def test_from_review_needs_enough_decisions_of_both_kinds(db, qa):
    code, out, err = qa("tune", "--db", db, "--from-review")
    assert code == 2 and "at least 20 questions decided with qa review" in err and "0 mapped and 0 dismissed" in err
    review(db, UNRELATED + [u + "?" for u in UNRELATED], [])
    code, _, err = qa("tune", "--db", db, "--from-review")
    assert code == 2 and "0 mapped and 24 dismissed" in err and "--oos-share" in err
    assert json.loads(qa("stats", "--db", db, "--json")[1])["oos_share_source"] == "the default"


def test_from_review_does_not_mix_with_other_sources_of_the_share(db, qa, tmp_path):
    queries = tmp_path / "q.jsonl"
    queries.write_text(json.dumps({"query": "reset password", "gold": ["pw"]}) + "\n", encoding="utf-8")
    code, _, err = qa("tune", str(queries), "--db", db, "--from-review")
    assert code == 2 and "labelled QUERIES bring their own share" in err
    code, _, err = qa("tune", "--db", db, "--from-review", "--oos-share", "0.2")
    assert code == 2 and "not both" in err


def test_a_confidence_that_assumes_every_question_answerable_is_refit_first(db, qa):
    review(db, UNRELATED, RELATED)
    assert qa("tune", "--db", db, "--oos-share", "0")[0] == 0
    code, _, err = qa("tune", "--db", db, "--from-review")
    assert code == 2 and "qa tune --reset" in err
