"""What `qa serve` is configured with, passed to worker processes as one environment variable."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field

from qa.text import MAX_QUESTION_CHARS

ENV = "QA_SERVE_CONFIG"


@dataclass(frozen=True)
class ServerConfig:
    db: str
    model: str | None = None
    token: str | None = None  # bearer token for /feedback (and every endpoint when `private`)
    private: bool = False
    cors_origins: tuple[str, ...] = field(default_factory=tuple)  # none: no cross-origin browser calls
    max_body_bytes: int = 16 * 1024
    max_question_chars: int = MAX_QUESTION_CHARS
    log_questions: bool = False  # request logs carry no question or answer text unless asked

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> ServerConfig:
        raw = os.environ.get(ENV)
        if not raw:
            raise RuntimeError(f"${ENV} is not set: start the server with `qa serve`.")
        d = json.loads(raw)
        d["cors_origins"] = tuple(d.get("cors_origins") or ())
        return cls(**d)
