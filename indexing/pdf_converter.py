"""PDF files to documents: Haystack's ``PyPDFToDocument`` plus the values filled into the PDF's form fields.

pypdf's text extraction reads what a page's content stream draws; the values typed into an interactive form (a leave
application, an order form) live in the form fields' widgets instead, so ``PyPDFToDocument`` gives "Employee name:"
without the name. This converter appends, after each page's text, one ``field: value`` line per filled field shown
on that page (its tooltip name where it has one), and leaves out values the page's text already shows (a flattened
or printed form) and unticked boxes.

A PDF that numbers its pages in print otherwise than by position (front matter in roman numerals, a chapter
starting at 1) gets ``page_labels`` in its meta: the printed label of every page, for citations. A PDF with an outline
(bookmarks) gets ``headings``: ``[level, title, page]`` of each outline item (see :func:`outline_headings`).
"""

import re
from pathlib import Path
from typing import Any

from haystack import Document, component, logging
from haystack.components.converters.pypdf import LinkFormat, PyPDFToDocument
from haystack.components.converters.utils import normalize_metadata
from haystack.dataclasses import ByteStream

logger = logging.getLogger(__name__)

_UNTICKED = ("/Off", "Off", "")
#: Values shorter than this are written even where the page's text seems to show them (see :func:`shown`).
SHOWN_MIN_CHARS = 4


@component
class PDFConverter(PyPDFToDocument):
    """
    Converts PDF files to Documents, one form feed between pages, with each page's filled form fields after its text.

    Takes ``PyPDFToDocument``'s parameters (``store_full_path``, ``extraction_mode``, ...).
    """

    @component.output_types(documents=list[Document])
    def run(
        self, sources: list[str | Path | ByteStream], meta: dict[str, Any] | list[dict[str, Any]] | None = None
    ) -> dict[str, list[Document]]:
        """
        Convert PDF files as ``PyPDFToDocument`` does, adding ``page_labels`` where the PDF has its own and
        ``headings`` where it has an outline.

        :param sources: file paths or ByteStreams.
        :param meta: metadata for all documents, or one dict per source.
        :returns: ``documents``, one per PDF that could be read.
        """
        documents = []
        for source, metadata in zip(sources, normalize_metadata(meta, sources_count=len(sources)), strict=True):
            self._page_labels = self._headings = None
            converted = PyPDFToDocument.run(self, sources=[source], meta=[metadata])["documents"]
            for document in converted:
                if self._page_labels:
                    document.meta["page_labels"] = self._page_labels
                if self._headings:
                    document.meta["headings"] = self._headings
            documents.extend(converted)
        return {"documents": documents}

    def _default_convert(self, reader: Any) -> str:
        self._page_labels = printed_page_labels(reader)
        self._headings = outline_headings(reader)
        texts = []
        for page_number, page in enumerate(reader.pages, start=1):
            text = page.extract_text(
                orientations=self.plain_mode_orientations,
                extraction_mode=self.extraction_mode.value,
                space_width=self.plain_mode_space_width,
                layout_mode_space_vertically=self.layout_mode_space_vertically,
                layout_mode_scale_weight=self.layout_mode_scale_weight,
                layout_mode_strip_rotated=self.layout_mode_strip_rotated,
                layout_mode_font_height_weight=self.layout_mode_font_height_weight,
            )
            fields = [f"{name}: {value}" for name, value in form_fields(page, page_number) if not shown(value, text)]
            if fields:
                text = text.rstrip() + "\n" + "\n".join(fields)
            if self.link_format != LinkFormat.NONE:
                links = self._extract_links(page, page_number)
                if links:
                    text += "\n\n" + "\n".join(links)
            texts.append(text)
        return "\f".join(texts)


def printed_page_labels(reader: Any) -> list[str] | None:
    """The label printed on each page (``i``, ``ii``, ``1``, ...) where the PDF defines labels that are not simply
    the pages' positions; None otherwise or when they cannot be read."""
    try:
        if "/PageLabels" not in reader.trailer["/Root"]:
            return None
        labels = [str(label) for label in reader.page_labels]
    except Exception:
        logger.debug("Could not read the page labels")
        return None
    if len(labels) != len(reader.pages) or labels == [str(number) for number in range(1, len(labels) + 1)]:
        return None
    return labels


def outline_headings(reader: Any) -> list[list[Any]] | None:
    """
    ``[level, title, page]`` of each item of the PDF's outline (bookmarks), in outline order: level 1 for the top
    items and one more for each level of nesting, the title's white space collapsed, page the 1-based page the item
    points to. Items without a title or whose destination cannot be resolved are left out; None where none is left or
    the outline cannot be read.

    :param reader: a pypdf ``PdfReader``.
    """
    headings: list[list[Any]] = []
    try:
        _add_outline_items(reader, reader.outline, 1, headings)
    except Exception:
        logger.debug("Could not read the outline")
    return headings or None


def _add_outline_items(reader: Any, items: list[Any], level: int, headings: list[list[Any]]) -> None:
    for item in items:
        if isinstance(item, list):  # the children of the item before
            _add_outline_items(reader, item, level + 1, headings)
            continue
        try:
            title = " ".join(str(item.title or "").split())
            index = reader.get_destination_page_number(item)
        except Exception:
            logger.debug("Skipping an outline item whose destination cannot be read")
            continue
        if title and isinstance(index, int) and 0 <= index < len(reader.pages):
            headings.append([level, title, index + 1])


def shown(value: str, text: str) -> bool:
    """Whether the page's ``text`` already shows ``value`` (a flattened or printed form): a value of at least
    :data:`SHOWN_MIN_CHARS` characters found there as a whole (a short one, ``5`` or ``No``, is found by chance in
    ``2025`` or ``Yes/No``, so it is always written)."""
    if len(value) < SHOWN_MIN_CHARS:
        return False
    return re.search(rf"(?<!\w){re.escape(value)}(?!\w)", text) is not None


def form_fields(page: Any, page_number: int = 0) -> list[tuple[str, str]]:
    """
    ``(name, value)`` of each filled form field whose widget is on ``page`` (a pypdf page), in widget order.

    The name is the field's tooltip (``/TU``) or else its name (``/T``), looked up the field's parents too; a list
    of chosen values is joined with ", "; a ticked box or chosen radio button gives its export value ("Yes").
    """
    fields: list[tuple[str, str]] = []
    try:
        annotations = page.get("/Annots") or []
        for reference in annotations:
            try:
                widget = reference.get_object()
                if widget.get("/Subtype") != "/Widget":
                    continue
                value, name = _inherited(widget, "/V"), _inherited(widget, "/TU") or _inherited(widget, "/T")
                field = (str(name or "").strip(), _value_text(value))
                if all(field) and field not in fields:
                    fields.append(field)
            except Exception:
                logger.debug("Skipping a malformed form field on page {page}", page=page_number)
    except Exception:
        logger.debug("Could not read the form fields of page {page}", page=page_number)
    return fields


def _inherited(widget: Any, key: str) -> Any:
    """``key`` of the widget or of the nearest of its parent fields that has it."""
    node, depth = widget, 0
    while node is not None and depth < 32:
        if key in node:
            return node[key]
        parent = node.get("/Parent")
        node = parent.get_object() if parent is not None else None
        depth += 1
    return None


def _value_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(filter(None, (_value_text(item) for item in value)))
    text = str(value.get_object() if hasattr(value, "get_object") else value).strip()
    if text in _UNTICKED:
        return ""
    return text[1:] if text.startswith("/") else text
