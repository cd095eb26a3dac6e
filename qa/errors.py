"""Typed exceptions. Library code raises these; only the CLI turns them into messages and exit codes."""

from __future__ import annotations


class QAError(Exception):
    """Base class for every error qa raises on purpose. `exit_code` is what the CLI exits with."""

    exit_code = 1


class InputError(QAError):
    """The user's input cannot be used: an empty question, a malformed import line, bad UTF-8."""

    exit_code = 2


class ImportFormatError(InputError):
    """An import file is malformed. Carries where, as far as it is known: the file, the line (1-based;
    a spreadsheet's row) or for JSON and YAML the entry's position, and for a spreadsheet the sheet
    and the column."""

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        path: str | None = None,
        sheet: str | None = None,
        column: str | None = None,
        entry: int | None = None,
    ):
        self.message, self.line, self.path, self.sheet, self.column = message, line, path, sheet, column
        self.entry = entry
        super().__init__(self._where() + message)

    def _where(self) -> str:
        if self.sheet is not None:  # faq.xlsx: sheet 'FAQ' row 12, column 'question': ...
            where = f"sheet {self.sheet!r}" + (f" row {self.line}" if self.line else "")
            where += f", column {self.column!r}" if self.column else ""
            return f"{self.path}: {where}: " if self.path else f"{where}: "
        if self.entry is not None:  # faq.json: entry 3: ...
            return f"{self.path}: entry {self.entry}: " if self.path else f"entry {self.entry}: "
        if self.path and self.line:
            return f"{self.path}:{self.line}: "
        if self.line:
            return f"line {self.line}: "
        return f"{self.path}: " if self.path else ""

    def located(self, *, path: str) -> ImportFormatError:
        """The same error, naming the file it is in unless it does already."""
        return ImportFormatError(
            self.message,
            line=self.line,
            path=self.path or path,
            sheet=self.sheet,
            column=self.column,
            entry=self.entry,
        )


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
