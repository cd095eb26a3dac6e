"""Import/export formats: parsing, errors with line numbers, lossless round trips."""

from __future__ import annotations

import csv
import io
import json
import re
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.errors import ImportFormatError, InputError
from qa.kb.entry import MAX_FIELD_BYTES, Entry
from qa.kb.formats import BINARY_FORMATS, FORMATS, detect_format, read_entries, read_file, to_bytes, write_entries
from qa.kb.formats.azure import HEADER as AZURE_HEADER
from qa.kb.formats.xlsx import UNSTORABLE, read_xlsx
from qa.text import MAX_QUESTION_CHARS
from tests.conftest import xlsx_bytes


def test_jsonl_shared_data_shape():
    text = '{"id": "a", "question": "Q?", "answer": "A.", "alternates": ["q1", "q2"], "lang": "en"}\n\n'
    (e,) = read_entries(io.StringIO(text), "jsonl")
    assert (e.id, e.question, e.alternates, e.lang) == ("a", "Q?", ["q1", "q2"], "en")


def test_language_detected_when_missing():
    (e,) = read_entries(io.StringIO('{"id": 1, "question": "口罩怎么戴"}\n'), "jsonl")
    assert e.lang == "zh" and e.id == "1" and e.answer == ""


@pytest.mark.parametrize(
    ("text", "line", "msg"),
    [
        ('{"id": "a", "question": "q"}\n{not json}\n', 2, "not valid JSON"),
        ('{"id": "a", "question": "q"}\n{"id": "b"}\n', 2, "question"),
        ('{"id": "a", "question": "q"}\n{"id": "a", "question": "r"}\n', 2, "duplicate id"),
        ('{"question": "q"}\n', 1, "missing 'id'"),
        ('["a"]\n', 1, "expected an object"),
        ('{"id": "a", "question": "q", "alternates": 3}\n', 1, "alternates"),
    ],
)
def test_jsonl_errors_name_the_line(text, line, msg):
    with pytest.raises(ImportFormatError, match=msg) as info:
        read_entries(io.StringIO(text), "jsonl")
    assert info.value.line == line


def test_csv_with_pipe_alternates_and_bad_row():
    text = "id,question,answer,alternates,lang,tags\na,Q?,A.,one|two,en,x|y\n"
    (e,) = read_entries(io.StringIO(text), "csv")
    assert e.alternates == ["one", "two"] and e.tags == ["x", "y"]
    with pytest.raises(ImportFormatError) as info:
        read_entries(io.StringIO(text + "b,,A.,,en,\n"), "csv")
    assert info.value.line == 3
    with pytest.raises(ImportFormatError, match="header"):
        read_entries(io.StringIO("foo,bar\n1,2\n"), "csv")


