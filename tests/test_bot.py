"""The Bot with the fake encoder: decisions, fallbacks, logging, refresh, threads."""

from __future__ import annotations

import threading

import pytest

from qa.bot import Bot
from qa.errors import InputError, KBError, ModelMismatchError
from qa.kb.entry import Entry
from qa.kb.store import KnowledgeBase


@pytest.fixture
def bot(fake, entries):
    return Bot.from_entries(entries, encoders=[fake])


def test_exact_question_is_answered(bot):
    ans = bot.ask("how do I reset my password")
    assert ans.status == "answered" and ans.entry_id == "pw"
    assert ans.text.startswith("Click") and 0.5 <= ans.confidence <= 1
    assert ans.matched_question == "how do I reset my password"
    assert all(s.entry_id != "pw" for s in ans.suggestions)


def test_alternate_and_chinese(bot):
    assert bot.ask("when will my order arrive").entry_id == "ship"
    ans = bot.ask("新冠肺炎的症状有哪些")
    assert ans.entry_id == "sym" and ans.lang == "zh"


def test_unrelated_question_falls_back_and_is_logged(bot):
    ans = bot.ask("quantum chromodynamics lattice gauge")
    assert ans.status == "fallback" and ans.entry_id is None
    assert ans.text and ans.suggestions
    logged = bot.kb.logged()
    assert logged[0]["question"] == "quantum chromodynamics lattice gauge" and logged[0]["status"] == "fallback"


def test_answered_is_not_logged_and_log_false(bot):
    bot.ask("how do I reset my password")
    bot.ask("zzzz qqqq", log=False)
    assert bot.kb.logged() == []


def test_fallback_text_is_configurable(bot):
    bot.kb.set_settings({"fallback_answer": "Ask a human."})
    assert bot.ask("quantum chromodynamics lattice gauge").text == "Ask a human."


def test_ambiguous_when_two_entries_are_close(ambiguous_bot):
    bot = ambiguous_bot
    ans = bot.ask("reset password")
    assert ans.status == "ambiguous"
    assert {s.entry_id for s in ans.suggestions[:2]} == {"a", "b"}
    assert "Did you mean" in ans.text


def test_empty_and_huge_questions(bot):
    for q in ["", "   \n\t "]:
        with pytest.raises(InputError, match="empty"):
            bot.ask(q)
    ans = bot.ask("password " * 20000)
    assert ans.truncated and len(ans.question) <= 1000
    not_utf8 = b"reset caf\xe9".decode("utf-8", "surrogateescape")
    with pytest.raises(InputError, match=r"not valid UTF-8 \(byte 0xE9 at character 10\)"):
        bot.ask(not_utf8)
    with pytest.raises(InputError, match="lone surrogate U\\+D800"):
        bot.ask("reset \ud800")
    with pytest.raises(InputError, match="The alternate of entry 'x'"):
        bot.kb.upsert([Entry("x", "fine", "fine", ["bad \udcff"])])


def test_tags_restrict_answers(bot):
    ans = bot.ask("how do I reset my password", tags=["shop"])
    assert ans.entry_id != "pw"
    assert bot.ask("anything", tags=["no-such-tag"]).status == "fallback"


def test_threshold_override_is_stored_and_used(bot):
    bot.kb.set_settings({"thresholds": {"answer_threshold": 1.01}})
    assert bot.calibration.answer_threshold == 1.01
    assert bot.ask("how do I reset my password").status != "answered"


def test_refresh_sees_writes_from_another_connection(tmp_path, fake, entries):
    path = tmp_path / "kb.db"
    KnowledgeBase(path).upsert(entries[:2])
    bot = Bot(KnowledgeBase(path), [fake])
    assert bot.index.n == 2
    other = KnowledgeBase(path)
    other.upsert([Entry("new", "do you sell gift cards", "Yes, in store.", ["gift card"], "en")])
    assert bot.ask("do you sell gift cards").entry_id == "new"


