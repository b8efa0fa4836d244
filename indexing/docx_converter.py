"""DOCX files to documents: the text Word shows, in reading order.

Haystack's ``DOCXToDocument`` reads python-docx's body-level paragraphs and tables, and python-docx sees only the runs
and hyperlinks directly under a paragraph. So it silently loses text Word shows: tracked insertions (``w:ins``),
content controls (``w:sdt``, as forms and templates use them), simple fields, smart tags and ``w:customXml``,
footnotes, endnotes, headers, footers, tables nested in a cell and the labels of automatic numbering ("1.", "4.2").
It repeats a merged table cell once per grid column, glues two sentences together at a hard page break, and writes
a form feed wherever Word last ended a page (``w:lastRenderedPageBreak``, often mid-sentence), where docqa's splitter
then cuts the sentence in two although a DOCX has no stable pages.

This converter walks the XML itself. The text of one file is, one line per paragraph (empty ones dropped):

- each distinct header text once, then each distinct footer text once, then the body, each footnote and endnote
  right after the paragraph or table that first refers to it (notes nothing in the body refers to at the end), so a
  note is read, and cited, with the text it explains;
- a table row as ``| cell | cell |``: a cell spanning several grid columns written once, the continuation of a
  vertically merged cell left empty, the paragraphs of a cell joined with a space, and the rows of a table nested in
  a cell on their own lines right after the row holding it;
- text boxes on their own lines after the paragraph they are anchored to, one copy of each;
- numbered paragraphs prefixed with the label Word shows ("2.", "b)", "4.2"), bullets with "-";
- line, page and column breaks as line breaks, no form feeds; deleted and moved-away text, field instructions,
  text formatted as hidden, and page numbers (``PAGE``/``NUMPAGES`` fields and the "Page ... of" around them in
  headers and footers) left out.

The body's headings go into the document's meta as ``headings``: ``[level, title, None, occurrence]`` in document order
(see :class:`Outline` and :func:`indexing.sections.heading_offsets`), the title being the first line the converter
writes for the heading, label included ("2.1 Scope"), white space collapsed. Paragraphs in tables, text boxes, notes,
headers and footers are not headings.
"""

import io
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from haystack import Document, component, default_from_dict, default_to_dict, logging
from haystack.dataclasses import ByteStream

from indexing.conversion import convert_sources
from indexing.sections import occurrences

if TYPE_CHECKING:
    from docx.document import Document as WordDocument

logger = logging.getLogger(__name__)

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_M = "{http://schemas.openxmlformats.org/officeDocument/2006/math}"
_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
_R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_RT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"

_P, _TBL, _TR, _TC, _R, _T = (_W + name for name in ("p", "tbl", "tr", "tc", "r", "t"))
_SDT, _SDT_CONTENT, _CUSTOM_XML = _W + "sdt", _W + "sdtContent", _W + "customXml"
_ALTERNATE, _CHOICE, _FALLBACK = _MC + "AlternateContent", _MC + "Choice", _MC + "Fallback"
_TXBX_CONTENT = _W + "txbxContent"
_FLD_SIMPLE, _FLD_CHAR, _INSTR_TEXT = _W + "fldSimple", _W + "fldChar", _W + "instrText"
_VAL = _W + "val"
#: Block-level wrappers whose paragraphs and tables Word shows (``w:ins``/``w:moveTo`` rarely wrap blocks).
_BLOCK_WRAPPERS = frozenset({_CUSTOM_XML, _W + "ins", _W + "moveTo"})
#: Inside a paragraph: removed text, properties and annotations that hold no displayed text.
_NOT_SHOWN = frozenset(
    _W + name for name in ("del", "moveFrom", "pPr", "rPr", "sdtPr", "sdtEndPr", "rt", "customXmlPr", "smartTagPr")
)
#: Runs' drawings and objects, where text boxes hang.
_GRAPHICS = frozenset({_W + "drawing", _W + "pict", _W + "object", _ALTERNATE})
_BREAKS = frozenset({_W + "br", _W + "cr"})
_TABS = frozenset({_W + "tab", _W + "ptab"})
_NOTE_REFERENCES = {_W + "footnoteReference": "footnotes", _W + "endnoteReference": "endnotes"}
_NOTE_SEPARATORS = frozenset({"separator", "continuationSeparator", "continuationNotice"})