def test_invalid_utf8_names_encoding_option(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_bytes(b'{"id": "a", "question": "caf\xe9"}\n')
    with pytest.raises(ImportFormatError, match="--encoding") as info:
        read_file(str(p))
    assert info.value.line == 1
    (e,) = read_file(str(p), encoding="latin-1")
    assert e.question == "café"


def test_format_detection_and_missing_file(tmp_path):
    assert detect_format("x.JSONL") == "jsonl" and detect_format("a.yml") == "yaml"
    with pytest.raises(InputError, match="--format"):
        detect_format("faq.txt")
    with pytest.raises(InputError, match="No such file"):
        read_file(str(tmp_path / "nope.jsonl"))


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_json_and_yaml_errors_name_the_entry_by_position(tmp_path, fmt):
    p = tmp_path / f"faq.{fmt}"
    records = [{"id": "a", "question": "Q?"}, {"id": "b", "question": ""}]
    p.write_text(json.dumps(records, indent=2), encoding="utf-8")  # JSON is YAML too
    with pytest.raises(ImportFormatError, match=rf"^{re.escape(str(p))}: entry 2: missing or empty 'question'$"):
        read_file(str(p), fmt)
    p.write_text(json.dumps([records[0], {"id": "c", "question": "R?"}, records[0]]), encoding="utf-8")
    with pytest.raises(ImportFormatError, match=r"faq\.\w+: entry 3: duplicate id 'a' \(first on entry 1\)$") as info:
        read_file(str(p), fmt)
    assert (info.value.entry, info.value.line) == (3, None)


def test_yaml_error_has_line():
    with pytest.raises(ImportFormatError) as info:
        read_entries(io.StringIO("- id: a\n  question: q\n- id: [unclosed\n"), "yaml")
    assert info.value.line is not None


# --- CSV/TSV: alternates as extra rows sharing an id ---


def test_csv_extra_rows_sharing_an_id_are_alternates():
    text = (
        "id,question,answer,alternates,tags\n"
        "pw,Reset my password?,Click it.,forgot it,account\n"
        "hours,Opening hours?,9 to 5.,,\n"
        "pw,password reset,,,web\n"
        "pw,change my password,Click it.,new password|other one,\n"
    )
    pw, hours = read_entries(io.StringIO(text), "csv")
    assert pw.id == "pw" and pw.answer == "Click it."
    assert pw.alternates == ["forgot it", "password reset", "change my password", "new password", "other one"]
    assert pw.tags == ["account", "web"] and hours.alternates == []
    (e,) = read_entries(io.StringIO("id\tquestion\tanswer\na\tQ?\t\na\tq2\tThe answer.\n"), "tsv")
    assert (e.answer, e.alternates) == ("The answer.", ["q2"])  # the first non-empty answer counts


def test_csv_extra_row_with_another_answer_is_a_duplicate_id():
    text = "id,question,answer\na,Q?,One.\nb,R?,Two.\n\na,q2,Three.\n"
    with pytest.raises(ImportFormatError, match="duplicate id 'a' with another answer .first on line 2") as info:
        read_entries(io.StringIO(text), "csv")
    assert info.value.line == 5
    with pytest.raises(ImportFormatError, match="question") as info:
        read_entries(io.StringIO("id,question,answer\na,Q?,One.\na,,\n"), "csv")
    assert info.value.line == 3


def test_csv_rows_of_blank_cells_are_skipped():
    # spreadsheets save rows that were only formatted as ",,,"
    text = "id,question,answer\n,,\na,Q?,A.\n , ,\t\n,,,,\n"
    assert [e.id for e in read_entries(io.StringIO(text), "csv")] == ["a"]


def test_csv_line_numbers_count_quoted_newlines():
    text = 'id,question,answer\na,Q?,"two\nlines"\nb,,x\n'
    with pytest.raises(ImportFormatError) as info:
        read_entries(io.StringIO(text), "csv")
    assert info.value.line == 4


def test_csv_writer_refuses_a_pipe_it_would_split():
    with pytest.raises(InputError, match="'\\|'.*jsonl"):
        write_entries([Entry("a", "Q?", "A.", [], "en", ["x|y"])], io.StringIO(), "csv")


# --- Markdown ---

MD = """# Our FAQ

## How do I reset my password?
Id: pw
Tags: account, "web, mobile"

Click **Forgot password**.

  - then check your mail
\\## Not a heading
### A sub-heading stays

Also:
- I forgot my password
* password reset

## 口罩应该怎么戴
Lang: zh
有颜色的一面朝外。
## 🎉🎉
## How do I reset my password?
"""


def test_md_reads_headings_metadata_body_and_alternates():
    pw, mask, party, pw2 = read_entries(io.StringIO(MD), "md")
    assert (pw.id, pw.question, pw.tags) == ("pw", "How do I reset my password?", ["account", "web, mobile"])
    assert pw.answer == (
        "Click **Forgot password**.\n\n  - then check your mail\n## Not a heading\n### A sub-heading stays"
    )
    assert pw.alternates == ["I forgot my password", "password reset"] and pw.lang == "en"
    assert (mask.id, mask.lang, mask.answer) == ("口罩应该怎么戴", "zh", "有颜色的一面朝外。")
    assert (party.id, party.answer) == ("md-3", "")  # no letters for a slug
    assert pw2.id == "how-do-i-reset-my-password"  # made ids are unique and deterministic


def test_md_made_ids_avoid_given_ones():
    text = "## Hello world\n## Hello world\nId: hello-world-2\n## Hello, world!\n"
    assert [e.id for e in read_entries(io.StringIO(text), "md")] == ["hello-world", "hello-world-2", "hello-world-3"]


@pytest.mark.parametrize(
    ("text", "line", "msg"),
    [
        ("Some text\n## Q\n", 1, "before the first entry"),
        ("# Title\n\nintro\n## Q\n", 3, "before the first entry"),
        ("## Q\nA.\n##\nB.\n", 3, "empty '##' heading"),
        ("## Q\nA.\n##   \n", 3, "empty '##' heading"),
        ("## Q\nA.\n\nAlso:\n- one\n\nmore text\n", 7, "only '- alternate' lines may follow 'Also:' .line 4"),
        ("## Q\nId: a\nTags: x\nId: b\n", 4, "second 'Id:' line"),
        ("## Q\nId: a\n## R\nId: a\n", 4, "duplicate id 'a'"),
    ],
)
def test_md_errors_name_the_line(text, line, msg):
    with pytest.raises(ImportFormatError, match=msg) as info:
        read_entries(io.StringIO(text), "md")
    assert info.value.line == line


def test_md_file_errors_name_file_and_line(tmp_path):
    p = tmp_path / "faq.md"
    p.write_text("\ufeff## Q\nA.\n## \n", encoding="utf-8")
    assert detect_format(str(p)) == "md" and detect_format("x.markdown") == "md"
    with pytest.raises(ImportFormatError, match=r"faq\.md:3: empty"):
        read_file(str(p))


def test_md_writer_escapes_structure_in_answers_and_refuses_multiline_questions():
    e = Entry("a", "Q?", "## looks like a heading\nAlso:\n\\Also:\n- item", ["alt"], "en", ['say "hi"', "a, b"])
    buf = io.StringIO()
    write_entries([e], buf, "md")
    assert "\\## looks like" in buf.getvalue() and "\n\\Also:\n\\\\Also:\n" in buf.getvalue()
    assert 'Tags: "say ""hi""", "a, b"' in buf.getvalue()
    buf.seek(0)
    (got,) = read_entries(buf, "md")
    assert got.content() == e.content()
    with pytest.raises(InputError, match="spans several lines.*jsonl"):
        write_entries([Entry("b", "two\nlines", "A.")], io.StringIO(), "md")


# --- Azure QnA Maker TSV ---

AZURE = (
    "Question\tAnswer\tSource\tMetadata\tSuggestedQuestions\tIsContextOnly\tPrompts\tQnA Id\n"
    'Symptoms?\tFever.\\n\\n* cough\tEditorial\tarea:health|Audience:Adults\t[]\tfalse\t[{"qnaId":2}]\t1\n'
    "What are the symptoms?\tFever.\\n\\n* cough\tEditorial\tarea:health|Audience:Adults\t[]\tfalse\t[]\t1\n"
    "When to isolate?\tAt once.\thttps://example.org/x\t\t[]\tfalse\t[]\t2\n"
    "What do I do?\t\thttps://example.org/x\t\t[]\tfalse\t[]\t2\n"
)


def test_azure_rows_sharing_a_qna_id_are_one_entry():
    sym, iso = read_entries(io.StringIO(AZURE), "azure")
    assert (sym.id, sym.question, sym.alternates) == ("1", "Symptoms?", ["What are the symptoms?"])
    assert sym.answer == "Fever.\n\n* cough" and sym.tags == ["area:health", "Audience:Adults"]
    assert (iso.id, iso.answer, iso.alternates) == ("2", "At once.", ["What do I do?"])


def test_azure_without_id_column_groups_by_answer_and_source():
    text = (
        "question\tanswer\tsource\tmetadata\n"
        "Hours?\t9 to 5.\tEditorial\tqa_id:hours|qa_lang:zh|qa_tag:shop\n"
        "Reset?\tClick it.\tEditorial\t\n"
        "When are you open?\t9 to 5.\tEditorial\t\n"
        "Other source?\t9 to 5.\tfaq.html\t\n"
    )
    hours, reset, other = read_entries(io.StringIO(text), "azure")
    assert (hours.id, hours.lang, hours.tags, hours.alternates) == ("hours", "zh", ["shop"], ["When are you open?"])
    assert (reset.id, reset.lang, other.id) == ("reset", "en", "other-source")


_AZ = "Question\tAnswer\tSource\tMetadata\tqna_id\n"


@pytest.mark.parametrize(
    ("text", "line", "msg"),
    [
        (_AZ + "Q\tA\t\t\t1\nR\tB\t\t\t1\n", 3, "another answer here than on line 2"),
        (_AZ + "Q\tA\t\t\t1\n\t\t\t\t2\n", 3, "empty Question"),
        (_AZ + "Q\tA\t\t\t1\textra\n", 2, "more cells than header"),
        ("id\tquestion\tanswer\n", 1, "no Source, Metadata column.*--format tsv"),
        (_AZ + "Q\tA\t\tqa_id:a\t1\nR\tA\t\tqa_id:b\t1\n", 3, "disagree on qa_id"),
        ("Question\tAnswer\tSource\tMetadata\nQ\tA\t\tqa_id:a\nR\tB\t\tqa_id:a\n", 3, "duplicate id 'a'"),
    ],
)
def test_azure_errors_name_the_line(text, line, msg):
    with pytest.raises(ImportFormatError, match=msg) as info:
        read_entries(io.StringIO(text), "azure")
    assert info.value.line == line


def test_azure_writes_the_export_layout_and_is_not_detected_from_tsv():
    e = Entry("pw", "Reset?", "Line one\nC:\\new\tx", ["Forgot it"], "en", ["area:account", "plain"])
    buf = io.StringIO()
    write_entries([e], buf, "azure")
    header, first, second, end = buf.getvalue().split("\n")
    assert header.split("\t") == list(AZURE_HEADER) and end == ""
    assert first.split("\t") == [
        "Reset?",
        "Line one\\nC:\\\\new\\tx",
        "Editorial",
        "area:account|qa_tag:plain|qa_id:pw",
        "[]",
        "false",
        "[]",
        "1",
    ]
    assert second.startswith("Forgot it\t") and second.endswith("\t1")
    assert detect_format("kb.tsv") == "tsv"
    with pytest.raises(InputError, match="'\\|'"):
        write_entries([Entry("a|b", "Q?")], io.StringIO(), "azure")


# --- Lossless round trip, every format ---

_UNICODE = ["口罩应该怎么戴", "新冠 🦠 症状?", "café crème brûlée", "Ünïcödé ñ", "emoji 🎉👍🏽", "日本語とEnglish"]
_plain = (
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="|"), min_size=1, max_size=30
    )
    .map(str.strip)
    .filter(bool)
)
# One-line, non-empty, trimmed texts without '|' (the CSV list separator). No other restriction: texts
# starting with '#', '-', 'Also:', 'Id:', quotes or backslashes are part of what every format must carry.
_text = st.one_of(_plain, st.sampled_from(_UNICODE), st.sampled_from(["#x", "- y", "Also:", "Id: 3", '"q"', "a\\nb"]))
_line = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30),
    st.sampled_from(["## heading", "Also:", "\\Also:", "- item", "Id: z", "", "   ", "\t\\t", "# h1"]),
    st.sampled_from(_UNICODE),
)
_answer = st.lists(_line, max_size=5).map("\n".join).map(str.strip)
_entry = st.builds(
    Entry,
    id=_text,
    question=_text,
    answer=_answer,
    alternates=st.lists(_text, max_size=4, unique=True),
    lang=st.sampled_from(["en", "zh"]),
    tags=st.lists(st.one_of(_text, st.sampled_from(["k:v", "qa_id:9", "qa_tag:t", "a, b"])), max_size=3, unique=True),
)
ALL_FORMATS = ["jsonl", "json", "yaml", "csv", "tsv", "md", "azure", "xlsx"]


