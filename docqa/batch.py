"""Answering a file of questions: retrieval per question, then the reader over many questions per call.

Rows are written as soon as their chunk is read, so an interrupted or failing run keeps every row that worked;
a row that cannot be answered (empty or too long question) gets its reason in the ``error`` column.
"""

import codecs
import csv
import io
import itertools
import json
import re
import sys
from collections.abc import Iterable, Iterator, Sized
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from haystack import Document, ExtractedAnswer, Pipeline

from docqa.ask import AskResult, check_question_length, require_documents, result_from_answers
from docqa.errors import DatasetError, DocqaError, EmptyQuestionError, InputPathError, QuestionTooLongError
from docqa.pipelines import (
    ALLOWED_MODULES,
    load_query_pipeline,
    question_inputs,
    reader_documents_source,
    warm_up_components,
)
from docqa.stores import files_filter, files_within, store_errors

#: A line break inside a quoted CSV field, with the white space around it: read as one space.
_LINE_BREAKS = re.compile(r"\s*[\r\n]\s*")

#: Bounds of the default number of questions per reader call (:func:`default_chunk_size`).
MIN_CHUNK, MAX_CHUNK = 8, 64

OUTPUT_FIELDS = [
    "id",
    "question",
    "answer",
    "score",
    "no_answer",
    "no_answer_score",
    "source",
    "page",
    "page_label",
    "section",
    "error",
]


@dataclass
class QuestionRow:
    """One question of a batch file; ``problem`` says why its line could not be read (the row is not asked)."""

    id: str
    question: str
    problem: str = ""
    #: where the row starts in its file (0: not from a file)
    line: int = field(default=0, compare=False)


def read_questions(path: str | Path) -> list[QuestionRow]:
    """
    Read questions from ``.csv`` (a ``question`` column, optional ``id``), ``.jsonl`` (objects with ``question``,
    optional ``id``) or ``.txt`` (one question per line).

    ``-`` reads standard input, one question per line.

    :raises InputPathError: when the file does not exist or is a folder.
    :raises DatasetError: when the file is empty or malformed, naming the line.
    """
    if str(path) == "-":
        return parse_questions("standard input", sys.stdin.buffer.read(), suffix=".txt")
    path = Path(path).expanduser()
    if path.is_dir():
        raise InputPathError(str(path), "is a folder, not a question file")
    if not path.exists():
        raise InputPathError(str(path))
    return parse_questions(str(path), path.read_bytes())


def parse_questions(name: str, data: bytes, suffix: str | None = None) -> list[QuestionRow]:
    """
    Questions from the bytes of a question file named ``name`` (an upload, say); see :func:`read_questions`.

    :param suffix: the file type (``.csv``, ``.jsonl``, ``.txt``) when ``name`` does not end with it.
    :raises DatasetError: when the file is empty, not UTF-8 text or malformed, naming ``name`` and the line.
    """
    try:
        text = data.decode(_question_file_encoding(data))
    except UnicodeDecodeError as error:
        raise DatasetError(
            name, "is not UTF-8 text; save the questions as UTF-8 (in Excel: Save As, 'CSV UTF-8')"
        ) from error
    if "\x00" in text:
        raise DatasetError(name, "is a binary file, not text; give a .csv, .jsonl or .txt file of questions")
    if not text.strip():
        raise DatasetError(name, "is empty; put one question per row")
    suffix = suffix or Path(name).suffix.lower()
    if suffix == ".csv":
        rows = _read_csv(name, text)
    elif suffix == ".jsonl":
        rows = _read_jsonl(name, text)
    elif suffix == ".txt":
        rows = [QuestionRow(str(n), line.strip(), line=n) for n, line in enumerate(_lines(text), 1) if line.strip()]
    else:
        raise DatasetError(name, f"unsupported question file type {suffix or '(none)'}; use .csv, .jsonl or .txt")
    if not rows:
        raise DatasetError(name, "has no questions, only a header or blank lines; put one question per row")
    return _repeated_ids_failed(rows)


