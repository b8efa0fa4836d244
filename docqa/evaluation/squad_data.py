"""Load and check SQuAD v2.0 data files, prediction files and na-probability files; check output files."""

import json
import math
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docqa.errors import DatasetError, InputPathError, UsageError


@dataclass(frozen=True)
class SquadQuestion:
    """One question of a SQuAD v2.0 file with its paragraph and gold answers (empty list: unanswerable)."""

    id: str
    question: str
    context: str
    answers: list[str] = field(default_factory=list)
    answer_starts: list[int] = field(default_factory=list)
    title: str = ""
    paragraph_id: str = ""

    @property
    def has_answer(self) -> bool:
        """True when the question has at least one gold answer, as the official script decides it."""
        return bool(self.answers)


@dataclass(frozen=True)
class SquadDataset:
    """
    The questions of a SQuAD v2.0 file in file order, the raw ``data`` list, and every paragraph of the file
    (id -> context, in file order; kept whole by :meth:`limited` so retrieval always searches the full corpus).
    """

    path: str
    questions: list[SquadQuestion]
    articles: list[dict[str, Any]]
    paragraphs: dict[str, str] = field(default_factory=dict)
    #: what looks wrong in the file but does not stop an evaluation (counted, one line each)
    warnings: tuple[str, ...] = ()

    def limited(self, limit: int | None) -> "SquadDataset":
        """The first ``limit`` questions (all when None), with ``articles`` cut to match; ``paragraphs`` stay all."""
        if limit is None or limit >= len(self.questions):
            return self
        keep = {question.id for question in self.questions[:limit]}
        articles = []
        for article in self.articles:
            paragraphs = []
            for paragraph in article["paragraphs"]:
                qas = [qa for qa in paragraph["qas"] if qa["id"] in keep]
                if qas:
                    paragraphs.append({**paragraph, "qas": qas})
            if paragraphs:
                articles.append({**article, "paragraphs": paragraphs})
        return SquadDataset(self.path, self.questions[:limit], articles, self.paragraphs, self.warnings)


