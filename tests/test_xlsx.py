"""Excel workbooks: messy sheets read as people keep them, errors naming sheet, row and column,
what the writer refuses. The round trip is in test_formats; the CLI in tests/cli/test_import.py and test_export."""

from __future__ import annotations

import datetime
import io
import re
import zipfile

import pytest

from qa.errors import ImportFormatError, InputError
from qa.kb.entry import Entry
from qa.kb.formats import read_file, to_bytes
from qa.kb.formats.xlsx import read_xlsx
from tests.conftest import xlsx_bytes


def _saved(values: dict[str, str]):  # noqa: ANN202
    """A patch giving formulas the values a spreadsheet program saves with them: {cell: value}, a
    value starting with '#' being an error, one starting with '"' text."""

    def patch(xml: str) -> str:
        for ref, value in values.items():
            kind = ' t="e"' if value.startswith("#") else ' t="str"' if value.startswith('"') else ""
            found = re.search(rf'<c r="{ref}"([^>]*)><f>(.*?)</f><v ?/>', xml)
            assert found is not None, ref
            cell = f'<c r="{ref}"{found.group(1)}{kind}><f>{found.group(2)}</f><v>{value.strip(chr(34))}</v>'
            xml = xml.replace(found.group(), cell)
        return xml

    return patch


def test_a_messy_sheet_reads_as_people_keep_it():
    rows = [
        [],
        [" ID ", "Question", "ANSWER ", "Alternates", "notes", "Tags"],
        [12, "How do I reset my password?", "  Click the link.  ", "forgot it | reset", "ignored", "account"],
        [],
        [12.0, "password reset", None, None, None, "web"],
        [3.5, "口罩应该怎么戴", "有颜色的一面朝外。", None, datetime.datetime(2024, 5, 1), None],
        [datetime.datetime(2024, 5, 1), "When did it open?", "=B7", None, None, None],
        [True, "Is it true?", 42, None, None, None],
        [None, None, None, None, None, None],  # formatted, empty: Excel keeps such rows
        ["  ", "", "", "", "", ""],
    ]
    data = xlsx_bytes(rows, patch=_saved({"C7": '"When did it open?"'}))
    pw, mask, opened, true = read_xlsx(data)
    assert (pw.id, pw.question, pw.answer) == ("12", "How do I reset my password?", "Click the link.")
    assert pw.alternates == ["forgot it", "reset", "password reset"] and pw.tags == ["account", "web"]
    assert (mask.id, mask.lang, mask.answer) == ("3.5", "zh", "有颜色的一面朝外。")
    assert (opened.id, opened.answer) == ("2024-05-01", "When did it open?")  # the formula's saved value
    assert (true.id, true.answer) == ("TRUE", "42")


def test_no_id_column_numbers_the_rows():
    a, b = read_xlsx(xlsx_bytes([["question", "answer"], ["Q1?", "A1"], ["Q2?", "A2"]]))
    assert (a.id, b.id) == ("1", "2")


def test_an_azure_header_reads_as_an_azure_export():
    rows = [
        ["Question", "Answer", "Source", "Metadata", "SuggestedQuestions", "IsContextOnly", "Prompts", "QnA Id"],
        ["Symptoms?", "Fever.\n\n* cough\\n", "Editorial", "area:health|qa_id:sym", "[]", "false", "[]", 1],
        ["What are the symptoms?", "Fever.\n\n* cough\\n", "Editorial", "area:health", "[]", "false", "[]", 1],
        ["Hours?", "9 to 5.", "Editorial", "", "[]", "false", "[]", 2.0],
    ]
    sym, hours = read_xlsx(xlsx_bytes(rows))
    assert (sym.id, sym.question, sym.alternates, sym.tags) == (
        "sym",
        "Symptoms?",
        ["What are the symptoms?"],
        ["area:health"],
    )
    assert sym.answer == "Fever.\n\n* cough\\n"  # real line breaks; a backslash stays a backslash
    assert (hours.id, hours.answer) == ("2", "9 to 5.")


def _error(rows, patch=None) -> ImportFormatError:  # noqa: ANN001
    with pytest.raises(ImportFormatError) as info:
        read_xlsx(xlsx_bytes(rows, title="Sheet 1", patch=patch))
    return info.value


