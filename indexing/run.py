"""Indexing files and folders through the YAML indexing pipeline, in batches of whole files."""

import contextlib
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from haystack import Document, Pipeline
from haystack.core.errors import PipelineRuntimeError
from tqdm import tqdm

from docqa.components.document_writer import StoreWriter
from docqa.errors import DocqaError, EmbeddingDimensionError, NoDocumentsFoundError, PipelineFileError
from docqa.model_sources import different_embedding_models, embedding_model
from docqa.passage_replacement import delete_file_passages, stored_file_paths, stored_passages
from docqa.pipelines import INDEXING_PIPELINE, load_pipeline
from docqa.settings import get_settings
from docqa.stores import describe_store, files_within, paths_within, store_errors
from indexing.files import NO_PDF_TEXT, NO_TEXT, Discovery, discover_files, file_text_encoding, unreadable_reason
from indexing.passages import PASSAGE_FORMAT, file_sha256


@dataclass
class IndexSummary:
    """What one indexing run did."""

    files_indexed: int = 0
    passages_written: int = 0
    files_unchanged: int = 0
    skipped: dict[str, str] = field(default_factory=dict)
    files_removed: int = 0
    #: Files indexed again, unchanged, because an older docqa had indexed them (:data:`PASSAGE_FORMAT`).
    files_upgraded: int = 0
    seconds: float = 0.0
    not_recreated: bool = False
    #: Files indexed in part, with what was left out (a PDF's pages without text).
    partial: dict[str, str] = field(default_factory=dict)
    #: Names of uploads (web page) that replaced an earlier upload of the same name with other content.
    replaced: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 when every file is in the index now (indexed or unchanged), else 1."""
        return 0 if self.files_indexed or self.files_unchanged else 1

    def line(self) -> str:
        """The one-line summary printed at the end of a run."""
        passages = _counted(self.passages_written, "passage")
        text = f"indexed {_counted(self.files_indexed, 'file')} ({passages} written), "
        if self.files_upgraded:
            text += f"{self.files_upgraded} of them again because an older docqa had indexed them, "
        text += f"{self.files_unchanged} unchanged, "
        if self.files_removed:
            text += f"{self.files_removed} gone from disk (passages removed), "
        text += f"{len(self.skipped)} skipped"
        if self.skipped:
            text += ": " + _skipped_list(self.skipped)
        if self.partial:
            text += "; indexed in part: " + _skipped_list(self.partial)
        if self.not_recreated:
            text += "; nothing could be indexed, so the index was left as it was (not recreated)"
        return f"{text}; {self.seconds:.1f} s"


#: Past this many skipped files, the summary groups them by reason and names a few of each.
SKIPPED_LISTED = 10
#: Bytes of files from which indexing shows progress on a terminal even within one batch of files.
PROGRESS_BYTES = 1 << 20
_NAMED_PER_REASON = 3


def _skipped_list(skipped: dict[str, str]) -> str:
    """``path (reason); ...``, or, for many files (a folder full of images), ``reason (N): a, b, c and M more; ...``."""
    if len(skipped) <= SKIPPED_LISTED:
        return "; ".join(f"{path} ({reason})" for path, reason in skipped.items())
    by_reason: dict[str, list[str]] = {}
    for path, reason in skipped.items():
        by_reason.setdefault(reason, []).append(path)
    groups = []
    for reason, paths in by_reason.items():
        named = ", ".join(paths[:_NAMED_PER_REASON])
        more = f" and {len(paths) - _NAMED_PER_REASON} more" if len(paths) > _NAMED_PER_REASON else ""
        groups.append(f"{reason} ({len(paths)}): {named}{more}")
    return "; ".join(groups)


def pages_without_text(path: Path, passages: list[Document]) -> list[int]:
    """The pages of the PDF at ``path`` that gave none of ``passages`` (blank, or scanned without a text layer)."""
    from pypdf import PdfReader

    try:
        count = len(PdfReader(path).pages)
    except Exception:
        return []
    with_text = {
        int(p.meta.get("page_number", 0)) + crossed
        for p in passages
        for crossed in range((p.content or "").count("\f") + 1)
    }
    return [page for page in range(1, count + 1) if page not in with_text]


def _no_text_on(pages: list[int]) -> str:
    listed = ", ".join(map(str, pages[:5])) + (f" and {len(pages) - 5} more" if len(pages) > 5 else "")
    return f"no text on page{'s' * (len(pages) > 1)} {listed}, blank or scanned: OCR the file to index them"


def _counted(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


class Indexer:
    """
    Runs the indexing pipeline over files, skipping unchanged files and reporting files it cannot read.

    The pipeline's components named ``embedder`` and ``writer`` are used directly: the writer for its
    ``document_store``, the embedder to learn the vector dimension before the first write.

    A file is unchanged when the store holds ``passage_count`` passages of it, all with its current sha256 and
    embedded by the pipeline's embedding model (``meta["embedding_model"]``, where recorded) and made by this docqa's
    way of making passages (``meta["passage_format"]``, :data:`indexing.passages.PASSAGE_FORMAT`); such a file is not
    converted or embedded again. Changed files are replaced by the pipeline's writer.
    """

    def __init__(self, pipeline_path: str | Path = INDEXING_PIPELINE, batch_size: int = 16) -> None:
        """
        :param pipeline_path: the indexing pipeline YAML.
        :param batch_size: files per pipeline run.
        :raises docqa.errors.SettingsError: when a ``DOCQA_*`` variable is invalid (the components read them too).
        """
        self.pipeline_path = Path(pipeline_path)
        self.batch_size = batch_size
        self.settings = get_settings()
        self._pipeline: Pipeline | None = None
        self._ready = False
        self._recreate_pending = False
        #: whether this run's ``recreate`` has emptied the index (it waits for the first file with passages)
        self.emptied = False

    @property
    def pipeline(self) -> Pipeline:
        """The loaded indexing pipeline (not warmed up)."""
        if self._pipeline is None:
            self._pipeline = load_pipeline(self.pipeline_path)
        return self._pipeline

    def _component(self, name: str) -> Any:
        try:
            return self.pipeline.get_component(name)
        except ValueError as error:
            raise PipelineFileError(str(self.pipeline_path), f"no component named {name!r}") from error

    @property
    def _embedding_model(self) -> str | None:
        """The embedder's model as passages record it; None for an embedder without ``model``."""
        model = getattr(self._component("embedder"), "model", False)
        return embedding_model(model) if model is None or isinstance(model, str) else None

    @property
    def store(self) -> Any:
        """The document store the pipeline's writer writes to."""
        return self._component("writer").document_store

    def run(
        self,
        paths: list[str | Path],
        recreate: bool = False,
        progress: bool | None = None,
        discovery: Discovery | None = None,
    ) -> IndexSummary:
        """
        Index files and folders.

        :param paths: files or folders (searched recursively).
        :param recreate: empty the index first.
        :param progress: show a tqdm bar on stderr; None shows it on a terminal for more than one batch.
        :param discovery: the result of ``discover_files(paths)`` when the caller already has it.
        :raises docqa.errors.DocqaError: for a missing path, no supported files, a model or store failure.
        """
        started = time.monotonic()
        try:
            discovery = discovery or discover_files(paths)
        except NoDocumentsFoundError as error:
            removed = self._remove_gone_from_folders(paths)
            if not removed:
                raise
            raise NoDocumentsFoundError(error.paths, error.supported, removed, error.folders) from error
        summary = IndexSummary(skipped={str(path): reason for path, reason in discovery.skipped.items()})
        with store_errors(self.settings):
            self._pipeline = self._pipeline or load_pipeline(self.pipeline_path)
            if self.settings.store == "elasticsearch":
                from docqa.elasticsearch_store import wait_until_ready

                wait_until_ready(self.store)
            # emptied before the first file with something to write: a run that indexes nothing leaves the index
            self._recreate_pending, self.emptied = recreate, False
            files = discovery.files
            show = progress if progress is not None else (sys.stderr.isatty() and self._takes_a_while(files))
            embedder = self._component("embedder")
            passage_bar = getattr(embedder, "progress_bar", None)
            if show and passage_bar is False:
                embedder.progress_bar = True
            try:
                with tqdm(total=len(files), unit="file", file=sys.stderr, disable=not show, desc="indexing") as bar:
                    for start in range(0, len(files), self.batch_size):
                        batch = files[start : start + self.batch_size]
                        self._index_batch(batch, summary)
                        bar.update(len(batch))
            finally:
                if passage_bar is not None:
                    embedder.progress_bar = passage_bar
            summary.files_removed = self._remove_gone([path for path in paths if Path(path).expanduser().is_dir()])
        summary.not_recreated, self._recreate_pending = self._recreate_pending, False
        summary.seconds = time.monotonic() - started
        return summary

    def _takes_a_while(self, files: list[Path]) -> bool:
        """Whether indexing ``files`` is worth progress bars: more than one batch of files, or many bytes of text."""
        if len(files) > self.batch_size:
            return True
        size = 0
        for path in files:
            with contextlib.suppress(OSError):
                size += path.stat().st_size
        return size > PROGRESS_BYTES

    def _remove_gone_from_folders(self, paths: list[str | Path]) -> int:
        """:meth:`_remove_gone` for the folders among ``paths``, when no file is left to index in them."""
        folders = [path for path in paths if Path(path).expanduser().is_dir()]
        if not folders:
            return 0
        with store_errors(self.settings):
            return self._remove_gone(folders)

    def _remove_gone(self, folders: list[str | Path]) -> int:
        """Delete the passages of files under ``folders`` that no longer exist; returns how many files."""
        if not folders:
            return 0
        gone = [
            path for path in paths_within(sorted(stored_file_paths(self.store)), folders) if not Path(path).exists()
        ]
        for path in gone:
            delete_file_passages(self.store, path)
        return len(gone)

    def remove(self, paths: list[str | Path]) -> dict[str, int]:
        """
        Delete the passages of files, or of every file under folders, whether or not they still exist on disk.

        :returns: passages deleted per file path.
        :raises NothingIndexedError: when no indexed file is at or under any of ``paths``.
        """
        with store_errors(self.settings):
            return {path: delete_file_passages(self.store, path) for path in files_within(paths, self.settings)}

    def _recreate_now(self) -> None:
        self.emptied = True  # an interruption inside _recreate may already have emptied it
        self._recreate()
        self._recreate_pending = False

    def _recreate(self) -> None:
        """Empty the index, after the models loaded: a model that fails to load leaves the index as it was."""
        model_dim = self._warm_up(check=False)
        store = self.store
        if self.settings.store == "elasticsearch":
            from docqa.elasticsearch_store import recreate_index

            recreate_index(store, model_dim)
        elif hasattr(store, "delete_all_documents"):
            store.delete_all_documents()
        else:
            store.delete_documents([doc.id for doc in stored_passages(store)])

    def _warm_up(self, check: bool = True) -> int:
        """
        Load the models once and, the first time, check the store's vector dimension before anything is written.

        :param check: False when the index is being recreated with the model's dimension anyway.
        :returns: the embedding model's dimension.
        """
        if not self._ready:
            _unwrap(self.pipeline.warm_up)
            self._model_dim = _model_dimension(self._component("embedder"))
            if check:
                self._check_dimension(self._model_dim)
            self._ready = True
        return self._model_dim

    def _check_dimension(self, model_dim: int) -> None:
        store = self.store
        if self.settings.store == "elasticsearch":
            from docqa.elasticsearch_store import check_embedding_dimension

            check_embedding_dimension(store, model_dim)
            return
        stored = store.embedding_dimension() if callable(getattr(store, "embedding_dimension", None)) else None
        if stored and stored != model_dim:
            raise EmbeddingDimensionError(describe_store(self.settings), stored, model_dim)

    def _index_batch(self, batch: list[Path], summary: IndexSummary) -> None:
        existing = {} if self._recreate_pending else self._existing(batch)
        model = self._embedding_model
        todo: list[tuple[Path, str]] = []
        upgraded: set[Path] = set()
        for path in batch:
            try:
                sha = file_sha256(path)
            except OSError:
                sha = None
            stored = existing.get(str(path), [])
            if sha is not None and _unchanged(stored, sha, model):
                if all(doc.meta.get("passage_format") == PASSAGE_FORMAT for doc in stored):
                    summary.files_unchanged += 1  # indexed before with these bytes: no check or conversion to repeat
                    continue
                upgraded.add(path)
            reason = unreadable_reason(path)
            if reason or sha is None:
                self._skip(path, reason or "cannot be read", existing, summary)
                continue
            todo.append((path, sha))
        if not todo:
            return
        writer = self._component("writer")
        deferred = self._recreate_pending and isinstance(writer, StoreWriter)
        if deferred:
            # emptied by the writer just before it writes: files that convert to no text leave the index as it was
            self._warm_up(check=False)
            writer.before_first_write = self._recreate_now
        elif self._recreate_pending:
            self._recreate_now()
        self._warm_up()
        try:
            passages, written, failed = self._convert(todo)
        finally:
            if deferred:
                writer.before_first_write = None
        summary.passages_written += written
        for path, _sha in todo:
            if str(path) in failed:
                self._skip(path, failed[str(path)], existing, summary)
            elif passages.get(str(path)):
                summary.files_indexed += 1
                summary.files_upgraded += path in upgraded
                blank = pages_without_text(path, passages[str(path)]) if path.suffix.lower() == ".pdf" else []
                if blank:
                    summary.partial[str(path)] = _no_text_on(blank)
            else:
                self._skip(path, NO_PDF_TEXT if path.suffix.lower() == ".pdf" else NO_TEXT, existing, summary)

    def _convert(self, todo: list[tuple[Path, str]]) -> tuple[dict[str, list[Document]], int, dict[str, str]]:
        """Run the pipeline on whole files; a batch that fails is retried file by file to find the bad one."""
        try:
            result = _unwrap(
                self.pipeline.run,
                {"router": {"sources": [p for p, _ in todo], "meta": [_source_meta(p, s) for p, s in todo]}},
                include_outputs_from={"passages"},
            )
        except DocqaError:
            raise
        except PipelineRuntimeError as error:
            if error.component_name in ("embedder", "writer"):
                raise
            if len(todo) == 1:
                return {}, 0, {str(todo[0][0]): f"conversion failed ({_last_line(error)})"}
            passages: dict[str, list[Document]] = {}
            written = 0
            failed: dict[str, str] = {}
            for item in todo:
                one_passages, one_written, one_failed = self._convert([item])
                passages.update(one_passages)
                written += one_written
                failed.update(one_failed)
            return passages, written, failed
        by_file: dict[str, list[Document]] = defaultdict(list)
        for doc in result.get("passages", {}).get("documents", []):
            by_file[doc.meta["file_path"]].append(doc)
        return dict(by_file), result.get("writer", {}).get("documents_written", 0), {}

    def _existing(self, batch: list[Path]) -> dict[str, list[Document]]:
        documents = stored_passages(
            self.store, {"field": "meta.file_path", "operator": "in", "value": [str(p) for p in batch]}
        )
        found: dict[str, list[Document]] = defaultdict(list)
        for doc in documents:
            found[doc.meta.get("file_path")].append(doc)
        return found

    def _skip(self, path: Path, reason: str, existing: dict[str, list[Document]], summary: IndexSummary) -> None:
        if existing.get(str(path)):
            delete_file_passages(self.store, str(path))
            reason += "; its earlier passages were removed from the index"
        summary.skipped[str(path)] = reason


