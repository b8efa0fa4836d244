"""Text files with NUL bytes: UTF-16 without a byte-order mark is decoded, text with a few stray NULs is read without
them, and binary files and files with many NULs are skipped with a reason that says what to do."""

import codecs
import random
import struct

import pytest
from haystack.components.converters import TextFileToDocument
from haystack.dataclasses import ByteStream

from indexing.files import WITHOUT_NUL, file_text_encoding, text_encoding, unreadable_reason
from indexing.html_converter import HTMLConverter

pytestmark = pytest.mark.unit

ENGLISH = "Harbour report.\r\nThe ferry leaves at seven every morning, and the café opens at eight.\r\n"
RUSSIAN = "Все документы должны быть представлены не позднее конца следующей недели.\n"
CHINESE = "所有文件必须在下周末之前提交。一 二 三 hello world\n"
BINARY = "binary file, not text (contains NUL bytes)"


def _read(path) -> str:
    """The file's text as the indexer reads it: its encoding in the source's metadata (as the router passes it on),
    decoded by the converter."""
    meta = {"file_path": str(path)}
    if encoding := file_text_encoding(path):
        meta["encoding"] = encoding
    [document] = TextFileToDocument().run(sources=[ByteStream.from_file_path(path, meta=meta)])["documents"]
    return document.content


@pytest.mark.parametrize("text", [ENGLISH, RUSSIAN, CHINESE, "Hi", ENGLISH * 2000])
@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_decoded(text, encoding):
    data = text.encode(encoding)
    assert not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    assert text_encoding(data) == encoding
    assert data.decode(text_encoding(data)) == text


@pytest.mark.parametrize("suffix", [".txt", ".md"])
def test_a_utf16_text_file_without_a_byte_order_mark_is_indexed(tmp_path, suffix):
    path = tmp_path / f"export{suffix}"
    path.write_bytes(ENGLISH.encode("utf-16-le"))
    assert unreadable_reason(path) is None
    assert file_text_encoding(path) == "utf-16-le"
    assert _read(path) == ENGLISH


def test_a_utf16_page_without_a_byte_order_mark_is_converted(tmp_path):
    page = "<html><body><p>The Kessel museum opens at nine every morning except Monday.</p></body></html>"
    path = tmp_path / "hours.html"
    path.write_bytes(page.encode("utf-16-be"))
    assert unreadable_reason(path) is None
    [document] = HTMLConverter().run([path])["documents"]
    assert document.content == "The Kessel museum opens at nine every morning except Monday."
    assert document.meta["encoding"] == "utf-16-be"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (b"Export from LegacyDB\x00\nThe Oslo office closes at 16:30 on Fridays.\n", "utf-8" + WITHOUT_NUL),
        ("Caf\u00e9 cr\u00e8me\x00, the menu.\n".encode("cp1252"), "cp1252" + WITHOUT_NUL),
        (("Säätiedote.\n" * 50).encode() + b"\x00" * 3 + b"Loppu.\n", "utf-8" + WITHOUT_NUL),
        (b"A log line.\n" * 20 + b"\x00" * 4096, "utf-8" + WITHOUT_NUL),
        ("Der Käse\x00 aus München.".encode() + b" Price: 5\xa4 only.", "utf-8-replace" + WITHOUT_NUL),
    ],
    ids=["after-a-header", "cp1252", "a-few-in-the-middle", "end-padding", "stray-bytes-too"],
)
def test_text_with_a_few_stray_nul_bytes_is_read_without_them(data, encoding):
    assert text_encoding(data) == encoding
    text = data.decode(encoding)
    assert "\x00" not in text
    assert text == data.replace(b"\x00", b"").decode(encoding.removesuffix(WITHOUT_NUL))