#: Fields whose shown result is a page number: it describes one rendering of the file, not its content.
_PAGE_FIELDS = frozenset({"PAGE", "NUMPAGES", "SECTIONPAGES", "SECTION"})
_PAGE_MARK = "\x00"  # where a page number was, until its paragraph is finished
_SPACE = r"[ \t\u00a0]*"
#: Words that say "page" before a page number in a header or footer, in the languages docqa is likely to meet.
_PAGE_WORDS = "page|pages|pg|p|side|sida|sidan|seite|s|sivu|página|pagina|pág|pag|strona|str|blad|stránka|страница|стр"
#: In a header or footer: the page numbers, a "page" word before the first and short connectors ("of", "/") between.
_PAGE_NUMBERS = re.compile(
    rf"(?:\b(?:{_PAGE_WORDS})\.?{_SPACE})?{_PAGE_MARK}(?:{_SPACE}(?:[^\W\d_]{{1,4}}|/)?{_SPACE}{_PAGE_MARK})*",
    re.IGNORECASE,
)
_CUT = re.compile(r"[ \t\u00a0|·•/–—:,-]*\x01[ \t\u00a0|·•/–—:,-]*")  # separators left around removed page numbers


@component
class DOCXConverter:
    """
    Converts DOCX files to Documents holding the text Word shows, in reading order (see the module docstring).

    :param store_full_path: keep the full path in ``file_path`` (else the file name only).
    """

    def __init__(self, store_full_path: bool = True) -> None:
        self.store_full_path = store_full_path

    def to_dict(self) -> dict[str, Any]:
        """Serialize the component."""
        return default_to_dict(self, store_full_path=self.store_full_path)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "DOCXConverter":
        """Deserialize the component."""
        return default_from_dict(cls, data)

    @component.output_types(documents=list[Document])
    def run(
        self, sources: list[str | Path | ByteStream], meta: dict[str, Any] | list[dict[str, Any]] | None = None
    ) -> dict[str, list[Document]]:
        """
        Convert DOCX files; a file that cannot be read, is not a DOCX file or holds no text is left out (with a
        warning).

        :param sources: file paths or ByteStreams.
        :param meta: metadata for all documents, or one dict per source.
        :returns: ``documents``, one per file with text.
        """

        def text_of(stream: ByteStream) -> tuple[str, dict[str, Any]]:
            text, headings = read_docx(open_docx(stream.data))
            return text, {"headings": headings} if headings else {}

        return {"documents": convert_sources(sources, meta, self.store_full_path, text_of)}


def open_docx(data: bytes) -> "WordDocument":
    """
    The python-docx ``Document`` of a DOCX file's bytes. A file that links to a part it does not hold (LibreOffice
    writes a link to a bookmark, ``#license``, as an internal relationship) is opened with those links made
    external, as python-docx cannot open it otherwise.
    """
    import docx

    try:
        return docx.Document(io.BytesIO(data))
    except KeyError:
        repaired = _dangling_relationships_external(data)
        if repaired is None:
            raise
        return docx.Document(io.BytesIO(repaired))


def _dangling_relationships_external(data: bytes) -> bytes | None:
    """The package ``data`` with each internal relationship whose target it lacks marked ``TargetMode="External"``;
    None where there is none."""
    from lxml import etree

    changed = False
    output = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as package, zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as copy:
        names = set(package.namelist())
        for item in package.infolist():
            content = package.read(item)
            if item.filename.endswith(".rels"):
                base = posixpath.dirname(posixpath.dirname(item.filename))
                root = etree.fromstring(content)
                for relationship in root:
                    target = relationship.get("Target") or ""
                    if relationship.get("TargetMode") == "External":
                        continue
                    name = target.lstrip("/") if target.startswith("/") else posixpath.join(base, target)
                    if posixpath.normpath(name) not in names:
                        relationship.set("TargetMode", "External")
                        changed = True
                content = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
            copy.writestr(item, content)
    return output.getvalue() if changed else None


def docx_text(document: "WordDocument") -> str:
    """
    The text Word shows of a python-docx ``Document``: headers, footers, then the body with each note after the
    paragraph that refers to it, one paragraph a line.
    """
    return read_docx(document)[0]


