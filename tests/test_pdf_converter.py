"""The PDF converter: Haystack's text plus the values filled into form fields, page by page."""

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from haystack.components.converters.pypdf import PyPDFToDocument
from pypdf import PdfWriter
from pypdf.constants import PageLabelStyle
from pypdf.generic import ArrayObject, DictionaryObject, FloatObject, NameObject, NullObject, TextStringObject

from indexing.pdf_converter import PDFConverter, form_fields, outline_headings

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("make_sample_documents", ROOT / "scripts/make_sample_documents.py")
samples = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(samples)


def _value(value):
    if isinstance(value, list):
        return ArrayObject(TextStringObject(v) for v in value)
    return NameObject(value) if value.startswith("/") else TextStringObject(value)


def widget(name: str | None = None, value: str | list | None = None, **more) -> DictionaryObject:
    fields = {
        NameObject("/Type"): NameObject("/Annot"),
        NameObject("/Subtype"): NameObject("/Widget"),
        NameObject("/Rect"): ArrayObject([FloatObject(300), FloatObject(700), FloatObject(500), FloatObject(720)]),
    }
    if name is not None:
        fields[NameObject("/T")] = TextStringObject(name)
    if value is not None:
        fields[NameObject("/V")] = _value(value)
    for key, item in more.items():
        fields[NameObject(f"/{key}")] = item if not isinstance(item, str) else TextStringObject(item)
    return DictionaryObject(fields)


def form_pdf(tmp_path: Path, pages: list[list[str]], widgets: dict[int, list[DictionaryObject]]) -> Path:
    plain = samples.write_text_pdf(tmp_path / "plain.pdf", pages)
    writer = PdfWriter(clone_from=str(plain))
    for page_index, annotations in widgets.items():
        page = writer.pages[page_index]
        page[NameObject("/Annots")] = ArrayObject(writer._add_object(a) for a in annotations)
    path = tmp_path / "form.pdf"
    with open(path, "wb") as handle:
        writer.write(handle)
    return path


def convert(path: Path) -> str:
    return PDFConverter().run(sources=[path])["documents"][0].content


def test_filled_fields_follow_their_page_text_by_tooltip_or_name(tmp_path):
    path = form_pdf(
        tmp_path,
        [["Leave application form", "Employee name:"], ["Approval", "Approved by:"]],
        {0: [widget("employee", "Tuva Lindqvist", TU="Employee name")], 1: [widget("approver", "Nils Aas")]},
    )
    first, second = convert(path).split("\f")
    assert first.endswith("Employee name:\nEmployee name: Tuva Lindqvist")
    assert second.endswith("Approved by:\napprover: Nils Aas")


def test_boxes_lists_parents_and_values_already_on_the_page(tmp_path):
    parent = DictionaryObject(
        {NameObject("/T"): TextStringObject("site"), NameObject("/V"): TextStringObject("Harbour depot")}
    )
    kid = widget()
    kid[NameObject("/Parent")] = parent
    path = form_pdf(
        tmp_path,
        [["Order form", "Printed value: 42 crates"]],
        {
            0: [
                widget("member", "/Yes"),
                widget("newsletter", "/Off"),
                widget("quantity", "42 crates"),
                widget("colours", ["red", "blue"]),
                widget("empty", ""),
                kid,
            ]
        },
    )
    lines = convert(path).split("\n")
    assert lines[-3:] == ["member: Yes", "colours: red, blue", "site: Harbour depot"]
    assert not any(line.startswith(("newsletter", "quantity", "empty")) for line in lines)


def test_without_forms_the_text_is_haystacks(tmp_path):
    path = samples.write_text_pdf(tmp_path / "report.pdf", [["First page text."], [], ["Third page text."]])
    assert convert(path) == PyPDFToDocument().run(sources=[path])["documents"][0].content
    assert convert(path).count("\f") == 2


def test_malformed_annotations_keep_the_page_text(tmp_path):
    path = form_pdf(
        tmp_path, [["Only text here."]], {0: [DictionaryObject({NameObject("/Subtype"): NameObject("/X")})]}
    )
    assert convert(path).strip() == "Only text here."
    assert form_fields({"/Annots": [object()]}) == []


def test_round_trip_keeps_every_parameter():
    converter = PDFConverter(store_full_path=True, extraction_mode="layout", plain_mode_space_width=150.0)
    data = yaml.safe_load(yaml.safe_dump(converter.to_dict()))
    assert data["type"] == "indexing.pdf_converter.PDFConverter"
    again = PDFConverter.from_dict(yaml.safe_load(yaml.safe_dump(converter.to_dict())))
    assert yaml.safe_load(yaml.safe_dump(again.to_dict())) == data
    assert again.store_full_path is True and again.plain_mode_space_width == 150.0


def test_short_values_are_written_even_where_the_page_seems_to_show_them(tmp_path):
    path = form_pdf(
        tmp_path,
        [["Year 2025", "Children: Yes/No", "Route TR-15", "Driver: Ola Berg"]],
        {
            0: [
                widget("children_count", "5"),
                widget("children", "No"),
                widget("route", "TR"),
                widget("driver", "Ola Berg"),
            ]
        },
    )
    lines = convert(path).split("\n")
    assert lines[-3:] == ["children_count: 5", "children: No", "route: TR"]
    assert not any(line.startswith("driver:") for line in lines), "a long value the page shows is not repeated"


