"""docqa's DOCX converter: the text Word shows, where Haystack's ``DOCXToDocument`` loses some (see the module
docstring of indexing/docx_converter.py), and the same paragraph text as Haystack's on ordinary documents."""

import logging
import zipfile
from collections.abc import Callable
from pathlib import Path

import docx
import pytest
import yaml
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_BREAK
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from haystack import Document, Pipeline
from haystack.components.converters import DOCXToDocument
from haystack.dataclasses import ByteStream

from docqa.pipelines import ALLOWED_MODULES
from indexing.docx_converter import BODY_TEXT, DOCXConverter, format_number, outline_level, without_page_numbers
from indexing.sections import section_starts

pytestmark = pytest.mark.unit
W = nsdecls("w")
ALL = nsdecls("w", "wp", "a", "r") + (
    ' xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'
    ' xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape"'
    ' xmlns:v="urn:schemas-microsoft-com:vml"'
)
NOTES_CT = "application/vnd.openxmlformats-officedocument.wordprocessingml.{kind}+xml"


def _converted(tmp_path: Path, build: Callable[[docx.document.Document], None], name: str = "test.docx") -> Document:
    """Build a document with ``build``, save it and return the converter's Document."""
    document = docx.Document()
    build(document)
    path = tmp_path / name
    document.save(path)
    [converted] = DOCXConverter().run([path])["documents"]
    assert "\f" not in converted.content
    return converted


def _convert(tmp_path: Path, build: Callable[[docx.document.Document], None], name: str = "test.docx") -> str:
    """Build a document with ``build``, save it and return the converter's text."""
    return _converted(tmp_path, build, name).content


def _append(paragraph, xml: str) -> None:
    paragraph._p.append(parse_xml(xml))


def _run(text: str) -> str:
    return f'<w:r {W}><w:t xml:space="preserve">{text}</w:t></w:r>'


def _field(instruction: str, result: str) -> str:
    """A complex field as runs: begin, instruction, separate, shown result, end."""
    return (
        f'<w:r {W}><w:fldChar w:fldCharType="begin"/></w:r>'
        f'<w:r {W}><w:instrText xml:space="preserve">{instruction}</w:instrText></w:r>'
        f'<w:r {W}><w:fldChar w:fldCharType="separate"/></w:r>'
        + _run(result)
        + f'<w:r {W}><w:fldChar w:fldCharType="end"/></w:r>'
    )


def _append_runs(paragraph, xml: str) -> None:
    for element in list(parse_xml(f"<w:x {W}>{xml}</w:x>")):
        paragraph._p.append(element)


def _add_part(document, name: str, kind: str, xml: str) -> None:
    """Add an XML part python-docx does not make (footnotes, endnotes), related from the document part."""
    part = Part(PackURI(f"/word/{name}.xml"), NOTES_CT.format(kind=kind), xml.encode(), document.part.package)
    document.part.relate_to(part, getattr(RT, kind.upper()))


# ------------------------------------------------------------------------------------------------ paragraph text


def test_tracked_insertions_and_moves_are_kept_and_deletions_dropped(tmp_path):
    def build(document):
        p = document.add_paragraph("The warranty period is ")
        _append(p, f'<w:del {W} w:id="1" w:author="L"><w:r><w:delText>12 months</w:delText></w:r></w:del>')
        _append(p, f'<w:ins {W} w:id="2" w:author="L"><w:r><w:t>24 months</w:t></w:r></w:ins>')
        p.add_run(" from delivery.")
        p = document.add_paragraph("Returns go to ")
        _append(p, f'<w:moveFrom {W} w:id="3" w:author="L"><w:r><w:t>Oslo</w:t></w:r></w:moveFrom>')
        _append(p, f'<w:moveTo {W} w:id="4" w:author="L"><w:r><w:t>Bergen</w:t></w:r></w:moveTo>')
        p.add_run(".")

    assert _convert(tmp_path, build) == "The warranty period is 24 months from delivery.\nReturns go to Bergen."