def read_docx(document: "WordDocument") -> tuple[str, list[list[Any]]]:
    """The text of a python-docx ``Document`` (see :func:`docx_text`) and the ``[level, title, None, occurrence]`` of
    its body's headings, in order (see :func:`indexing.sections.heading_offsets`)."""
    part = document.part
    reader = _Reader(Numbering.of_part(part))
    body = document.element.body
    headings: list[list[Any]] = []
    outline = Outline(_related_element(part, _RT + "styles"))
    notes_at: dict[int, list[tuple[str, str]]] = {}
    lines = reader.blocks(body, _Story(), outline, headings, notes_at)  # first: the body's numbering counts first
    notes: dict[tuple[str, str], list[str]] = {}
    for reltype in ("footnotes", "endnotes"):
        notes_element = _related_element(part, _RT + reltype)
        for note in [] if notes_element is None else notes_element:
            if note.tag in (_W + "footnote", _W + "endnote") and note.get(_W + "type") not in _NOTE_SEPARATORS:
                notes[(reltype, note.get(_W + "id") or "")] = reader.blocks(note, _Story())
    running: dict[str, list[str]] = {"headerReference": [], "footerReference": []}
    for kind, element in _header_and_footer_elements(part, body):
        text = "\n".join(reader.blocks(element, _Story(running=True)))
        if text and text not in running[kind]:
            running[kind].append(text)
    lines, index_of = _with_notes(lines, notes_at, notes)
    headings = [[level, title, index_of[index]] for level, title, index in headings]
    before = [*running["headerReference"], *running["footerReference"]]
    text = "\n".join([*before, *lines])
    return text, _placed(text, headings, before, lines)


def _with_notes(
    lines: list[str], notes_at: dict[int, list[tuple[str, str]]], notes: dict[tuple[str, str], list[str]]
) -> tuple[list[str], list[int]]:
    """
    The body's ``lines`` with each note's lines inserted where ``notes_at`` first places it (before the line at that
    index) and the notes placed nowhere at the end; and the new index of each of ``lines``.

    :param notes_at: note keys by the index of the line they go before (``len(lines)``: after the last).
    :param notes: each note's lines by ``("footnotes" | "endnotes", id)``, in the file's order.
    """
    merged: list[str] = []
    index_of: list[int] = []
    placed: set[tuple[str, str]] = set()
    for index in range(len(lines) + 1):
        for key in notes_at.get(index, ()):
            if key in notes and key not in placed:
                placed.add(key)
                merged.extend(notes[key])
        if index < len(lines):
            index_of.append(len(merged))
            merged.append(lines[index])
    merged.extend(line for key, note in notes.items() if key not in placed for line in note)
    return merged, index_of


def _placed(text: str, headings: list[list[Any]], before: list[str], lines: list[str]) -> list[list[Any]]:
    """``[level, title, None, occurrence]`` of headings recorded as ``[level, title, index in lines]``, where
    ``before`` and ``lines`` begin ``text``."""
    first_line = [sum(_line_count(item) for item in before)]
    for item in lines:
        first_line.append(first_line[-1] + _line_count(item))
    numbers = [first_line[index] for _, _, index in headings]
    return [
        [level, title, None, count]
        for (level, title, _), count in zip(headings, occurrences(text, numbers), strict=True)
    ]


def _line_count(item: str) -> int:
    return max(1, len(item.splitlines()))


@dataclass
class _Field:
    """A complex field (``w:fldChar`` begin ... separate ... end) still open."""

    instruction: list[str] = field(default_factory=list)
    showing: bool = False  # past ``separate``: the result Word shows follows
    page: bool = False  # a page-number field, whose result is left out


class _Story:
    """One flow of text (the body, a header, a note, a text box) and the complex fields open in it."""

    def __init__(self, running: bool = False) -> None:
        self.running = running  # a header or footer
        self.fields: list[_Field] = []

    @property
    def hidden(self) -> bool:
        """Whether the text read now is a field's instruction or a page number, not shown text."""
        return any(not f.showing or f.page for f in self.fields)

    def field_char(self, kind: str | None, pieces: list[str]) -> None:
        if kind == "begin":
            self.fields.append(_Field())
        elif not self.fields:
            return
        elif kind == "separate":
            top = self.fields[-1]
            top.showing = True
            top.page = field_name("".join(top.instruction)) in _PAGE_FIELDS
        elif kind == "end":
            closed = self.fields.pop()
            if field_name("".join(closed.instruction)) in _PAGE_FIELDS and not self.hidden:
                pieces.append(_PAGE_MARK)

    def end_paragraph(self) -> None:
        """Close fields whose instruction is still open: a result may run on, an instruction not (a broken file)."""
        for index, open_field in enumerate(self.fields):
            if not open_field.showing:
                del self.fields[index:]
                break

    def instruction(self, text: str | None) -> None:
        if self.fields and not self.fields[-1].showing:
            self.fields[-1].instruction.append(text or "")