def test_every_format_is_round_tripped():
    assert sorted(ALL_FORMATS) == sorted(FORMATS)


def _write_read(entries: list[Entry], fmt: str) -> list[Entry]:
    if fmt in BINARY_FORMATS:
        return read_xlsx(to_bytes(entries, fmt))
    buf = io.StringIO()
    write_entries(entries, buf, fmt)
    buf.seek(0)
    return read_entries(buf, fmt)


@settings(max_examples=150, deadline=None)
@given(st.lists(_entry, max_size=5, unique_by=lambda e: e.id), st.sampled_from(ALL_FORMATS))
def test_export_import_round_trip(entries, fmt):
    for e in entries:  # an alternate equal to the question is dropped on import by design
        e.alternates = [a for a in e.alternates if a != e.question]
    # xlsx alone cannot hold U+FFFE and U+FFFF (the strategies may draw them; control characters they
    # leave out for every format): its writer refuses such an entry by name, which is checked instead.
    unstorable = [e for e in entries if fmt == "xlsx" and any(UNSTORABLE.search(t) for t in _fields(e))]
    if unstorable:
        with pytest.raises(InputError, match=f"Entry {re.escape(repr(unstorable[0].id))}: .* xlsx cannot hold"):
            _write_read(entries, fmt)
        return
    got = _write_read(entries, fmt)
    assert [(g.id, g.content()) for g in got] == [(e.id, e.content()) for e in entries]