def test_content_controls_and_custom_xml_are_read_at_block_and_run_level(tmp_path):
    def build(document):
        document.add_paragraph("Incident report form.")
        body = document.element.body
        sdt = (
            f'<w:sdt {W}><w:sdtPr><w:alias w:val="Summary"/></w:sdtPr><w:sdtContent>'
            "<w:p><w:r><w:t>The forklift hit rack 17.</w:t></w:r></w:p></w:sdtContent></w:sdt>"
        )
        body.insert(len(body) - 1, parse_xml(sdt))
        custom = f'<w:customXml {W} w:element="notes"><w:p><w:r><w:t>Nobody was hurt.</w:t></w:r></w:p></w:customXml>'
        body.insert(len(body) - 1, parse_xml(custom))
        p = document.add_paragraph("Reported by: ")
        _append(p, f"<w:sdt {W}><w:sdtPr/><w:sdtContent><w:r><w:t>Jonas Berg</w:t></w:r></w:sdtContent></w:sdt>")

    assert _convert(tmp_path, build) == (
        "Incident report form.\nThe forklift hit rack 17.\nNobody was hurt.\nReported by: Jonas Berg"
    )


def test_runs_inside_hyperlinks_smart_tags_custom_xml_and_simple_fields_are_kept(tmp_path):
    def build(document):
        p = document.add_paragraph("Approved by ")
        _append(p, f'<w:fldSimple {W} w:instr=" DOCPROPERTY Approver ">{_run("Nina Holm")}</w:fldSimple>')
        p.add_run(", see ")
        _append(p, f'<w:hyperlink {W} w:anchor="rules">{_run("the rules")}</w:hyperlink>')
        p.add_run(", in ")
        _append(p, f'<w:smartTag {W} w:element="City">{_run("Trondheim")}</w:smartTag>')
        p.add_run(": ")
        _append(p, f'<w:customXml {W} w:element="hazard">{_run("flammable")}</w:customXml>')

    assert _convert(tmp_path, build) == "Approved by Nina Holm, see the rules, in Trondheim: flammable"


def test_complex_fields_show_their_result_not_their_instruction(tmp_path):
    def build(document):
        p = document.add_paragraph("Approved by ")
        _append_runs(p, _field(" DOCPROPERTY Approver ", "Nina Holm"))
        p.add_run(" (see ")
        _append_runs(p, _field(" REF clause_4 \\h ", "clause 4"))
        p.add_run(").")
        # a field nested in another's instruction: only the outer result shows
        p = document.add_paragraph("Status: ")
        _append_runs(
            p,
            f'<w:r {W}><w:fldChar w:fldCharType="begin"/></w:r>'
            f'<w:r {W}><w:instrText xml:space="preserve"> IF </w:instrText></w:r>'
            + _field(" MERGEFIELD Paid ", "yes")
            + f'<w:r {W}><w:instrText xml:space="preserve"> = "yes" "settled" "open" </w:instrText></w:r>'
            f'<w:r {W}><w:fldChar w:fldCharType="separate"/></w:r>'
            + _run("settled")
            + f'<w:r {W}><w:fldChar w:fldCharType="end"/></w:r>',
        )
        # a result running over paragraphs (a table of contents), with page references in it
        p = document.add_paragraph()
        _append_runs(
            p,
            f'<w:r {W}><w:fldChar w:fldCharType="begin"/></w:r>'
            f'<w:r {W}><w:instrText xml:space="preserve"> TOC \\o "1-3" </w:instrText></w:r>'
            f'<w:r {W}><w:fldChar w:fldCharType="separate"/></w:r>'
            + _run("Introduction\t")
            + _field(" PAGEREF _T1 ", "2"),
        )
        p = document.add_paragraph("Scope\t")
        _append_runs(p, _field(" PAGEREF _T2 ", "5") + f'<w:r {W}><w:fldChar w:fldCharType="end"/></w:r>')
        # a broken field, never separated nor ended, hides nothing past its paragraph
        p = document.add_paragraph("Broken ")
        _append_runs(p, f'<w:r {W}><w:fldChar w:fldCharType="begin"/></w:r>' + _run("instruction?"))
        document.add_paragraph("Still shown.")

    assert _convert(tmp_path, build) == (
        "Approved by Nina Holm (see clause 4).\nStatus: settled\nIntroduction\t2\nScope\t5\nBroken\nStill shown."
    )