def test_background_reload_answers_from_the_loaded_index_until_the_new_one_is_ready(
    tmp_path, fake, entries, monkeypatch
):
    path = tmp_path / "kb.db"
    KnowledgeBase(path).upsert(entries[:2])
    bot = Bot(KnowledgeBase(path), [fake], background_reload=True)
    assert bot.index.n == 2 and not bot.reloading
    gate, read = threading.Event(), bot._read

    def slow_read(kb):  # noqa: ANN001, ANN202
        assert kb is not bot.kb  # the reload reads through a connection of its own
        gate.wait(10)
        return read(kb)

    monkeypatch.setattr(bot, "_read", slow_read)
    KnowledgeBase(path).upsert([Entry("new", "do you sell gift cards", "Yes, in store.", ["gift card"], "en")])
    ans = bot.ask("do you sell gift cards")  # does not wait for the reload
    assert ans.entry_id != "new" and bot.reloading and bot.index.n == 2
    assert bot.ask("how do I reset my password").entry_id == "pw"  # still answering meanwhile
    gate.set()
    bot._reloader.thread.join(10)
    assert not bot.reloading and bot.index.n == 3
    assert bot.ask("do you sell gift cards").entry_id == "new"


def test_a_failed_background_reload_keeps_the_loaded_index(tmp_path, fake, entries, monkeypatch, caplog):
    path = tmp_path / "kb.db"
    KnowledgeBase(path).upsert(entries[:2])
    bot = Bot(KnowledgeBase(path), [fake], background_reload=True)
    calls = []

    def broken(kb):  # noqa: ANN001, ANN202
        calls.append(kb)
        raise KBError("disk on fire")

    monkeypatch.setattr(bot, "_read", broken)
    KnowledgeBase(path).upsert([Entry("new", "do you sell gift cards", "Yes, in store.", [], "en")])
    bot.ask("how do I reset my password")
    bot._reloader.thread.join(10)
    assert "reloading the knowledge base" in caplog.text and "disk on fire" in caplog.text
    assert bot.reload_error == "disk on fire"
    assert bot.ask("how do I reset my password").entry_id == "pw" and bot.index.n == 2
    assert len(calls) == 1  # no new attempt on every question: RELOAD_RETRY_S later
    with pytest.raises(KBError, match="disk on fire"):
        bot.refresh(force=True)  # an explicit refresh reloads here and now, and says why it cannot
    assert len(calls) == 2


def test_a_background_reload_does_not_follow_a_switch_to_another_model(tmp_path, fake, entries):
    from qa import indexing
    from qa.encoders.fake import FakeEncoder

    path = tmp_path / "kb.db"
    KnowledgeBase(path).upsert(entries)
    bot = Bot(KnowledgeBase(path), [fake], background_reload=True)
    indexing.index(KnowledgeBase(path), [FakeEncoder(id="other")], switch=True)  # qa index --model other
    assert bot.ask("how do I reset my password").entry_id == "pw"
    bot._reloader.thread.join(10)
    assert "indexed with other, not fake" in bot.reload_error and "answers from the index it has" in bot.reload_error
    assert bot.ask("how do I reset my password").entry_id == "pw"
    assert indexing.kb_model(KnowledgeBase(path)) == ["other"]  # the reload did not switch it back


def test_model_mismatch_is_reported(tmp_path, fake, entries):
    path = tmp_path / "kb.db"
    kb = KnowledgeBase(path)
    kb.upsert(entries)
    Bot(kb, [fake])
    from qa.encoders.fake import FakeEncoder

    with pytest.raises(ModelMismatchError, match="qa index --model other"):
        Bot(KnowledgeBase(path), [FakeEncoder(id="other")])


def test_vectors_of_two_models_never_mix(tmp_path, entries):
    from qa import indexing
    from qa.encoders.fake import FakeEncoder

    kb = KnowledgeBase(tmp_path / "kb.db")
    kb.upsert(entries)
    a, b = FakeEncoder(id="a"), FakeEncoder(dim=64, id="b")
    Bot(kb, [a])
    indexing.index(kb, [b], switch=True)
    bot = Bot(kb, [b])
    assert set(bot.index.signals) == {"b"} and bot.index.signals["b"].vectors.shape[1] == 64
    assert kb.get_setting("model") == ["b"]


