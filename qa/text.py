"""Small text utilities: language detection, cleaning and safe truncation of questions, and the
folded key that finds the same text written twice."""

from __future__ import annotations

import re
import unicodedata

from qa.errors import InputError

#: Questions longer than this (in characters) are cut before embedding; no FAQ question is longer.
MAX_QUESTION_CHARS = 1000

#: One Han character: CJK Unified Ideographs, Extension A and the Compatibility Ideographs.
#: (retrieval/lexical.py keeps its own older range for BM25 tokens: see there.)
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
#: Python decodes bytes that are not UTF-8 (in argv and stdin) to lone surrogates U+DC80-U+DCFF.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


def detect_lang(text: str) -> str:
    """'zh' when Han characters make up at least a fifth of the letters, else 'en'.

    qa is built for Chinese and English; other Latin-script languages are reported as 'en'.
    """
    letters = _LETTER.findall(text)
    if not letters:
        return "en"
    han = sum(1 for c in letters if HAN.match(c))
    return "zh" if han * 5 >= len(letters) else "en"


def check_utf8(text: str, what: str = "The question") -> None:
    """Raise InputError when `text` holds bytes that were not UTF-8 (or other lone surrogates)."""
    bad = _SURROGATE.search(text)
    if bad is None:
        return
    code = ord(bad.group())
    if 0xDC80 <= code <= 0xDCFF:
        raise InputError(
            f"{what} is not valid UTF-8 (byte 0x{code - 0xDC00:02X} at character {bad.start() + 1}). "
            "Send UTF-8 text; to convert a file from another encoding: iconv -f GBK -t UTF-8 FILE"
        )
    raise InputError(f"{what} has a lone surrogate U+{code:04X} at character {bad.start() + 1}, which is not text.")


def printable(text: str) -> str:
    """`text` safe to print or store: undecodable bytes and lone surrogates become U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def clean_question(text: str) -> tuple[str, bool]:
    """Normalise a user question; returns (text, truncated). Raises InputError when empty or not
    valid text (bytes that were not UTF-8)."""
    if not isinstance(text, str):
        raise InputError(f"A question must be text, not {type(text).__name__}.")
    check_utf8(text)
    text = unicodedata.normalize("NFC", text)
    text = "".join(c if c.isprintable() or c in "\t\n" else " " for c in text)
    text = " ".join(text.split())
    if not text:
        raise InputError('The question is empty. Type a question, e.g.: qa ask "what is qa?"')
    truncated = len(text) > MAX_QUESTION_CHARS
    return text[:MAX_QUESTION_CHARS], truncated


_PUNCT = {"P", "S"}


def normalise_text(text: str) -> str:
    """Case, width, punctuation and spacing folded: the key of exact duplicates."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(" " if unicodedata.category(c)[0] in _PUNCT else c for c in text)
    return " ".join(text.split())