@pytest.mark.parametrize(
    ("rows", "patch", "message"),
    [
        pytest.param(
            [["id", " Question "], ["a", "Q?"], ["b", None]],
            None,
            "sheet 'Sheet 1' row 3, column 'Question': missing or empty 'question'",
            id="empty-question",
        ),
        pytest.param(
            [[], ["Frage", "Antwort"], ["Q?", "A."]],
            None,
            "sheet 'Sheet 1' row 2: the header row needs at least 'question' (and 'id', 'answer')",
            id="no-question-column",
        ),
        pytest.param([[None], []], None, "sheet 'Sheet 1': the sheet is empty", id="empty-sheet"),
        pytest.param(
            [["id", "question", "answer"], ["a", "Q?", "A.", None, "stray"]],
            None,
            "sheet 'Sheet 1' row 2, column 'E': a cell right of the header's last column (C)",
            id="beyond-header",
        ),
        pytest.param(
            [["id", "question", "Answer"], ["a", "Q?", "One."], ["a", "Q2?", "Two."]],
            None,
            "sheet 'Sheet 1' row 3, column 'Answer': duplicate id 'a' with another answer (first on row 2)",
            id="duplicate-id",
        ),
        pytest.param(
            [["id", "question", "answer"], ["a", "Q?", "=VLOOKUP(A2,X:Y,2)"]],
            None,
            "sheet 'Sheet 1' row 2, column 'answer': the formula =VLOOKUP(A2,X:Y,2) was saved without its value",
            id="formula-not-calculated",
        ),
        pytest.param(
            [["id", "question", "answer"], ["a", "Q?", "=1/0"]],
            _saved({"C2": "#DIV/0!"}),
            "sheet 'Sheet 1' row 2, column 'answer': the formula =1/0 gives the error #DIV/0!",
            id="formula-error",
        ),
        pytest.param(
            [["id", "question", "answer"], ["a", "Q?", "placeholder"]],
            lambda xml: re.sub(r'<c r="C2" t="inlineStr">.*?</c>', '<c r="C2" t="e"><v>#N/A</v></c>', xml),
            "sheet 'Sheet 1' row 2, column 'answer': the cell holds the error #N/A",
            id="error-cell",
        ),
        pytest.param(
            [["id", "question", "answer"], ["a", "Q?", "A."], ["b", "q" * 1001, "B."]],
            None,
            "sheet 'Sheet 1' row 3, column 'question': the question of entry 'b' is 1,001 characters long",
            id="question-too-long",
        ),
        pytest.param(
            [["Question", "Answer", "Source", "Metadata", "QnA Id"], ["Q?", "A.", "", "", 1], ["R?", "B.", "", "", 1]],
            None,
            "sheet 'Sheet 1' row 3, column 'Answer': QnA id 1 has another answer here than on row 2",
            id="azure-answers-differ",
        ),
        pytest.param(
            [
                ["question", "answer", "source", "metadata"],
                ["Q?", "A.", "", "qa_id:a|qa_lang:en"],
                ["R?", "B.", "", "qa_id:a"],
            ],
            None,
            "sheet 'Sheet 1' row 3, column 'metadata': duplicate id 'a' (first on row 2)",
            id="azure-duplicate-id",
        ),
    ],
)
def test_errors_name_sheet_row_and_column(rows, patch, message):
    assert str(_error(rows, patch)).startswith(message)


def test_file_errors_name_the_file_too(tmp_path):
    p = tmp_path / "faq.xlsx"
    p.write_bytes(xlsx_bytes([["id", "question"], [12, None]]))
    with pytest.raises(ImportFormatError, match=r"^.*faq\.xlsx: sheet 'FAQ' row 2, column 'question': missing") as info:
        read_file(str(p))
    assert (info.value.path, info.value.sheet, info.value.line, info.value.column) == (str(p), "FAQ", 2, "question")