def index_paths(
    paths: list[str | Path],
    recreate: bool = False,
    pipeline_path: str | Path = INDEXING_PIPELINE,
    progress: bool | None = None,
) -> IndexSummary:
    """Index files and folders with the pipeline at ``pipeline_path``; see :class:`Indexer`."""
    return Indexer(pipeline_path).run(paths, recreate=recreate, progress=progress)


def _source_meta(path: Path, sha: str) -> dict[str, str]:
    meta = {"file_path": str(path), "file_sha256": sha}
    encoding = file_text_encoding(path)
    if encoding:
        meta["encoding"] = encoding
    return meta


def _unchanged(stored: list[Document], sha: str, model: str | None) -> bool:
    """Whether the stored passages are those of this file content, and not embedded by a model of another name."""
    return bool(stored) and all(
        doc.meta.get("file_sha256") == sha
        and doc.meta.get("passage_count") == len(stored)
        and not (model and different_embedding_models(doc.meta.get("embedding_model", ""), model))
        for doc in stored
    )


def _model_dimension(embedder: Any) -> int:
    """The embedding dimension, from a one-passage probe (works for any document embedder)."""
    probe = _unwrap(embedder.run, documents=[Document(content="dimension probe")])
    return len(probe["documents"][0].embedding)


def _unwrap(function: Any, *args: Any, **kwargs: Any) -> Any:
    """Call ``function``; a ``DocqaError`` wrapped by Haystack (e.g. in ``PipelineRuntimeError``) is raised as is."""
    try:
        return function(*args, **kwargs)
    except PipelineRuntimeError as error:
        cause: BaseException | None = error
        while cause is not None:
            if isinstance(cause, DocqaError):
                raise cause from error
            cause = cause.__cause__ or cause.__context__
        raise


def _last_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[-1] if text else type(error).__name__
