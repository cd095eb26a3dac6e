"""`qa list`, `qa show`, `qa stats`. (qa/cli/kb_cmds.py)

Run in-process with the `qa` fixture (tests/cli/conftest.py); every KB uses the FakeEncoder.
"""

from __future__ import annotations

from tests.cli.conftest import record
from tests.conftest import ENTRIES


# ---- list, show, stats ---------------------------------------------------------------------------
def test_list(db, qa):
    r = qa("list", "--db", db)
    assert r.code == 0
    lines = r.out.splitlines()
    assert lines[0] == "pw\ten\t+4\thow do I reset my password"
    assert lines[4] == "sym\tzh\t+3\t新冠肺炎有哪些症状"
    assert len(lines) == 6
    j = qa("list", "--db", db, "--json", "--limit", "2").json
    assert j == [
        {"id": "pw", "question": "how do I reset my password", "lang": "en", "alternates": 4, "tags": ["account"]},
        {"id": "hours", "question": "what are your opening hours", "lang": "en", "alternates": 4, "tags": ["shop"]},
    ]


def test_show(db, qa):
    r = qa("show", "sym", "--db", db)
    assert r.code == 0
    assert "id:        sym" in r.out and "lang:      zh" in r.out
    assert "question:  新冠肺炎有哪些症状" in r.out and "  also:    新冠的症状是什么" in r.out
    assert "answer:    发热、干咳、乏力。" in r.out
    j = qa("show", "pw", "--db", db, "--json").json
    assert {k: j[k] for k in ("id", "question", "answer", "alternates", "lang", "tags")} == record(ENTRIES[0])
    assert j["created"] and j["updated"]


def test_show_unknown_id(db, qa):
    r = qa("show", "no-such-id", "--db", db)
    assert r.code == 3
    assert "no-such-id" in r.err and "qa list" in r.err


def test_stats(db, qa):
    j = qa("stats", "--db", db, "--json").json
    assert j["entries"] == 6
    assert j["texts"] == sum(len(e.texts()) for e in ENTRIES)
    assert j["languages"] == {"en": 4, "zh": 2}
    assert j["model"] == ["fake"]
    assert j["vectors"] == {"fake": j["texts"]}
    assert j["logged_questions"] == 0
    assert 0 < j["answer_threshold"] < 1
    r = qa("stats", "--db", db)
    assert r.code == 0
    assert "entries:" in r.out and "model:" in r.out and "answer_threshold:" in r.out
    assert j["oos_share"] == 0.1 and "0.1 (the default; qa tune --oos-share or --from-review sets it)" in r.out
    assert j["calibration"] == "prior" and "too few alternates to calibrate itself" in r.out  # 6 entries
