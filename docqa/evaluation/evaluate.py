"""
Evaluating the reader (each question against its own paragraph) and the whole query pipeline on SQuAD v2.0 data.

The predictions are the reader's best span for every question (never thresholded) and the na-probability is the
reader's no-answer gap, ``null score - best span score`` in logits; the reader answers "no answer" exactly when
the gap is above its ``no_answer_threshold``, the official script's rule, so the metrics at that threshold are the
reader's and ``best_f1_thresh`` is the threshold to calibrate to.
"""

import json
import math
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from haystack import Document, ExtractedAnswer, Pipeline, component

from docqa.errors import PipelineFileError, UsageError
from docqa.evaluation.squad_data import SquadDataset, SquadQuestion, check_output_file
from docqa.evaluation.squad_metrics import apply_no_answer_threshold, raw_scores, squad_v2_metrics
from docqa.model_sources import embedding_model

RECALL_AT = (1, 5, 10, 20)
# The na-probability written for a question where the reader found no span at all (JSON has no infinity).
NO_SPAN_NA_PROB = 1e9
PARAGRAPH_KEY = "squad_paragraph_id"
READER_TYPE = "docqa.components.reader.ExtractiveReader"


@dataclass
class QuestionResult:
    """What happened to one question."""

    id: str
    question: str
    gold: list[str]
    prediction: str
    na_prob: float
    answer: str = ""
    exact: float = 0.0
    f1: float = 0.0
    paragraph_id: str = ""
    retrieved: list[str] = field(default_factory=list)
    rank: int | None = None


@dataclass
class Evaluation:
    """Metrics and per-question results of one evaluation run."""

    mode: str
    data: str
    threshold: float
    results: list[QuestionResult]
    metrics: dict[str, Any] = field(default_factory=dict)
    retrieval: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def predictions(self) -> dict[str, str]:
        """Question id -> best span (``""`` when the reader found none), the official predictions file."""
        return {result.id: result.prediction for result in self.results}

    @property
    def na_probs(self) -> dict[str, float]:
        """Question id -> na-probability, the official na-prob file."""
        return {result.id: result.na_prob for result in self.results}


def prediction_from_answers(answers: Sequence[ExtractedAnswer]) -> tuple[str, float]:
    """
    The best span's text and the no-answer gap from a reader's answers for one question.

    :returns: ``(text, na_prob)``; ``("", NO_SPAN_NA_PROB)`` when the reader found no span.
    """
    spans = [answer for answer in answers if answer.data is not None]
    gaps = [answer.meta.get("no_answer_gap") for answer in answers if answer.data is None]
    gap = gaps[0] if gaps and gaps[0] is not None else math.inf
    if not spans or not math.isfinite(gap):
        return "", NO_SPAN_NA_PROB
    best = max(spans, key=lambda answer: answer.score)
    return best.data, float(gap)


def score_results(results: list[QuestionResult], threshold: float) -> dict:
    """Fill each result's thresholded answer, exact and F1, and return the official metrics at ``threshold``."""
    gold = {result.id: result.gold for result in results}
    predictions = {result.id: result.prediction for result in results}
    na_probs = {result.id: result.na_prob for result in results}
    has_answer = {qid: bool(answers) for qid, answers in gold.items()}
    exact_raw, f1_raw = raw_scores(gold, predictions)
    exact = apply_no_answer_threshold(exact_raw, na_probs, has_answer, threshold)
    f1 = apply_no_answer_threshold(f1_raw, na_probs, has_answer, threshold)
    for result in results:
        result.answer = "" if result.na_prob > threshold else result.prediction
        result.exact, result.f1 = float(exact[result.id]), float(f1[result.id])
    return squad_v2_metrics(gold, predictions, na_probs, threshold)


