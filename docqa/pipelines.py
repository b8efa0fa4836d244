"""Loading the Haystack YAML pipelines in ``pipelines/``."""

from pathlib import Path
from typing import Any

from haystack import Pipeline
from haystack.core.errors import DeserializationError, PipelineError

from docqa.errors import DocqaError, PipelineFileError
from docqa.paths import INDEXING_PIPELINE, PIPELINES_DIR, QUERY_PIPELINE  # noqa: F401 (imported from here too)

ALLOWED_MODULES = ["docqa", "indexing", "haystack_integrations"]


def pipeline_file(path: str | Path) -> Path:
    """
    ``path``, or, when no such file is found from the current folder, docqa's own pipeline it names: the README's
    ``pipelines/query_bm25.yml`` from any folder, or just ``query_bm25.yml`` or ``query_bm25``.
    """
    path = Path(path).expanduser()
    if path.is_file() or path.is_absolute():
        return path
    for candidate in (PIPELINES_DIR.parent / path, PIPELINES_DIR / path, PIPELINES_DIR / f"{path}.yml"):
        if candidate.is_file():
            return candidate
    return path


def load_pipeline(path: str | Path) -> Pipeline:
    """
    Load a pipeline from Haystack YAML, trusting docqa's own modules and Haystack's integrations.

    :param path: the YAML file; see :func:`pipeline_file` for paths that are not found from here.
    :raises PipelineFileError: when the file is missing or is not a valid pipeline.
    """
    path = pipeline_file(path)
    if not path.is_file():
        raise PipelineFileError(str(path), "no such file")
    try:
        with path.open(encoding="utf-8") as handle:
            return Pipeline.load(handle, allowed_modules=ALLOWED_MODULES)
    except (DeserializationError, PipelineError, ValueError, TypeError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise PipelineFileError(str(path), f"not a valid pipeline ({reason})") from error


def load_query_pipeline(path: str | Path) -> Pipeline:
    """
    :func:`load_pipeline` for a query pipeline: one with a ``retriever`` and a ``reader`` whose ``documents`` come
    from another component (as in ``pipelines/query.yml``).

    :raises PipelineFileError: when the file is missing, not a valid pipeline, or not a query pipeline.
    """
    pipeline = load_pipeline(path)
    names = {name for name, _ in pipeline.walk()}
    missing = [name for name in ("retriever", "reader") if name not in names]
    if missing:
        wanted = " and ".join(repr(name) for name in missing)
        raise PipelineFileError(
            str(path), f"not a query pipeline: it has no component named {wanted} (see {QUERY_PIPELINE})"
        )
    try:
        reader_documents_source(pipeline)
    except PipelineFileError as error:
        raise PipelineFileError(str(path), "not a query pipeline: no component feeds reader.documents") from error
    return pipeline


def question_inputs(
    pipeline: Pipeline,
    question: str,
    exclude: tuple[str, ...] = ("reader",),
    filters: dict[str, Any] | None = None,
) -> dict[str, dict]:
    """
    Pipeline inputs that feed the question to every open ``text`` (embedders) or ``query`` (keyword retrievers)
    input, and ``filters`` (when given) to every open ``filters`` input (retrievers), leaving out the components
    named in ``exclude``.
    """
    inputs: dict[str, dict] = {}
    for name, sockets in pipeline.inputs().items():
        if name in exclude:
            continue
        if "text" in sockets:
            inputs[name] = {"text": question}
        elif "query" in sockets:
            inputs[name] = {"query": question}
        if filters is not None and "filters" in sockets:
            inputs.setdefault(name, {})["filters"] = filters
    return inputs


def reader_documents_source(pipeline: Pipeline) -> str:
    """The name of the component whose ``documents`` feed the ``reader``: the passages the answer is read from."""
    for sender, receiver, data in pipeline.graph.edges(data=True):
        if receiver == "reader" and data.get("to_socket").name == "documents":
            return sender
    raise PipelineFileError("query pipeline", "no component feeds reader.documents")


def describe_models(pipeline: Pipeline) -> list[str]:
    """
    One line per model of ``pipeline``: its name, and the device and precision it runs with (nothing is loaded).

    ``embedding model: NAME (cpu, int8)`` for the question embedder, ``reader model: NAME (cuda, bf16)`` for the
    reader; a setting that cannot run there is named in place of the device and precision.
    """
    from docqa import embedding_backend
    from docqa.components.query_embedder import QueryEmbedder
    from docqa.components.reader import ExtractiveReader

    lines = []
    for _, component in pipeline.walk():
        try:
            if isinstance(component, QueryEmbedder):
                model, device, precision = embedding_backend.resolved(
                    component.model, component.device, component.precision
                )
                lines.append(f"embedding model: {model} ({device}, {precision})")
            elif isinstance(component, ExtractiveReader):
                device, precision = component.resolved_device(), component.resolved_precision()
                lines.append(f"reader model: {component.model_name} ({device}, {precision})")
        except (DocqaError, ValueError) as error:
            lines.append(f"{'reader' if isinstance(component, ExtractiveReader) else 'embedding'} model: {error}")
    return lines