def test_tabs_breaks_and_special_characters(tmp_path):
    def build(document):
        p = document.add_paragraph("Name:")
        _append(p, f"<w:r {W}><w:tab/><w:t>Kari</w:t></w:r>")
        p = document.add_paragraph("The lease ends on 31 May.")
        p.add_run().add_break(WD_BREAK.PAGE)
        p.add_run("Keys are returned to the office.")
        p = document.add_paragraph("Address line one")
        p.add_run().add_break()
        p.add_run("Industriveien 9")
        _append(p, f"<w:r {W}><w:cr/><w:t>1337 Sandvika</w:t></w:r>")
        p = document.add_paragraph("The fee is ")
        _append(p, f'<w:r {W}><w:lastRenderedPageBreak/><w:t xml:space="preserve">EUR 18,250.</w:t></w:r>')
        p = document.add_paragraph()
        _append(p, f"<w:r {W}><w:t>Call 555</w:t><w:noBreakHyphen/><w:t>0199 about de</w:t><w:softHyphen/></w:r>")
        p._p[-1].append(parse_xml(f'<w:t {W} xml:space="preserve">commissioning, 20 </w:t>'))
        p._p[-1].append(parse_xml(f'<w:sym {W} w:font="Symbol" w:char="00B0"/>'))
        p._p[-1].append(parse_xml(f'<w:sym {W} w:font="Wingdings" w:char="F0FC"/>'))
        p._p[-1].append(parse_xml(f"<w:t {W}>C.</w:t>"))

    assert _convert(tmp_path, build) == (
        "Name:\tKari\n"
        "The lease ends on 31 May.\nKeys are returned to the office.\n"
        "Address line one\nIndustriveien 9\n1337 Sandvika\n"
        "The fee is EUR 18,250.\n"
        "Call 555-0199 about decommissioning, 20 °C."
    )


def test_hidden_text_is_left_out(tmp_path):
    def build(document):
        p = document.add_paragraph("Open to ")
        _append(p, f"<w:r {W}><w:rPr><w:vanish/></w:rPr><w:t>internal draft note </w:t></w:r>")
        p.add_run("all staff.")

    assert _convert(tmp_path, build) == "Open to all staff."


def test_text_boxes_come_out_once_after_their_paragraph(tmp_path):
    box = "<w:txbxContent><w:p><w:r><w:t>{}</w:t></w:r></w:p></w:txbxContent>"
    drawing = (
        '<w:drawing><wp:anchor><wp:extent cx="1" cy="1"/><wp:docPr id="1" name="Box"/><a:graphic>'
        '<a:graphicData uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape"><wps:wsp><wps:txbx>'
        + box.format("Fire exit is at the west stair.")
        + "</wps:txbx></wps:wsp></a:graphicData></a:graphic></wp:anchor></w:drawing>"
    )
    vml = "<w:pict><v:shape><v:textbox>{}</v:textbox></v:shape></w:pict>"

    def build(document):
        p = document.add_paragraph("Plant overview.")
        fallback = vml.format(box.format("Fire exit is at the west stair."))
        alternate = (
            f'<mc:AlternateContent><mc:Choice Requires="wps">{drawing}</mc:Choice>'
            f"<mc:Fallback>{fallback}</mc:Fallback></mc:AlternateContent>"
        )
        _append(p, f"<w:r {ALL}>{alternate}</w:r>")
        p.add_run(" Visitors sign in.")
        p = document.add_paragraph()
        _append(p, f"<w:r {ALL}>{vml.format(box.format('Shut-off valve behind panel C4.'))}</w:r>")

    assert _convert(tmp_path, build) == (
        "Plant overview. Visitors sign in.\nFire exit is at the west stair.\nShut-off valve behind panel C4."
    )


# ------------------------------------------------------------------------------------------------ tables


def test_tables_are_rows_of_cells_with_merges_written_once_and_nested_tables_kept(tmp_path):
    def build(document):
        table = document.add_table(rows=4, cols=3)
        for column, text in enumerate(["Date", "Invoice", "Amount"]):
            table.cell(0, column).text = text
        table.cell(1, 0).text = "3 May"
        table.cell(1, 1).text = "INV-7"
        table.cell(1, 2).text = "1,200 NOK"
        table.cell(1, 2).add_paragraph("paid")
        table.cell(1, 0).merge(table.cell(2, 0))  # vertical merge: the continuation cell stays empty
        table.cell(2, 1).text = "INV-8"
        table.cell(2, 2).text = "300 NOK"
        total = table.cell(3, 0).merge(table.cell(3, 1))  # horizontal merge (gridSpan): written once
        total.text = "Total"
        table.cell(3, 2).text = "1,500 NOK"
        outer = document.add_table(rows=1, cols=2)
        outer.cell(0, 0).text = "Warehouse North"
        inner = outer.cell(0, 1).add_table(rows=2, cols=2)
        inner.cell(0, 0).text = "Site manager"
        inner.cell(0, 1).text = "Hedda Strand"
        inner.cell(1, 0).text = "Extension"
        inner.cell(1, 1).text = "4471"
        document.add_paragraph("After the tables.")

    assert _convert(tmp_path, build) == (
        "| Date | Invoice | Amount |\n"
        "| 3 May | INV-7 | 1,200 NOK paid |\n"
        "|  | INV-8 | 300 NOK |\n"
        "| Total | 1,500 NOK |\n"
        "| Warehouse North |  |\n"
        "| Site manager | Hedda Strand |\n"
        "| Extension | 4471 |\n"
        "After the tables."
    )


