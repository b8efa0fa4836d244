"""The document store chosen by settings: the embedded on-disk store or Elasticsearch."""

import contextlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from docqa.settings import Settings, get_settings

#: Elasticsearch refuses a terms query of more values than ``index.max_terms_count`` (65,536 by default).
MAX_TERMS_PER_CONDITION = 65_536


def document_store_from_settings(settings: Settings | None = None) -> Any:
    """
    Build the document store the settings ask for; no server is contacted here. Components of one process share
    one embedded store per directory, so its passages are held in memory once.

    :param settings: settings to use; read from the environment when None.
    :returns: an ``EmbeddedDocumentStore`` or an Elasticsearch document store.
    """
    settings = settings or get_settings()
    if settings.store == "elasticsearch":
        from docqa.elasticsearch_store import elasticsearch_store_from_settings

        return elasticsearch_store_from_settings(settings)
    from docqa.embedded_store import EmbeddedDocumentStore

    return EmbeddedDocumentStore.open_shared(path=str(settings.store_path))


def describe_store(settings: Settings | None = None) -> str:
    """Name the configured store for messages, e.g. ``embedded store at /home/me/notes/.docqa/store`` (absolute: the
    default path is relative to the current folder, and a message should say which folder that was)."""
    settings = settings or get_settings()
    if settings.store == "elasticsearch":
        return f"Elasticsearch index {settings.es_index!r} at {', '.join(settings.es_host_list)}"
    return f"embedded store at {Path(settings.store_path).expanduser().absolute()}"


def count_passages(settings: Settings | None = None) -> int:
    """
    How many passages the configured store holds.

    :raises docqa.errors.StoreUnavailableError: when Elasticsearch cannot be reached.
    :raises docqa.errors.StoreError: when the embedded store is damaged.
    """
    settings = settings or get_settings()
    with store_errors(settings):
        return document_store_from_settings(settings).count_documents()


def indexed_models(settings: Settings | None = None) -> list[str]:
    """
    The embedding models the configured store's passages record (``meta["embedding_model"]``), sorted.

    :raises docqa.errors.StoreUnavailableError: when Elasticsearch cannot be reached.
    """
    settings = settings or get_settings()
    with store_errors(settings):
        listing = getattr(document_store_from_settings(settings), "embedding_models", None)
        return sorted(listing()) if callable(listing) else []


def indexed_files(settings: Settings | None = None) -> list[str]:
    """
    The paths of the files the configured store holds passages of, sorted.

    :raises docqa.errors.StoreUnavailableError: when Elasticsearch cannot be reached.
    """
    from docqa.passage_replacement import stored_file_paths

    settings = settings or get_settings()
    with store_errors(settings):
        return sorted(stored_file_paths(document_store_from_settings(settings)))


def nonempty_paths(paths: Iterable[str | Path]) -> list[str | Path]:
    """
    ``paths`` as a list, refusing an empty one: ``Path("")`` is the current folder, and ``--remove "$DIR"`` with the
    variable unset must not mean "everything here".

    :raises docqa.errors.InputPathError: when a path is empty or blank.
    """
    from docqa.errors import InputPathError

    paths = list(paths)
    if any(not str(path).strip() for path in paths):
        raise InputPathError('""', "an empty path was given (an unset variable?); name a file or folder")
    return paths


def paths_within(paths: Iterable[str], targets: Iterable[str | Path]) -> list[str]:
    """The ``paths`` (absolute, as indexing stores them) at or under any of ``targets`` (files or folders)."""
    folders = [Path(target).expanduser().resolve() for target in targets]
    return [path for path in paths if any(Path(path).is_relative_to(folder) for folder in folders)]


def files_within(paths: Iterable[str | Path], settings: Settings | None = None) -> list[str]:
    """
    The indexed files at or under ``paths`` (files or folders, matched as absolute paths; they need not exist).

    :raises docqa.errors.InputPathError: when a path is empty.
    :raises docqa.errors.NothingIndexedError: when no indexed file is at or under one of ``paths`` (naming those),
        so that a mistyped path among several is not silently left out.
    """
    from docqa.errors import NothingIndexedError

    settings = settings or get_settings()
    paths = nonempty_paths(paths)
    indexed = indexed_files(settings)
    missing = [path for path in paths if not paths_within(indexed, [path])]
    if missing or not paths:
        shown = [str(Path(path).expanduser().resolve()) for path in missing]
        raise NothingIndexedError(shown, describe_store(settings))
    return paths_within(indexed, paths)


def check_embedding_model(store: Any, model: str | None, settings: Settings | None = None) -> None:
    """
    Make sure questions are embedded by the model that embedded the stored passages.

    :param store: the document store; one without ``embedding_models()`` is not checked.
    :param model: the question embedder's model (hub name or directory); None reads ``DOCQA_EMBEDDING_MODEL``.
    :raises docqa.errors.EmbeddingModelMismatchError: when stored passages record a model of another name (see
        :func:`docqa.model_sources.different_embedding_models`).
    """
    from docqa.errors import EmbeddingModelMismatchError
    from docqa.model_sources import different_embedding_models, embedding_model, embedding_model_name

    listing = getattr(store, "embedding_models", None)
    if not callable(listing) or embedding_model_name(model) is None:
        return
    others = sorted(recorded for recorded in listing() if different_embedding_models(recorded, model))
    if others:
        raise EmbeddingModelMismatchError(describe_store(settings), others, embedding_model(model))


def files_filter(files: list[str]) -> dict[str, Any]:
    """
    The Haystack filter keeping the passages of ``files``: one ``in`` condition, or an ``OR`` of several when there
    are more than :data:`MAX_TERMS_PER_CONDITION` files.
    """
    files = list(files)
    if len(files) <= MAX_TERMS_PER_CONDITION:
        return {"field": "meta.file_path", "operator": "in", "value": files}
    return {
        "operator": "OR",
        "conditions": [
            {"field": "meta.file_path", "operator": "in", "value": files[first : first + MAX_TERMS_PER_CONDITION]}
            for first in range(0, len(files), MAX_TERMS_PER_CONDITION)
        ],
    }


def store_errors(settings: Settings | None = None) -> Any:
    """
    A context in which a docqa error wrapped by a pipeline (a store's ``EmbeddingDimensionError`` inside Haystack's
    ``PipelineRuntimeError``) is raised as itself, and Elasticsearch failures become one line naming the host
    (``StoreUnavailableError``).
    """
    settings = settings or get_settings()
    if settings.store != "elasticsearch":
        return _unwrapped_docqa_errors()
    from docqa.elasticsearch_store import translate_es_errors

    return translate_es_errors(settings)


@contextlib.contextmanager
def _unwrapped_docqa_errors() -> Any:
    from docqa.errors import DocqaError

    try:
        yield
    except DocqaError:
        raise
    except Exception as error:
        seen: set[int] = set()
        cause = error.__cause__ or error.__context__
        while cause is not None and not isinstance(cause, DocqaError) and id(cause) not in seen:
            seen.add(id(cause))
            cause = cause.__cause__ or cause.__context__
        if isinstance(cause, DocqaError):
            raise cause from error
        raise
