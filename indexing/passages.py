"""The passage metadata and deterministic ids that indexing writes (see docs/ARCHITECTURE.md)."""

import hashlib
from collections import defaultdict
from pathlib import Path
from typing import Any

from haystack import Document, component, default_from_dict, default_to_dict

#: How indexing turns a file into passages, written into every passage as ``passage_format``. Raised whenever
#: converting, cleaning or splitting gives other passages for the same file, so that indexing after an upgrade reads
#: again the files an older docqa indexed, as if they had changed. 2: printed PDF page labels, HTML captions and
#: asides, sentences across page breaks; 3: sections (1: any passage without the field).
PASSAGE_FORMAT = 3

PASSAGE_META_FIELDS = (
    "file_path",
    "file_name",
    "page_number",
    "page_label",
    "next_page_label",
    "char_start",
    "char_end",
    "file_sha256",
    "passage_count",
    "split_id",
    "passage_format",
    "section",
    "section_offsets",
    "sections",
)


def passage_id(file_path: str, char_start: int, content: str) -> str:
    """
    The id of a passage: sha256 of its file path, start offset and content, joined by ``\\x1f``.

    The same file indexed again gives the same ids, so writing with overwrite creates no duplicates.
    """
    key = f"{file_path}\x1f{char_start}\x1f{content}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def printed_label(labels: Any, page: int) -> str | None:
    """The label printed on ``page`` (1-based) from a converter's ``page_labels``, where it is not ``page`` itself."""
    if not isinstance(labels, list) or not 1 <= page <= len(labels):
        return None
    label = str(labels[page - 1]).strip()
    return label if label and label != str(page) else None


@component
class PassageMetadata:
    """
    Gives the passages from the splitter (:class:`indexing.passage_splitter.PassageSplitter`, or Haystack's
    ``DocumentSplitter``) docqa's metadata and deterministic ids.

    Offsets: ``char_start``/``char_end`` index the file's converted and cleaned text, the text the splitter split
    (the splitter's ``split_idx_start``), so ``text[char_start:char_end] == content``. ``page_number`` (the
    splitter's, 1-based) is kept only for paged formats, with ``page_label``, the number printed on that page, where
    the converter found one that differs from it (a PDF's ``page_labels``), and ``next_page_label`` for a passage
    that goes on on the next page (a sentence across a page break). The splitter's ``section``, ``section_offsets``
    and ``sections`` are kept (:func:`indexing.sections.passage_sections`). Other metadata from the
    converters (e.g. DOCX properties) is dropped.
    """

    def __init__(self, paged_extensions: list[str] | None = None) -> None:
        """
        :param paged_extensions: file extensions whose passages keep ``page_number``; ``[".pdf"]`` when None.
        """
        self.paged_extensions = paged_extensions if paged_extensions is not None else [".pdf"]

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, list[Document]]:
        """
        :param documents: split passages, each with ``file_path`` and ``split_idx_start`` in its meta.
        :returns: ``documents``: new passages with ids and metadata as docqa stores them.
        """
        return {"documents": self._postprocess(documents)}

    def _postprocess(self, documents: list[Document]) -> list[Document]:
        by_file: dict[str, list[Document]] = defaultdict(list)
        for doc in documents:
            by_file[str(doc.meta.get("file_path", ""))].append(doc)
        passages = []
        for path, docs in by_file.items():
            sha = docs[0].meta.get("file_sha256") or (file_sha256(path) if path and Path(path).is_file() else "")
            paged = Path(path).suffix.lower() in self.paged_extensions
            for split_id, doc in enumerate(docs):
                passages.append(self._passage(doc, path, sha, split_id, len(docs), paged))
        return passages

    @staticmethod
    def _passage(doc: Document, path: str, sha: str, split_id: int, count: int, paged: bool) -> Document:
        content = doc.content or ""
        start = int(doc.meta.get("split_idx_start", 0))
        meta: dict[str, Any] = {
            "file_path": path,
            "file_name": Path(path).name,
            "char_start": start,
            "char_end": start + len(content),
            "file_sha256": sha,
            "passage_count": count,
            "split_id": split_id,
            "passage_format": PASSAGE_FORMAT,
        }
        if paged:
            meta["page_number"] = page = int(doc.meta.get("page_number", 1))
            if label := printed_label(doc.meta.get("page_labels"), page):
                meta["page_label"] = label
            if "\f" in content and (label := printed_label(doc.meta.get("page_labels"), page + 1)):
                meta["next_page_label"] = label
        for key in ("section", "section_offsets", "sections"):
            if key in doc.meta:
                meta[key] = doc.meta[key]
        if doc.meta.get("encoding"):
            meta["encoding"] = doc.meta["encoding"]
        return Document(id=passage_id(path, start, content), content=content, meta=meta)

    def to_dict(self) -> dict[str, Any]:
        """Serialize the component."""
        return default_to_dict(self, paged_extensions=self.paged_extensions)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PassageMetadata":
        """Deserialize the component."""
        return default_from_dict(cls, data)
