"""`qa models`. (qa/cli/model_cmds.py)

Run in-process with the `qa` fixture (tests/cli/conftest.py); every KB uses the FakeEncoder.
"""

from __future__ import annotations


def test_models(db, qa):
    j = qa("models", "--db", db, "--json").json
    assert j["kb_model"] == ["fake"]
    ids = {e["id"]: e for e in j["encoders"]}
    assert ids["fake"]["used"] is True
    assert ids["minilm-l6-int8"]["used"] is False
    assert set(j["default"]) <= set(ids)
    r = qa("models", "--db", db)
    assert r.code == 0
    assert r.out.startswith("This KB uses: fake")
    assert any(line.startswith("* fake") for line in r.out.splitlines())
