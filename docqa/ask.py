"""Asking one question of the indexed documents: the function behind ``docqa ask`` and the page."""

import bisect
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from haystack import Document, ExtractedAnswer, Pipeline

from docqa.errors import EmptyIndexError, EmptyQuestionError, QuestionTooLongError
from docqa.pipelines import (
    QUERY_PIPELINE,
    load_query_pipeline,
    question_inputs,
    reader_documents_source,
    warm_up_components,
)
from docqa.settings import Settings, get_settings
from docqa.stores import check_embedding_model, describe_store, files_filter, files_within, store_errors

#: Answers per question when neither the caller nor the pipeline's reader says.
DEFAULT_TOP_K = 3


def one_line(text: str) -> str:
    """``text`` with every run of whitespace, line breaks included, as one space: how answers are displayed."""
    return " ".join(text.split())


@dataclass
class Answer:
    """One answer span, located in its passage and its source file."""

    text: str
    score: float
    source: str | None
    page: int | None
    start: int
    end: int
    context: str
    page_label: str | None = None
    section: str | None = None


@dataclass
class RetrievedPassage:
    """A passage the retriever returned."""

    source: str | None
    score: float | None
    page: int | None = None
    page_label: str | None = None
    section: str | None = None


@dataclass
class AskResult:
    """The outcome of one question: answers best first, or a no-answer with the spans that lost to it."""

    query: str
    no_answer: bool
    no_answer_score: float | None
    answers: list[Answer] = field(default_factory=list)
    documents: list[RetrievedPassage] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object ``docqa ask --json`` prints."""
        return asdict(self)


def page_citation(page: int | None, label: str | None = None) -> str:
    """``", page 4"``, or ``", page ii (PDF page 4)"`` where the page prints its own number; empty without a page."""
    if page is None:
        return ""
    return f", page {label} (PDF page {page})" if label else f", page {page}"


def section_citation(section: str | None) -> str:
    """``', section “Leave › Parental leave”'``; empty without a section."""
    return f", section “{section}”" if section else ""


def section_at(meta: dict[str, Any], offset: int) -> str | None:
    """The section of the passage with ``meta`` that the text at ``offset`` in it is under (see
    :func:`indexing.sections.passage_sections`); None where the file has no headings above it."""
    offsets, sections = meta.get("section_offsets"), meta.get("sections")
    if isinstance(offsets, list) and isinstance(sections, list) and len(offsets) == len(sections):
        at = bisect.bisect_right(offsets, offset)
        return (sections[at - 1] or None) if at else None
    return meta.get("section") or None


def _source(document: Document | None) -> str | None:
    if document is None:
        return None
    return document.meta.get("file_path") or document.meta.get("file_name")


def result_from_answers(
    query: str, answers: list[ExtractedAnswer], documents: list[Document], top_k: int | None = None
) -> AskResult:
    """
    Turn the reader's answers into an ``AskResult``.

    :param query: the question.
    :param answers: the reader's output; the entry with ``data=None`` is the no-answer.
    :param documents: the retrieved passages.
    :param top_k: keep at most this many spans.
    """
    no_answer_entry = next((a for a in answers if a.data is None), None)
    spans = [
        answer
        for a in answers
        if a.data is not None and a.document is not None and a.document_offset is not None
        if (answer := _answer(a)) is not None
    ]
    if top_k is not None:
        spans = spans[:top_k]
    no_answer = (bool(answers) and answers[0].data is None) or not spans
    return AskResult(
        query=query,
        no_answer=no_answer,
        no_answer_score=no_answer_entry.score if no_answer_entry is not None else None,
        answers=spans,
        documents=[
            RetrievedPassage(
                _source(d), d.score, d.meta.get("page_number"), d.meta.get("page_label"), d.meta.get("section") or None
            )
            for d in documents
        ],
    )


def trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    """``start:end`` of ``text`` without the white space at either end (empty when it holds only white space)."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _page_label(span: ExtractedAnswer) -> str | None:
    """The printed label of the answer's page: its passage's, or the next page's for an answer past a page break."""
    meta = span.document.meta  # type: ignore[union-attr]
    page = span.meta.get("page_number")
    if isinstance(page, int) and isinstance(meta.get("page_number"), int) and page > meta["page_number"]:
        return meta.get("next_page_label")
    return meta.get("page_label")


def _answer(span: ExtractedAnswer) -> Answer | None:
    """The reader's span without the white space around it (a token's offsets may take a line break along); None
    when nothing else is left."""
    context = span.document.content or ""  # type: ignore[union-attr]
    start, end = trimmed(context, span.document_offset.start, span.document_offset.end)  # type: ignore[union-attr]
    if start == end:
        return None
    return Answer(
        text=context[start:end],
        score=float(span.score),
        source=_source(span.document),
        page=span.meta.get("page_number", span.document.meta.get("page_number")),  # type: ignore[union-attr]
        start=start,
        end=end,
        context=context,
        page_label=_page_label(span),
        section=section_at(span.document.meta, start),  # type: ignore[union-attr]
    )


