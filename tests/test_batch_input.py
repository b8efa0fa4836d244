import codecs
import csv
import errno
import io
import json
import os

import pytest

from docqa.ask import Answer, AskResult
from docqa.batch import (
    OUTPUT_FIELDS,
    QuestionRow,
    RowWriter,
    output_record,
    parse_questions,
    read_questions,
    records_csv,
)
from docqa.cli import build_parser, run_command
from docqa.commands.batch import RowOutput
from docqa.errors import DatasetError, InputPathError

pytestmark = pytest.mark.unit


def test_csv_with_and_without_ids(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('id,question\nq1,Who built it?\nq2,"When, exactly?"\n')
    assert read_questions(path) == [QuestionRow("q1", "Who built it?"), QuestionRow("q2", "When, exactly?")]
    path.write_text('Question\nWho?\n\n"Where,\nthen?"\nWhy?\n')
    assert [row.id for row in read_questions(path)] == ["2", "4", "6"]


def test_jsonl_and_txt(tmp_path):
    jsonl = tmp_path / "q.jsonl"
    jsonl.write_text(json.dumps({"id": "a", "question": "Why?"}) + "\n\n" + json.dumps({"question": "How?"}) + "\n")
    assert read_questions(jsonl) == [QuestionRow("a", "Why?"), QuestionRow("3", "How?")]
    txt = tmp_path / "q.txt"
    txt.write_text("Why?\n\n  How?  \n")
    assert read_questions(txt) == [QuestionRow("1", "Why?"), QuestionRow("3", "How?")]


@pytest.mark.parametrize(
    ("name", "content", "ids"),
    [
        ("q.csv", "id,question\n3,Who?\n,What?\n", ["3", "row-3"]),
        ("q.csv", "id,question\n,Who?\n2,What?\n", ["row-2", "2"]),
        ("q.csv", "question,id\nWhere?,\nWhen?,2\nWho?,row-2\n", ["row-2-2", "2", "row-2"]),
        ("q.jsonl", '{"question": "A"}\n{"question": "B", "id": 1}\n', ["row-1", "1"]),
        ("q.jsonl", '{"question": "A", "id": null}\n{"question": "B", "id": ""}\n{"question": "C"}\n', ["1", "2", "3"]),
    ],
)
def test_rows_without_an_id_get_one_no_other_row_has(tmp_path, name, content, ids):
    path = tmp_path / name
    path.write_text(content)
    assert [row.id for row in read_questions(path)] == ids


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("q.csv", "", "is empty"),
        ("q.csv", "id,question\n", "has no questions"),
        ("q.jsonl", "\n  \n\n", "is empty"),
        ("q.csv", "id,text\n1,Who?\n", "no 'question' column"),
        ("q.csv", "id,question\n1,Who?,extra\n", "line 2 has more fields than the header (a comma in the question?"),
        ("q.csv", "id;question\n1;Who?\n", "no 'question' column in its header row (its columns look separated by"),
        ("q.csv", 'id,question\n1,"Who?\n', "line 2: broken CSV, a quoted field opened here is never closed"),
        (
            "q.csv",
            'id,question\n1,Who?\n\n2,"Why?\n3,How?\n',
            "line 4: broken CSV, a quoted field opened here is never closed",
        ),
        ("q.csv", 'id,question\n1,"Who" said?\n', "line 2: broken CSV (',' expected after '\"')"),
        ("q.csv", "id,question,lang\n1,Who?\n2,Why?\n", "line 2 has fewer fields than the header"),
        ("q.jsonl", "{broken\n\n[1]\n", "line 1 is not valid JSON"),
        ("q.jsonl", '{"q": "no"}\n', "line 1 has no string field 'question'"),
        ("q.jsonl", '{"question": "A", "id": {"a": 1}}\n', "line 1: 'id' must be a string or a whole number"),
        ("q.xlsx", "data", "unsupported question file type .xlsx"),
    ],
)
def test_bad_question_files_are_one_line_errors(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DatasetError) as error:
        read_questions(path)
    assert message in str(error.value)
    assert str(path) in str(error.value)
    assert "\n" not in str(error.value)