# ------------------------------------------------------------------------------------------------ numbering

ABSTRACT = (
    f'<w:abstractNum {W} w:abstractNumId="90">'
    '<w:lvl w:ilvl="0"><w:start w:val="4"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%1."/></w:lvl>'
    '<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%1.%2"/></w:lvl>'
    '<w:lvl w:ilvl="2"><w:start w:val="1"/><w:numFmt w:val="lowerLetter"/><w:lvlText w:val="(%3)"/></w:lvl>'
    "</w:abstractNum>"
)
FORMATS = (
    f'<w:abstractNum {W} w:abstractNumId="91">'
    '<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="upperRoman"/><w:lvlText w:val="Part %1"/></w:lvl>'
    '<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="upperLetter"/><w:lvlText w:val="%2)"/></w:lvl>'
    '<w:lvl w:ilvl="2"><w:start w:val="1"/><w:numFmt w:val="lowerRoman"/><w:lvlText w:val="%3."/></w:lvl>'
    '<w:lvl w:ilvl="3"><w:numFmt w:val="chineseCounting"/><w:lvlText w:val="%4"/></w:lvl>'
    "</w:abstractNum>"
)


def _numbered(document, text: str, num_id: int, level: int = 0) -> None:
    num_pr = document.add_paragraph(text)._p.get_or_add_pPr().get_or_add_numPr()
    num_pr.get_or_add_numId().val = num_id
    num_pr.get_or_add_ilvl().val = level


def _add_lists(document, *xml: str) -> None:
    numbering = document.part.numbering_part.element
    first_num = numbering.find(f"{{{numbering.nsmap['w']}}}num")
    for item in xml:
        element = parse_xml(item)
        if element.tag.endswith("abstractNum"):
            first_num.addprevious(element)
        else:
            numbering.append(element)


def test_automatic_numbering_labels_are_written(tmp_path):
    def build(document):
        _add_lists(
            document,
            ABSTRACT,
            FORMATS,
            f'<w:num {W} w:numId="90"><w:abstractNumId w:val="90"/></w:num>',
            f'<w:num {W} w:numId="91"><w:abstractNumId w:val="91"/>'
            '<w:lvlOverride w:ilvl="0"><w:startOverride w:val="3"/></w:lvlOverride></w:num>',
        )
        document.add_paragraph("Payment terms apply.", style="List Number")  # numbered by its style
        deleted = document.add_paragraph(style="List Number")  # its mark deleted with tracked changes: not counted
        deleted._p.get_or_add_pPr().append(parse_xml(f'<w:rPr {W}><w:del w:id="9" w:author="L"/></w:rPr>'))
        document.add_paragraph("Invoices are monthly.", style="List Number")
        document.add_paragraph("Use approved pallets.", style="List Bullet")
        for text, level in [("Scope", 0), ("Goods", 1), ("Services", 1), ("Cold", 2), ("Dry", 2), ("Fees", 0)]:
            _numbered(document, text, 90, level)
        _numbered(document, "", 90, 1)  # counted though empty, and dropped
        _numbered(document, "Late fees", 90, 1)
        _numbered(document, "Interest", 90, 2)
        for text, level in [("General", 0), ("Parties", 1), ("Buyer", 2), ("Seller", 2), ("Terms", 1)]:
            _numbered(document, text, 91, level)
        _numbered(document, "Odd format", 91, 3)
        _numbered(document, "Unknown list", 77)

    assert _convert(tmp_path, build).split("\n") == [
        "1. Payment terms apply.",
        "2. Invoices are monthly.",
        "- Use approved pallets.",
        "4. Scope",
        "4.1 Goods",
        "4.2 Services",
        "(a) Cold",
        "(b) Dry",
        "5. Fees",
        "5.2 Late fees",
        "(a) Interest",
        "Part III General",
        "A) Parties",
        "i. Buyer",
        "ii. Seller",
        "B) Terms",
        "Odd format",
        "Unknown list",
    ]