def _zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("data", "why"),
    [
        pytest.param(b"id,question\n1,Q?\n", "BadZipFile: File is not a zip file", id="csv-renamed"),
        pytest.param(xlsx_bytes([["question"], ["Q?"]])[:400], "BadZipFile", id="truncated"),
        pytest.param(_zip({"content.xml": "<x/>"}), "KeyError", id="zip-not-a-workbook"),
        pytest.param(b"", "BadZipFile", id="empty-file"),
    ],
)
def test_a_file_that_is_not_an_xlsx_workbook(tmp_path, data, why):
    p = tmp_path / "faq.xlsx"
    p.write_bytes(data)
    with pytest.raises(
        ImportFormatError,
        match=rf"faq\.xlsx: not an xlsx workbook \({why}.*save an \.xls or \.ods file as \.xlsx first; a CSV file "
        "imports with --format csv",
    ):
        read_file(str(p))


def test_numbers_and_dates_become_the_text_they_show():
    rows = [
        ["id", "question", "answer"],
        [1, "Q1", 12.0],
        [2, "Q2", 0.1],
        [3, "Q3", datetime.datetime(2024, 5, 1, 9, 30)],
        [4, "Q4", datetime.time(9, 30)],
        [5, "Q5", False],
        [6, "Q6", 10**15],
    ]
    got = [e.answer for e in read_xlsx(xlsx_bytes(rows))]
    assert got == ["12", "0.1", "2024-05-01 09:30:00", "09:30:00", "FALSE", "1000000000000000"]


def test_a_formula_with_an_empty_saved_text_is_empty():
    rows = [["id", "question", "answer", "tags"], ["a", "Q?", "A.", '=""']]
    (e,) = read_xlsx(
        xlsx_bytes(
            rows, patch=lambda xml: xml.replace('<c r="D2"><f>""</f><v />', '<c r="D2" t="str"><f>""</f><v></v>')
        )
    )
    assert e.tags == []


# --- the writer ---


def test_the_writer_writes_a_header_and_text_cells():
    import openpyxl

    e = Entry("12", "=SUM(1,2)", "Line one\nline two", ["alt one", "0012"], "en", ["x", "y"])
    data = to_bytes([e, Entry("b", "Q?")], "xlsx")
    ws = openpyxl.load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    assert ws.title == "FAQ"
    assert [[c.value for c in row] for row in ws.iter_rows()] == [
        ["id", "question", "answer", "alternates", "lang", "tags"],
        ["12", "=SUM(1,2)", "Line one\nline two", "alt one|0012", "en", "x|y"],
        ["b", "Q?"],  # empty cells are not written
    ]
    assert {c.data_type for row in ws.iter_rows(min_row=2, max_row=2) for c in row} == {"s"}  # no formula


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (Entry("a", "Q?", "one\r\ntwo"), "Entry 'a': its answer holds the character U+000D (a carriage return"),
        (Entry("b", "Q?", "A.", ["bell\x07"]), "Entry 'b': its alternate holds the character U+0007,"),
        (Entry("c", "Q?", "A.", [], "en", ["\ufffe"]), "Entry 'c': its tag holds the character U+FFFE,"),
        (Entry("d", "Q?", "x" * 32_768), "Entry 'd': its answer is 32,768 characters long, and an xlsx cell holds at"),
        (Entry("e", "Q?", "🎉" * 16_384), "Entry 'e': its answer is 16,384 characters long"),  # 32,768 in UTF-16
        (Entry("f", "Q?", "A.", ["a|b"]), "Entry 'f' has a alternate with '|'"),
    ],
)
def test_the_writer_refuses_what_xlsx_cannot_hold(entry, message):
    with pytest.raises(InputError, match=re.escape(message)) as info:
        to_bytes([Entry("ok", "Fine?", "Yes."), entry], "xlsx")
    assert "Export as jsonl, json, yaml" in str(info.value) or "jsonl, json or yaml" in str(info.value)


def test_excel_s_cell_limit_itself_is_written():
    (e,) = read_xlsx(to_bytes([Entry("a", "Q?", "x" * 32_767)], "xlsx"))
    assert len(e.answer) == 32_767


def test_the_text_stream_functions_point_to_the_binary_ones():
    from qa.kb.formats import read_entries, write_entries

    with pytest.raises(InputError, match="xlsx is a binary format: read it with read_file, write it with to_bytes"):
        read_entries(io.StringIO(""), "xlsx")
    with pytest.raises(InputError, match="binary format"):
        write_entries([], io.StringIO(), "xlsx")