def test_unreadable_jsonl_lines_become_failed_rows_when_others_are_questions(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(
        '{"question": "Who?"}\n{broken\n\n{"id": "x", "q": "typo"}\n["What?"]\n{"question": "Why?"}\n'
        '{"question": "How?", "id": [7]}\n'
    )
    rows = read_questions(path)
    assert [(row.id, row.question, row.problem) for row in rows] == [
        ("1", "Who?", ""),
        ("2", "{broken", "line 2 is not valid JSON (Expecting property name enclosed in double quotes)"),
        ("x", "", "line 4 has no string field 'question'"),
        ("5", "", "line 5 has no string field 'question'"),
        ("6", "Why?", ""),
        ("7", "", "line 7: 'id' must be a string or a whole number, not [7]"),
    ]


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("q.csv", 'id,question\n1,Who?\n2,Why?\n\n1,"How,\nthen?"\n1,When?\n'),
        (
            "q.jsonl",
            '{"id": "1", "question": "Who?"}\n{"id": 2, "question": "Why?"}\n\n{"id": 1, "question": "How, then?"}\n'
            '{"id": "1", "question": "When?"}\n',
        ),
    ],
)
def test_a_repeated_id_fails_its_later_rows_and_the_others_are_asked(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content)
    rows = read_questions(path)
    assert [(row.id, row.question) for row in rows] == [
        ("1", "Who?"),
        ("2", "Why?"),
        ("1", "How, then?"),
        ("1", "When?"),
    ]
    first, lines = (2, (5, 7)) if name.endswith(".csv") else (1, (4, 5))
    assert [row.problem for row in rows] == ["", ""] + [
        f"line {line}: id '1' is already the id of line {first}; give each question its own id" for line in lines
    ]


def test_a_row_that_could_not_be_read_keeps_its_own_problem_when_its_id_repeats(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text("id,question\n1,Who?\n1,Why?,extra\n")
    assert [row.problem for row in read_questions(path)] == [
        "",
        "line 3 has more fields than the header (a comma in the question? put it in quotes)",
    ]


def test_binary_question_file(tmp_path):
    path = tmp_path / "q.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x81binary")
    with pytest.raises(DatasetError, match="not UTF-8"):
        read_questions(path)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_unicode_question_files_with_a_byte_order_mark_are_read(tmp_path, encoding):
    path = tmp_path / "q.txt"
    bom = {"utf-16": b"", "utf-16-be": codecs.BOM_UTF16_BE, "utf-32": b""}[encoding]
    path.write_bytes(bom + "Hvem bygde broen?\r\nWhere is Zürich?\r\n".encode(encoding))
    assert [row.question for row in read_questions(path)] == ["Hvem bygde broen?", "Where is Zürich?"]


def test_a_question_file_in_an_old_code_page_is_refused_with_how_to_save_it(tmp_path):
    path = tmp_path / "q.csv"
    path.write_bytes("id,question\n1,Hvor ligger Tromsø?\n".encode("cp1252"))
    with pytest.raises(DatasetError, match="not UTF-8 text; save the questions as UTF-8 \\(in Excel: Save As"):
        read_questions(path)


@pytest.mark.parametrize("name", ["q.txt", "q.csv", "q.jsonl"])
def test_binary_question_file_that_decodes_as_utf8(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"question\n\x00\x01\x02PK\x03\x04 data")
    with pytest.raises(DatasetError, match="is a binary file, not text"):
        read_questions(path)


def test_missing_question_file(tmp_path):
    with pytest.raises(InputPathError):
        read_questions(tmp_path / "nope.csv")