def test_missing_or_broken_numbering_gives_no_labels(tmp_path):
    def without_numbering(document):
        document.add_paragraph("First clause.", style="List Number")
        for rid, relationship in list(document.part.rels.items()):
            if relationship.reltype == RT.NUMBERING:
                del document.part.rels[rid]

    def broken(document):
        _add_lists(
            document,
            f'<w:abstractNum {W} w:abstractNumId="92"><w:lvl w:ilvl="x"><w:start w:val="y"/>'
            '<w:lvlText w:val="%1."/></w:lvl><w:lvl w:ilvl="1"><w:numFmt w:val="decimal"/></w:lvl></w:abstractNum>',
            f'<w:num {W} w:numId="92"><w:abstractNumId w:val="92"/></w:num>',
            f'<w:num {W} w:numId="93"><w:abstractNumId w:val="404"/></w:num>',
        )
        _numbered(document, "Bad attributes.", 92)
        _numbered(document, "No label text.", 92, 1)
        _numbered(document, "Missing definition.", 93)

    assert _convert(tmp_path, without_numbering, "a.docx") == "First clause."
    assert _convert(tmp_path, broken, "b.docx") == "1. Bad attributes.\nNo label text.\nMissing definition."


@pytest.mark.parametrize(
    ("value", "number_format", "expected"),
    [
        (4, "decimal", "4"),
        (7, "decimalZero", "07"),
        (28, "lowerLetter", "bb"),
        (3, "upperLetter", "C"),
        (14, "lowerRoman", "xiv"),
        (1994, "upperRoman", "MCMXCIV"),
        (12, "ordinal", "12th"),
        (22, "ordinal", "22nd"),
        (5, "none", ""),
    ],
)
def test_number_formats(value, number_format, expected):
    assert format_number(value, number_format) == expected


# ------------------------------------------------------------------------------------------------ headings


def _outline_level(paragraph_or_style, value: int) -> None:
    element = getattr(paragraph_or_style, "_p", None)
    element = paragraph_or_style.element if element is None else element
    element.get_or_add_pPr().append(parse_xml(f'<w:outlineLvl {W} w:val="{value}"/>'))


def test_body_headings_are_recorded_with_their_levels_and_written_titles(tmp_path):
    def build(document):
        _add_lists(document, ABSTRACT, f'<w:num {W} w:numId="90"><w:abstractNumId w:val="90"/></w:num>')
        policy = document.styles.add_style("Policy Heading", WD_STYLE_TYPE.PARAGRAPH)
        policy.base_style = document.styles["Heading 2"]
        annex = document.styles.add_style("Annex Heading", WD_STYLE_TYPE.PARAGRAPH)
        annex.base_style = document.styles["Normal"]
        _outline_level(annex, 2)
        for outline in list(document.styles["Heading 3"].element.iter(qn("w:outlineLvl"))):
            outline.getparent().remove(outline)  # as some generators write it: a heading by its name only
        document.add_heading("Staff  handbook", 0)
        document.add_paragraph("Contents", style="TOC Heading")  # based on Heading 1, but outline level 9
        document.add_heading("Leave", 1)
        document.add_paragraph("Leave is booked in the portal.")
        document.add_heading("Parental leave", 2)
        document.add_heading("Adoption", 3)
        document.add_paragraph("Remote work", style="Policy Heading")
        table = document.add_table(rows=1, cols=2)
        table.cell(0, 0).paragraphs[0].add_run("Rates")
        table.cell(0, 0).paragraphs[0].style = document.styles["Heading 2"]
        table.cell(0, 1).text = "See annex."
        box = f'<w:txbxContent><w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr>{_run("Boxed")}</w:p></w:txbxContent>'
        _append(
            document.add_paragraph("Site map."),
            f"<w:r {ALL}><w:pict><v:shape><v:textbox>{box}</v:textbox></v:shape></w:pict></w:r>",
        )
        document.add_heading("", 2)  # empty: left out
        for text, level in [("Benefits", 1), ("Pension", 2)]:
            heading = document.add_heading(text, level)
            num_pr = heading._p.get_or_add_pPr().get_or_add_numPr()
            num_pr.get_or_add_numId().val = 90
            num_pr.get_or_add_ilvl().val = level - 1
        broken = document.add_heading("Part A", 1)
        broken.add_run().add_break()
        broken.add_run("General terms")
        _outline_level(document.add_paragraph("Rates  and\tfees"), 0)  # Normal, with its own outline level
        _outline_level(document.add_heading("Not in the outline", 2), 9)
        document.add_paragraph("Travel", style="Annex Heading")

    converted = _converted(tmp_path, build)
    assert converted.meta["headings"] == [
        [level, title, None, 0]
        for level, title in [
            (0, "Staff handbook"),
            (1, "Leave"),
            (2, "Parental leave"),
            (3, "Adoption"),
            (2, "Remote work"),
            (1, "4. Benefits"),
            (2, "4.1 Pension"),
            (1, "Part A"),
            (1, "Rates and fees"),
            (3, "Travel"),
        ]
    ]
    lines = converted.content.split("\n")
    assert "| Rates | See annex. |" in lines and "Boxed" in lines and "Contents" in lines
    assert {"4. Benefits", "4.1 Pension", "Part A", "General terms", "Rates  and\tfees"} <= set(lines)