def test_a_text_file_with_a_stray_nul_is_indexed_without_it(tmp_path):
    path = tmp_path / "nul_in_text.txt"
    path.write_bytes(b"Export from LegacyDB\x00\nThe Oslo office closes at 16:30 on Fridays.\n")
    assert unreadable_reason(path) is None
    assert _read(path) == "Export from LegacyDB\nThe Oslo office closes at 16:30 on Fridays.\n"
    page = tmp_path / "page.html"
    page.write_bytes(b"<html><body><p>The ferry\x00 leaves at seven every morning.</p></body></html>")
    assert unreadable_reason(page) is None
    assert [d.content for d in HTMLConverter().run([page])["documents"]] == ["The ferry leaves at seven every morning."]


def test_the_codecs_without_nul_decode_by_name():
    assert codecs.lookup("utf-8-without-nul").name == "utf-8-without-nul"
    assert b"a\x00b".decode("UTF_8_WITHOUT_NUL") == "ab"
    assert b"caf\xe9\x00".decode("cp1252-without-nul") == "café"
    assert b"caf\xc3\xa9 \x92\x00".decode("utf-8-replace-without-nul") == "café \ufffd"
    with pytest.raises(LookupError):
        codecs.lookup("no-such-codec-without-nul")


def _elf_like() -> bytes:
    rng = random.Random(7)
    return b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + bytes(rng.randrange(256) for _ in range(4000))


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)),
        _elf_like(),
        struct.pack("<500H", *random.Random(1).choices(range(200), k=500)),
        b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + b"word/document.xml" * 10,
    ],
    ids=["png-header", "png-and-every-byte", "elf-like", "uint16-array", "zip-header"],
)
def test_binary_data_is_still_binary(data, tmp_path):
    assert text_encoding(data) is None
    path = tmp_path / "data.txt"
    path.write_bytes(data)
    assert unreadable_reason(path) == BINARY
    path = tmp_path / "data.html"
    path.write_bytes(data)
    assert unreadable_reason(path) == BINARY


def test_text_with_many_nul_bytes_is_skipped_with_what_to_do(tmp_path):
    path = tmp_path / "wide.txt"
    path.write_bytes(ENGLISH.encode("utf-32-le"))  # no byte-order mark: 3 NULs in every 4 bytes
    assert text_encoding(path.read_bytes()) is None
    reason = unreadable_reason(path)
    assert reason.startswith("text with too many NUL bytes") and "save it as UTF-8" in reason, reason
    interleaved = tmp_path / "interleaved.txt"
    interleaved.write_bytes(b"\x00".join(ENGLISH.encode()[i : i + 4] for i in range(0, len(ENGLISH), 4)))
    assert unreadable_reason(interleaved).startswith("text with too many NUL bytes")


def test_broken_utf16_without_a_byte_order_mark_is_skipped_with_what_to_do(tmp_path):
    path = tmp_path / "cut.txt"
    path.write_bytes(ENGLISH.encode("utf-16-le") + b"x")  # cut short: an odd number of bytes
    assert text_encoding(path.read_bytes()) is None
    assert unreadable_reason(path) == (
        "not valid UTF-16-LE text (its NUL bytes fall as in UTF-16 without a byte-order mark, but it is cut short "
        "or has broken characters); save it as UTF-8"
    )


def test_a_file_of_nul_bytes_only_has_no_text(tmp_path):
    path = tmp_path / "zeroed.txt"
    path.write_bytes(b"\x00" * 4096)
    assert text_encoding(path.read_bytes()) is None
    assert unreadable_reason(path) == "no text (only NUL bytes)"


def test_files_without_nul_bytes_are_read_as_before():
    text = "Der Käse aus München reift im Gewölbekeller."
    assert text_encoding(text.encode()) == "utf-8"
    assert text_encoding(text.encode("utf-16")) == "utf-16"
    assert text_encoding(text.encode("utf-32")) == "utf-32"
    assert text_encoding(text.encode("cp1252")) == "cp1252"
    assert text_encoding(text.encode("utf-8-sig")) == "utf-8-sig"
