"""What docqa's converters share: one Document per source that holds text; any other source is left out with a
warning naming it (indexing's summary gives the reason, so ``indexing.cli`` keeps these warnings quiet)."""

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from haystack import Document, logging
from haystack.components.converters.utils import get_bytestream_from_source, normalize_metadata
from haystack.dataclasses import ByteStream

logger = logging.getLogger(__name__)


def convert_sources(
    sources: list[str | Path | ByteStream],
    meta: dict[str, Any] | list[dict[str, Any]] | None,
    store_full_path: bool,
    text_of: Callable[[ByteStream], tuple[str | None, dict[str, Any]]],
) -> list[Document]:
    """
    Convert each source with ``text_of``.

    :param sources: file paths or ByteStreams.
    :param meta: metadata for all documents, or one dict per source.
    :param store_full_path: keep the full path in ``file_path`` (else the file name only).
    :param text_of: a source's text and the metadata to add (``encoding``); it may raise for a source it cannot read.
    :returns: one Document per source with text, its metadata the stream's, then ``meta``'s, then ``text_of``'s.
    """
    documents = []
    for source, metadata in zip(sources, normalize_metadata(meta, sources_count=len(sources)), strict=True):
        try:
            stream = get_bytestream_from_source(source)
        except Exception as error:
            logger.warning("Could not read {source}: {error}", source=source, error=error)
            continue
        try:
            text, extra = text_of(stream)
        except Exception as error:
            logger.warning("Could not convert {source}: {error}", source=source, error=error)
            continue
        if not text:
            logger.warning("No text could be extracted from {source}.", source=source)
            continue
        merged = {**stream.meta, **metadata, **extra}
        if not store_full_path and merged.get("file_path"):
            merged["file_path"] = os.path.basename(merged["file_path"])
        documents.append(Document(content=text, meta=merged))
    return documents