def test_writer_keeps_failed_rows_and_answers():
    answered = AskResult(
        query="Who?",
        no_answer=False,
        no_answer_score=0.1,
        answers=[Answer("Ada", 0.9, "/d/a.txt", 2, 0, 3, "Ada wrote it.")],
    )
    unanswered = AskResult(query="Why?", no_answer=True, no_answer_score=0.8, answers=[])
    out = io.StringIO()
    writer = RowWriter(out, "csv")
    writer.write(output_record(QuestionRow("1", "Who?"), answered, ""))
    writer.write(output_record(QuestionRow("2", ""), None, "the question is empty"))
    writer.write(output_record(QuestionRow("3", "Why?"), unanswered, ""))
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert list(rows[0]) == OUTPUT_FIELDS
    assert rows[0]["answer"] == "Ada" and rows[0]["page"] == "2" and rows[0]["no_answer"] == "False"
    assert rows[1]["error"] == "the question is empty" and rows[1]["answer"] == ""
    assert rows[2]["no_answer"] == "True" and rows[2]["answer"] == ""


def test_excel_csv_with_a_byte_order_mark(tmp_path):
    path = tmp_path / "q.csv"
    path.write_bytes("question,id\nWhy?,x\n".encode("utf-8-sig"))
    assert read_questions(path) == [QuestionRow("x", "Why?")]


def test_uploaded_question_files_are_parsed_like_files_and_named_in_errors():
    assert parse_questions("upload.txt", b"Why?\n\nHow?\n") == [QuestionRow("1", "Why?"), QuestionRow("3", "How?")]
    with pytest.raises(DatasetError) as error:
        parse_questions("mine.csv", b'id,question\n1,"Who?\n')
    assert str(error.value).startswith("mine.csv: line 2: broken CSV")


def test_records_csv_is_what_the_batch_command_writes():
    records = [
        output_record(QuestionRow("1", "Who?"), None, "the question is empty"),
        output_record(QuestionRow("2", 'Say "hi", then?'), None, ""),
    ]
    out = io.StringIO()
    writer = RowWriter(out, "csv")
    for record in records:
        writer.write(record)
    assert records_csv(records) == out.getvalue()
    rows = list(csv.DictReader(io.StringIO(records_csv(records))))
    assert [row["question"] for row in rows] == ["Who?", 'Say "hi", then?']


def test_questions_from_standard_input_and_a_folder_given_for_a_file(tmp_path, monkeypatch):
    import io as _io

    monkeypatch.setattr("sys.stdin", _io.TextIOWrapper(_io.BytesIO(b"Who?\n\n  Why?\n")))
    assert [(row.id, row.question) for row in read_questions("-")] == [("1", "Who?"), ("3", "Why?")]
    monkeypatch.setattr("sys.stdin", _io.TextIOWrapper(_io.BytesIO(b"")))
    with pytest.raises(DatasetError, match=r"^standard input: is empty"):
        read_questions("-")
    with pytest.raises(InputPathError, match="is a folder, not a question file"):
        read_questions(tmp_path)


def test_only_lf_crlf_and_cr_end_a_line(tmp_path):
    jsonl = tmp_path / "q.jsonl"
    lines = [{"id": "q1", "question": "Who built\u2028the bridge?"}, {"question": "When\u2029\x85?"}]
    jsonl.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    assert read_questions(jsonl) == [
        QuestionRow("q1", "Who built\u2028the bridge?"),
        QuestionRow("2", "When\u2029\x85?"),
    ]
    txt = tmp_path / "q.txt"
    txt.write_text("Who built\x85the bridge?\r\nWhy\x0b\x0c\x1c\x1d\x1e?\rHow?\n", encoding="utf-8", newline="")
    assert read_questions(txt) == [
        QuestionRow("1", "Who built\x85the bridge?"),
        QuestionRow("2", "Why\x0b\x0c\x1c\x1d\x1e?"),
        QuestionRow("3", "How?"),
    ]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_csv_line_breaks_inside_a_quoted_question_are_a_space(tmp_path, newline):
    path = tmp_path / "q.csv"
    content = 'id,question\nq1,"Who built\nthe bridge?"\nq2,"Why  \n\n  now?"\nq3,How?\n'
    path.write_text(content.replace("\n", newline), encoding="utf-8", newline="")
    assert read_questions(path) == [
        QuestionRow("q1", "Who built the bridge?"),
        QuestionRow("q2", "Why now?"),
        QuestionRow("q3", "How?"),
    ]
    path.write_text('id,question\r\nq1,"Who built\nthe bridge?"\r\nq2,Why?,x\r\n', newline="")
    assert read_questions(path)[1] == QuestionRow(
        "q2", "q2,Why?,x", "line 4 has more fields than the header (a comma in the question? put it in quotes)"
    )


