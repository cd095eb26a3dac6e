"""Everyday questions in each language, unrelated to almost any KB (reference/*.txt, package data).

They give the cosine scale of a question language a KB has no texts in (norms.py, through the
`reference` callback of SearchIndex). Their vectors are made and cached by qa.encoders.reference.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"


@cache
def reference_texts(lang: str) -> tuple[str, ...]:
    path = REFERENCE_DIR / f"{lang}.txt"
    if not path.is_file():
        return ()
    return tuple(line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