def read_json(path: str | Path, what: str) -> Any:
    """
    Read a JSON file, turning every way it can fail into one line.

    :param path: the file.
    :param what: what the file should be, for messages (e.g. ``"predictions file"``).
    :raises InputPathError: the file is missing or unreadable.
    :raises DatasetError: the file is empty or not JSON.
    """
    path = Path(path)
    if not path.is_file():
        raise InputPathError(str(path), "does not exist" if not path.exists() else "is not a file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise InputPathError(str(path), f"cannot be read ({error})") from error
    except UnicodeDecodeError as error:
        raise DatasetError(
            str(path), f"not UTF-8 text (byte 0x{error.object[error.start]:02x} at {error.start}); expected a {what}"
        ) from error
    if not text.strip():
        raise DatasetError(str(path), f"the file is empty; expected a {what}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise DatasetError(
            str(path), f"not valid JSON (line {error.lineno}, column {error.colno}: {error.msg}); expected a {what}"
        ) from error


def parse_squad(raw: Any, path: str = "<data>") -> SquadDataset:
    """
    Check a parsed SQuAD v2.0 document and list its questions.

    :param raw: the parsed JSON.
    :param path: file name for messages.
    :raises DatasetError: naming the first place that is not SQuAD format, or when there are no questions.
    """
    hint = 'expected SQuAD v2.0 JSON: {"version": "v2.0", "data": [{"title", "paragraphs": [{"context", "qas"}]}]}'
    if not isinstance(raw, dict) or not isinstance(raw.get("data"), list):
        raise DatasetError(path, f"not SQuAD format (no top-level 'data' list); {hint}")
    questions: list[SquadQuestion] = []
    paragraphs: dict[str, str] = {}
    seen: set[str] = set()
    for a, article in enumerate(raw["data"]):
        where = f"data[{a}]"
        if not isinstance(article, dict) or not isinstance(article.get("paragraphs"), list):
            raise DatasetError(path, f"not SQuAD format: {where} has no 'paragraphs' list; {hint}")
        title = str(article.get("title", ""))
        for p, paragraph in enumerate(article["paragraphs"]):
            where = f"data[{a}].paragraphs[{p}]"
            if not isinstance(paragraph, dict) or not isinstance(paragraph.get("context"), str):
                raise DatasetError(path, f"not SQuAD format: {where} has no 'context' string; {hint}")
            if not isinstance(paragraph.get("qas"), list):
                raise DatasetError(path, f"not SQuAD format: {where} has no 'qas' list; {hint}")
            paragraphs[f"{a}-{p}"] = paragraph["context"]
            for q, qa in enumerate(paragraph["qas"]):
                questions.append(_parse_qa(qa, f"{where}.qas[{q}]", path, paragraph["context"], title, f"{a}-{p}"))
                if questions[-1].id in seen:
                    raise DatasetError(path, f"question id {questions[-1].id!r} appears twice; ids must be unique")
                seen.add(questions[-1].id)
    if not questions:
        raise DatasetError(path, "the file holds no questions; add paragraphs with 'qas'")
    return SquadDataset(path, questions, raw["data"], paragraphs, _warnings(raw["data"], questions))


def _warnings(articles: list[Any], questions: list[SquadQuestion]) -> tuple[str, ...]:
    """Counted oddities of a SQuAD file that the official script lets through (it scores answers by text only)."""
    empty = sum(1 for question in questions if not question.question.strip())
    no_context = sum(1 for question in questions if not question.context.strip())
    misplaced = sum(
        1
        for question in questions
        for text, start in zip(question.answers, question.answer_starts, strict=True)
        if question.context[start : start + len(text)] != text
    )
    flags = sum(
        1
        for article in articles
        for paragraph in article["paragraphs"]
        for qa in paragraph["qas"]
        if "is_impossible" in qa and not isinstance(qa["is_impossible"], bool)
    )
    lines = []
    if empty:
        lines.append(f"{_n(empty, 'question is', 'questions are')} empty (read as they are)")
    if no_context:
        lines.append(f"{_n(no_context, 'question has', 'questions have')} an empty context")
    if misplaced:
        lines.append(
            f"{_n(misplaced, 'gold answer is', 'gold answers are')} not at the answer_start given in the context "
            "(scored by text, as the official script does; check the offsets)"
        )
    if flags:
        lines.append(f"{_n(flags, 'question has', 'questions have')} an is_impossible that is not true or false")
    return tuple(lines)


def _n(number: int, one: str, many: str) -> str:
    return f"{number} {one if number == 1 else many}"


def _parse_qa(qa: Any, where: str, path: str, context: str, title: str, paragraph_id: str) -> SquadQuestion:
    if not isinstance(qa, dict) or not isinstance(qa.get("id"), str) or not isinstance(qa.get("question"), str):
        raise DatasetError(path, f"not SQuAD format: {where} needs an 'id' and a 'question' string")
    answers = qa.get("answers")
    if not isinstance(answers, list) or not all(
        isinstance(answer, dict) and isinstance(answer.get("text"), str) for answer in answers
    ):
        raise DatasetError(path, f"not SQuAD format: {where} needs an 'answers' list of {{'text', 'answer_start'}}")
    if answers and qa.get("is_impossible") is True:
        raise DatasetError(path, f"{where} is marked is_impossible but has answers; empty its 'answers' list")
    for n, answer in enumerate(answers):
        start = answer.get("answer_start", -1)
        if not isinstance(start, int) or isinstance(start, bool):
            raise DatasetError(
                path,
                f"not SQuAD format: {where}.answers[{n}] has answer_start {start!r}; it must be a whole number "
                "(the answer's character offset in the context)",
            )
    return SquadQuestion(
        id=qa["id"],
        question=qa["question"],
        context=context,
        answers=[answer["text"] for answer in answers],
        answer_starts=[answer.get("answer_start", -1) for answer in answers],
        title=title,
        paragraph_id=paragraph_id,
    )


def print_warnings(dataset: SquadDataset) -> None:
    """Print the dataset's warnings, one line each, on stderr."""
    import sys

    for line in dataset.warnings:
        print(f"docqa: warning: {dataset.path}: {line}", file=sys.stderr)


def load_squad(path: str | Path) -> SquadDataset:
    """
    Load a SQuAD v2.0 JSON file.

    :raises InputPathError: the file is missing.
    :raises DatasetError: the file is empty, not JSON, not SQuAD format or without questions.
    """
    return parse_squad(read_json(path, "SQuAD v2.0 JSON file"), str(path))


def load_predictions(path: str | Path) -> dict[str, str]:
    """
    Load a predictions file: a JSON object mapping question id to answer text ("" for no answer).

    :raises DatasetError: the file is empty, not a JSON object, or holds a value that is not a string.
    """
    raw = read_json(path, 'predictions file, a JSON object {"question id": "answer text"}')
    return _check_mapping(raw, str(path), "predictions", str, 'a JSON object {"question id": "answer text"}')


def load_na_probs(path: str | Path) -> dict[str, float]:
    """
    Load a na-probability file: a JSON object mapping question id to a finite number.

    :raises DatasetError: the file is empty, not a JSON object, or holds a value that is not a finite number.
    """
    expected = 'a JSON object {"question id": number}'
    raw = read_json(path, f"na-probability file, {expected}")
    checked = _check_mapping(raw, str(path), "na-probabilities", (int, float), expected)
    for qid, value in checked.items():
        if not math.isfinite(value):
            raise DatasetError(
                str(path), f"the value for {qid!r} is {value!r}; na-probabilities must be finite numbers"
            )
    return {qid: float(value) for qid, value in checked.items()}


def check_output_file(path: str | Path, inputs: Iterable[str | Path] = (), option: str = "--out") -> None:
    """
    Check before any work that ``path`` can be written: not a directory, not one of ``inputs``, and its directory
    (created on writing when missing) writable.

    :param option: the command-line option that named ``path``, for messages.
    :raises UsageError: naming the problem.
    """
    path = Path(path)

    def refuse(problem: str) -> UsageError:
        return UsageError(f"{option} {path}: {problem}")

    if path.is_dir():
        raise refuse("is a directory; give a file name in it instead")
    for source in inputs:
        if _same_file(path, Path(source)):
            raise refuse(f"is the input file {source}; write to another file")
    if path.exists() and not os.access(path, os.W_OK):
        raise refuse("the file is not writable; give another file or change its permissions")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise refuse(f"{folder} is not a directory; give another path")
    try:
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as error:
        raise refuse(f"cannot write in {folder} ({error.strerror or error}); give another path") from error


def _same_file(first: Path, second: Path) -> bool:
    try:
        return first.exists() and second.exists() and first.samefile(second)
    except OSError:
        return False


_JSON_KINDS = {list: "array", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}


def _check_mapping(raw: Any, path: str, what: str, kind: Any, expected: str) -> dict:
    if not isinstance(raw, dict):
        raise DatasetError(path, f"{what} must be {expected}, not a JSON {_JSON_KINDS.get(type(raw), 'value')}")
    for qid, value in raw.items():
        if not isinstance(value, kind) or isinstance(value, bool):
            raise DatasetError(path, f"the value for {qid!r} is {value!r}; {what} must be {expected}")
    return raw
