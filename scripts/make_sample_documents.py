"""
Write the binary sample documents of ``docs/sample/``: a two-page PDF and a DOCX.

The PDF is written by hand (one Helvetica text object per page) because pypdf cannot write text PDFs;
python-docx writes the DOCX. Run from anywhere: ``python scripts/make_sample_documents.py [FOLDER]``.
Tests import :func:`write_text_pdf` and :func:`write_docx` to build their own files.
"""

import sys
from pathlib import Path

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "docs" / "sample"

ORCHARD_REPORT_PAGES = [
    [
        "Millbrook Orchard Cooperative - Annual Report 2024",
        "",
        "The Millbrook Orchard Cooperative was founded in 1998 by eleven fruit growers",
        "from the Millbrook valley. In 2024 the cooperative had 64 member farms.",
        "Together the members harvested 3,150 tonnes of apples and 410 tonnes of pears.",
        "The most planted apple variety is Elstar, followed by Jonagold and Santana.",
        "A late frost on 22 April damaged the blossom in the upper valley,",
        "which lowered the pear harvest by about a fifth compared with 2023.",
    ],
    [
        "Cold storage and sales",
        "",
        "The new cold store at Harlow Lane opened in September 2024.",
        "It holds up to 1,200 tonnes of fruit in a controlled atmosphere,",
        "so apples picked in autumn can be sold until the following June.",
        "Most of the fruit is sold to regional supermarkets. The farm shop",
        "at the cooperative's yard sold 85 tonnes directly to customers.",
        "The annual members' meeting will be held on 14 March 2025.",
    ],
]

OFFICE_MOVE_PARAGRAPHS = [
    ("Office Move Guidelines", "Title"),
    (
        "The Northgate team moves from the third floor of Brandt House to the new office at 7 Quay Street "
        "on Monday 3 November. The new office has forty desks, two meeting rooms and a quiet room.",
        None,
    ),
    (
        "Pack your personal items in the green crates, which will be delivered to every desk on 27 October. "
        "Label each crate with your name and your new desk number. Crates are collected on Friday 31 October "
        "after 3 pm.",
        None,
    ),
    (
        "Laptops and monitors are moved by the IT team and must not be packed in crates. Questions about "
        "the move go to Priya Nandakumar, the facilities coordinator, at extension 4417.",
        None,
    ),
]


def _pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def write_text_pdf(path: Path, pages: list[list[str]], font_size: int = 11) -> Path:
    """
    Write a valid PDF with one text page per entry of ``pages`` (lines of Latin-1 text in Helvetica).

    :param path: where to write.
    :param pages: the lines of each page.
    :param font_size: point size of the text.
    :returns: ``path``.
    """
    leading = font_size + 4
    objects: list[bytes] = []
    page_ids = [3 + 2 * i for i in range(len(pages))]
    font_id = 3 + 2 * len(pages)
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{pid} 0 R" for pid in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    for page_id, lines in zip(page_ids, pages, strict=True):
        body = [f"BT /F1 {font_size} Tf {leading} TL 72 760 Td"]
        body += [f"({_pdf_escape(line)}) Tj T*" for line in lines]
        body.append("ET")
        stream = "\n".join(body).encode("latin-1")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {page_id + 1} 0 R "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref_at)
    path = Path(path)
    path.write_bytes(bytes(out))
    return path


def write_docx(path: Path, paragraphs: list[tuple[str, str | None]]) -> Path:
    """
    Write a DOCX file with python-docx.

    :param path: where to write.
    :param paragraphs: ``(text, style)`` pairs; style None is the normal paragraph style.
    :returns: ``path``.
    """
    from docx import Document as DocxDocument

    document = DocxDocument()
    for text, style in paragraphs:
        document.add_paragraph(text, style=style)
    path = Path(path)
    document.save(str(path))
    return path


def main(folder: Path = SAMPLE_DIR) -> None:
    """Write ``orchard_report_2024.pdf`` and ``office_move.docx`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    write_text_pdf(folder / "orchard_report_2024.pdf", ORCHARD_REPORT_PAGES)
    write_docx(folder / "office_move.docx", OFFICE_MOVE_PARAGRAPHS)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else SAMPLE_DIR)