def retrieval_metrics(ranks: Sequence[int | None], recall_at: Sequence[int] = RECALL_AT) -> dict[str, Any]:
    """
    Recall@k and MRR of the rank (1-based, None when not retrieved) of each question's own paragraph.

    :returns: ``{"questions": n, "recall@1": ..., ..., "mrr": ...}`` as fractions in [0, 1].
    """
    if not ranks:
        return {"questions": 0}
    metrics: dict[str, Any] = {"questions": len(ranks)}
    for k in recall_at:
        metrics[f"recall@{k}"] = sum(1 for rank in ranks if rank is not None and rank <= k) / len(ranks)
    metrics["mrr"] = sum(1 / rank for rank in ranks if rank is not None) / len(ranks)
    return metrics


def find_reader(pipeline: Pipeline, path: str | Path) -> tuple[str, Any]:
    """
    The name and instance of the pipeline's ``ExtractiveReader``.

    :raises PipelineFileError: when the pipeline has none.
    """
    from docqa.components.reader import ExtractiveReader

    for name, instance in pipeline.walk():
        if isinstance(instance, ExtractiveReader):
            return name, instance
    raise PipelineFileError(str(path), f"has no {READER_TYPE} component to evaluate")


def reader_component_name(config: Any, path: str | Path) -> str:
    """
    The name of the ``ExtractiveReader`` in a parsed pipeline YAML.

    :raises PipelineFileError: when there is none.
    """
    components = config.get("components") if isinstance(config, dict) else None
    if not isinstance(components, dict):
        raise PipelineFileError(
            str(path), "has no 'components' mapping; give a Haystack pipeline YAML such as pipelines/query.yml"
        )
    for name, spec in components.items():
        if isinstance(spec, dict) and spec.get("type") == READER_TYPE:
            return name
    raise PipelineFileError(str(path), f"has no {READER_TYPE} component to evaluate")


def checked_query_pipeline(path: str | Path) -> Any:
    """
    The reader of the query pipeline YAML at ``path``, once the whole pipeline loads as ``ask`` and ``batch`` load it
    (nothing is warmed up), so that evaluating or calibrating a pipeline they cannot use is refused before any work.

    :raises PipelineFileError: naming the first problem.
    """
    from docqa.pipelines import load_query_pipeline

    reader = reader_from_yaml(path)
    load_query_pipeline(path)
    return reader


def check_reader_threshold(reader: Any, path: str | Path) -> None:
    """
    Check that the reader's ``no_answer_threshold`` is a finite number.

    :raises PipelineFileError: when it is not.
    """
    value = reader.no_answer_threshold
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PipelineFileError(str(path), f"the reader's no_answer_threshold is {value!r}; set it to a finite number")


def read_pipeline_yaml(path: str | Path) -> Any:
    """
    Parse a pipeline YAML file without building its components.

    :raises PipelineFileError: when the file is missing or not YAML.
    """
    import yaml

    path = Path(path)
    if path.is_dir():
        raise PipelineFileError(str(path), "a folder, not a pipeline YAML file")
    if not path.is_file():
        raise PipelineFileError(str(path), "no such file")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise PipelineFileError(str(path), f"not valid YAML ({str(error).splitlines()[0]})") from error


def reader_from_yaml(path: str | Path) -> Any:
    """
    Build only the reader of a pipeline YAML (its other components may need models or servers).

    :raises PipelineFileError: when the file has no valid reader.
    """
    from docqa.components.reader import ExtractiveReader

    config = read_pipeline_yaml(path)
    name = reader_component_name(config, path)
    parameters = config["components"][name].get("init_parameters") or {}
    if not isinstance(parameters, dict):
        raise PipelineFileError(str(path), f"the reader's init_parameters is {parameters!r}, not a mapping")
    try:
        reader = ExtractiveReader.from_dict({"type": READER_TYPE, "init_parameters": parameters})
    except (TypeError, ValueError) as error:
        raise PipelineFileError(str(path), f"invalid reader parameters ({error})") from error
    check_reader_threshold(reader, path)
    return reader


def _progress(iterable: Any, total: int, description: str, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=description, unit="q", disable=not enabled, dynamic_ncols=True)


