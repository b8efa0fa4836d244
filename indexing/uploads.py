"""Files added on the web page: kept in the upload directory under their own names and indexed from there.

A file uploaded again under the same name replaces the earlier one, and indexing replaces its passages, as for any
changed file; a file that cannot be indexed is not kept. Each file is written to a temporary name first and renamed,
so indexing never reads half a file.
"""

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from docqa.errors import NoDocumentsFoundError
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


def save_uploads(files: Iterable[tuple[str, bytes]], folder: str | Path) -> tuple[list[Path], dict[str, str]]:
    """
    Write uploaded files into ``folder`` (created when missing).

    :param files: ``(name, content)`` pairs as the browser sent them.
    :returns: the absolute paths written, in order, and the names not written with the reason: a file whose name
        (once cleaned) an earlier file of the same upload already has.
    """
    folder = Path(folder).expanduser().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    refused: dict[str, str] = {}
    for name, content in files:
        path = folder / upload_file_name(name)
        if path in written:
            refused[name] = f"another file in this upload is also named {path.name}; rename one and add it again"
            continue
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(content)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        written.append(path)
    return written, refused


def index_uploads(files: Iterable[tuple[str, bytes]], folder: str | Path, indexer: Indexer) -> IndexSummary:
    """
    Save uploaded files into ``folder`` and index them with ``indexer``; bad files are skipped with their reason,
    and their copies deleted (a skipped file is not in the index, so it is not kept either).

    :raises docqa.errors.DocqaError: when none is of a supported type, or a model or the store fails.
    """
    files = list(files)
    replaced = replaced_uploads(files, folder)
    paths, refused = save_uploads(files, folder)
    try:
        summary = indexer.run(paths, progress=False)
    except NoDocumentsFoundError:
        for path in paths:
            path.unlink(missing_ok=True)
        raise
    for path in map(Path, list(summary.skipped)):
        if path in paths:
            path.unlink(missing_ok=True)
    summary.skipped.update(refused)
    kept = {path.name for path in paths if str(path) not in summary.skipped}
    summary.replaced = [name for name in replaced if name in kept]
    return summary


def replaced_uploads(files: Iterable[tuple[str, bytes]], folder: str | Path) -> list[str]:
    """The names under which ``files`` would replace an earlier upload with other content (perhaps another document
    of the same name: the page says so)."""
    folder = Path(folder).expanduser().resolve()
    replaced = []
    for name, content in files:
        path = folder / upload_file_name(name)
        try:
            if path.is_file() and (path.stat().st_size != len(content) or path.read_bytes() != content):
                replaced.append(path.name)
        except OSError:
            continue
    return list(dict.fromkeys(replaced))


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
