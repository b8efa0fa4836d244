"""Loading the Haystack YAML pipelines in ``pipelines/``."""

from pathlib import Path
from typing import Any

import yaml
from haystack import Pipeline
from haystack.core.errors import DeserializationError, PipelineError
from haystack.marshal import YamlMarshaller

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
    :raises PipelineFileError: when the file is missing or is not a valid pipeline, with the reason in one line.
    """
    path = pipeline_file(path)
    if path.is_dir():
        raise PipelineFileError(str(path), "a folder, not a pipeline YAML file")
    if not path.is_file():
        raise PipelineFileError(str(path), "no such file")
    try:
        data = YamlMarshaller().unmarshal(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise PipelineFileError(str(path), f"cannot be read ({error})") from error
    except yaml.YAMLError as error:
        raise PipelineFileError(str(path), f"not valid YAML ({_yaml_reason(error)})") from error
    shape = _shape_problem(data)
    if shape:
        raise PipelineFileError(str(path), f"not a pipeline: {shape} (see {QUERY_PIPELINE})")
    try:
        return Pipeline.from_dict(data, allowed_modules=ALLOWED_MODULES)
    except (DeserializationError, PipelineError, ValueError, TypeError) as error:
        raise PipelineFileError(str(path), f"not a valid pipeline ({_reason(error)})") from error


def _shape_problem(data: Any) -> str | None:
    """What keeps ``data`` (a parsed YAML file) from being a pipeline's components and connections, if anything."""
    if not isinstance(data, dict):
        return "the file is empty" if data is None else "the file is not a mapping of components and connections"
    components = data.get("components", {})
    if not isinstance(components, dict):
        return "'components' is not a mapping of names to components"
    for name, component in components.items():
        if not isinstance(component, dict):
            return f"component {name!r} is not a mapping with a 'type' and 'init_parameters'"
    connections = data.get("connections", [])
    if not isinstance(connections, list) or not all(isinstance(item, dict) for item in connections):
        return "'connections' is not a list of sender/receiver pairs"
    return None


def _yaml_reason(error: Exception) -> str:
    """Where and why YAML parsing failed, in one line."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}" if mark is not None else problem


def _reason(error: BaseException) -> str:
    """Haystack's loading error in one line: its first line, or for a component that failed to build, the cause."""
    text = str(error).strip()
    first = text.splitlines()[0] if text else type(error).__name__
    cause = error.__cause__
    if first.endswith(" with the following data:") and cause is not None and str(cause).strip():
        return f"{first.removesuffix(' with the following data:')}: {str(cause).strip().splitlines()[0]}"
    return first.split(". If you trust")[0].removesuffix(":")


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


def warm_up_components(components: list[tuple[str, Any]]) -> None:
    """
    Warm up ``(name, component)`` pairs in order; a component from another package (Haystack's reader swapped in by
    a YAML edit, say) that fails to load is reported in one line naming it, not with its traceback.

    :raises docqa.errors.ComponentLoadError: for such a failure; docqa's own errors pass through.
    """
    from docqa.errors import ComponentLoadError
    from docqa.model_sources import first_line

    for name, component in components:
        warm_up = getattr(component, "warm_up", None)
        if warm_up is None:
            continue
        try:
            warm_up()
        except (DocqaError, KeyboardInterrupt):
            raise
        except Exception as error:
            if type(component).__module__.startswith("docqa."):
                raise
            raise ComponentLoadError(name, type(component).__name__, first_line(error).rstrip(".")) from error