def field_name(instruction: str | None) -> str:
    """The field's type, upper case: ``" PAGE \\* MERGEFORMAT "`` -> ``"PAGE"``."""
    words = (instruction or "").split()
    return words[0].upper() if words else ""


class _Reader:
    """Reads paragraphs and tables into lines of text, numbering paragraphs as it goes."""

    def __init__(self, numbering: "Numbering") -> None:
        self.numbering = numbering
        self.note_references: list[tuple[str, str]] = []  # ("footnotes" | "endnotes", id) of each reference read

    def blocks(
        self,
        container: Any,
        story: _Story,
        outline: "Outline | None" = None,
        headings: list[list[Any]] | None = None,
        notes_at: dict[int, list[tuple[str, str]]] | None = None,
    ) -> list[str]:
        """
        The lines of the paragraphs and tables in ``container`` (a body, cell, note, header or text box).

        :param outline: the heading levels, to record headings.
        :param headings: where to append ``[level, title, index of its line in the lines returned]`` of each
            paragraph of ``container`` itself (not of its tables and text boxes) that ``outline`` gives a level.
        :param notes_at: where to add the notes each paragraph or table of ``container`` refers to, by the index of
            the line that follows it.
        """
        lines: list[str] = []
        for item in _block_items(container):
            references = len(self.note_references)
            if item.tag != _P:
                lines.extend(self.table(item, story))
            else:
                own, boxes = self._paragraph(item, story)
                level = None if outline is None or headings is None or not own else outline.level(item)
                if level is not None:
                    headings.append([level, " ".join(own[0].split()), len(lines)])
                lines.extend(own + boxes)
            if notes_at is not None and len(self.note_references) > references:
                notes_at.setdefault(len(lines), []).extend(self.note_references[references:])
        return lines

    def paragraph(self, paragraph: Any, story: _Story) -> list[str]:
        """A paragraph's lines (more than one at line breaks), then those of the text boxes anchored to it."""
        lines, boxes = self._paragraph(paragraph, story)
        return lines + boxes

    def _paragraph(self, paragraph: Any, story: _Story) -> tuple[list[str], list[str]]:
        label = self.numbering.label(paragraph)
        pieces: list[str] = []
        boxes: list[str] = []
        self._inline(paragraph, story, pieces, boxes)
        story.end_paragraph()
        text = "".join(pieces)
        if _PAGE_MARK in text:
            text = without_page_numbers(text, story.running)
        lines = [line.strip() for line in text.split("\n") if line.strip()]
        if lines and label:
            lines[0] = f"{label} {lines[0]}"
        return lines, boxes

    def table(self, table: Any, story: _Story) -> list[str]:
        """One ``| a | b |`` line per row, each followed by the rows of tables nested in its cells."""
        lines = []
        for row in _items(table, _TR):
            if _property(row, "trPr", "del") is not None:  # a row deleted with tracked changes
                continue
            cells: list[str] = []
            nested: list[str] = []
            for cell in _items(row, _TC):
                if _property(cell, "tcPr", "hMerge") is not None and _val(cell, "tcPr", "hMerge") != "restart":
                    continue  # legacy horizontal merge: the first cell holds the text
                if _property(cell, "tcPr", "vMerge") is not None and _val(cell, "tcPr", "vMerge") != "restart":
                    cells.append("")  # the text is in the cell above
                    continue
                texts: list[str] = []
                for item in _block_items(cell):
                    if item.tag == _P:
                        texts.extend(self.paragraph(item, story))
                    else:
                        nested.extend(self.table(item, story))
                cells.append(" ".join(texts))
            if any(cells):
                lines.append("| " + " | ".join(cells) + " |")
            lines.extend(nested)
        return lines

    def _inline(self, element: Any, story: _Story, pieces: list[str], boxes: list[str]) -> None:
        for child in element:
            tag = child.tag
            if tag == _R:
                self._run(child, story, pieces, boxes)
            elif not isinstance(tag, str) or tag in _NOT_SHOWN:  # comments, deleted text, properties
                continue
            elif tag == _FLD_SIMPLE:
                if field_name(child.get(_W + "instr")) in _PAGE_FIELDS:
                    pieces.append(_PAGE_MARK)
                else:
                    self._inline(child, story, pieces, boxes)
            elif tag == _ALTERNATE:
                branch = _chosen(child)
                if branch is not None:
                    self._inline(branch, story, pieces, boxes)
            elif tag == _M + "t":  # math
                if not story.hidden:
                    pieces.append(child.text or "")
            else:  # w:ins, w:moveTo, w:hyperlink, w:smartTag, w:customXml, w:sdt(Content), w:dir, w:bdo, m:oMath
                self._inline(child, story, pieces, boxes)

    def _run(self, run: Any, story: _Story, pieces: list[str], boxes: list[str]) -> None:
        vanish = _property(run, "rPr", "vanish")
        hidden_run = vanish is not None and vanish.get(_VAL) not in ("0", "false", "off")
        for child in run:
            tag = child.tag
            if tag == _FLD_CHAR:
                story.field_char(child.get(_W + "fldCharType"), pieces)
            elif tag == _INSTR_TEXT:
                story.instruction(child.text)
            elif hidden_run or story.hidden:
                continue
            elif tag == _T:
                pieces.append(child.text or "")
            elif tag in _TABS:
                pieces.append("\t")
            elif tag in _BREAKS:
                pieces.append("\n")
            elif tag == _W + "noBreakHyphen":
                pieces.append("-")
            elif tag == _W + "sym":
                pieces.append(symbol_text(child.get(_W + "char")))
            elif tag == _W + "pgNum":
                pieces.append(_PAGE_MARK)
            elif tag in _NOTE_REFERENCES:
                self.note_references.append((_NOTE_REFERENCES[tag], child.get(_W + "id") or ""))
            elif tag == _W + "ruby":
                base = child.find(_W + "rubyBase")
                if base is not None:
                    self._inline(base, story, pieces, boxes)
            elif tag in _GRAPHICS:
                for content in _text_box_contents(child):
                    boxes.extend(self.blocks(content, _Story(running=story.running)))
            # w:lastRenderedPageBreak, w:softHyphen, a note's own number mark and the like show no text here