def test_a_document_without_headings_has_no_headings_key(tmp_path):
    def build(document):
        document.add_paragraph("Clause one.")
        document.add_paragraph("Clause two.", style="List Number")
        table = document.add_table(rows=1, cols=1)
        table.cell(0, 0).paragraphs[0].add_run("In a table")
        table.cell(0, 0).paragraphs[0].style = document.styles["Heading 1"]

    converted = _converted(tmp_path, build)
    assert "In a table" in converted.content
    assert "headings" not in converted.meta


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", 1), ("8", 9), ("9", BODY_TEXT), ("10", None), ("-1", None), ("x", None), (None, None)],
)
def test_outline_levels(value, expected):
    assert outline_level(value) == expected


# ------------------------------------------------------------------------------------------------ other parts

FOOTNOTES = (
    f'<w:footnotes {W}><w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
    '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:r><w:continuationSeparator/></w:r></w:p>'
    '</w:footnote><w:footnote w:id="1"><w:p><w:r><w:footnoteRef/></w:r>'
    '<w:r><w:t xml:space="preserve"> The amount paid was 75,000 EUR.</w:t></w:r></w:p></w:footnote></w:footnotes>'
)
ENDNOTES = (
    f'<w:endnotes {W}><w:endnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:endnote>'
    '<w:endnote w:id="1"><w:p><w:r><w:t>Source: annual report 2023.</w:t></w:r></w:p></w:endnote></w:endnotes>'
)


def test_each_note_follows_the_paragraph_that_refers_to_it_and_unreferenced_notes_end_the_body(tmp_path):
    def build(document):
        document.add_paragraph("Figures are rounded.")
        p = document.add_paragraph("The settlement amount is confidential.")
        _append(p, f'<w:r {W}><w:footnoteReference w:id="1"/></w:r>')
        document.add_paragraph("See the annex.")
        _add_part(document, "footnotes", "footnotes", FOOTNOTES)
        _add_part(document, "endnotes", "endnotes", ENDNOTES)

    assert _convert(tmp_path, build) == (
        "Figures are rounded.\nThe settlement amount is confidential.\nThe amount paid was 75,000 EUR.\n"
        "See the annex.\nSource: annual report 2023."
    )


def test_notes_and_footers_are_cited_under_the_section_that_refers_to_them_not_the_last_one(tmp_path):
    def build(document):
        document.sections[0].footer.paragraphs[0].text = "Confidential"
        document.add_heading("Payments", 1)
        table = document.add_table(rows=1, cols=2)
        table.cell(0, 0).text = "Settlement"
        cell = table.cell(0, 1).paragraphs[0]
        _append(cell, f"<w:r {W}><w:t>paid</w:t></w:r>")
        _append(cell, f'<w:r {W}><w:endnoteReference w:id="1"/></w:r>')
        p = document.add_paragraph("The settlement amount is confidential.")
        _append(p, f'<w:r {W}><w:footnoteReference w:id="1"/></w:r>')
        document.add_heading("Termination", 1)
        p = document.add_paragraph("Either party may terminate.")
        _append(p, f'<w:r {W}><w:footnoteReference w:id="1"/></w:r>')  # a second reference: the note stays put
        _add_part(document, "footnotes", "footnotes", FOOTNOTES)
        _add_part(document, "endnotes", "endnotes", ENDNOTES)

    converted = _converted(tmp_path, build)
    content = converted.content
    assert content == (
        "Confidential\nPayments\n| Settlement | paid |\nSource: annual report 2023.\n"
        "The settlement amount is confidential.\nThe amount paid was 75,000 EUR.\n"
        "Termination\nEither party may terminate."
    )
    starts = section_starts(content, converted.meta["headings"])
    assert starts == [(content.index("Payments"), "Payments"), (content.index("Termination"), "Termination")]