def require_documents(pipeline: Pipeline, settings: Settings | None = None) -> None:
    """
    Fail fast, before any model is loaded, when the store of ``pipeline``'s ``retriever`` holds no passages.

    :raises EmptyIndexError: when nothing has been indexed (every answer would be a no-answer).
    :raises docqa.errors.EmbeddingModelMismatchError: when the passages were embedded by another model than the
        pipeline's ``embedder``.
    :raises docqa.errors.StoreUnavailableError: when Elasticsearch cannot be reached.
    """
    settings = settings or get_settings()
    store = getattr(pipeline.get_component("retriever"), "document_store", None)
    if store is None:
        return
    with store_errors(settings):
        if store.count_documents() == 0:
            raise EmptyIndexError(describe_store(settings))
        embedder = pipeline.get_component("embedder") if "embedder" in pipeline.graph.nodes else None
        if embedder is not None and hasattr(embedder, "model"):
            check_embedding_model(store, embedder.model, settings)


def check_question_length(reader: Any, question: str) -> None:
    """
    Refuse a question longer than the reader reads, before any model runs; a reader that cannot count a question's
    tokens (Haystack's own, swapped in by a YAML edit) cuts long questions itself.

    :raises QuestionTooLongError: when ``question`` has more tokens than the reader's ``max_query_length``.
    """
    count = getattr(reader, "question_token_count", None)
    limit = getattr(reader, "max_query_length", None)
    if count is None or not isinstance(limit, int):
        return
    tokens = count(question)
    if tokens > limit:
        raise QuestionTooLongError(tokens, limit)


class QuestionAnswering:
    """
    The query pipeline, loaded once and kept warm, asked one question at a time.

    :param pipeline_path: the query pipeline YAML (``pipelines/query.yml`` by default).
    """

    def __init__(self, pipeline_path: str | Path = QUERY_PIPELINE, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.pipeline_path = Path(pipeline_path)
        self._pipeline: Pipeline | None = None

    @property
    def pipeline(self) -> Pipeline:
        """The loaded pipeline; its models are loaded by ``warm_up``."""
        if self._pipeline is None:
            self._pipeline = load_query_pipeline(self.pipeline_path)
        return self._pipeline

    def warm_up(self) -> None:
        """Load every model of the pipeline (once)."""
        with store_errors(self.settings):
            warm_up_components(list(self.pipeline.walk()))
            self.pipeline.warm_up()

    def _check_index(self) -> None:
        require_documents(self.pipeline, self.settings)

    @property
    def default_top_k(self) -> int:
        """The answers a question gets when no ``top_k`` is asked for: the reader's ``top_k`` in the pipeline YAML."""
        top_k = getattr(self.pipeline.get_component("reader"), "top_k", None)
        return top_k if isinstance(top_k, int) and top_k >= 1 else DEFAULT_TOP_K

    def ask(self, question: str, top_k: int | None = None, within: list[str] | None = None) -> AskResult:
        """
        Answer one question from the indexed documents.

        :param question: the question in plain words.
        :param top_k: how many answer spans to return; None: :attr:`default_top_k`.
        :param within: search only the indexed files at or under these files or folders; None or empty: all.
        :raises EmptyQuestionError, QuestionTooLongError, EmptyIndexError: on bad input or an empty index.
        :raises docqa.errors.NothingIndexedError: when nothing indexed is within ``within``.
        """
        question = question.strip()
        if not question:
            raise EmptyQuestionError()
        top_k = self.default_top_k if top_k is None else top_k
        with store_errors(self.settings):
            self._check_index()
            filters = files_filter(files_within(within, self.settings)) if within else None
            check_question_length(self.pipeline.get_component("reader"), question)
        self.warm_up()
        with store_errors(self.settings):
            inputs = question_inputs(self.pipeline, question, filters=filters)
            inputs["reader"] = {"query": question, "top_k": top_k}
            source = reader_documents_source(self.pipeline)
            output = self.pipeline.run(inputs, include_outputs_from={source})
        documents = output.get(source, {}).get("documents", [])
        return result_from_answers(question, output["reader"]["answers"], documents, top_k=top_k)


def ask(question: str, top_k: int | None = None, pipeline_path: str | Path = QUERY_PIPELINE) -> AskResult:
    """Answer one question with a freshly loaded query pipeline (see ``QuestionAnswering`` to keep it warm)."""
    return QuestionAnswering(pipeline_path).ask(question, top_k=top_k)
