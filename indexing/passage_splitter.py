"""Splits each document into passages with exact offsets and pages (see :mod:`indexing.splitting` for the rule)."""

from typing import Any

from haystack import Document, component, default_from_dict, default_to_dict

from docqa.parameters import require_count
from indexing.sections import passage_sections, section_starts
from indexing.splitting import MAX_WORDS, OVERLAP_WORDS, passage_spans


@component
class PassageSplitter:
    """
    Splits documents into passages of whole sentences (:func:`indexing.splitting.passage_spans`).

    Each passage keeps its document's meta and gets the fields Haystack's ``DocumentSplitter`` gives:
    ``source_id`` (the document's id), ``split_id`` (its position), ``split_idx_start`` (its offset in the
    document's text, so ``text[split_idx_start:][:len(content)] == content``) and ``page_number`` (1 + the form feeds
    before it), computed as the text is cut rather than by searching for the passage again. Where the converter
    recorded the document's ``headings``, each passage gets the sections it is in (``section``, and
    ``section_offsets``/``sections`` where another starts inside it; see :mod:`indexing.sections`).

    :param max_words: the most words in one passage.
    :param overlap_words: at most this many words of whole trailing sentences are repeated in the next passage.
    """

    def __init__(self, max_words: int = MAX_WORDS, overlap_words: int = OVERLAP_WORDS) -> None:
        self.max_words = require_count("max_words", max_words)
        if isinstance(overlap_words, bool) or not isinstance(overlap_words, int) or not 0 <= overlap_words < max_words:
            raise ValueError(f"overlap_words must be a whole number from 0 to max_words - 1, not {overlap_words!r}")
        self.overlap_words = overlap_words

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, list[Document]]:
        """
        :param documents: cleaned documents; those without text give no passage.
        :returns: ``documents``: the passages of every document, in order.
        """
        return {"documents": [passage for doc in documents for passage in self._split(doc)]}

    def _split(self, document: Document) -> list[Document]:
        text = document.content or ""
        starts = section_starts(text, document.meta.get("headings"))
        return [
            Document(
                content=text[start:end],
                meta={
                    **document.meta,
                    "source_id": document.id,
                    "split_id": split_id,
                    "split_idx_start": start,
                    "page_number": page,
                    **passage_sections(starts, start, end),
                },
            )
            for split_id, (start, end, page) in enumerate(passage_spans(text, self.max_words, self.overlap_words))
        ]

    def to_dict(self) -> dict[str, Any]:
        """Serialize the component."""
        return default_to_dict(self, max_words=self.max_words, overlap_words=self.overlap_words)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PassageSplitter":
        """Deserialize the component."""
        return default_from_dict(cls, data)