def without_page_numbers(text: str, running: bool) -> str:
    """
    ``text`` without the page-number marks in it; in a header or footer ``running``, also without the "Page ... of"
    around them, so that "Page 3 of 4" goes and "Confidential | Page 3" keeps "Confidential".
    """
    if not running:
        return text.replace(_PAGE_MARK, "")
    return _CUT.sub(" ", _PAGE_NUMBERS.sub("\x01", text)).replace(_PAGE_MARK, "")


def symbol_text(code: str | None) -> str:
    """A ``w:sym`` character; one in the private-use range of a symbol font (Wingdings) has no known text."""
    try:
        char = chr(int(code or "", 16))
    except ValueError:
        return ""
    return "" if "\ue000" <= char <= "\uf8ff" else char


def _block_items(container: Any) -> Iterator[Any]:
    """The ``w:p`` and ``w:tbl`` elements of a container, through content controls and other wrappers."""
    for child in container:
        tag = child.tag
        if tag in (_P, _TBL):
            yield child
        elif tag == _SDT:
            content = child.find(_SDT_CONTENT)
            if content is not None:
                yield from _block_items(content)
        elif tag in _BLOCK_WRAPPERS:
            yield from _block_items(child)
        elif tag == _ALTERNATE:
            branch = _chosen(child)
            if branch is not None:
                yield from _block_items(branch)


def _items(parent: Any, tag: str) -> Iterator[Any]:
    """The rows of a table or the cells of a row, including those inside content controls and ``w:customXml``."""
    for child in parent:
        if child.tag == tag:
            yield child
        elif child.tag == _SDT:
            content = child.find(_SDT_CONTENT)
            if content is not None:
                yield from _items(content, tag)
        elif child.tag == _CUSTOM_XML:
            yield from _items(child, tag)


def _text_box_contents(element: Any) -> Iterator[Any]:
    """The outermost ``w:txbxContent`` in a drawing, taking one branch of each ``mc:AlternateContent``."""
    if element.tag == _TXBX_CONTENT:
        yield element
        return
    if element.tag == _ALTERNATE:
        branch = _chosen(element)
        children = [] if branch is None else [branch]
    else:
        children = element
    for child in children:
        if isinstance(child.tag, str):
            yield from _text_box_contents(child)


def _chosen(alternate: Any) -> Any:
    """The branch of ``mc:AlternateContent`` to read: the first ``mc:Choice`` (Word's own), else the fallback."""
    choice = alternate.find(_CHOICE)
    return choice if choice is not None else alternate.find(_FALLBACK)


