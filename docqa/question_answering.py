"""The model card's ``pipeline("question-answering")`` one-liner (removed in transformers 5) on docqa's reader.

    >>> qa = QuestionAnswerer("deepset/tinyroberta-squad2")
    >>> qa(question="Why is model conversion important?", context="The option to convert models ... gives freedom.")
    {'answer': 'gives freedom', 'score': 0.93, 'start': 59, 'end': 72, 'no_answer': False}

Inputs, as the pipeline took them: a question and a context (strings, by keyword or position); a list of questions
with a list of contexts of the same length (pairs); a list of questions with one context, or one question with a
list of contexts (the string goes with each); a dict ``{"question": ..., "context": ...}`` or a list of such dicts.
One pair gives one dict, anything given as a list gives a list of dicts in input order; with ``top_k`` above 1 each
of those dicts becomes a list of up to ``top_k`` dicts, best first.

``answer`` is ``context[start:end]`` (character offsets into the context as given, whole characters, no white
space around it). When no-answer wins (SQuAD 2.0 rule, see :class:`docqa.components.reader.ExtractiveReader`), and
for an empty or blank context, the answer is ``""``, ``start`` and ``end`` are ``None``, ``no_answer`` is True and
``score`` is the no-answer score; ``handle_impossible_answer=False`` returns the best span instead wherever the
context has one. Empty or too long questions, wrong types and arguments the reader does not take are refused with a
:class:`docqa.errors.DocqaError` (one line) before the model runs.
"""

import inspect
import math
import numbers
import os
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from haystack import Document, ExtractedAnswer

from docqa.ask import trimmed
from docqa.components.reader import ExtractiveReader
from docqa.errors import DocqaError, EmptyQuestionError, QuestionTooLongError

# the pipeline's names of reader settings
_ALIASES = {"max_question_len": "max_query_length", "max_answer_len": "max_answer_length"}
# pipeline call arguments that set how texts are cut into windows: fixed when the reader is made
_WINDOW_SETTINGS = {"max_seq_len": "max_seq_len", "doc_stride": "doc_stride", "max_question_len": "max_query_length"}
_CALL_ARGUMENTS = (
    "top_k",
    "max_answer_len",
    "max_answer_length",
    "no_answer_threshold",
    "handle_impossible_answer",
    "align_to_words",
)
# spans asked of the reader beyond top_k, to make up for blank or duplicate ones dropped here
_SPARE_SPANS = 4
_ZERO_WIDTH_JOINER = "\u200d"


class QuestionAnsweringInputError(DocqaError, ValueError):
    """
    An input or argument :class:`QuestionAnswerer` cannot use; a ValueError too, as the pipeline raised for these.
    """

    exit_code = 2