def _fields(e: Entry) -> list[str]:
    return [e.id, e.question, e.answer, *e.alternates, e.lang, *e.tags]


def test_round_trip_through_a_file(tmp_path, entries):
    for fmt in ALL_FORMATS:
        p = tmp_path / f"kb.{fmt}"
        _write_file(p, entries, fmt)
        got = read_file(str(p), fmt)
        assert [(g.id, g.content()) for g in got] == [(e.id, e.content()) for e in entries], fmt


def _write_file(path, entries: list[Entry], fmt: str) -> None:  # noqa: ANN001
    """`entries` in `fmt`; for xlsx with answers over Excel's cell limit, which qa export refuses
    to write but a file from elsewhere may hold."""
    if fmt != "xlsx" or all(len(e.answer) <= 32_767 for e in entries):
        path.write_bytes(to_bytes(entries, fmt))
        return
    answers = {f"answer-{k}": e.answer for k, e in enumerate(entries)}
    rows = [["id", "question", "answer", "alternates", "lang", "tags"]]
    rows += [
        [e.id, e.question, f"answer-{k}", "|".join(e.alternates), e.lang, "|".join(e.tags)]
        for k, e in enumerate(entries)
    ]

    def patch(xml: str) -> str:
        for placeholder, answer in answers.items():
            xml = xml.replace(f">{placeholder}<", f">{escape(answer)}<")
        return xml

    path.write_bytes(xlsx_bytes(rows, patch=patch))