def _property(element: Any, properties: str, name: str) -> Any:
    found = element.find(_W + properties)
    return None if found is None else found.find(_W + name)


def _val(element: Any, properties: str, name: str) -> str | None:
    found = _property(element, properties, name)
    return None if found is None else found.get(_VAL)


def _related_element(part: Any, reltype: str) -> Any:
    """The XML root of the part ``part`` relates to by ``reltype``; None when there is none or it is not XML."""
    try:
        return _part_element(part.part_related_by(reltype))
    except KeyError:
        return None


def _part_element(part: Any) -> Any:
    from docx.oxml import parse_xml

    element = getattr(part, "element", None)
    if element is not None:
        return element
    try:
        return parse_xml(part.blob)
    except Exception as error:  # the rest of the file is still worth reading
        logger.warning("Skipping the unreadable part {name}: {error}", name=part.partname, error=error)
        return None


def _header_and_footer_elements(part: Any, body: Any) -> Iterator[tuple[str, Any]]:
    """``("headerReference" | "footerReference", root)`` of each header and footer the sections use, in order."""
    seen = set()
    for section in body.iter(_W + "sectPr"):
        for reference in section:
            kind = reference.tag.removeprefix(_W) if isinstance(reference.tag, str) else ""
            rid = reference.get(_R_ID)
            if kind not in ("headerReference", "footerReference") or rid in seen:
                continue
            seen.add(rid)
            target = part.rels.get(rid)
            if target is None or target.is_external:
                continue
            element = _part_element(target.target_part)
            if element is not None:
                yield kind, element


# ------------------------------------------------------------------------------------------------ headings

_HEADING_NAME = re.compile(r"heading\s*([1-9])", re.IGNORECASE)
#: What ``w:outlineLvl`` 9 gives: body text, even in a style based on a heading style.
BODY_TEXT = -1


class Outline:
    """
    The heading levels of paragraphs, from ``styles.xml``: a smaller level is higher in the outline.

    A paragraph's own outline level (``w:outlineLvl`` n, 0-8, in its properties) gives level n + 1; else the first of
    its style (the default paragraph style where it names none) and the styles that one is based on that says: a
    style named "Title" gives 0, "heading N" gives N, one with outline level n gives n + 1. Outline level 9 is body
    text (Word's "TOC Heading" is based on "heading 1" with it), and so is a paragraph no style gives a level.
    """

    def __init__(self, styles: Any = None) -> None:
        self.levels: dict[str, int] = {}
        self.default_style: str | None = None
        try:
            self._read_styles(styles)
        except Exception as error:  # headings are a nicety: the text is read without them
            logger.debug("Ignoring unreadable paragraph styles: {error}", error=error)
            self.levels = {}

    def _read_styles(self, styles: Any) -> None:
        if styles is None:
            return
        declared: dict[str, tuple[str | None, int | None]] = {}  # basedOn, own level
        for style in styles.iter(_W + "style"):
            style_id = style.get(_W + "styleId")
            if style.get(_W + "type") != "paragraph" or not style_id:
                continue
            if style.get(_W + "default") in ("1", "true", "on"):
                self.default_style = style_id
            name = " ".join((_child_val(style, "name") or "").split())
            heading = _HEADING_NAME.fullmatch(name)
            if name.casefold() == "title":
                level = 0
            elif heading:
                level = int(heading.group(1))
            else:
                level = outline_level(_val(style, "pPr", "outlineLvl"))
            declared[style_id] = (_child_val(style, "basedOn"), level)
        for style_id in declared:
            current: str | None = style_id
            for _ in range(20):  # a cycle of basedOn stops here
                if current not in declared:
                    break
                current, level = declared[current]
                if level is not None:
                    if level != BODY_TEXT:
                        self.levels[style_id] = level
                    break

    def level(self, paragraph: Any) -> int | None:
        """The heading level of ``paragraph`` (a ``w:p``), None for body text."""
        own = outline_level(_val(paragraph, "pPr", "outlineLvl"))
        if own is not None:
            return None if own == BODY_TEXT else own
        style = _val(paragraph, "pPr", "pStyle") or self.default_style
        return self.levels.get(style) if style else None


def outline_level(value: str | None) -> int | None:
    """The heading level of a ``w:outlineLvl`` value: n + 1 for 0-8, :data:`BODY_TEXT` for 9, None for none or
    another value."""
    level = _int(value, None)
    if level == 9:
        return BODY_TEXT
    return level + 1 if level is not None and 0 <= level <= 8 else None