def test_headers_and_footers_once_each_without_page_numbers(tmp_path):
    def build(document):
        first = document.sections[0]
        first.header.paragraphs[0].text = "Contract ref. LX-2291"
        footer = first.footer.paragraphs[0]
        footer.text = "Governing law: Norway."
        page = first.footer.add_paragraph("Page ")
        _append_runs(page, _field(" PAGE ", "3") + _run(" of ") + _field(" NUMPAGES \\* MERGEFORMAT ", "4"))
        marked = first.footer.add_paragraph("Confidential | Page ")
        _append(marked, f'<w:fldSimple {W} w:instr=" PAGE ">{_run("3")}</w:fldSimple>')
        document.add_paragraph("Clause one.")
        second = document.add_section()
        second.header.is_linked_to_previous = False
        second.header.paragraphs[0].text = "Contract ref. LX-2291"  # the same text in another part: once
        second.footer.is_linked_to_previous = False
        second.footer.paragraphs[0].text = "Annex A"
        document.add_paragraph("Clause two.")

    assert _convert(tmp_path, build) == (
        "Contract ref. LX-2291\nGoverning law: Norway.\nConfidential\nAnnex A\nClause one.\nClause two."
    )


@pytest.mark.parametrize(
    ("text", "running", "expected"),
    [
        ("Page \x00 of \x00", True, ""),
        ("Seite \x00 von \x00", True, ""),
        ("- \x00 -", True, ""),
        ("Confidential | Page \x00", True, "Confidential"),
        ("Governing law: Norway. \x00/\x00", True, "Governing law: Norway."),
        ("Halden Logistics AS \x00", True, "Halden Logistics AS"),
        ("Side \x00 av \x00 | Internal", True, "Internal"),
        ("see page \x00 below", False, "see page  below"),
    ],
)
def test_page_numbers_are_cut_from_running_text(text, running, expected):
    assert without_page_numbers(text, running).strip() == expected


# ------------------------------------------------------------------------------------------------ the component


def test_metadata_and_store_full_path(tmp_path):
    document = docx.Document()
    document.add_paragraph("The ferry leaves at seven.")
    path = tmp_path / "ferry.docx"
    document.save(path)
    [full] = DOCXConverter().run([path], meta={"file_sha256": "abc"})["documents"]
    assert full.meta == {"file_path": str(path), "file_sha256": "abc"}
    stream = ByteStream(path.read_bytes(), meta={"file_path": str(path)})
    [short] = DOCXConverter(store_full_path=False).run([stream], meta=[{"lang": "en"}])["documents"]
    assert short.meta == {"file_path": "ferry.docx", "lang": "en"}
    assert full.content == short.content == "The ferry leaves at seven."


def test_round_trip_through_yaml_keeps_every_parameter():
    converter = DOCXConverter(store_full_path=False)
    data = yaml.safe_load(yaml.safe_dump(converter.to_dict()))
    assert data == {"type": "indexing.docx_converter.DOCXConverter", "init_parameters": {"store_full_path": False}}
    restored = DOCXConverter.from_dict(data)
    assert restored.to_dict() == converter.to_dict()
    assert restored.store_full_path is False
    assert DOCXConverter.from_dict(DOCXConverter().to_dict()).store_full_path is True