# --- The size limits, the same in every format ---

_OVER = "x" * MAX_FIELD_BYTES + "é"  # 1 MiB + 2 bytes of UTF-8


def test_a_1_mb_answer_imports_in_csv_jsonl_and_xlsx(tmp_path):
    answer = ("A long answer pasted from a document. " * 27_000).strip()  # 1 MB, far over csv's own 128 KiB
    assert 1_000_000 < len(answer.encode("utf-8")) <= MAX_FIELD_BYTES
    entries = [Entry("big", "Long?", answer, ["very long"], "en", ["doc"]), Entry("ok", "Fine?", "Yes.", [], "en")]
    for fmt in ("csv", "jsonl", "xlsx"):
        p = tmp_path / f"faq.{fmt}"
        _write_file(p, entries, fmt)
        assert [(g.id, g.content()) for g in read_file(str(p))] == [(e.id, e.content()) for e in entries]
    (e,) = read_entries(io.StringIO(f"question,answer\nQ?,{'é' * (MAX_FIELD_BYTES // 2)}\n"), "csv")
    assert len(e.answer.encode("utf-8")) == MAX_FIELD_BYTES  # the limit itself is allowed
    assert csv.field_size_limit() == 131072  # the csv module's setting is put back


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_an_answer_over_1_mib_is_refused_in_every_format_naming_file_and_line(tmp_path, fmt):
    p = tmp_path / f"faq.{fmt}"
    _write_file(p, [Entry("ok", "Fine?", "Yes."), Entry("big", "Long?", _OVER)], fmt)
    marker = "Id: big" if fmt == "md" else "Long?"  # md names an entry by its Id: line
    text = "" if fmt == "xlsx" else p.read_text(encoding="utf-8")
    big_line = next((n for n, line in enumerate(text.split("\n"), 1) if marker in line), 3)  # xlsx: row 3
    with pytest.raises(
        ImportFormatError, match="the answer of entry 'big' is 1,048,578 bytes of UTF-8, over the limit of 1,048,576"
    ) as info:
        read_file(str(p), fmt)
    listed = fmt in ("json", "yaml")  # no line numbers: the entry's position instead
    where = f"{p}: sheet 'FAQ' row 3, column 'answer': " if fmt == "xlsx" else f"{p}: entry 2: " if listed else f"{p}:"
    assert str(info.value).startswith(where) and info.value.column == "answer"
    assert (info.value.line, info.value.entry) == ((None, 2) if listed else (big_line, None))