# ------------------------------------------------------------------------------------------------ numbering


@dataclass
class _Level:
    """One level of a numbering definition (``w:lvl``)."""

    format: str = "decimal"
    text: str | None = None  # the label template, "%1." or "%1.%2"
    start: int = 1
    restart: int | None = None  # restart after a use of a level before this one-based level; 0: never; None: any
    legal: bool = False  # w:isLgl: all numbers in the label as decimals
    style: str | None = None  # a paragraph style this level is linked to

    @classmethod
    def of(cls, lvl: Any, base: "_Level | None" = None) -> "_Level":
        level = _Level() if base is None else _Level(**base.__dict__)
        for child in lvl:
            value = child.get(_VAL)
            name = child.tag.removeprefix(_W) if isinstance(child.tag, str) else ""
            if name == "numFmt":
                level.format = value or "decimal"
            elif name == "lvlText":
                level.text = value
            elif name == "start":
                level.start = _int(value, 1)
            elif name == "lvlRestart":
                level.restart = _int(value, None)
            elif name == "isLgl":
                level.legal = value not in ("0", "false", "off")
            elif name == "pStyle":
                level.style = value
        return level


class Numbering:
    """
    The labels of automatically numbered paragraphs, from ``numbering.xml`` and the paragraph styles.

    Counters are kept per list (``w:numId``) and level; using a level restarts the deeper ones. Only the common
    formats are written (decimal, letters, roman numerals, ordinals; bullets as "-"): other formats, and anything
    odd in the numbering definitions, give no label.
    """

    def __init__(self, numbering: Any = None, styles: Any = None) -> None:
        self.lists: dict[str, dict[int, _Level]] = {}
        self.style_numbering: dict[str, tuple[str | None, int | None]] = {}
        self.list_styles: dict[str, str | None] = {}
        self.default_style: str | None = None
        self.counters: dict[str, dict[int, int]] = {}
        try:
            self._read_styles(styles)
            self._read_numbering(numbering)
        except Exception as error:  # numbering is a nicety: the text is read without labels
            logger.warning("Ignoring unreadable list numbering: {error}", error=error)
            self.lists, self.style_numbering = {}, {}

    @classmethod
    def of_part(cls, part: Any) -> "Numbering":
        """The numbering of a python-docx document part."""
        return cls(_related_element(part, _RT + "numbering"), _related_element(part, _RT + "styles"))

    def _read_styles(self, styles: Any) -> None:
        if styles is None:
            return
        declared: dict[str, tuple[str | None, str | None, int | None]] = {}
        for style in styles.iter(_W + "style"):
            style_id = style.get(_W + "styleId")
            if style.get(_W + "type") == "numbering" and style_id:  # a list style, which abstractNums link to
                num_pr = _property(style, "pPr", "numPr")
                self.list_styles[style_id] = None if num_pr is None else _child_val(num_pr, "numId")
            if style.get(_W + "type") != "paragraph" or not style_id:
                continue
            if style.get(_W + "default") in ("1", "true", "on"):
                self.default_style = style_id
            based_on = style.find(_W + "basedOn")
            num_pr = _property(style, "pPr", "numPr")
            num_id = ilvl = None
            if num_pr is not None:
                num_id = _child_val(num_pr, "numId")
                ilvl = _int(_child_val(num_pr, "ilvl"), None)
            declared[style_id] = (None if based_on is None else based_on.get(_VAL), num_id, ilvl)
        for style_id in declared:
            num_id = ilvl = None
            current: str | None = style_id
            for _ in range(20):  # styles inherit numbering through basedOn; a cycle stops here
                if current not in declared:
                    break
                based_on, own_id, own_ilvl = declared[current]
                num_id = own_id if num_id is None else num_id
                ilvl = own_ilvl if ilvl is None else ilvl
                current = based_on
            if num_id is not None:
                self.style_numbering[style_id] = (num_id, ilvl)

    def _read_numbering(self, numbering: Any) -> None:
        if numbering is None:
            return
        abstracts: dict[str, Any] = {}
        for abstract in numbering.findall(_W + "abstractNum"):
            abstracts[abstract.get(_W + "abstractNumId")] = abstract
        nums = {num.get(_W + "numId"): num for num in numbering.findall(_W + "num")}
        for num_id, num in nums.items():
            abstract = abstracts.get(_child_val(num, "abstractNumId"))
            if abstract is None:
                continue
            link = _child_val(abstract, "numStyleLink")
            if link and abstract.find(_W + "lvl") is None:
                # the levels are defined in the list of the list style linked to
                linked = nums.get(self.list_styles.get(link))
                abstract = abstracts.get(_child_val(linked, "abstractNumId")) if linked is not None else None
                if abstract is None:
                    continue
            levels = {_int(lvl.get(_W + "ilvl"), 0): _Level.of(lvl) for lvl in abstract.findall(_W + "lvl")}
            for override in num.findall(_W + "lvlOverride"):
                ilvl = _int(override.get(_W + "ilvl"), 0)
                lvl = override.find(_W + "lvl")
                if lvl is not None:
                    levels[ilvl] = _Level.of(lvl, levels.get(ilvl))
                start = _child_val(override, "startOverride")
                if start is not None and ilvl in levels:
                    levels[ilvl].start = _int(start, 1)
            self.lists[num_id] = levels

    def label(self, paragraph: Any) -> str:
        """The label Word shows before ``paragraph`` ("" for none), counting it; never raises."""
        try:
            return self._label(paragraph)
        except Exception:
            return ""

    def _label(self, paragraph: Any) -> str:
        if not self.lists:
            return ""
        num_id = ilvl = style = None
        properties = paragraph.find(_W + "pPr")
        if properties is not None:
            if _property(properties, "rPr", "del") is not None:
                return ""  # a paragraph mark deleted with tracked changes: it joins the next, not numbered
            num_pr = properties.find(_W + "numPr")
            if num_pr is not None:
                num_id = _child_val(num_pr, "numId")
                ilvl = _int(_child_val(num_pr, "ilvl"), None)
            style = _child_val(properties, "pStyle")
        style = style or self.default_style
        if num_id is None and style in self.style_numbering:
            num_id, style_ilvl = self.style_numbering[style]
            ilvl = style_ilvl if ilvl is None else ilvl
        levels = self.lists.get(num_id or "0")
        if not levels:  # numId 0 switches numbering off
            return ""
        if ilvl is None:
            ilvl = next((i for i, level in sorted(levels.items()) if style and level.style == style), 0)
        level = levels.get(ilvl)
        if level is None:
            return ""
        counters = self.counters.setdefault(num_id, {})
        counters[ilvl] = counters.get(ilvl, level.start - 1) + 1
        for deeper in [i for i in counters if i > ilvl]:
            limit = levels[deeper].restart if deeper in levels and levels[deeper].restart is not None else deeper
            if ilvl < limit:
                del counters[deeper]
        if level.format == "bullet":
            return "-"
        if level.text is None:
            return ""

        def number(match: re.Match[str]) -> str:
            index = int(match.group(1)) - 1
            referenced = levels.get(index, _Level())
            value = counters.get(index, referenced.start)
            return format_number(value, "decimal" if level.legal else referenced.format)

        return re.sub(r"%([1-9])", number, level.text).strip()


