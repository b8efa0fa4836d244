"""HTML files to documents: the main text as trafilatura extracts it, from whole pages and from fragments alike.

Haystack's ``HTMLToDocument`` hands the bytes to trafilatura, which finds nothing in a fragment without an ``<html>``
root (``<p>The ferry leaves at seven.</p>`` saved as a file) and guesses the encoding of a short page that declares
none (Latin-1 ``château`` comes out as ``ch‚teau``). This converter decodes such pages the way text files are
decoded (``indexing.files.text_encoding``) and reads a fragment as the body of a page.
"""

import re
from pathlib import Path
from typing import Any

from haystack import Document, component, default_from_dict, default_to_dict
from haystack.dataclasses import ByteStream

from indexing.conversion import convert_sources
from indexing.files import text_encoding

_SNIFF_BYTES = 4096
_DECLARED_CHARSET = re.compile(rb"<meta[^>]+charset|<\?xml[^>]+encoding", re.IGNORECASE)
_HTML_ROOT = re.compile(r"<html[\s>]", re.IGNORECASE)


@component
class HTMLConverter:
    """
    Converts HTML files to Documents holding their main text (trafilatura), with the encoding used in ``meta``.

    :param extraction_kwargs: keyword arguments for trafilatura's ``extract``.
    :param store_full_path: keep the full path in ``file_path`` (else the file name only).
    """

    def __init__(self, extraction_kwargs: dict[str, Any] | None = None, store_full_path: bool = True) -> None:
        self.extraction_kwargs = dict(extraction_kwargs or {})
        self.store_full_path = store_full_path

    def to_dict(self) -> dict[str, Any]:
        """Serialize the component."""
        return default_to_dict(self, extraction_kwargs=self.extraction_kwargs, store_full_path=self.store_full_path)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "HTMLConverter":
        """Deserialize the component."""
        return default_from_dict(cls, data)

    @component.output_types(documents=list[Document])
    def run(
        self, sources: list[str | Path | ByteStream], meta: dict[str, Any] | list[dict[str, Any]] | None = None
    ) -> dict[str, list[Document]]:
        """
        Convert HTML files; a file that cannot be read, is empty or holds no text is left out (with a warning).

        :param sources: file paths or ByteStreams.
        :param meta: metadata for all documents, or one dict per source.
        :returns: ``documents``, one per file with text.
        """

        def text_of(stream: ByteStream) -> tuple[str | None, dict[str, Any]]:
            html, encoding = self._decode(stream.data)
            return self._extract(html), {"encoding": encoding} if encoding else {}

        return {"documents": convert_sources(sources, meta, self.store_full_path, text_of)}

    @staticmethod
    def _decode(data: bytes) -> tuple[str | bytes, str | None]:
        """
        The page as text and the encoding it was read in; a page that declares its charset stays bytes for
        trafilatura, which reads the declaration (encoding None).
        """
        if _DECLARED_CHARSET.search(data[:_SNIFF_BYTES]):
            return data, None
        encoding = text_encoding(data)
        if encoding is None:
            return data, None
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:  # a broken UTF-16 page, say: trafilatura does what it can with the bytes
            return data, None

    def _extract(self, html: str | bytes) -> str | None:
        """The main text of ``html``; a fragment (no ``<html>`` root) is read as a page's body."""
        from trafilatura import extract

        text = extract(html, **self.extraction_kwargs)
        if text:
            return text
        page = html if isinstance(html, str) else html.decode("utf-8", errors="replace")
        if _HTML_ROOT.search(page[:_SNIFF_BYTES]):
            return None
        return extract(f"<html><body>{page}</body></html>", **self.extraction_kwargs)