def test_ragged_csv_rows_become_failed_rows_and_keep_their_ids(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('id,question\na,Who built it?\nb,Who built it, and when?\nc\n\nd,"When, then?"\n')
    assert [(row.id, row.question, row.problem) for row in read_questions(path)] == [
        ("a", "Who built it?", ""),
        (
            "b",
            "b,Who built it, and when?",
            "line 3 has more fields than the header (a comma in the question? put it in quotes)",
        ),
        ("c", "c", "line 4 has fewer fields than the header"),
        ("d", "When, then?", ""),
    ]


def test_csv_with_a_line_separator_inside_a_field_is_read(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('id,question\nq1,"Who built\u2028the bridge?"\nq2,Why\u2028now?\n', encoding="utf-8")
    assert read_questions(path) == [QuestionRow("q1", "Who built\u2028the bridge?"), QuestionRow("q2", "Why\u2028now?")]


def _record(n: int) -> dict:
    return output_record(QuestionRow(str(n), "Who?"), None, "")


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux), a file every write to fails")
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_an_output_file_that_fills_up_is_one_line(fmt):
    output = RowOutput("/dev/full", fmt)
    with pytest.raises(InputPathError) as error:
        output.write(_record(1))
    assert str(error.value) == (
        "/dev/full: cannot be written (No space left on device); 0 rows written before it failed. "
        "Check the path and try again."
    )
    assert output.failed
    output.close()
    assert output._handle.closed


class _FullAfter(io.StringIO):
    """A stream whose flushes fail, as on a full disk, after the first ``flushes``."""

    def __init__(self, flushes: int, error: OSError | None = None) -> None:
        super().__init__()
        self.flushes = flushes
        self.error = error or OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def flush(self) -> None:
        if self.flushes == 0:
            raise self.error
        self.flushes -= 1


class _Answerer:
    """Answers nothing (no models), every row without an error."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def check_index(self) -> None:
        pass

    def answer(self, rows):
        for row in rows:
            yield row, None, ""


def test_batch_output_that_fails_part_way_is_one_line_with_the_rows_written(tmp_path, monkeypatch, capsys):
    questions = tmp_path / "q.txt"
    questions.write_text("Who?\nWhy?\nHow?\n")
    monkeypatch.setattr("docqa.batch.BatchAnswerer", _Answerer)
    args = build_parser().parse_args(["batch", str(questions), "--format", "jsonl", "--no-progress"])
    monkeypatch.setattr("sys.stdout", stdout := _FullAfter(2))
    assert run_command("docqa", args.handler, args) == 2
    assert capsys.readouterr().err == (
        "docqa: standard output: cannot be written (No space left on device); 2 rows written before it failed. "
        "Check the path and try again.\n"
    )
    assert [json.loads(line)["id"] for line in stdout.getvalue().splitlines()[:2]] == ["1", "2"]
    if os.path.exists("/dev/full"):
        args = build_parser().parse_args(["batch", str(questions), "--out", "/dev/full", "--format", "csv"])
        assert run_command("docqa", args.handler, args) == 2
        assert capsys.readouterr().err.startswith(
            "docqa: /dev/full: cannot be written (No space left on device); 0 rows"
        )
    monkeypatch.setattr("sys.stdout", _FullAfter(1, BrokenPipeError(errno.EPIPE, "Broken pipe")))
    output = RowOutput(None, "jsonl")
    output.write(_record(1))
    with pytest.raises(BrokenPipeError):
        output.write(_record(2))