def format_number(value: int, number_format: str) -> str:
    """``value`` written in a Word number format (``w:numFmt``); ValueError for formats not handled."""
    if number_format in ("decimal", "decimalZero"):
        return f"{value:02d}" if number_format == "decimalZero" else str(value)
    if number_format == "none":
        return ""
    if value < 1:
        return str(value)
    if number_format in ("lowerLetter", "upperLetter"):
        letters = chr(ord("a") + (value - 1) % 26) * ((value - 1) // 26 + 1)  # Word: y, z, aa, bb
        return letters.upper() if number_format == "upperLetter" else letters
    if number_format in ("lowerRoman", "upperRoman"):
        roman = _roman(value)
        return roman.lower() if number_format == "lowerRoman" else roman
    if number_format == "ordinal":
        suffix = "th" if value % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(value % 10, "th")
        return f"{value}{suffix}"
    raise ValueError(f"number format {number_format!r}")


def _roman(value: int) -> str:
    if value >= 4000:
        return str(value)
    numerals = []
    for amount, numeral in (
        (1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
        (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"),
    ):  # fmt: skip
        count, value = divmod(value, amount)
        numerals.append(numeral * count)
    return "".join(numerals)


def _child_val(element: Any, name: str) -> str | None:
    found = element.find(_W + name)
    return None if found is None else found.get(_VAL)


def _int(value: str | None, default: Any) -> Any:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default