def evaluate_reader(
    dataset: SquadDataset, reader: Any, threshold: float | None = None, progress: bool = True
) -> Evaluation:
    """
    Read every question against its own paragraph, as the model card's figures are made.

    :param reader: an ``ExtractiveReader`` (warmed up here).
    :param threshold: na-prob threshold of the metrics; the reader's ``no_answer_threshold`` when None.
    """
    threshold = reader.no_answer_threshold if threshold is None else threshold
    questions = dataset.questions
    documents = [[_paragraph_document(question)] for question in questions]
    answers = reader.iter_read_batch([question.question for question in questions], documents, top_k=1)
    results = []
    for question, answer_list in _progress(zip(questions, answers, strict=True), len(questions), "reading", progress):
        text, na_prob = prediction_from_answers(answer_list)
        results.append(_result(question, text, na_prob))
    evaluation = Evaluation("reader", dataset.path, threshold, results, settings={"reader": _reader_settings(reader)})
    evaluation.metrics = score_results(results, threshold)
    return evaluation


def _result(question: SquadQuestion, prediction: str, na_prob: float) -> QuestionResult:
    return QuestionResult(
        id=question.id,
        question=question.question,
        gold=question.answers,
        prediction=prediction,
        na_prob=na_prob,
        paragraph_id=question.paragraph_id,
    )


def _paragraph_document(question: SquadQuestion) -> Document:
    return Document(content=question.context, meta={PARAGRAPH_KEY: question.paragraph_id})


def _reader_settings(reader: Any) -> dict[str, Any]:
    return {
        "model": reader.model_name,
        "no_answer_threshold": reader.no_answer_threshold,
        "max_seq_len": reader.max_seq_len,
        "doc_stride": reader.doc_stride,
        "max_answer_length": reader.max_answer_length,
    }


def paragraph_documents(dataset: SquadDataset) -> list[Document]:
    """One passage per paragraph, with the metadata indexing writes and the paragraph id for scoring."""
    documents = []
    for paragraph_id, context in dataset.paragraphs.items():
        file_path = f"squad/{paragraph_id}.txt"
        documents.append(
            Document(
                content=context,
                meta={
                    "file_path": file_path,
                    "file_name": f"{paragraph_id}.txt",
                    "char_start": 0,
                    "char_end": len(context),
                    "split_id": 0,
                    "passage_count": 1,
                    PARAGRAPH_KEY: paragraph_id,
                },
            )
        )
    return documents