@pytest.mark.parametrize("field", ["id", "tags"])
def test_other_fields_have_the_same_limit(field):
    record = {"id": "a", "question": "Q?", "answer": "A.", field: _OVER}
    with pytest.raises(ImportFormatError, match=f"the {field.removesuffix('s')} of entry .* 1,048,578 bytes") as info:
        read_entries(io.StringIO(json.dumps(record) + "\n"), "jsonl")
    assert (info.value.line, info.value.column) == (1, field)


def test_a_csv_cell_too_big_for_any_field_names_its_line():
    text = f"id,question,answer,notes\na,Q?,A.,\nb,R?,B.,{'x' * (4 * MAX_FIELD_BYTES + 1)}\n"
    with pytest.raises(ImportFormatError, match="a cell is over 4,194,304 characters.*1,048,576 bytes") as info:
        read_entries(io.StringIO(text), "csv")
    assert info.value.line == 3
    assert csv.field_size_limit() == 131072


def test_questions_and_alternates_have_the_question_limit_of_qa_ask():
    ok = "q" * MAX_QUESTION_CHARS
    (e,) = read_entries(
        io.StringIO(json.dumps({"id": "a", "question": ok, "alternates": ["p" * 1000]}) + "\n"), "jsonl"
    )
    assert len(e.question) == len(e.alternates[0]) == MAX_QUESTION_CHARS
    for record, field, what in [
        ({"id": "a", "question": ok + "q"}, "question", "the question"),
        ({"id": "a", "question": "Q?", "alternates": ["fine", ok + "q"]}, "alternates", "an alternate"),
    ]:
        with pytest.raises(
            ImportFormatError, match=f"{what} of entry 'a' is 1,001 characters long, over the limit of 1,000"
        ) as info:
            read_entries(io.StringIO(json.dumps(record) + "\n"), "jsonl")
        assert info.value.column == field
