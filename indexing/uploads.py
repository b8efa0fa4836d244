"""Files added on the web page: kept in the upload directory under their own names and indexed from there.

A file uploaded again under the same name replaces the earlier one, and indexing replaces its passages, as for any
changed file. Each file is written to a temporary name first and renamed, so indexing never reads half a file.
"""

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from indexing.run import Indexer, IndexSummary

_UNSAFE = {"/", "\\", "\x00"}


def upload_file_name(name: str) -> str:
    """
    The name an uploaded file is kept under: its base name, without directories, leading dots or control
    characters (a browser sends whatever name the user's file has); ``upload`` stands in for a missing name, so
    ``.txt`` becomes ``upload.txt``.
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(char for char in base if char not in _UNSAFE and char.isprintable()).strip()
    visible = cleaned.lstrip(".")
    if not visible:
        return "upload"
    if visible != cleaned and "." not in visible:
        return f"upload.{visible}"
    return visible


def save_uploads(files: Iterable[tuple[str, bytes]], folder: str | Path) -> list[Path]:
    """
    Write uploaded files into ``folder`` (created when missing).

    :param files: ``(name, content)`` pairs as the browser sent them.
    :returns: the absolute paths written, in order; a name given twice is written once, with the last content.
    """
    folder = Path(folder).expanduser().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[Path, None] = {}
    for name, content in files:
        path = folder / upload_file_name(name)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(content)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        written.pop(path, None)
        written[path] = None
    return list(written)


def index_uploads(files: Iterable[tuple[str, bytes]], folder: str | Path, indexer: Indexer) -> IndexSummary:
    """
    Save uploaded files into ``folder`` and index them with ``indexer``; bad files are skipped with their reason.

    :raises docqa.errors.DocqaError: when none is of a supported type, or a model or the store fails.
    """
    return indexer.run(save_uploads(files, folder), progress=False)


def remove_documents(paths: Iterable[str], folder: str | Path, indexer: Indexer) -> dict[str, int]:
    """
    Remove indexed files from the index, and delete the copies of those that were uploaded into ``folder``.

    :returns: passages deleted per file path.
    :raises docqa.errors.NothingIndexedError: when none of ``paths`` is indexed.
    """
    removed = indexer.remove(list(paths))
    folder = Path(folder).expanduser().resolve()
    for path in map(Path, removed):
        if path.parent == folder:
            path.unlink(missing_ok=True)
    return removed