def test_in_a_pipeline_a_corrupt_file_is_skipped_with_a_warning_and_the_good_one_converted(tmp_path, caplog):
    good = tmp_path / "good.docx"
    document = docx.Document()
    document.add_paragraph("The ferry leaves at seven.")
    document.save(good)
    corrupt = tmp_path / "corrupt.docx"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip archive")
    plain = tmp_path / "plain.docx"
    plain.write_text("just text named docx", encoding="utf-8")
    empty = tmp_path / "empty.docx"
    docx.Document().save(empty)
    pipeline = Pipeline()
    pipeline.add_component("converter", DOCXConverter(store_full_path=False))
    loaded = Pipeline.loads(pipeline.dumps(), allowed_modules=ALLOWED_MODULES)
    assert isinstance(loaded.get_component("converter"), DOCXConverter)
    sources = [corrupt, good, plain, empty, tmp_path / "missing.docx"]
    with caplog.at_level(logging.WARNING):
        result = loaded.run({"converter": {"sources": sources}})
    [converted] = result["converter"]["documents"]
    assert (converted.content, converted.meta["file_path"]) == ("The ferry leaves at seven.", "good.docx")
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    for name in ("corrupt.docx", "plain.docx", "empty.docx", "missing.docx"):
        assert any(name in message for message in warnings), (name, warnings)
    assert not any("good.docx" in message for message in warnings)


def test_ordinary_documents_give_haystacks_paragraph_text(tmp_path):
    document = docx.Document()
    document.add_heading("Office move", 1)
    p = document.add_paragraph("The team moves on ")
    p.add_run("3 November").bold = True
    p.add_run(", to floor 4.")
    document.add_paragraph("Bring:\tlaptop and badge.")
    document.add_paragraph("")
    p = document.add_paragraph("Questions go to ")
    _append(p, f'<w:hyperlink {W} w:anchor="contacts">{_run("facilities")}</w:hyperlink>')
    p.add_run(".")
    table = document.add_table(rows=2, cols=2)
    for (row, column), text in {(0, 0): "Room", (0, 1): "Floor", (1, 0): "Fjellet", (1, 1): "4"}.items():
        table.cell(row, column).text = text
    document.add_paragraph("Parking is free.", style="Quote")
    path = tmp_path / "move.docx"
    document.save(path)
    [ours] = DOCXConverter().run([path])["documents"]
    [theirs] = DOCXToDocument(table_format="markdown").run([path])["documents"]

    def paragraphs(text: str) -> list[str]:
        return [line for line in text.split("\n") if line and not line.startswith("|")]

    assert paragraphs(ours.content) == paragraphs(theirs.content)
    assert paragraphs(ours.content) == [
        "Office move",
        "The team moves on 3 November, to floor 4.",
        "Bring:\tlaptop and badge.",
        "Questions go to facilities.",
        "Parking is free.",
    ]
    assert "| Room | Floor |\n| Fjellet | 4 |" in ours.content


def test_headings_that_a_contents_list_repeats_start_their_sections_at_the_headings(tmp_path):
    def build(document):
        document.sections[0].header.paragraphs[0].text = "Term"
        document.add_heading("Supply agreement", 0)
        for entry in ("Contents", "Term", "Fees"):
            document.add_paragraph(entry)
        document.add_heading("Term", 1)
        document.add_paragraph("The initial term is 36 months.")
        document.add_heading("Fees", 1)
        document.add_paragraph("Invoices are paid within 30 days.")

    converted = _converted(tmp_path, build)
    assert converted.meta["headings"] == [[0, "Supply agreement", None, 0], [1, "Term", None, 2], [1, "Fees", None, 1]]
    content = converted.content
    starts = section_starts(content, converted.meta["headings"])
    assert starts == [(content.index("Term\nThe initial"), "Term"), (content.index("Fees\nInvoices"), "Fees")]


def test_a_docx_linking_to_a_bookmark_as_an_internal_part_is_read(tmp_path):
    """LibreOffice writes a link to a bookmark (``#license``) as an internal relationship, which python-docx
    cannot open ("There is no item named 'word/#license' in the archive")."""
    saved = tmp_path / "plain.docx"
    document = docx.Document()
    document.add_paragraph("Clippy is licensed under MIT or Apache 2.0.")
    document.save(saved)
    rels = "word/_rels/document.xml.rels"
    link = (
        '<Relationship Id="rId99" Target="#license" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink"/>'
    )
    path = tmp_path / "libreoffice.docx"
    with zipfile.ZipFile(saved) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(
                item,
                data.replace(b"</Relationships>", link.encode() + b"</Relationships>")
                if item.filename == rels
                else data,
            )
    with pytest.raises(KeyError):
        docx.Document(str(path))
    [converted] = DOCXConverter().run([path])["documents"]
    assert converted.content == "Clippy is licensed under MIT or Apache 2.0."