def labelled_pdf(tmp_path: Path) -> Path:
    plain = samples.write_text_pdf(
        tmp_path / "plain.pdf",
        [["Contents and preface."], ["Foreword by the board."], ["The pension fund's manager is Solveig Bakke."]],
    )
    writer = PdfWriter(clone_from=str(plain))
    writer.set_page_label(0, 1, style=PageLabelStyle.LOWERCASE_ROMAN)
    writer.set_page_label(2, 2, style=PageLabelStyle.DECIMAL)
    path = tmp_path / "report.pdf"
    with open(path, "wb") as handle:
        writer.write(handle)
    return path


def test_printed_page_labels_are_kept_where_they_differ_from_the_positions(tmp_path):
    documents = PDFConverter().run(sources=[labelled_pdf(tmp_path), tmp_path / "plain.pdf"])["documents"]
    assert [d.meta.get("page_labels") for d in documents] == [["i", "ii", "1"], None]
    assert documents[0].content.split("\f")[2].strip() == "The pension fund's manager is Solveig Bakke."
    assert "page_labels" not in PyPDFToDocument().run(sources=[tmp_path / "report.pdf"])["documents"][0].meta


def test_a_pdf_labelled_by_position_gets_no_labels(tmp_path):
    plain = samples.write_text_pdf(tmp_path / "plain.pdf", [["One."], ["Two."]])
    writer = PdfWriter(clone_from=str(plain))
    writer.set_page_label(0, 1, style=PageLabelStyle.DECIMAL)
    with open(tmp_path / "decimal.pdf", "wb") as handle:
        writer.write(handle)
    assert "page_labels" not in PDFConverter().run(sources=[tmp_path / "decimal.pdf"])["documents"][0].meta


def outlined_pdf(tmp_path: Path) -> Path:
    plain = samples.write_text_pdf(
        tmp_path / "plain.pdf",
        [
            ["Staff handbook", "1 Leave"],
            ["1.1 Parental leave", "Twelve weeks."],
            ["1.1.1 Adoption", "2 Travel", "Economy class."],
        ],
    )
    writer = PdfWriter(clone_from=str(plain))
    leave = writer.add_outline_item(title="1  Leave", page_number=0)
    parental = writer.add_outline_item(title="1.1 Parental leave", page_number=1, parent=leave)
    writer.add_outline_item(title="1.1.1 Adoption", page_number=2, parent=parental)
    broken = writer.add_outline_item(title="Removed appendix", page_number=2, parent=leave)
    broken.get_object()["/A"].get_object()[NameObject("/D")] = ArrayObject([NullObject(), NameObject("/Fit")])
    writer.add_outline_item(title="", page_number=2)
    writer.add_outline_item(title="2 Travel", page_number=2)
    path = tmp_path / "handbook.pdf"
    with open(path, "wb") as handle:
        writer.write(handle)
    return path


def test_the_outline_gives_headings_with_levels_and_pages(tmp_path):
    [document] = PDFConverter().run(sources=[outlined_pdf(tmp_path)])["documents"]
    assert document.meta["headings"] == [
        [1, "1 Leave", 1],
        [2, "1.1 Parental leave", 2],
        [3, "1.1.1 Adoption", 3],
        [1, "2 Travel", 3],
    ]
    pages = document.content.split("\f")
    assert len(pages) == 3 and "Economy class." in pages[2]
    assert "headings" not in PyPDFToDocument().run(sources=[tmp_path / "handbook.pdf"])["documents"][0].meta


def test_a_pdf_without_an_outline_gets_no_headings(tmp_path):
    documents = PDFConverter().run(sources=[outlined_pdf(tmp_path), tmp_path / "plain.pdf"])["documents"]
    assert ["headings" in document.meta for document in documents] == [True, False]
    assert documents[1].content.split("\f")[0].strip() == "Staff handbook\n1 Leave"


class OutlineReader:
    """A pypdf reader's outline API, with items that are ``(title, page index)`` and indexes that raise."""

    def __init__(self, outline):
        self._outline = outline
        self.pages = [object(), object()]

    @property
    def outline(self):
        if isinstance(self._outline, Exception):
            raise self._outline
        return self._outline

    def get_destination_page_number(self, item):
        if isinstance(item.page, Exception):
            raise item.page
        return item.page


def test_unreadable_outline_items_are_skipped_and_an_unreadable_outline_keeps_the_text(tmp_path):
    def item(title, page):
        return SimpleNamespace(title=title, page=page)

    outline = [
        item("Leave", 0),
        [item("Broken", KeyError("/D")), item("Past the end", 7), item("Parental \n leave", 1), item("No page", None)],
        item(None, 1),
    ]
    assert outline_headings(OutlineReader(outline)) == [[1, "Leave", 1], [2, "Parental leave", 2]]
    assert outline_headings(OutlineReader(ValueError("a broken /Outlines"))) is None
    plain = samples.write_text_pdf(tmp_path / "plain.pdf", [["Only text here."]])
    writer = PdfWriter(clone_from=str(plain))
    writer.root_object[NameObject("/Outlines")] = DictionaryObject(
        {NameObject("/First"): TextStringObject("not an outline item")}
    )
    with open(tmp_path / "broken.pdf", "wb") as handle:
        writer.write(handle)
    [document] = PDFConverter().run(sources=[tmp_path / "broken.pdf"])["documents"]
    assert document.content.strip() == "Only text here."
    assert "headings" not in document.meta
