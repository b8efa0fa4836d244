"""The HTML converter: fragments and pages without a declared charset, and the same text as Haystack's converter on
ordinary pages."""

from pathlib import Path

import pytest
import yaml
from haystack.components.converters import HTMLToDocument
from haystack.dataclasses import ByteStream

from indexing.html_converter import HTMLConverter

pytestmark = pytest.mark.unit
SAMPLE = Path(__file__).resolve().parent.parent / "docs" / "sample"
MUSEUM = "The Kessel museum opens at nine every morning except Monday."


def _texts(converter, *pages: bytes) -> list[str]:
    return [document.content for document in converter.run([ByteStream(page) for page in pages])["documents"]]


@pytest.mark.parametrize(
    "page", [f"<p>{MUSEUM}</p>", f"<body><p>{MUSEUM}</p></body>", f"<div><h2>Hours</h2><p>{MUSEUM}</p></div>"]
)
def test_a_fragment_is_read_as_the_body_of_a_page(page):
    [text] = _texts(HTMLConverter(), page.encode())
    assert MUSEUM in text
    assert _texts(HTMLToDocument(), f"<p>{MUSEUM}</p>".encode()) == [], "what this converter is for"


def test_a_page_without_a_declared_charset_is_decoded_like_a_text_file(tmp_path):
    french = "<html><body><p>Le château de Brissac est ouvert en été, de neuf à dix-huit heures.</p></body></html>"
    path = tmp_path / "brissac.html"
    path.write_bytes(french.encode("cp1252"))
    [document] = HTMLConverter().run([path], meta=[{"file_path": str(path)}])["documents"]
    assert document.content == "Le château de Brissac est ouvert en été, de neuf à dix-huit heures."
    assert document.meta == {"file_path": str(path), "encoding": "cp1252"}
    [utf8] = HTMLConverter().run([ByteStream(french.encode())])["documents"]
    assert utf8.content == document.content and utf8.meta["encoding"] == "utf-8"


@pytest.mark.parametrize("path", sorted(SAMPLE.glob("*.html")))
def test_ordinary_pages_give_what_haystacks_converter_gives(path, tmp_path):
    declared = "<html><head><meta charset='windows-1252'></head><body><p>Caf\xe9 \x96 open.</p></body></html>"
    (tmp_path / "declared.html").write_bytes(declared.encode("latin-1"))
    for page in (path, tmp_path / "declared.html"):
        ours = HTMLConverter().run([page])["documents"]
        theirs = HTMLToDocument().run([page])["documents"]
        assert [d.content for d in ours] == [d.content for d in theirs] and ours[0].content
    assert _texts(HTMLConverter(), declared.encode("latin-1")) == ["Café – open."]


def test_a_page_with_no_text_gives_no_document():
    assert _texts(HTMLConverter(), b"<html><body><script>var x = 1;</script></body></html>", b"   ") == []


def test_round_trip_through_yaml_keeps_every_parameter():
    converter = HTMLConverter(extraction_kwargs={"favor_recall": True, "include_tables": False}, store_full_path=False)
    data = yaml.safe_load(yaml.safe_dump(converter.to_dict()))
    assert data == {
        "type": "indexing.html_converter.HTMLConverter",
        "init_parameters": {
            "extraction_kwargs": {"favor_recall": True, "include_tables": False},
            "store_full_path": False,
        },
    }
    restored = HTMLConverter.from_dict(data)
    assert (restored.extraction_kwargs, restored.store_full_path) == (
        {"favor_recall": True, "include_tables": False},
        False,
    )
    [document] = restored.run([ByteStream(f"<p>{MUSEUM}</p>".encode(), meta={"file_path": "/docs/hours.html"})])[
        "documents"
    ]
    assert document.meta["file_path"] == "hours.html"


def test_pages_with_a_byte_order_mark_are_read_even_with_stray_bytes(tmp_path):
    from indexing.files import unreadable_reason

    page = f"<html><body><p>{MUSEUM}</p><p>The café serves lunch.</p></body></html>"
    wide = tmp_path / "wide.html"
    wide.write_bytes(page.encode("utf-16"))
    assert unreadable_reason(wide) is None, "UTF-16 text holds NUL bytes and is still text"
    assert _texts(HTMLConverter(), wide.read_bytes()) == [f"{MUSEUM}\nThe café serves lunch."]
    stray = b"\xef\xbb\xbf" + page.encode().replace(b"lunch", b"lunch \x92")
    assert _texts(HTMLConverter(), stray) == [f"{MUSEUM}\nThe café serves lunch \ufffd."]
    assert _texts(HTMLConverter(), page.encode("utf-16") + b"\x00") != [], "a broken UTF-16 page goes to trafilatura"


def test_the_yaml_converter_keeps_the_heading_and_leaves_reader_comments_out():
    from docqa.pipelines import INDEXING_PIPELINE, load_pipeline

    page = (
        "<html><head><title>Opening hours</title></head><body><div id='cookie-banner'>We use cookies. Accept all."
        "</div><div class='content'><h1>Opening hours</h1><p>The recycling station at Haugen is open Monday to "
        "Thursday from 07:00 to 19:00.</p><p>Garden waste is free of charge.</p></div><div class='comments'>"
        "<h3>Comments</h3><p>Great service! - Knut</p></div></body></html>"
    )
    converter = load_pipeline(INDEXING_PIPELINE).get_component("html_converter")
    assert _texts(converter, page.encode()) == [
        "Opening hours\nThe recycling station at Haugen is open Monday to Thursday from 07:00 to 19:00.\n"
        "Garden waste is free of charge."
    ]
    assert _texts(HTMLConverter(), page.encode())[0].count("Great service! - Knut") == 2, "trafilatura's default"