def _question_file_encoding(data: bytes) -> str:
    """UTF-32 or UTF-16 where the bytes start with its byte-order mark (Notepad's and Excel's "Unicode" text), else
    UTF-8 with or without one."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8-sig"


def _repeated_ids_failed(rows: list[QuestionRow]) -> list[QuestionRow]:
    """``rows`` with every row whose id an earlier row already has failed (ids key the output rows): the first row
    with an id is asked, the others say so."""
    seen: dict[str, QuestionRow] = {}
    for row in rows:
        first = seen.setdefault(row.id, row)
        if first is not row and not row.problem:
            row.problem = (
                f"line {row.line}: id {row.id!r} is already the id of line {first.line}; give each question its own id"
            )
    return rows


def _lines(text: str) -> list[str]:
    """
    The lines of ``text``, each with its line break: only LF, CR LF and CR end a line, not the other characters
    :meth:`str.splitlines` breaks at (U+2028, U+0085, form feed, ...), which may be inside a question.
    """
    return io.StringIO(text, newline="").readlines()


class _CountedLines:
    """The lines of a text, counting those handed out (the csv module does not count the lines of a broken record)."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.count = 0

    def __iter__(self) -> "_CountedLines":
        return self

    def __next__(self) -> str:
        if self.count >= len(self.lines):
            raise StopIteration
        self.count += 1
        return self.lines[self.count - 1]

    def next_nonblank(self) -> int:
        """The number of the first non-blank line after those handed out (where the next record starts)."""
        number = self.count + 1
        while number <= len(self.lines) and not self.lines[number - 1].strip():
            number += 1
        return number


def _csv_problem(line: int, error: csv.Error) -> str:
    if "unexpected end of data" in str(error):
        return f'line {line}: broken CSV, a quoted field opened here is never closed (a " without its closing ")'
    return f"line {line}: broken CSV ({error})"


def _read_csv(name: str, text: str) -> list[QuestionRow]:
    lines = _CountedLines(_lines(text))
    reader = csv.DictReader(lines, strict=True)
    try:
        fields = [(name or "").strip().lower() for name in reader.fieldnames or []]
    except csv.Error as error:
        raise DatasetError(name, _csv_problem(1, error)) from error
    if "question" not in fields:
        hint = ""
        if len(fields) == 1 and any(mark in fields[0] for mark in ";\t"):
            hint = " (its columns look separated by semicolons or tabs; save it as CSV with commas)"
        raise DatasetError(name, f"has no 'question' column in its header row{hint}")
    rows = []
    while True:
        first_line = lines.next_nonblank()
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise DatasetError(name, _csv_problem(first_line, error)) from error
        values = {(k or "").strip().lower(): (v or "").strip() for k, v in record.items() if k is not None}
        row_id = values.get("id") or None
        as_written = _LINE_BREAKS.sub(" ", "".join(lines.lines[first_line - 1 : lines.count]).strip())
        if None in record:
            problem = f"line {first_line} has more fields than the header (a comma in the question? put it in quotes)"
            rows.append((first_line, row_id, as_written, problem))
        elif None in record.values():
            rows.append((first_line, row_id, as_written, f"line {first_line} has fewer fields than the header"))
        else:
            rows.append((first_line, row_id, _LINE_BREAKS.sub(" ", values["question"]), ""))
    if rows and all(row[3] for row in rows):
        raise DatasetError(name, rows[0][3])
    return _numbered(rows)


