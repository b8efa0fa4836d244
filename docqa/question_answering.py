"""The model card's ``pipeline("question-answering")`` one-liner (removed in transformers 5) on docqa's reader.

    >>> qa = QuestionAnswerer("deepset/tinyroberta-squad2")
    >>> qa(question="Why is model conversion important?", context="The option to convert models ... gives freedom.")
    {'answer': 'gives freedom', 'score': 0.93, 'start': 59, 'end': 72, 'no_answer': False}

A list of questions and a list of contexts (same length) in one call return a list of such dicts. When no-answer
wins (SQuAD 2.0 rule, see :class:`docqa.components.reader.ExtractiveReader`) the answer is ``""``, ``start`` and
``end`` are ``None``, ``no_answer`` is True and ``score`` is the no-answer score.
"""

from typing import Any

from haystack import Document

from docqa.components.reader import ExtractiveReader


class QuestionAnswerer:
    """Answer questions about given contexts with an :class:`ExtractiveReader` (keyword arguments go to it)."""

    def __init__(self, model: str | None = None, **reader_kwargs: Any) -> None:
        self.reader = ExtractiveReader(model=model, **reader_kwargs)

    def __call__(
        self, question: str | list[str], context: str | list[str], **read_kwargs: Any
    ) -> dict[str, Any] | list[dict[str, Any]]:
        """
        Answer one question (strings) or many (lists of equal length).

        :param read_kwargs: ``no_answer_threshold`` or ``max_answer_length`` for this call.
        :returns: ``{"answer", "score", "start", "end", "no_answer"}`` or a list of them.
        """
        single = isinstance(question, str)
        questions = [question] if single else list(question)
        contexts = [context] if isinstance(context, str) else list(context)
        if len(questions) != len(contexts):
            raise ValueError(f"{len(questions)} questions but {len(contexts)} contexts; give one context each")
        results = [
            _as_dict(answers)
            for answers in self.reader.read_batch(
                questions, [[Document(content=text)] for text in contexts], top_k=1, **read_kwargs
            )
        ]
        return results[0] if single else results


def _as_dict(answers: list) -> dict[str, Any]:
    best = answers[0]
    if best.data is None:
        return {"answer": "", "score": best.score, "start": None, "end": None, "no_answer": True}
    return {
        "answer": best.data,
        "score": best.score,
        "start": best.document_offset.start,
        "end": best.document_offset.end,
        "no_answer": False,
    }