class QuestionAnswerer:
    """Answer questions about given contexts with an :class:`ExtractiveReader`, loaded once and kept."""

    def __init__(
        self,
        model: str | os.PathLike | None = None,
        top_k: int = 1,
        handle_impossible_answer: bool = True,
        align_to_words: bool = False,
        **reader_kwargs: Any,
    ) -> None:
        """
        Make the reader; its model is loaded on the first call and kept.

        :param model: hub name or local directory; None reads ``DOCQA_READER_MODEL``.
        :param top_k: default answers per question (1: a dict per question, more: a list of dicts).
        :param handle_impossible_answer: default for calls: True lets no-answer win (SQuAD 2.0 rule), False returns
            the best span wherever the context has one.
        :param align_to_words: default for calls: True widens each span to the tokenizer's whole words, as the
            pipeline did by default; False keeps the reader's token spans (what ``docqa ask`` shows).
        :param reader_kwargs: :class:`ExtractiveReader` settings (``device``, ``precision``, ``max_seq_len``,
            ``doc_stride``, ``max_query_length`` or the pipeline's ``max_question_len``, ``max_answer_length`` or
            ``max_answer_len``, ``no_answer_threshold``, ...).
        :raises QuestionAnsweringInputError: for a setting the reader does not take or a value it cannot use.
        """
        if isinstance(model, os.PathLike):
            model = os.fspath(model)
        if model is not None and (not isinstance(model, str) or not model.strip()):
            raise QuestionAnsweringInputError(
                f"model must be a hub name or a local directory (or None for DOCQA_READER_MODEL), not {model!r}"
            )
        for old, new in _ALIASES.items():
            if old in reader_kwargs:
                if new in reader_kwargs:
                    raise QuestionAnsweringInputError(f"give {new} or {old}, not both")
                reader_kwargs[new] = reader_kwargs.pop(old)
        allowed = set(inspect.signature(ExtractiveReader.__init__).parameters) - {"self", "model", "top_k"}
        unknown = sorted(set(reader_kwargs) - allowed)
        if unknown:
            raise QuestionAnsweringInputError(
                f"QuestionAnswerer takes no {', '.join(unknown)}; it takes top_k, handle_impossible_answer, "
                "align_to_words, max_question_len, max_answer_len and the reader's settings: "
                f"{', '.join(sorted(allowed))}"
            )
        if "no_answer_threshold" in reader_kwargs:
            _threshold(reader_kwargs["no_answer_threshold"])
        self.top_k = _positive_int("top_k", top_k)
        self.handle_impossible_answer = _flag("handle_impossible_answer", handle_impossible_answer)
        self.align_to_words = _flag("align_to_words", align_to_words)
        try:
            self.reader = ExtractiveReader(model=model, top_k=self.top_k, **reader_kwargs)
        except (TypeError, ValueError) as error:
            raise QuestionAnsweringInputError(str(error)) from error

    def __call__(
        self, question: Any = None, context: Any = None, **kwargs: Any
    ) -> dict[str, Any] | list[dict[str, Any]] | list[list[dict[str, Any]]]:
        """
        Answer one question (strings, or a dict) or many (lists, or a list of dicts).

        :param kwargs: for this call: ``top_k``, ``max_answer_len`` (or ``max_answer_length``),
            ``no_answer_threshold``, ``handle_impossible_answer``, ``align_to_words``; the pipeline's
            ``max_seq_len``, ``doc_stride`` and ``max_question_len`` only at the reader's values (set them when
            making the :class:`QuestionAnswerer`).
        :returns: ``{"answer", "score", "start", "end", "no_answer"}``, or a list of them (see the module).
        :raises QuestionAnsweringInputError: for inputs or arguments it cannot use.
        :raises docqa.errors.EmptyQuestionError: for an empty or blank question.
        :raises docqa.errors.QuestionTooLongError: for a question longer than the reader's ``max_query_length``.
        """
        options = self._options(kwargs)
        questions, contexts, single = _pairs(question, context)
        questions = [self._checked(text, index, len(questions)) for index, text in enumerate(questions)]
        top_k = options["top_k"]
        answers = self.reader.read_batch(
            questions,
            [[Document(content=text)] for text in contexts],
            top_k=top_k + _SPARE_SPANS,
            no_answer_threshold=options["no_answer_threshold"],
            max_answer_length=options["max_answer_length"],
        )
        words = _WordSpans(self.reader) if options["align_to_words"] else None
        results = [
            _results(found, text, top_k, options["handle_impossible_answer"], words)
            for found, text in zip(answers, contexts, strict=True)
        ]
        shaped = [found[0] for found in results] if top_k == 1 else results
        return shaped[0] if single else shaped

    def _options(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """This call's settings from its keyword arguments and the defaults; refuses the ones it cannot honour."""
        kwargs = dict(kwargs)
        for name, setting in _WINDOW_SETTINGS.items():
            if name in kwargs and kwargs.pop(name) != getattr(self.reader, setting):
                raise QuestionAnsweringInputError(
                    f"{name} sets how texts are cut into windows and is fixed when the model is loaded "
                    f"(now {getattr(self.reader, setting)}); give it to QuestionAnswerer(model, {name}=...) instead"
                )
        unknown = sorted(set(kwargs) - set(_CALL_ARGUMENTS))
        if unknown:
            raise QuestionAnsweringInputError(
                f"unknown argument {', '.join(unknown)}; a call takes question, context and "
                f"{', '.join(_CALL_ARGUMENTS)}"
            )
        if "max_answer_len" in kwargs and "max_answer_length" in kwargs:
            raise QuestionAnsweringInputError("give max_answer_length or max_answer_len, not both")
        max_answer_length = kwargs.get("max_answer_len", kwargs.get("max_answer_length"))
        if max_answer_length is not None:
            max_answer_length = _positive_int("max_answer_len", max_answer_length)
        threshold = kwargs.get("no_answer_threshold")
        return {
            "top_k": _positive_int("top_k", kwargs.get("top_k", self.top_k)),
            "max_answer_length": max_answer_length,
            "no_answer_threshold": None if threshold is None else _threshold(threshold),
            "handle_impossible_answer": _flag(
                "handle_impossible_answer", kwargs.get("handle_impossible_answer", self.handle_impossible_answer)
            ),
            "align_to_words": _flag("align_to_words", kwargs.get("align_to_words", self.align_to_words)),
        }

    def _checked(self, question: str, index: int, total: int) -> str:
        """``question`` without white space around it; refused when empty or longer than the reader takes."""
        question = question.strip()
        try:
            if not question:
                raise EmptyQuestionError()
            tokens = self.reader.question_token_count(question)
            if tokens > self.reader.max_query_length:
                raise QuestionTooLongError(tokens, self.reader.max_query_length)
        except (EmptyQuestionError, QuestionTooLongError) as error:
            raise _numbered(error, index, total) from None
        return question


def _pairs(question: Any, context: Any) -> tuple[list[str], list[str], bool]:
    """The (question, context) pairs of a call's inputs as two lists, and whether one pair was given alone."""
    if isinstance(question, Mapping) and context is None:
        return _pairs(*_from_dict(question, None))
    question = list(question) if _is_sequence(question) else question
    context = list(context) if _is_sequence(context) else context
    if context is None and isinstance(question, list) and all(isinstance(item, Mapping) for item in question):
        pairs = [_from_dict(item, index) for index, item in enumerate(question)]
        questions, contexts = [q for q, _ in pairs], [c for _, c in pairs]
        _require_strings("question", questions)
        _require_strings("context", contexts)
        return questions, contexts, False
    if question is None or context is None:
        missing = " and ".join(name for name, value in (("question", question), ("context", context)) if value is None)
        raise QuestionAnsweringInputError(
            f"{missing} missing: give question= and context= (strings or lists of strings), or a dict "
            '{"question": ..., "context": ...} or a list of them'
        )
    many_questions, many_contexts = isinstance(question, list), isinstance(context, list)
    questions = question if many_questions else [question]
    contexts = context if many_contexts else [context]
    if many_questions and many_contexts and len(questions) != len(contexts):
        raise QuestionAnsweringInputError(
            f"{len(questions)} questions but {len(contexts)} contexts; give one context each, or a single context "
            "(a string) for all of them"
        )
    if many_questions and not many_contexts:
        contexts = contexts * len(questions)
    elif many_contexts and not many_questions:
        questions = questions * len(contexts)
    _require_strings("question", questions)
    _require_strings("context", contexts)
    return questions, contexts, not (many_questions or many_contexts)


def _from_dict(item: Mapping, index: int | None) -> tuple[Any, Any]:
    if set(item) != {"question", "context"}:
        where = "" if index is None else f"item {index + 1}: "
        keys = ", ".join(map(repr, item)) or "none"
        raise QuestionAnsweringInputError(f'{where}a dict input takes the keys "question" and "context", not {keys}')
    return item["question"], item["context"]


def _is_sequence(value: Any) -> bool:
    return isinstance(value, Iterable) and not isinstance(value, str | bytes | bytearray | Mapping)


def _require_strings(name: str, values: list[Any]) -> None:
    for index, value in enumerate(values):
        if not isinstance(value, str):
            where = f"{name} {index + 1} of {len(values)}" if len(values) > 1 else name
            raise QuestionAnsweringInputError(
                f"{where} is {type(value).__name__} {value!r:.60}; give a string (or a list of strings)"
            )


def _numbered(error: DocqaError, index: int, total: int) -> DocqaError:
    """``error`` with the position of the question it is about, when there are several."""
    if total > 1:
        error.args = (f"question {index + 1} of {total}: {error}",)
    return error


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise QuestionAnsweringInputError(f"{name} must be a whole number >= 1, not {value!r}")
    return int(value)


def _threshold(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        raise QuestionAnsweringInputError(f"no_answer_threshold must be a number, not {value!r}")
    return float(value)


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise QuestionAnsweringInputError(f"{name} must be True or False, not {value!r}")
    return value


def _results(
    answers: list[ExtractedAnswer], context: str, top_k: int, handle_impossible: bool, words: "_WordSpans | None"
) -> list[dict[str, Any]]:
    """
    Up to ``top_k`` answer dicts from the reader's answers (best first, the no-answer entry among them): spans made
    whole characters (and words), trimmed of white space, blank and repeated ones dropped; the no-answer entry only
    where ``handle_impossible`` or the context has no span.
    """
    results: list[dict[str, Any]] = []
    seen: set[tuple[int, int]] = set()
    for answer in answers:
        if answer.data is None:
            if handle_impossible:
                results.append(_no_answer(answer))
        else:
            start, end = answer.document_offset.start, answer.document_offset.end
            if words is not None:
                start, end = words.widen(context, *_whole_characters(context, start, end))
            start, end = trimmed(context, *_whole_characters(context, start, end))
            if start < end and (start, end) not in seen:
                seen.add((start, end))
                results.append(
                    {
                        "answer": context[start:end],
                        "score": float(answer.score),
                        "start": start,
                        "end": end,
                        "no_answer": False,
                    }
                )
        if len(results) == top_k:
            break
    if not results:
        results.append(_no_answer(next(answer for answer in answers if answer.data is None)))
    return results


def _no_answer(answer: ExtractedAnswer) -> dict[str, Any]:
    return {"answer": "", "score": float(answer.score), "start": None, "end": None, "no_answer": True}


def _joins_previous(character: str) -> bool:
    """True for a character drawn with the one before it: combining mark, joiner, variation selector, skin tone, tag."""
    return (
        unicodedata.category(character).startswith("M")
        or character == _ZERO_WIDTH_JOINER
        or "\U0001f3fb" <= character <= "\U0001f3ff"
        or "\U000e0020" <= character <= "\U000e007f"
    )


def _whole_characters(context: str, start: int, end: int) -> tuple[int, int]:
    """``start:end`` widened so that it neither cuts a letter from its accents nor an emoji sequence apart."""
    while 0 < start < len(context) and (_joins_previous(context[start]) or context[start - 1] == _ZERO_WIDTH_JOINER):
        start -= 1
    while 0 < end < len(context) and (_joins_previous(context[end]) or context[end - 1] == _ZERO_WIDTH_JOINER):
        end += 1
    return start, end


class _WordSpans:
    """Widens spans to the tokenizer's words, as the pipeline's ``align_to_words`` did; each context tokenised once."""

    def __init__(self, reader: ExtractiveReader) -> None:
        # the reader's tokenizer without truncation or special tokens, which it keeps once loaded
        self._tokenizer = reader._question_tokenizer
        self._encodings: dict[str, Any] = {}

    def widen(self, context: str, start: int, end: int) -> tuple[int, int]:
        encoding = self._encodings.get(context)
        if encoding is None:
            encoding = self._encodings[context] = self._tokenizer.encode(context, add_special_tokens=False)
        first, last = encoding.char_to_word(start), encoding.char_to_word(end - 1)
        if first is not None:
            start = min(start, encoding.word_to_chars(first)[0])
        if last is not None:
            end = max(end, encoding.word_to_chars(last)[1])
        return start, end
