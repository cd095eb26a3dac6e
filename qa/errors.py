"""Typed exceptions. Library code raises these; only the CLI turns them into messages and exit codes."""

from __future__ import annotations


class QAError(Exception):
    """Base class for every error qa raises on purpose. `exit_code` is what the CLI exits with."""

    exit_code = 1


class InputError(QAError):
    """The user's input cannot be used: an empty question, a malformed import line, bad UTF-8."""

    exit_code = 2


class ImportFormatError(InputError):
    """An import file is malformed. Carries the line number (1-based) where it is known."""

    def __init__(self, message: str, *, line: int | None = None, path: str | None = None):
        self.line = line
        self.path = path
        where = ""
        if path and line:
            where = f"{path}:{line}: "
        elif line:
            where = f"line {line}: "
        super().__init__(where + message)


class NotFoundError(QAError):
    """An entry id (or another named thing) does not exist."""

    exit_code = 3


class KBError(QAError):
    """The knowledge-base file cannot be used: not a qa KB, corrupt, newer schema, locked, read-only."""

    exit_code = 4


class ModelMismatchError(KBError):
    """The KB was indexed with another encoder than the one asked for."""


class StaleIndexError(KBError):
    """Some texts have no vector for the KB's encoder; `qa index` brings them up to date."""


class EncoderError(QAError):
    """An encoder cannot be loaded: a missing optional package, a bad model path."""

    exit_code = 5
