"""Replace the passages of one file in any Haystack document store without ever leaving it half-indexed.

The new passages are written first (overwriting same-id passages), and only then are the file's other passages
deleted. A failure part way leaves the old and some new passages, never none; running again finishes the job.
"""

from typing import Any

from haystack import Document
from haystack.document_stores.types import DuplicatePolicy

from docqa.errors import DocumentWriteError


def file_filter(file_path: str) -> dict[str, Any]:
    """The Haystack filter selecting the passages of ``file_path``."""
    return {"field": "meta.file_path", "operator": "==", "value": file_path}


def replace_file_passages(store: Any, file_path: str, new_documents: list[Document]) -> dict[str, int]:
    """
    Make ``new_documents`` the only passages of ``file_path`` in ``store``.

    Works with any store offering ``write_documents``, ``filter_documents`` and ``delete_documents``.

    :param store: the document store.
    :param file_path: the file whose passages are replaced (``meta['file_path']``).
    :param new_documents: the file's new passages, all with ``meta['file_path'] == file_path``; not empty (use
        :func:`delete_file_passages` for a file that is gone).
    :returns: ``{"written": n, "deleted": m}``, ``m`` counting the stale passages removed.
    :raises ValueError: when ``new_documents`` is empty or holds a passage of another file.
    :raises DocumentWriteError: when the store wrote fewer passages than it was given (nothing is deleted then), or
        kept some of the file's old passages (named by file, as :func:`delete_file_passages`).
    """
    if not new_documents:
        msg = f"no new passages for {file_path}; use delete_file_passages to remove a file"
        raise ValueError(msg)
    others = {str(doc.meta.get("file_path")) for doc in new_documents if doc.meta.get("file_path") != file_path}
    if others:
        msg = f"passages of {sorted(others)} given to replace the passages of {file_path}"
        raise ValueError(msg)
    written = store.write_documents(new_documents, policy=DuplicatePolicy.OVERWRITE)
    if written != len(new_documents):
        reason = f"the store wrote {written} of {len(new_documents)} passages"
        raise DocumentWriteError(_where(store), {file_path: reason}, written, len(new_documents))
    keep = {doc.id for doc in new_documents}
    stale = [doc.id for doc in stored_passages(store, file_filter(file_path)) if doc.id not in keep]
    _delete(store, file_path, stale)
    return {"written": written, "deleted": len(stale)}


def delete_file_passages(store: Any, file_path: str) -> int:
    """
    Delete every passage of ``file_path`` from ``store`` (a file that was removed).

    :returns: the number of passages deleted.
    :raises DocumentWriteError: when the store kept some of them, naming ``file_path`` and the store's reasons.
    """
    ids = [doc.id for doc in stored_passages(store, file_filter(file_path))]
    _delete(store, file_path, ids)
    return len(ids)


def stored_file_paths(store: Any) -> set[str]:
    """
    The ``file_path`` of every passage in ``store``: from the store's own ``file_paths()`` where it has one (no
    passage is loaded), else from all its passages.
    """
    listing = getattr(store, "file_paths", None)
    if callable(listing):
        return set(listing())
    return {str(doc.meta["file_path"]) for doc in stored_passages(store) if doc.meta.get("file_path")}


def stored_passages(store: Any, filters: dict[str, Any] | None = None) -> list[Document]:
    """
    The passages matching ``filters``, without their embeddings where the store can leave them out
    (``filter_passages``): ids and meta are all that comparing and deleting passages needs.
    """
    without_embeddings = getattr(store, "filter_passages", None)
    if callable(without_embeddings):
        return without_embeddings(filters)
    return store.filter_documents(filters=filters)


def _delete(store: Any, file_path: str, ids: list[str]) -> None:
    """
    Delete passages ``ids`` of ``file_path``.

    :raises DocumentWriteError: naming ``file_path`` and the store's reasons when the store kept some of them.
    """
    if not ids:
        return
    try:
        store.delete_documents(ids)
    except DocumentWriteError as error:
        failed = len(error.failures) or len(ids)
        reasons = list(dict.fromkeys(error.failures.values()))
        reason = f"{failed} old passages kept: " + "; ".join(reasons[:3]) + ("; ..." if len(reasons) > 3 else "")
        raise DocumentWriteError(
            _where(store), {file_path: reason}, len(ids) - failed, len(ids), action="deleted from"
        ) from error


def _where(store: Any) -> str:
    return str(getattr(store, "where", type(store).__name__))
