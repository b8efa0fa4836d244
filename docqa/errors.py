"""Every failure a user can cause, one small class each, with a message that says what to do.

The command-line entry points print ``str(error)`` as one line and exit with ``error.exit_code``.
"""

from docqa.interrupts import INTERRUPTED


class DocqaError(Exception):
    """Base class of the errors docqa reports to users as one line."""

    exit_code = 1


class SettingsError(DocqaError):
    """An environment variable has a value docqa cannot use."""

    exit_code = 2

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}. Fix it in the environment or in .env (see .env.example).")


class InputPathError(DocqaError):
    """A path given on the command line does not exist or cannot be read."""

    exit_code = 2

    def __init__(self, path: str, problem: str = "does not exist") -> None:
        super().__init__(f"{path}: {problem}. Check the path and try again.")


class NoDocumentsFoundError(DocqaError):
    """The paths given contain no file of a supported type."""

    exit_code = 2

    def __init__(self, paths: list[str], supported: list[str], files_removed: int = 0, folders: bool = True) -> None:
        self.paths, self.supported, self.files_removed = list(paths), list(supported), files_removed
        self.folders = folders
        gone = (
            f" The passages of {files_removed} file{'s' * (files_removed != 1)} no longer there were removed."
            if files_removed
            else ""
        )
        if folders:
            problem = f"no supported files found in {', '.join(paths)}"
            hint = "Point the command at a folder with such files."
        else:
            problem = f"{', '.join(paths)}: not a type of file docqa reads"
            hint = "Convert it to one of these, or give another file."
        super().__init__(f"{problem} (supported: {', '.join(supported)}). {hint}{gone}")


class NothingIndexedError(DocqaError):
    """Paths given to search in or to remove from the index hold no indexed file."""

    exit_code = 2

    def __init__(self, paths: list[str], store: str) -> None:
        self.paths = list(paths)
        self.store = store
        super().__init__(
            f"nothing is indexed at or under {', '.join(paths)} in the {store}. Check the paths (they are matched "
            "as absolute paths, as indexing stored them)."
        )


