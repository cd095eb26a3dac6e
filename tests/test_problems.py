"""Duplicates, conflicts, merge and check: the logic on FakeEncoder KBs, the commands in process."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from qa.bot import Bot
from qa.curate import merge
from qa.curate.check import used_entries
from qa.curate.conflicts import check_changed, conflicts, encoder_embed, jaccard
from qa.curate.duplicates import DupePair, dupes, spelling_duplicates
from qa.curate.likeness import nearest
from qa.errors import InputError, NotFoundError
from qa.kb.entry import Entry
from qa.kb.store import KnowledgeBase
from qa.text import normalise_text
from tests.conftest import ENTRIES, run_cli, shared_set

#: A paraphrase of "how do I reset my password" (fake cosine .92) and a copy of an alternate of
#: "hours" ("opening times") that only differs in case and punctuation.
PARAPHRASE = Entry("pw2", "how do I reset my own password", "Ask your admin to reset it.", [], "en")
EXACT = Entry("hours2", "Opening times!", "We are open 9 to 5, Monday to Friday.", [], "en")
#: Issue 14: a name spelt apart, in an entry that answers the other way. No encoder puts the two
#: texts at its cosine threshold (MiniLM .70), but their words are the same.
RESERVATIONS = Entry(
    "accept_reservations",
    "can i make a reservation for redrobin",
    "Yes, we take reservations",
    ["does redrobin take reservations", "are reservations taken at redrobin", "will qdoba take reservations"],
    "en",
)
RED_ROBIN = Entry("red-robin", "Does Red Robin take reservations?", "No, we never take reservations.", [], "en")
#: A typo of the "refund" alternate "return an item for a refund" (character n-grams .82).
TYPO = Entry("refund-typo", "return an item for a refnud", "Refunds take 30 days.", [], "en")


def _run(monkeypatch, capsys, *args, stdin=None):
    return run_cli(monkeypatch, capsys, *args, stdin=stdin)


def _write(path, entries):
    path.write_text("".join(json.dumps(e.to_dict(), ensure_ascii=False) + "\n" for e in entries), encoding="utf-8")
    return path


@pytest.fixture
def make_db(tmp_path, monkeypatch, capsys):
    def make(entries, name="kb"):
        src = _write(tmp_path / f"{name}.jsonl", entries)
        db = tmp_path / f"{name}.db"
        code, _, err = _run(monkeypatch, capsys, "import", str(src), "--db", str(db), "--model", "fake")
        assert code == 0, err
        return db

    return make


def _copy(entries):
    return [Entry(e.id, e.question, e.answer, list(e.alternates), e.lang, list(e.tags)) for e in entries]


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


# ---- the logic -------------------------------------------------------------------------------
def test_nearest_in_blocks_equals_the_full_matrix(monkeypatch):
    import qa.curate.likeness

    rng = np.random.default_rng(1)
    v = rng.normal(size=(50, 8)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    owner = np.repeat(np.arange(10), 5)
    full = v @ v.T
    full[owner[:, None] == owner[None, :]] = -np.inf
    want = np.sort(full, axis=1)[:, ::-1][:, :3]
    monkeypatch.setattr(qa.curate.likeness, "BLOCK_CELLS", 7 * 50)  # 7 rows at a time
    idx, sim = nearest(v, owner, k=3, block_rows=2048)
    np.testing.assert_allclose(sim, want, rtol=1e-5)
    assert (owner[idx] != owner[:, None]).all()
    idx_f, sim_f = nearest(v, owner, k=3, floor=0.5)  # only neighbours at or above 0.5
    above = sim >= 0.5
    assert 0 < above.sum() < above.size
    np.testing.assert_allclose(sim_f[above], sim[above], rtol=1e-5)
    assert (idx_f[above] == idx[above]).all() and (idx_f[~above] == -1).all() and np.isneginf(sim_f[~above]).all()
    idx, sim = nearest(v[:3], np.zeros(3, np.int64), k=3)  # one owner: no neighbours
    assert idx.shape == (3, 2) and (idx == -1).all() and np.isneginf(sim).all()


def test_normalise_and_jaccard():
    assert normalise_text("  Opening   TIMES!? ") == normalise_text("opening times") == "opening times"
    assert normalise_text("肺气肿需要手术？") == normalise_text("肺气肿需要手术?")
    assert jaccard("Open 9 to 5", "open 9 to 5!") == 1.0
    assert jaccard("a b", "c d") == 0.0


def test_dupes_finds_paraphrase_and_exact_duplicate_only(fake):
    bot = Bot.from_entries(_copy(ENTRIES) + [PARAPHRASE, EXACT], encoders=[fake])
    pairs = dupes(bot.index)
    assert [(p.a, p.b) for p in pairs] == [("hours", "hours2"), ("pw", "pw2")]
    exact, near = pairs
    assert exact.exact and exact.similarity == 1.0 and exact.b_text == "Opening times!"
    assert not near.exact and 0.9 <= near.similarity < 1.0 and near.encoder == "fake"
    assert near.a_text == "how do I reset my password" and near.suggestion == "qa merge pw pw2"
    assert dupes(Bot.from_entries(_copy(ENTRIES), encoders=[fake]).index) == []
    # a lower threshold finds more; the exact one is kept whatever the threshold
    assert len(dupes(bot.index, 0.4)) > 2
    assert [(p.a, p.b) for p in dupes(bot.index, 0.99)] == [("hours", "hours2")]


def test_red_robin_is_the_same_words_and_a_conflict(fake):
    bot = Bot.from_entries(_copy(ENTRIES) + [RESERVATIONS, RED_ROBIN], encoders=[fake])
    for cal in (None, bot.calibration):  # needs neither vectors nor the calibration
        (p,) = dupes(bot.index, 0.99, cal)
        assert (p.a, p.b, p.how, p.similarity, p.exact) == ("accept_reservations", "red-robin", "same words", 1, False)
        assert p.a_text == "does redrobin take reservations"
        assert p.suggestion == "qa merge accept_reservations red-robin"
    answers = {e.id: e.answer for e in bot.kb.entries()}
    (c,) = conflicts(dupes(bot.index), answers, encoder_embed([fake]))
    assert c.b_answer == RED_ROBIN.answer and c.measure == "cosine"


def test_spelling_rule_needs_the_calibrated_answer_and_the_same_numbers(fake):
    bot = Bot.from_entries(_copy(ENTRIES) + [TYPO], encoders=[fake])
    assert dupes(bot.index, 0.99) == []  # no cosine at .99, and no calibration given
    (p,) = dupes(bot.index, 0.99, bot.calibration)
    assert (p.a, p.b, p.how) == ("refund", "refund-typo", "spelling")
    assert p.a_text == "return an item for a refund" and 0.75 <= p.similarity < 0.9 and p.confidence >= 0.8
    assert p.to_dict()["how"] == "spelling" and p.to_dict()["confidence"] == round(p.confidence, 4)
    # n-grams alone are not enough: with the bar for the answer above any confidence, nothing
    assert spelling_duplicates(bot.index, bot.calibration, confidence=1.01) == []
    # nor are two texts that differ in a number
    numbers = [Entry("a", "is the shop open on 1 may", "Yes."), Entry("b", "is the shop open on 2 may", "No.")]
    bot = Bot.from_entries(numbers + _copy(ENTRIES), encoders=[fake])
    assert spelling_duplicates(bot.index, bot.calibration) == []


def test_dupes_among_some_entries_equal_the_full_pass_restricted(fake):
    bot = Bot.from_entries(_copy(ENTRIES) + [PARAPHRASE, EXACT, RESERVATIONS, RED_ROBIN, TYPO], encoders=[fake])
    index, cal = bot.index, bot.calibration
    full = dupes(index, None, cal)
    # the typo's answer reaches .67 in this 11-entry KB, under the spelling rule's bar (the smaller KB
    # of test_spelling_rule_needs_the_calibrated_answer_and_the_same_numbers clears it)
    assert {p.how for p in full} == {"same text", "same words", "cosine"}
    for ids in (["red-robin"], ["pw2", "refund"], ["hours2", "refund-typo", "accept_reservations"]):
        among = [index.entry_ids.index(i) for i in ids]
        want = [p.to_dict() for p in full if p.a in ids or p.b in ids]
        assert [p.to_dict() for p in dupes(index, None, cal, among=among)] == want != []
    assert dupes(index, None, cal, among=[]) == []
    report = check_changed(index, cal, ["red-robin", "no-such-id"], {e.id: e.answer for e in bot.kb.entries()})
    assert report.checked == 1 and [(p.a, p.b) for p in report.pairs] == [("accept_reservations", "red-robin")]
    assert [c.pair for c in report.conflicts] == report.pairs
    assert report.to_dict()["duplicates"][0]["how"] == "same words"


def test_conflicts_logic():
    pair = DupePair("a", "b", "q", "q", 1.0, "fake", True)
    answers = {"a": "Open 9 to 5.", "b": "open  9 to 5."}
    assert conflicts([pair], answers) == []  # equal after folding case and spaces
    answers = {"a": "We are open 9 to 5 on weekdays", "b": "We are open 9 to 5 on weekdays!"}
    assert conflicts([pair], answers) == []  # the same words
    answers = {"a": "Orders arrive in 3 to 5 days.", "b": "Orders arrive in 7 to 10 days."}
    assert len(conflicts([pair], answers, lambda enc, texts: np.ones((len(texts), 2)) / np.sqrt(2))) == 1
    answers = {"a": "Click 'forgot password'.", "b": "Ask your admin."}
    (c,) = conflicts([pair], answers)
    assert c.measure == "jaccard" and c.answer_similarity < 0.7
    assert conflicts([pair], {"a": "", "b": "x"}) == []  # an empty answer is check's business


def test_merge_moves_texts_and_is_atomic(entries, monkeypatch):
    kb = KnowledgeBase.memory()
    entries[1].tags = ["shop", "time"]
    entries[1].alternates.append("HOW DO I RESET MY PASSWORD?")  # pw has it already
    kb.upsert(entries)
    before = kb.entries()

    def broken(self, entry_id):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(KnowledgeBase, "remove", broken)
    with pytest.raises(RuntimeError):
        merge(kb, "pw", "hours")
    assert kb.entries() == before
    monkeypatch.undo()
    with pytest.raises(InputError, match="itself"):
        merge(kb, "pw", "pw")
    with pytest.raises(NotFoundError):
        merge(kb, "pw", "nope")
    assert kb.entries() == before
    e = merge(kb, "pw", "hours")
    assert e.answer == entries[0].answer and e.tags == ["account", "shop", "time"]
    assert e.alternates == entries[0].alternates + entries[1].texts()[:-1]
    assert "hours" not in kb.ids() and kb.get("pw").alternates == e.alternates


def test_used_entries():
    log = [{"entry_id": "a", "suggestions": '["a", "b"]'}, {"entry_id": None, "suggestions": []}]
    assert used_entries(log, {"c": (1, 0)}) == {"a", "b", "c"}


# ---- the commands ----------------------------------------------------------------------------
def test_dupes_command(make_db, monkeypatch, capsys):
    db = make_db(_copy(ENTRIES) + [PARAPHRASE, EXACT])
    code, out, err = _run(monkeypatch, capsys, "dupes", "--db", str(db), "--json")
    assert code == 0, err
    r = json.loads(out)
    assert (
        r["total"] == 2
        and r["thresholds"] == {"fake": 0.9}
        and r["spelling"] == {"similarity": 0.75, "confidence": 0.8}
    )
    assert [(p["a"], p["b"], p["exact"]) for p in r["pairs"]] == [("hours", "hours2", True), ("pw", "pw2", False)]
    assert r["pairs"][1]["suggestion"] == "qa merge pw pw2"
    code, out, _ = _run(monkeypatch, capsys, "dupes", "--db", str(db), "--limit", "1")
    assert code == 0 and "qa merge hours hours2" in out and "1 more" in out
    code, _, err = _run(monkeypatch, capsys, "dupes", "--db", str(db), "--threshold", "1.5")
    assert code == 2 and "--threshold" in err
    code, out, _ = _run(monkeypatch, capsys, "dupes", "--db", str(make_db(_copy(ENTRIES), "clean")))
    assert code == 0 and "No near-duplicate entries" in out


def test_merge_command(make_db, monkeypatch, capsys):
    db = make_db(_copy(ENTRIES) + [PARAPHRASE])
    code, _, err = _run(monkeypatch, capsys, "merge", "pw", "pw2", "--db", str(db), stdin=io.StringIO("y\n"))
    assert code == 2 and "--yes" in err
    code, _, err = _run(monkeypatch, capsys, "merge", "pw", "pw2", "--db", str(db), stdin=TTY("n\n"))
    assert code == 1 and "nothing changed" in err
    assert "pw2" in KnowledgeBase(db).ids()
    code, _, err = _run(monkeypatch, capsys, "merge", "pw", "nope", "--db", str(db), "--yes")
    assert code == 3 and "nope" in err
    code, _, err = _run(monkeypatch, capsys, "merge", "pw", "pw", "--db", str(db), "--yes")
    assert code == 2 and "itself" in err
    code, out, err = _run(monkeypatch, capsys, "merge", "pw", "pw2", "--db", str(db), stdin=TTY("y\n"))
    assert code == 0 and "1 alternates added" in out, err
    kb = KnowledgeBase(db)
    assert "pw2" not in kb.ids() and PARAPHRASE.question in kb.get("pw").alternates
    assert kb.get("pw").answer == ENTRIES[0].answer
    code, out, _ = _run(monkeypatch, capsys, "merge", "hours", "ship", "--db", str(db), "--yes", "--json")
    assert code == 0 and json.loads(out)["added_alternates"] == ENTRIES[2].texts()
    code, out, _ = _run(monkeypatch, capsys, "ask", "when will my order arrive", "--db", str(db), "--json")
    assert json.loads(out)["entry_id"] == "hours"  # the merged texts are searchable


def test_conflicts_command(make_db, monkeypatch, capsys):
    db = make_db(_copy(ENTRIES) + [PARAPHRASE, EXACT])  # pw2 answers differently; hours2 the same
    code, out, err = _run(monkeypatch, capsys, "conflicts", "--db", str(db), "--json")
    assert code == 0, err
    r = json.loads(out)
    assert r["total"] == 1
    (c,) = r["conflicts"]
    assert (c["a"], c["b"]) == ("pw", "pw2") and c["b_answer"] == PARAPHRASE.answer and c["measure"] == "cosine"
    code, out, _ = _run(monkeypatch, capsys, "conflicts", "--db", str(db))
    assert code == 0 and "Ask your admin" in out and "forgot password" in out
    code, out, _ = _run(monkeypatch, capsys, "conflicts", "--db", str(make_db(_copy(ENTRIES), "clean")))
    assert code == 0 and "No conflicting answers" in out


def test_check_command(make_db, monkeypatch, capsys):
    # the sample KB less the texts the fake encoder sends to another entry
    clean = [e for e in _copy(ENTRIES) if e.id != "ship"]
    for e in clean:
        e.alternates = [a for a in e.alternates if a not in {"I want my money back", "怎样正确佩戴口罩"}]
    db = make_db(clean, "clean")
    code, out, err = _run(monkeypatch, capsys, "check", "--db", str(db), "--strict")
    assert code == 0 and "OK: 0 errors, 0 warnings" in out, out + err
    assert "not known yet" in out
    # the sample KB: the fake encoder sends 4 texts to the wrong entry (warnings, not errors)
    db = make_db(_copy(ENTRIES), "sample")
    code, out, _ = _run(monkeypatch, capsys, "check", "--db", str(db), "--json")
    r = json.loads(out)
    assert code == 0 and r["ok"] and r["errors"] == 0 and r["warnings"] == 4
    assert r["sections"]["retrieves_other_entry"]["count"] == 4 and r["languages"] == {"en": 4, "zh": 2}
    code, out, _ = _run(monkeypatch, capsys, "check", "--db", str(db), "--strict")
    assert code == 1 and "FAILED" in out
    # an empty answer, a copied text, no alternates, mixed languages; a logged question
    bad = _copy(ENTRIES) + [Entry("empty", "how do I delete my account", "", ["opening times", "删除账户"], "en")]
    db = make_db(bad, "bad")
    assert _run(monkeypatch, capsys, "ask", "quantum chromodynamics", "--db", str(db))[0] == 0
    code, out, _ = _run(monkeypatch, capsys, "check", "--db", str(db), "--json")
    r = json.loads(out)
    s = r["sections"]
    assert code == 1 and not r["ok"] and r["errors"] == 2
    assert s["empty_answers"]["items"] == [{"entry_id": "empty", "question": "how do I delete my account"}]
    assert [(i["a"], i["b"]) for i in s["exact_duplicates"]["items"]] == [("hours", "empty")]
    assert s["mixed_languages"]["items"][0]["alternates"] == ["删除账户"]
    assert r["usage_recorded"] and 0 < s["never_chosen_or_suggested"]["count"] < 7
    code, out, _ = _run(monkeypatch, capsys, "check", "--db", str(db))
    assert code == 1 and "error    entries with an empty answer: 1" in out and "[empty]" in out


def test_red_robin_in_dupes_and_conflicts_commands(make_db, monkeypatch, capsys):
    db = make_db(_copy(ENTRIES) + [RESERVATIONS, RED_ROBIN, TYPO])
    code, out, err = _run(monkeypatch, capsys, "dupes", "--db", str(db), "--json")
    assert code == 0, err
    pairs = {(p["a"], p["b"]): p for p in json.loads(out)["pairs"]}
    assert pairs["accept_reservations", "red-robin"]["how"] == "same words"
    assert pairs["refund", "refund-typo"]["how"] in {"cosine", "spelling"}
    code, out, _ = _run(monkeypatch, capsys, "dupes", "--db", str(db), "--threshold", "0.99")
    assert code == 0 and "same words; to merge: qa merge accept_reservations red-robin" in out
    assert "spelling 0.82, one answers the other at" in out
    code, out, err = _run(monkeypatch, capsys, "conflicts", "--db", str(db), "--json")
    assert code == 0, err
    found = {(c["a"], c["b"]): c for c in json.loads(out)["conflicts"]}
    assert found["accept_reservations", "red-robin"]["b_answer"] == "No, we never take reservations."
    code, out, _ = _run(monkeypatch, capsys, "conflicts", "--db", str(db))
    assert code == 0 and "No, we never take reservations." in out and "same words" in out


def test_import_reports_what_duplicates_the_kb(make_db, tmp_path, monkeypatch, capsys):
    db = make_db(_copy(ENTRIES) + [RESERVATIONS])
    src = _write(tmp_path / "more.jsonl", [RED_ROBIN, Entry("new", "do you sell gift cards", "Yes.", [], "en")])
    before = KnowledgeBase(db).entries()
    code, out, err = _run(monkeypatch, capsys, "import", str(src), "--db", str(db), "--dry-run")
    assert code == 0, err
    assert KnowledgeBase(db).entries() == before  # a dry run writes nothing
    assert "Would change: 2 added" in out
    assert "The import would bring in 1 pair of a new or changed entry and another" in out
    assert "[red-robin] 'Does Red Robin take reservations?'" in out and "the answers differ" in out
    assert f"After the import, review them with: qa dupes --db {db}" in out
    code, out, err = _run(monkeypatch, capsys, "import", str(src), "--db", str(db), "--json")
    assert code == 0, err
    r = json.loads(out)
    assert r["added"] == 2 and r["checked"] == 2
    assert [(p["a"], p["b"], p["how"]) for p in r["duplicates"]] == [("accept_reservations", "red-robin", "same words")]
    assert [(c["a"], c["b"]) for c in r["conflicts"]] == [("accept_reservations", "red-robin")]
    # importing the same file again changes nothing, so there is nothing to check
    code, out, _ = _run(monkeypatch, capsys, "import", str(src), "--db", str(db))
    assert code == 0 and "2 unchanged" in out and "Duplicates" not in out and "checked" not in out
    # the text report: at most REPORT_PAIRS pairs, then a count
    monkeypatch.setattr("qa.cli.kb_cmds.REPORT_PAIRS", 0)
    src = _write(tmp_path / "again.jsonl", [Entry("rr2", "does red-robin take reservation", "Maybe.", [], "en")])
    code, out, _ = _run(monkeypatch, capsys, "import", str(src), "--db", str(db))
    assert code == 0 and "Duplicates: 2 pairs of a new or changed entry" in out and "... and 2 more" in out
    assert f"Review them with: qa dupes --db {db} and qa conflicts --db {db}" in out
    # a changed entry is checked again; one that duplicates nothing says so
    src = _write(tmp_path / "gift.jsonl", [Entry("new", "do you sell gift cards", "Online too.", [], "en")])
    code, out, _ = _run(monkeypatch, capsys, "import", str(src), "--db", str(db))
    assert code == 0 and "1 updated" in out and "No new or changed entry duplicates another (1 checked)." in out


def test_import_dry_run_into_a_file_that_is_no_kb(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "notes.db"
    bad.write_bytes(b"not a database at all" * 100)
    src = _write(tmp_path / "one.jsonl", [RED_ROBIN])
    code, _, err = _run(monkeypatch, capsys, "import", str(src), "--db", str(bad), "--dry-run", "--model", "fake")
    assert code == 4 and "not a usable SQLite file" in err
    assert bad.read_bytes() == b"not a database at all" * 100


def test_help_has_examples(monkeypatch, capsys):
    for cmd in ("dupes", "merge", "conflicts", "check"):
        code, out, _ = _run(monkeypatch, capsys, cmd, "--help")
        assert code == 0 and "Example" in out and "--json" in out


# ---- real model, real data -------------------------------------------------------------------
@pytest.mark.slow
def test_clinc150_planted_duplicate_with_conflicting_answer(tmp_path, monkeypatch, capsys):
    kb_file = shared_set("clinc150") / "kb.jsonl"
    rows = [json.loads(line) for line in kb_file.read_text(encoding="utf-8").splitlines()]
    source = rows[0]  # accept_reservations; its second alternate: "does redrobin take reservations"
    rows.append(
        {
            "id": "planted",
            "question": source["alternates"][1].replace(" take ", " accept "),  # a paraphrase, not a copy
            "answer": "We never take reservations; just walk in.",
            "lang": "en",
        }
    )
    src = tmp_path / "kb.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    db = tmp_path / "kb.db"
    code, _, err = _run(monkeypatch, capsys, "import", str(src), "--db", str(db))
    assert code == 0, err
    # issue 14: the name spelt apart, imported into the KB (MiniLM cosine .70, e5 .945)
    more = _write(tmp_path / "more.jsonl", [Entry(RED_ROBIN.id, RED_ROBIN.question, RED_ROBIN.answer, [], "en")])
    code, out, err = _run(monkeypatch, capsys, "import", str(more), "--db", str(db), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert ("accept_reservations", "red-robin") in {(p["a"], p["b"]) for p in report["duplicates"]}
    assert ("accept_reservations", "red-robin") in {(c["a"], c["b"]) for c in report["conflicts"]}
    code, out, err = _run(monkeypatch, capsys, "dupes", "--db", str(db), "--json", "--limit", "0")
    assert code == 0, err
    pairs = {(p["a"], p["b"]): p for p in json.loads(out)["pairs"]}
    assert ("accept_reservations", "planted") in pairs
    assert not pairs["accept_reservations", "planted"]["exact"]
    assert pairs["accept_reservations", "red-robin"]["how"] == "same words"
    assert len(pairs) <= 6  # few pairs of distinct intents: "that is actually false" ~ "that is not false"
    code, out, err = _run(monkeypatch, capsys, "conflicts", "--db", str(db), "--json", "--limit", "0")
    assert code == 0, err
    found = {(c["a"], c["b"]): c for c in json.loads(out)["conflicts"]}
    assert ("accept_reservations", "planted") in found
    assert found["accept_reservations", "planted"]["b_answer"].startswith("We never")
    assert found["accept_reservations", "red-robin"]["b_answer"] == RED_ROBIN.answer


def test_merge_repoints_feedback_and_log(fake):
    from qa import curate
    from qa.bot import Bot
    from qa.kb.entry import Entry
    from qa.kb.store import KnowledgeBase

    kb = KnowledgeBase.memory()
    kb.upsert(
        [
            Entry("a", "opening hours", "9-5", ["when do you open"]),
            Entry("b", "shop hours", "9 to 5"),
            Entry("c", "refund policy", "30 days", ["money back"]),
        ]
    )
    bot = Bot(kb, [fake])
    bot.feedback("shop hours", "b", True)
    kb.log_question(
        "hours on sunday", lang="en", status="fallback", confidence=0.1, entry_id="b", suggestions=["b", "a"]
    )
    curate.merge(kb, "a", "b")
    assert kb.db.execute("SELECT entry_id FROM feedback").fetchall() == [("a",)]
    row = kb.db.execute("SELECT entry_id, suggestions FROM log").fetchone()
    assert row[0] == "a" and json.loads(row[1]) == ["a"]
