"""Encoder names: what `--model` accepts and how each name is built.

A KB stores a list of encoder ids (its "model"); `auto` is the measured default:
MiniLM for English and multilingual-e5 for Chinese and cross-language questions, each with
USE multilingual added as a helper (bench/explore_scoring.py, bench/crosslingual.py).
"""

from __future__ import annotations

from collections.abc import Callable

from qa.encoders.base import Encoder
from qa.errors import EncoderError

DEFAULT_MODEL = "auto"
AUTO = ["minilm-l6-int8", "e5-small-q4", "use-m3"]


def _minilm() -> Encoder:
    from qa.encoders.minilm_onnx import MiniLMOnnxEncoder

    return MiniLMOnnxEncoder()


def _e5() -> Encoder:
    from qa.encoders.e5 import E5Encoder

    return E5Encoder()


def _use() -> Encoder:
    from qa.encoders.use import USEEncoder

    return USEEncoder()


def _st_minilm() -> Encoder:
    from qa.encoders.sentence_transformers import SentenceTransformerEncoder

    return SentenceTransformerEncoder()


def _fake() -> Encoder:
    from qa.encoders.fake import FakeEncoder

    return FakeEncoder()


BUILTIN: dict[str, Callable[[], Encoder]] = {
    "minilm-l6-int8": _minilm,
    "e5-small-q4": _e5,
    "use-m3": _use,
    "st:all-MiniLM-L6-v2": _st_minilm,
    "fake": _fake,
}

ALIASES = {"minilm": "minilm-l6-int8", "e5": "e5-small-q4", "use": "use-m3", "st": "st:all-MiniLM-L6-v2"}


def expand(model: str) -> list[str]:
    """A `--model` value (`auto`, one name, or names joined by `+`) as a list of encoder ids."""
    if model == DEFAULT_MODEL:
        return list(AUTO)
    names = [ALIASES.get(m.strip(), m.strip()) for m in model.split("+") if m.strip()]
    if not names:
        raise EncoderError(f"No encoder named in {model!r}. See: qa models")
    return names


def create(name: str, word_models: Callable[[str], Encoder] | None = None) -> Encoder:
    """Build an encoder by id or alias: the one place that maps names to encoders. `st:PATH` loads a
    local sentence-transformers folder; word-vector encoders (`glove-sif`, `w2v:...`, `fasttext:...`)
    come from `word_models`, which knows the KB (qa.indexing.make_encoder passes it)."""
    name = ALIASES.get(name, name)
    if name in BUILTIN:
        return BUILTIN[name]()
    if name.startswith("st:"):
        from qa.encoders.sentence_transformers import SentenceTransformerEncoder

        return SentenceTransformerEncoder(name[3:])
    if word_models is not None and (name == "glove-sif" or name.split(":")[0] in {"w2v", "fasttext"}):
        return word_models(name)
    raise EncoderError(f"Unknown encoder {name!r}. See the choices with: qa models")


def describe() -> list[dict[str, str]]:
    """Name, description and languages of the built-in encoders, without loading any model."""
    from qa.encoders.e5 import E5Encoder
    from qa.encoders.fake import FakeEncoder
    from qa.encoders.minilm_onnx import MiniLMOnnxEncoder
    from qa.encoders.use import USEEncoder

    rows = []
    for cls in (MiniLMOnnxEncoder, E5Encoder, USEEncoder):
        rows.append({"id": cls.id, "languages": ",".join(sorted(cls.languages)), "description": cls.description})
    rows.append(
        {
            "id": "st:all-MiniLM-L6-v2",
            "languages": "en",
            "description": "all-MiniLM-L6-v2 via sentence-transformers (torch); English",
        }
    )
    rows.append(
        {"id": "st:PATH", "languages": "*", "description": "any sentence-transformers model in a local folder (torch)"}
    )
    rows.append(
        {
            "id": "glove-sif",
            "languages": "en",
            "description": "GloVe 6B 50-d word vectors, SIF-weighted average, common component removed (gensim)",
        }
    )
    rows.append(
        {
            "id": "fasttext:NAME / w2v:NAME",
            "languages": "*",
            "description": "word vectors trained on this KB by `qa train-vectors` (gensim), SIF average",
        }
    )
    rows.append({"id": FakeEncoder().id, "languages": "*", "description": FakeEncoder.description})
    return rows