def _read_jsonl(name: str, text: str) -> list[QuestionRow]:
    """
    One row per non-blank line. A line that is not an object with a string ``question`` becomes a row with its
    ``problem`` (the other lines are still answered), unless no line is one: then the file is refused.
    """
    rows = []
    for number, line in enumerate(_lines(text), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            rows.append((number, None, line.strip(), f"line {number} is not valid JSON ({error.msg})"))
            continue
        given = record.get("id") if isinstance(record, dict) else None
        if given is not None and (not isinstance(given, (str, int)) or isinstance(given, bool)):
            problem = f"line {number}: 'id' must be a string or a whole number, not {given!r}"
            rows.append((number, None, "", problem))
            continue
        row_id = None if given is None or str(given).strip() == "" else str(given)
        if not isinstance(record, dict) or not isinstance(record.get("question"), str):
            rows.append((number, row_id, "", f"line {number} has no string field 'question'"))
            continue
        rows.append((number, row_id, record["question"].strip(), ""))
    if rows and all(row[3] for row in rows):
        raise DatasetError(name, rows[0][3])
    return _numbered(rows)


def _numbered(rows: list[tuple[int, str | None, str, str]]) -> list[QuestionRow]:
    """Rows ``(line, id or None, question, problem)`` with every missing id set to the number of the line the row
    starts on, or, where another row has that id, to ``row-N`` (``row-N-2``, ... if that is taken too)."""
    taken = {row[1] for row in rows if row[1] is not None}
    numbered = []
    for n, row_id, question, problem in rows:
        if row_id is None:
            candidates = itertools.chain((str(n), f"row-{n}"), (f"row-{n}-{k}" for k in itertools.count(2)))
            row_id = next(candidate for candidate in candidates if candidate not in taken)
            taken.add(row_id)
        numbered.append(QuestionRow(row_id, question, problem, n))
    return numbered


def default_chunk_size(questions: int) -> int:
    """
    Questions per reader call for ``questions`` rows: the reader gains from many at once, and rows (and progress)
    come out a chunk at a time, so a small file is read in about eight chunks.
    """
    return min(MAX_CHUNK, max(MIN_CHUNK, -(-questions // 8)))


def split_query_pipeline(pipeline: str | Path | Pipeline) -> tuple[Pipeline, Any, str]:
    """
    Split a query pipeline into its retrieval part and its reader.

    :param pipeline: the query pipeline YAML, or a loaded query pipeline (whose reader, warm or not, is reused).
    :returns: the pipeline without the ``reader`` component, the reader, and the name of the component whose
        ``documents`` output feeds the reader.
    """
    full = pipeline if isinstance(pipeline, Pipeline) else load_query_pipeline(pipeline)
    reader = full.get_component("reader")
    sender = reader_documents_source(full)
    data = full.to_dict()
    data["components"].pop("reader")
    data["connections"] = [c for c in data["connections"] if not c["receiver"].startswith("reader.")]
    retrieval = Pipeline.from_dict(data, allowed_modules=ALLOWED_MODULES)
    return retrieval, reader, sender


class BatchAnswerer:
    """
    Answers many questions with one query pipeline, the reader reading a chunk of questions per call.

    :param pipeline_path: the query pipeline YAML, or a loaded query pipeline (its reader is shared).
    :param chunk_size: questions per reader call (memory is bounded by the reader's token budget either way); None:
        :func:`default_chunk_size` of the rows given to :meth:`answer` (:data:`MAX_CHUNK` when they are not counted).
    :param within: search only the indexed files at or under these files or folders; None or empty: all.
    """

    def __init__(
        self, pipeline_path: str | Path | Pipeline, chunk_size: int | None = None, within: list[str] | None = None
    ) -> None:
        self.retrieval, self.reader, self.documents_from = split_query_pipeline(pipeline_path)
        self.chunk_size = chunk_size
        self.within = list(within or [])
        self._filters: dict[str, Any] | None = None
        self._warm = False

    def check_index(self) -> None:
        """
        :raises EmptyIndexError: when nothing has been indexed; see :func:`docqa.ask.require_documents`.
        :raises docqa.errors.NothingIndexedError: when nothing indexed is within ``within``.
        """
        require_documents(self.retrieval)
        if self.within:
            with store_errors():
                self._filters = files_filter(files_within(self.within))

    def warm_up(self) -> None:
        """Load every model once."""
        if not self._warm:
            warm_up_components([*self.retrieval.walk(), ("reader", self.reader)])
            self.retrieval.warm_up()
            self._warm = True

    def _retrieve(self, question: str) -> list[Document]:
        inputs = question_inputs(self.retrieval, question, filters=self._filters)
        with store_errors():
            output = self.retrieval.run(inputs, include_outputs_from={self.documents_from})
        return output[self.documents_from]["documents"]

    def _check(self, question: str) -> None:
        if not question:
            raise EmptyQuestionError()
        check_question_length(self.reader, question)

    def answer(
        self, rows: Iterable[QuestionRow], top_k: int = 1
    ) -> Iterator[tuple[QuestionRow, AskResult | None, str]]:
        """
        Answer rows in chunks, yielding ``(row, result, error)`` in the order of ``rows``; ``result`` is None when
        the row failed (a line that could not be read, an empty or too long question).

        :raises EmptyIndexError: before the first row, when nothing has been indexed.
        :raises docqa.errors.DocqaError: when the store fails (the rows before it are yielded first).
        """
        self.check_index()
        self.warm_up()
        chunk_size = self.chunk_size or (default_chunk_size(len(rows)) if isinstance(rows, Sized) else MAX_CHUNK)
        pending: list[tuple[QuestionRow, list[Document] | None, str]] = []
        retrieved = 0
        try:
            for row in rows:
                if row.problem:
                    pending.append((row, None, row.problem))
                    continue
                try:
                    self._check(row.question)
                    pending.append((row, self._retrieve(row.question), ""))
                    retrieved += 1
                except (EmptyQuestionError, QuestionTooLongError) as error:
                    pending.append((row, None, str(error)))
                if retrieved >= chunk_size:
                    yield from self._read(pending, top_k)
                    pending, retrieved = [], 0
        except DocqaError:
            # The store failed for this row: the rows before it are still answered before the run stops.
            yield from self._read(pending, top_k)
            raise
        yield from self._read(pending, top_k)

    def _read(
        self, pending: list[tuple[QuestionRow, list[Document] | None, str]], top_k: int
    ) -> Iterator[tuple[QuestionRow, AskResult | None, str]]:
        """Read the retrieved rows of ``pending`` in one reader call; yield every row of it in order."""
        chunk = [(row, documents) for row, documents, _ in pending if documents is not None]
        answers = iter(read_answers(self.reader, [row.question for row, _ in chunk], [d for _, d in chunk]))
        for row, documents, error in pending:
            if documents is None:
                yield row, None, error
            else:
                yield row, result_from_answers(row.question, next(answers), documents, top_k=top_k), ""


def output_record(row: QuestionRow, result: AskResult | None, error: str) -> dict[str, Any]:
    """One output row."""
    record: dict[str, Any] = dict.fromkeys(OUTPUT_FIELDS)
    record.update(id=row.id, question=row.question, error=error or None)
    if result is not None:
        best = result.answers[0] if result.answers and not result.no_answer else None
        record.update(
            answer=best.text if best else None,
            score=round(best.score, 4) if best else None,
            no_answer=result.no_answer,
            no_answer_score=round(result.no_answer_score, 4) if result.no_answer_score is not None else None,
            source=best.source if best else None,
            page=best.page if best else None,
            page_label=best.page_label if best else None,
            section=best.section if best else None,
        )
    return record


def records_csv(records: Iterable[dict[str, Any]]) -> str:
    """Output rows as the CSV text ``docqa batch --out answers.csv`` writes."""
    buffer = io.StringIO()
    writer = RowWriter(buffer, "csv")
    for record in records:
        writer.write(record)
    return buffer.getvalue()


class RowWriter:
    """Writes output rows as CSV or JSON lines, flushing each so no finished row is lost."""

    def __init__(self, handle: TextIO, fmt: str) -> None:
        self.handle = handle
        self.fmt = fmt
        self._csv = csv.DictWriter(handle, fieldnames=OUTPUT_FIELDS) if fmt == "csv" else None
        if self._csv is not None:
            self._csv.writeheader()

    def write(self, record: dict[str, Any]) -> None:
        """Write and flush one row."""
        if self._csv is not None:
            self._csv.writerow({k: "" if v is None else v for k, v in record.items()})
        else:
            self.handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.handle.flush()


def read_answers(reader: Any, questions: list[str], documents: list[list[Document]]) -> list[list[ExtractedAnswer]]:
    """
    Each question's answers from its own passages: in one call with docqa's reader, one question per run with a reader
    that reads one at a time (Haystack's, swapped in by a YAML edit).
    """
    if not questions:
        return []
    read_batch = getattr(reader, "read_batch", None)
    if read_batch is not None:
        return read_batch(questions, documents)
    pairs = zip(questions, documents, strict=True)
    return [reader.run(query=question, documents=docs)["answers"] for question, docs in pairs]
