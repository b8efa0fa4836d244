"""Writing passages to whichever document store the settings choose."""

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from haystack import Document, component, default_from_dict, default_to_dict
from haystack.document_stores.types import DuplicatePolicy


@component
class StoreWriter:
    """
    Writes passages to the store ``DOCQA_STORE`` selects (embedded or Elasticsearch).

    With ``replace_files`` (the default) the passages given for a file become that file's only passages: they are
    written first (overwriting same-id passages) and the file's other passages are deleted after, with
    ``docqa.passage_replacement.replace_file_passages``. So every run must carry all passages of each file it
    names, which the indexing pipeline does. Without it, passages are written with the overwrite policy only.
    """

    def __init__(self, replace_files: bool = True) -> None:
        """
        :param replace_files: replace each file's passages (True) or only add/overwrite passages (False).
        """
        self.replace_files = replace_files
        self._store: Any = None
        #: called once, just before the first passages are written (the indexer's --recreate: a run that converts
        #: to no passages leaves the index as it was); not a parameter, not serialized
        self.before_first_write: Callable[[], None] | None = None

    def warm_up(self) -> None:
        """Build the store from settings; contacts no server."""
        if self._store is None:
            from docqa.stores import document_store_from_settings

            self._store = document_store_from_settings()

    @property
    def document_store(self) -> Any:
        """The store written to (built on first use)."""
        self.warm_up()
        return self._store

    @component.output_types(documents_written=int)
    def run(self, documents: list[Document]) -> dict[str, int]:
        """
        :param documents: passages with ``meta['file_path']``.
        :returns: ``documents_written``: how many passages the store wrote.
        """
        self.warm_up()
        if not documents:
            return {"documents_written": 0}
        hook, self.before_first_write = self.before_first_write, None
        if hook is not None:
            hook()
        if not self.replace_files:
            return {"documents_written": self._store.write_documents(documents, policy=DuplicatePolicy.OVERWRITE)}
        from docqa.passage_replacement import replace_file_passages

        written = 0
        for file_path, passages in self._by_file(documents).items():
            written += replace_file_passages(self._store, file_path, passages)["written"]
        return {"documents_written": written}

    @staticmethod
    def _by_file(documents: list[Document]) -> dict[str, list[Document]]:
        groups: dict[str, list[Document]] = defaultdict(list)
        for doc in documents:
            groups[doc.meta.get("file_path")].append(doc)
        return dict(groups)

    def to_dict(self) -> dict[str, Any]:
        """Serialize the component."""
        return default_to_dict(self, replace_files=self.replace_files)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "StoreWriter":
        """Deserialize the component."""
        return default_from_dict(cls, data)