@contextmanager
def fresh_embedded_store(path: str | Path | None = None) -> Iterator[Path]:
    """
    Point docqa's settings at a new embedded store for the duration of the block.

    :param path: where the store lives; a temporary directory (removed afterwards) when None.
    """
    names = ("DOCQA_STORE", "DOCQA_STORE_PATH")
    saved = {name: os.environ.get(name) for name in names}
    with tempfile.TemporaryDirectory(prefix="docqa-eval-") as temporary:
        store_path = Path(path) if path is not None else Path(temporary) / "store"
        os.environ["DOCQA_STORE"] = "memory"
        os.environ["DOCQA_STORE_PATH"] = str(store_path)
        try:
            yield store_path
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def _embed(embedder: Any, documents: list[Document], description: str, progress: bool) -> list[Document]:
    """The documents with embeddings, in batches so the progress bar moves."""
    batch = 256
    steps = _progress(range(0, len(documents), batch), -(-len(documents) // batch), description, progress)
    return [doc for start in steps for doc in embedder.run(documents=documents[start : start + batch])["documents"]]


def index_paragraphs(documents: list[Document], embed: bool = True, progress: bool = True, like: Any = None) -> int:
    """
    Write the passages to the store the settings name, embedded first when ``embed``.

    :param like: the pipeline's query embedder: passages are embedded with its model, device and precision (a model
        pinned in the YAML, not only ``DOCQA_EMBEDDING_MODEL``); None: the settings'.
    :returns: how many passages were written.
    """
    from docqa.stores import document_store_from_settings

    if embed:
        from docqa.components.passage_embedder import PassageEmbedder

        embedder = (
            PassageEmbedder(model=like.model, device=like.device, precision=like.precision)
            if like is not None
            else PassageEmbedder()
        )
        documents = _embed(embedder, documents, "embedding passages", progress)
    return document_store_from_settings().write_documents(documents)


def query_embedder(pipeline: Pipeline) -> Any:
    """The pipeline's docqa ``QueryEmbedder`` (the first one), or None."""
    from docqa.components.query_embedder import QueryEmbedder

    return next((instance for _, instance in pipeline.walk() if isinstance(instance, QueryEmbedder)), None)


def needs_embeddings(pipeline: Pipeline) -> bool:
    """True when a component of the pipeline takes a ``query_embedding`` (dense retrieval)."""
    sockets = pipeline.inputs(include_components_with_connected_inputs=True).values()
    return any("query_embedding" in names for names in sockets)


@component
class _PrecomputedEmbeddings:
    """Stands in for a query embedder during evaluation, answering from question embeddings computed in batches."""

    def __init__(self, embeddings: dict[str, list[float]]) -> None:
        self.embeddings = embeddings

    @component.output_types(embedding=list[float])
    def run(self, text: str) -> dict[str, list[float]]:
        return {"embedding": self.embeddings[text]}


def precompute_query_embeddings(pipeline: Pipeline, questions: list[str], progress: bool = True) -> int:
    """
    Replace each ``QueryEmbedder`` of the pipeline by the same model's embeddings of ``questions``, computed in
    batches (the same vectors, many times faster than one question per call).

    :returns: how many embedders were replaced.
    """
    from docqa.components.passage_embedder import PassageEmbedder
    from docqa.components.query_embedder import QueryEmbedder

    replaced = 0
    for name, instance in list(pipeline.walk()):
        if not isinstance(instance, QueryEmbedder):
            continue
        embedder = PassageEmbedder(model=instance.model, device=instance.device, precision=instance.precision)
        unique = [Document(content=text) for text in dict.fromkeys(questions)]
        vectors = {doc.content: doc.embedding for doc in _embed(embedder, unique, "embedding questions", progress)}
        edges = [
            (receiver, data["from_socket"].name, data["to_socket"].name)
            for _, receiver, data in pipeline.graph.out_edges(name, data=True)
        ]
        pipeline.remove_component(name)
        pipeline.add_component(name, _PrecomputedEmbeddings(vectors))
        for receiver, sender_socket, receiver_socket in edges:
            pipeline.connect(f"{name}.{sender_socket}", f"{receiver}.{receiver_socket}")
        replaced += 1
    return replaced


def split_pipeline(pipeline: Pipeline, path: str | Path) -> tuple[Any, str, int | None]:
    """
    Take the reader out of a query pipeline, leaving the retrieval part.

    :returns: ``(reader, name of the component whose documents feed the reader, that component's top_k)``.
    :raises PipelineFileError: when no component feeds the reader's documents.
    """
    reader_name, reader = find_reader(pipeline, path)
    senders = [
        sender
        for sender, _, data in pipeline.graph.in_edges(reader_name, data=True)
        if data["to_socket"].name == "documents"
    ]
    if not senders:
        raise PipelineFileError(str(path), f"nothing feeds {reader_name}.documents; connect a retriever to it")
    check_reader_threshold(reader, path)
    pipeline.remove_component(reader_name)
    return reader, senders[0], getattr(pipeline.get_component(senders[0]), "top_k", None)


def retrieval_inputs(pipeline: Pipeline, question: str, top_k: int | None = None) -> dict[str, dict[str, Any]]:
    """Run inputs for the retrieval part: the question to every open ``text``/``query`` input, ``top_k`` (when
    given) to every component that takes one."""
    from docqa.pipelines import question_inputs

    data = question_inputs(pipeline, question, exclude=())
    if top_k is None:
        return data
    for name, sockets in pipeline.inputs().items():
        if "top_k" in sockets:
            data.setdefault(name, {})["top_k"] = top_k
    return data


def _top_k_overrides_change_nothing(pipeline: Pipeline, top_k: int) -> bool:
    """Whether giving ``top_k`` to every component that takes one is the pipeline as configured (one retriever
    whose ``top_k`` is ``top_k`` or more: the reader reads the first ones of the same ranking)."""
    takers = [name for name, sockets in pipeline.inputs().items() if "top_k" in sockets]
    if len(takers) != 1:
        return False
    configured = getattr(pipeline.get_component(takers[0]), "top_k", None)
    return isinstance(configured, int) and top_k >= configured


def evaluate_pipeline(
    dataset: SquadDataset,
    pipeline_path: str | Path,
    top_k: int = max(RECALL_AT),
    read: bool = True,
    threshold: float | None = None,
    progress: bool = True,
    store_path: str | Path | None = None,
) -> Evaluation:
    """
    Index the paragraphs into a fresh embedded store, retrieve for every question through the pipeline, then read.

    Recall comes from retrieval with ``top_k`` given to every component that takes one (recall@k for k up to
    ``top_k``); the reader reads the passages the pipeline itself returns, with its own ``top_k`` values (a second
    retrieval run when they differ: a hybrid pipeline fuses 10 + 10, not 20 + 20), so the end-to-end figures are the
    pipeline's own.

    :param read: False skips the reader (retrieval figures only).
    :param threshold: na-prob threshold of the metrics; the reader's ``no_answer_threshold`` when None.
    """
    from docqa.pipelines import load_pipeline

    questions = dataset.questions
    with fresh_embedded_store(store_path):
        pipeline = load_pipeline(pipeline_path)
        reader, retrieval, configured_top_k = split_pipeline(pipeline, pipeline_path)
        embedder = query_embedder(pipeline)
        indexed = index_paragraphs(paragraph_documents(dataset), needs_embeddings(pipeline), progress, embedder)
        precompute_query_embeddings(pipeline, [question.question for question in questions], progress)
        pipeline.warm_up()
        retrieved: list[list[Document]] = []
        to_read: list[list[Document]] = []
        own_run = read and not _top_k_overrides_change_nothing(pipeline, top_k)
        for question in _progress(questions, len(questions), "retrieving", progress):
            output = pipeline.run(
                retrieval_inputs(pipeline, question.question, top_k), include_outputs_from={retrieval}
            )
            retrieved.append(output[retrieval]["documents"])
            if own_run:
                own = pipeline.run(retrieval_inputs(pipeline, question.question), include_outputs_from={retrieval})
                to_read.append(own[retrieval]["documents"])
            else:
                to_read.append(retrieved[-1][: configured_top_k or top_k])
    threshold = reader.no_answer_threshold if threshold is None else threshold
    read_k = configured_top_k or top_k
    if read:
        answers = reader.iter_read_batch([question.question for question in questions], to_read, top_k=1)
        read_iter = _progress(answers, len(questions), "reading", progress)
    else:
        read_iter = ([] for _ in questions)
    results = []
    for question, docs, answer_list in zip(questions, retrieved, read_iter, strict=True):
        text, na_prob = prediction_from_answers(answer_list) if read else ("", NO_SPAN_NA_PROB)
        result = _result(question, text, na_prob)
        result.retrieved = [str(doc.meta.get(PARAGRAPH_KEY, "")) for doc in docs]
        result.rank = next((rank for rank, pid in enumerate(result.retrieved, 1) if pid == question.paragraph_id), None)
        results.append(result)
    evaluation = Evaluation(
        "pipeline",
        dataset.path,
        threshold,
        results,
        settings={
            "pipeline": str(pipeline_path),
            "passages_indexed": indexed,
            "embedding_model": embedding_model(embedder.model) if embedder is not None else None,
            "retrieved_per_question": top_k,
            "read_per_question": read_k if read else 0,
            "reader": _reader_settings(reader) if read else None,
        },
    )
    evaluation.retrieval = retrieval_metrics(
        [result.rank for result in results if result.gold], [k for k in RECALL_AT if k <= top_k]
    )
    if read:
        evaluation.metrics = score_results(results, threshold)
    return evaluation


def output_paths(out: str | Path) -> dict[str, Path]:
    """The files :func:`write_outputs` writes for the report ``out``, by kind."""
    out = Path(out)
    stem = out.with_suffix("")
    return {
        "report": out,
        "predictions": Path(f"{stem}.predictions.json"),
        "na_probs": Path(f"{stem}.na_probs.json"),
        "questions": Path(f"{stem}.questions.jsonl"),
    }


def check_outputs(out: str | Path, inputs: Sequence[str | Path]) -> None:
    """
    Check before evaluating that every file :func:`write_outputs` writes for ``out`` can be written.

    :raises UsageError: when one is a directory, one of ``inputs``, or not writable.
    """
    check_output_file(out, inputs)
    for path in output_paths(out).values():
        check_output_file(path, inputs)


def write_outputs(evaluation: Evaluation, out: str | Path) -> dict[str, Path]:
    """
    Write the report (``out``), the official predictions and na-prob files and the per-question JSONL beside it.

    :returns: what was written, by kind.
    :raises UsageError: when a file cannot be written.
    """
    paths = output_paths(out)
    if not evaluation.metrics:  # retrieval only: no answers to write
        paths = {kind: path for kind, path in paths.items() if kind not in ("predictions", "na_probs")}
    try:
        _write_outputs(evaluation, paths)
    except OSError as error:
        where = error.filename or out
        raise UsageError(f"--out {out}: cannot write {where} ({error.strerror or error})") from error
    return paths


def _write_outputs(evaluation: Evaluation, paths: dict[str, Path]) -> None:
    paths["report"].parent.mkdir(parents=True, exist_ok=True)
    report = {
        "mode": evaluation.mode,
        "data": evaluation.data,
        "questions": len(evaluation.results),
        "na_prob_thresh": evaluation.threshold,
        "settings": evaluation.settings,
        "metrics": evaluation.metrics,
        "retrieval": evaluation.retrieval,
        "files": {kind: str(path) for kind, path in paths.items() if kind != "report"},
    }
    paths["report"].write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if "predictions" in paths:
        paths["predictions"].write_text(
            json.dumps(evaluation.predictions, ensure_ascii=False, indent=1) + "\n", "utf-8"
        )
        paths["na_probs"].write_text(json.dumps(evaluation.na_probs, indent=1) + "\n", encoding="utf-8")
    with paths["questions"].open("w", encoding="utf-8") as handle:
        for result in evaluation.results:
            handle.write(json.dumps(result.__dict__, ensure_ascii=False) + "\n")


def format_summary(evaluation: Evaluation) -> str:
    """A small table of the figures for the terminal."""
    lines = [f"{evaluation.mode} evaluation of {evaluation.data}: {len(evaluation.results)} questions"]
    if evaluation.retrieval.get("questions"):
        lines.append(f"retrieval ({evaluation.retrieval['questions']} answerable questions)")
        lines.extend(
            f"  {key:<18}{value * 100:8.2f}" for key, value in evaluation.retrieval.items() if key != "questions"
        )
    if evaluation.metrics:
        lines.append(f"answers (SQuAD v2.0 metrics, no-answer threshold {evaluation.threshold:g})")
        for key, value in evaluation.metrics.items():
            if key.endswith("_thresh"):
                lines.append(f"  {key:<18}{value:8.4f}")
            elif key.endswith("total"):
                lines.append(f"  {key:<18}{value:8d}")
            else:
                lines.append(f"  {key:<18}{value:8.2f}")
    return "\n".join(lines)