def test_explain_lists_signal_parts(bot):
    cands = bot.explain("reset my password", k=3)
    assert cands[0].entry_id == "pw"
    assert cands[0].fused == pytest.approx(cands[0].dense + 0.5 * cands[0].lexical, rel=1e-5)


def test_calibration_is_stored_in_the_kb(tmp_path, fake, entries):
    path = tmp_path / "kb.db"
    kb = KnowledgeBase(path)
    kb.upsert(entries)
    Bot(kb, [fake])
    stored = KnowledgeBase(path).get_setting("calibration")
    assert stored["fit"]["source"] in ("kb-alternates", "prior")
    assert 0 < stored["fit"]["answer_threshold"] <= 1


def test_threads_can_share_a_bot(bot):
    errors, results = [], []

    def work():
        try:
            for _ in range(20):
                results.append(bot.ask("how long does shipping take").entry_id)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and set(results) == {"ship"} and len(results) == 80


def test_empty_kb_is_a_clear_error(fake):
    bot = Bot(KnowledgeBase.memory(), [fake])
    with pytest.raises(InputError, match="empty"):
        bot.ask("hello")


def test_stored_calibration_is_reused_not_refitted(tmp_path, fake, entries, monkeypatch):
    path = tmp_path / "kb.db"
    kb = KnowledgeBase(path)
    kb.upsert(entries)
    Bot(kb, [fake])

    def refit(*args, **kwargs):
        raise AssertionError("the calibration was fitted again")

    monkeypatch.setattr("qa.loader.calibrate_from_kb", refit)
    Bot(KnowledgeBase(path), [fake]).ask("how long does shipping take")


def test_logging_and_feedback_do_not_reload_the_index(tmp_path, fake, entries, monkeypatch):
    """A server logs unanswered questions and feedback from several processes: neither may make the
    others (or itself) reload the whole index; a change to an entry must."""
    path = tmp_path / "kb.db"
    KnowledgeBase(path).upsert(entries)
    bot = Bot(KnowledgeBase(path), [fake])
    loads = []
    import qa.loader

    real = qa.loader.load_index
    monkeypatch.setattr(qa.loader, "load_index", lambda *a, **k: loads.append(1) or real(*a, **k))
    other = KnowledgeBase(path)
    bot.ask("zzz qqq completely unrelated")  # logged by this connection
    other.log_question("x", lang="en", status="fallback", confidence=0.1, entry_id=None, suggestions=[])
    other.add_feedback("q", entries[0].id, True)
    bot.feedback("q", entries[0].id, False)
    bot.ask("how do I reset my password")
    assert loads == []
    other.upsert([Entry("new", "do you sell gift cards", "Yes, in store.", ["gift card"], "en")])
    assert bot.ask("do you sell gift cards").entry_id == "new"
    assert loads == [1]


def test_a_repeated_question_is_not_embedded_again(bot, monkeypatch):
    enc = bot.encoders[0]
    calls = []
    real = enc.embed_batch
    monkeypatch.setattr(enc, "embed_batch", lambda texts: calls.append(list(texts)) or real(texts))
    first = bot.ask("how do I reset my password", log=False)
    again = bot.ask("how do I reset my password", log=False)
    assert calls == [["how do I reset my password"]]
    assert first == again


def test_the_query_cache_forgets_the_least_recently_used(fake, entries, monkeypatch):
    import qa.query_embedder as embedder_module

    monkeypatch.setattr(embedder_module, "QUERY_CACHE_SIZE", 2)
    kb = KnowledgeBase.memory()
    kb.upsert(entries)
    bot = Bot(kb, [fake])
    calls = []
    real = fake.embed_batch
    monkeypatch.setattr(fake, "embed_batch", lambda texts: calls.append(texts[0]) or real(texts))
    for q in ("a question", "b question", "a question", "c question", "a question", "b question"):
        bot.ask(q, log=False)
    # "b" was the least recently used when "c" came in: it is embedded again, "a" is not
    assert calls == ["a question", "b question", "c question", "b question"]