class UnreadableFileError(DocqaError):
    """A file could not be converted to text (empty, binary, corrupt or encrypted)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class ModelLoadError(DocqaError):
    """A model could not be loaded from the hub or from a local directory."""

    def __init__(self, model: str, setting: str, reason: str, local: bool = False) -> None:
        hint = (
            f"Check the path in {setting}: it must be a model directory (or a hub name such as org/model)."
            if local
            else f"Set {setting} to a local model directory or make the Hugging Face hub reachable."
        )
        super().__init__(f"cannot load model {model!r}: {reason}. {hint}")


class ComponentLoadError(DocqaError):
    """A component of a pipeline that is not docqa's own failed to load (docqa's own report their own errors)."""

    def __init__(self, name: str, kind: str, reason: str) -> None:
        super().__init__(
            f"the pipeline's component {name!r} ({kind}) could not be loaded: {reason}. Check its init_parameters in "
            "the pipeline YAML (only docqa's own components read DOCQA_* settings, so give it an explicit model)"
        )


class NotAReaderModelError(DocqaError):
    """The reader model loads but has no extractive question-answering head (its answers would be random)."""

    exit_code = 2

    def __init__(self, model: str, setting: str) -> None:
        super().__init__(
            f"{model!r} is not an extractive question-answering model (its weights have no answer layer, "
            f"qa_outputs). Set {setting} to a model fine-tuned on SQuAD, such as deepset/tinyroberta-squad2."
        )


class DeviceUnavailableError(DocqaError):
    """The device setting names a GPU this machine does not have."""

    exit_code = 2

    def __init__(self, device: str, problem: str) -> None:
        super().__init__(
            f"device '{device}': {problem}. Set DOCQA_DEVICE (or the component's device in the pipeline YAML) to "
            "auto or cpu, or run where that GPU is."
        )


class EmptyQuestionError(DocqaError, ValueError):
    """The question is empty or only white space (a ValueError too, as transformers' pipelines raise)."""

    exit_code = 2

    def __init__(self) -> None:
        super().__init__('the question is empty. Ask a question in plain words, e.g. "Who wrote it?"')


class QuestionTooLongError(DocqaError, ValueError):
    """The question has more tokens than the reader takes (a ValueError too)."""

    exit_code = 2

    def __init__(self, tokens: int, limit: int) -> None:
        super().__init__(
            f"the question is {tokens} tokens long and the reader takes at most {limit}. Ask a shorter question."
        )


class EmptyIndexError(DocqaError):
    """The document store holds no passages yet."""

    def __init__(self, where: str) -> None:
        self.where = where
        super().__init__(f"the {where} is empty. Index your documents first: python -m indexing PATH")


class IndexMappingError(DocqaError):
    """An existing Elasticsearch index maps docqa's fields with types docqa cannot work with."""

    def __init__(self, where: str, problems: str) -> None:
        super().__init__(
            f"{where} maps {problems} (an index made by another tool, or by a write before docqa created it), so "
            "docqa cannot find a file's passages or their vectors in it. Re-index with --recreate, or set "
            "DOCQA_ES_INDEX to another index."
        )


class EmbeddingModelMismatchError(DocqaError):
    """The passages were embedded by another model than the one that would embed the question."""

    def __init__(self, where: str, stored: list[str], model: str) -> None:
        self.where = where
        self.stored = list(stored)
        self.model = model
        built = " and ".join(stored)
        super().__init__(
            f"the {where} was indexed with the embedding model {built}, but questions would be embedded with "
            f"{model}, whose vectors are not comparable. Index your documents again with {model} (python -m indexing "
            f"--recreate PATH), or set DOCQA_EMBEDDING_MODEL back to {stored[0]}."
        )


class StoreError(DocqaError):
    """The embedded store on disk is damaged or cannot be written."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"document store {path}: {reason}")


class StoreUnavailableError(DocqaError):
    """Elasticsearch is down, unreachable, still starting, or rejects the credentials."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"Elasticsearch at {host} {reason}")


class EmbeddingDimensionError(DocqaError):
    """The store's vectors have another dimension than the embedding model produces."""

    def __init__(self, where: str, store_dim: int, model_dim: int) -> None:
        super().__init__(
            f"{where} holds {store_dim}-dimensional vectors but the embedding model produces {model_dim}. "
            "Re-index with --recreate, or set DOCQA_EMBEDDING_MODEL back to the model the index was built with."
        )


class PipelineFileError(DocqaError):
    """A pipeline YAML file is missing or invalid."""

    exit_code = 2

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"pipeline {path}: {reason}")


class DatasetError(DocqaError):
    """A question or evaluation file is not in the expected format."""

    exit_code = 2

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")


class UsageError(DocqaError):
    """A command-line option has a value the command cannot use."""

    exit_code = 2

    def __init__(self, problem: str) -> None:
        super().__init__(f"{problem} (see --help)")


class DocumentWriteError(DocqaError):
    """Some passages could not be written to (or deleted from) the store; names their files and why."""

    def __init__(
        self, where: str, failures: dict[str, str], written: int, sent: int, action: str = "written to"
    ) -> None:
        self.failures = dict(failures)
        self.written = written
        self.sent = sent
        shown = "; ".join(f"{name} ({reason})" for name, reason in list(self.failures.items())[:5])
        more = f"; and {len(self.failures) - 5} more" if len(self.failures) > 5 else ""
        super().__init__(
            f"{sent - written} of {sent} passages were not {action} {where}: {shown}{more}. "
            "Fix the cause and run the indexing command again; it completes the index without duplicates."
        )


class BatchInterruptedError(DocqaError):
    """Ctrl-C while a file of questions was being answered; the rows answered before it are kept."""

    exit_code = INTERRUPTED

    def __init__(self, done: int, total: int, failed: int, kept_in: str) -> None:
        super().__init__(
            f"interrupted after {done} of {total} questions ({done - failed} answered, {failed} failed, kept in "
            f"{kept_in})"
        )


class BatchStoppedError(DocqaError):
    """A file of questions stopped part-way (the store failed); the rows answered before it are kept."""

    def __init__(self, done: int, total: int, failed: int, kept_in: str, cause: DocqaError) -> None:
        self.exit_code = cause.exit_code
        super().__init__(
            f"stopped after {done} of {total} questions ({done - failed} answered, {failed} failed, kept in "
            f"{kept_in}): {cause} Run the file again once that is fixed."
        )
