"""Finding the files to index and rejecting, with a reason, those that cannot be converted."""

import codecs
import io
import os
import re
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docqa.errors import InputPathError, NoDocumentsFoundError
from docqa.stores import nonempty_paths

NO_TEXT = "no text could be extracted"
NO_PDF_TEXT = "no text could be extracted (a scanned PDF has only images: run OCR on it first, e.g. ocrmypdf)"
SUPPORTED_EXTENSIONS = (".txt", ".md", ".html", ".htm", ".pdf", ".docx")
TEXT_EXTENSIONS = (".txt", ".md", ".html", ".htm")
# Plain-text files whose encoding docqa detects and hands to the converter (HTML declares its own).
DECODED_EXTENSIONS = (".txt", ".md")
_SNIFF_BYTES = 1 << 16
#: Chaos scores (charset-normalizer's share of garbled text) closer than this are noise: Windows-1252's quotes, dashes
#: and symbols (’ – … € ½) score up to about 0.08 more than the letters Mac and DOS code pages read them as.
_CHAOS_MARGIN = 0.1
#: The share of accented letters up to which a Windows-1252 reading counts as Western text.
_WESTERN_ACCENTED_SHARE = 0.05
_WORD = re.compile(r"[^\W\d_]+")
_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


# UTF-8 with the few undecodable bytes of an otherwise UTF-8 file shown as U+FFFD (a codec name, so that the
# converters, which decode by the name in the source's metadata, can read such a file).
MOSTLY_UTF8 = "utf-8-replace"


def _mostly_utf8_codec(name: str) -> codecs.CodecInfo | None:
    if name.replace("_", "-") != MOSTLY_UTF8:
        return None
    utf8 = codecs.lookup("utf-8")
    return codecs.CodecInfo(
        name=MOSTLY_UTF8,
        encode=utf8.encode,
        decode=_decode_mostly_utf8,
    )


def _decode_mostly_utf8(data: bytes, errors: str = "strict") -> tuple[str, int]:
    text, consumed = codecs.utf_8_decode(bytes(data), "replace", True)
    return text.removeprefix("\ufeff"), consumed


codecs.register(_mostly_utf8_codec)


@dataclass
class Discovery:
    """The files found under the paths given: those to index, and those skipped with their reason."""

    files: list[Path] = field(default_factory=list)
    skipped: dict[Path, str] = field(default_factory=dict)


#: The reason a link whose target is gone is skipped for (one text, so that many of them make one group).
BROKEN_LINK = "a link whose target does not exist"


def discover_files(paths: list[str | Path]) -> Discovery:
    """
    Expand files and folders (recursively, hidden entries left out) into the files to index.

    A file with an unsupported extension is skipped with a reason; files are absolute, resolved and unique.

    :raises InputPathError: when a path is empty or does not exist (before anything is indexed).
    :raises NoDocumentsFoundError: when no file of a supported type is found.
    """
    discovery = Discovery()
    seen: set[Path] = set()
    for raw in nonempty_paths(paths):
        path = Path(raw).expanduser()
        if not path.exists():
            if path.is_symlink():
                raise InputPathError(str(raw), f"is a link to {os.readlink(path)}, which does not exist")
            raise InputPathError(str(raw))
        if path.is_dir():
            entries = sorted(p for p in path.rglob("*") if not _hidden(p.relative_to(path)))
            candidates = [p for p in entries if p.is_file()]
            for link in (p for p in entries if p.is_symlink() and not p.exists()):
                discovery.skipped[link.absolute()] = BROKEN_LINK
        else:
            candidates = [path]
        for candidate in candidates:
            resolved = candidate.resolve()
            if resolved in seen:
                continue
            seen.add(resolved)
            if resolved.suffix.lower() in SUPPORTED_EXTENSIONS:
                discovery.files.append(resolved)
            else:
                discovery.skipped[resolved] = f"unsupported file type {resolved.suffix or '(no extension)'!r}"
    if not discovery.files:
        folders = any(Path(p).expanduser().is_dir() for p in paths)
        raise NoDocumentsFoundError([str(p) for p in paths], list(SUPPORTED_EXTENSIONS), folders=folders)
    return discovery


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def unreadable_reason(path: Path) -> str | None:
    """
    Say why ``path`` cannot be converted (empty, binary, corrupt), or None when it looks convertible.

    Cheap checks only: the converters still may find no text (reported after conversion).
    """
    try:
        if path.stat().st_size == 0:
            return "empty file"
        suffix = path.suffix.lower()
        if suffix in TEXT_EXTENSIONS:
            return _text_reason(path)
        if suffix == ".pdf":
            return _pdf_reason(path)
        if suffix == ".docx":
            return _docx_reason(path)
    except PermissionError:
        return "permission denied"
    except OSError as error:
        return f"cannot be read ({error.strerror or error})"
    return None


def text_encoding(data: bytes) -> str | None:
    """
    The encoding of a text file's bytes: its byte-order mark's; else UTF-8 when the bytes are UTF-8, or
    :data:`MOSTLY_UTF8` when they are but for a few stray bytes; else, among the legacy code pages charset-normalizer
    finds least garbled (and Windows-1252 when it is nearly as little garbled and reads as Western text: the detector
    finds its typographic quotes and dashes more garbled than the letters Mac and DOS code pages make of them), the one
    whose text has the fewest symbols inside words (``zosta³a`` is Polish read as Windows-1252), Windows code pages
    first and Windows-1252 (older Western European files) first of all: the detector alone takes Spanish for Central
    European and Polish for Western European.

    :returns: a codec name, or None for binary data (NUL bytes) or bytes that no encoding reads as text.
    """
    for mark, encoding in _BYTE_ORDER_MARKS:
        if data.startswith(mark):
            return MOSTLY_UTF8 if encoding == "utf-8-sig" and not _decodes(data, encoding) else encoding
    if b"\x00" in data[:_SNIFF_BYTES]:
        return None
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    if _mostly_utf8(data):
        return MOSTLY_UTF8
    from charset_normalizer import from_bytes

    results = list(from_bytes(data))
    western = from_bytes(data, cp_isolation=["cp1252"]).best()
    if western is not None:
        results.append(western)
    if not results:
        return None
    least_chaos = min(result.chaos for result in results)
    candidates = list(dict.fromkeys(result.encoding for result in results if result.chaos <= least_chaos))
    if western is not None and western.chaos <= least_chaos + _CHAOS_MARGIN and _reads_as_western(data):
        candidates = list(dict.fromkeys([*candidates, "cp1252"]))

    def rank(encoding: str) -> tuple[int, int, int]:
        preference = 0 if encoding == "cp1252" else 1 if encoding.startswith("cp125") else 2
        return _symbols_inside_words(data.decode(encoding)), preference, candidates.index(encoding)

    return min(candidates, key=rank)


def _reads_as_western(data: bytes) -> bool:
    """
    Whether ``data`` read as Windows-1252 looks like Western text: few accented letters (English has almost none,
    French about 4 in 100) and no word of accented letters only, unlike Central European text read so (``měsíčně``
    is ``mìsíènì``) or Cyrillic and Greek (``Москва`` is ``Ìîñêâà``).
    """
    try:
        words = _WORD.findall(data.decode("cp1252"))
    except UnicodeDecodeError:
        return False
    letters = sum(len(word) for word in words)
    accented = sum(char > "\x7f" for word in words for char in word)
    return accented <= _WESTERN_ACCENTED_SHARE * letters and not any(
        len(word) > 1 and min(word) > "\x7f" for word in words
    )


def _mostly_utf8(data: bytes) -> bool:
    """
    Whether bytes that are not valid UTF-8 are still UTF-8 text with a few stray bytes: at least as many valid
    multi-byte characters as undecodable bytes. Text in a legacy code page has almost none (``café`` in Windows-1252
    is ``caf\xe9``, not valid UTF-8), and its non-ASCII bytes are nearly all undecodable.
    """
    text = data.decode("utf-8", errors="replace")
    undecodable = text.count("\ufffd") - data.count("\ufffd".encode())
    multibyte = sum(1 for char in text if char > "\x7f") - text.count("\ufffd")
    return 0 < undecodable <= multibyte


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _symbols_inside_words(text: str) -> int:
    def letter(char: str) -> bool:
        return unicodedata.category(char)[0] in "LM"

    return sum(
        1
        for before, char, after in zip(text, text[1:], text[2:], strict=False)
        if letter(before) and letter(after) and not letter(char) and not char.isspace() and char not in "'’-‐–—….·"
    )


def file_text_encoding(path: Path) -> str | None:
    """:func:`text_encoding` of a ``.txt`` or ``.md`` file; None for other types (their converters decode them)."""
    if path.suffix.lower() not in DECODED_EXTENSIONS:
        return None
    return text_encoding(path.read_bytes())


def _text_reason(path: Path) -> str | None:
    data = path.read_bytes()
    if path.suffix.lower() not in DECODED_EXTENSIONS:
        # UTF-16 and UTF-32 text holds NUL bytes
        wide = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_BE))
        return "binary file, not text (contains NUL bytes)" if b"\x00" in data[:_SNIFF_BYTES] and not wide else None
    encoding = text_encoding(data)
    if encoding is None:
        if b"\x00" in data[:_SNIFF_BYTES]:
            return "binary file, not text (contains NUL bytes)"
        return "not text in UTF-8 or any encoding recognised; save it as UTF-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        return f"not valid {encoding} text (undecodable byte at offset {error.start}); save it as UTF-8"
    if not text.lstrip("\ufeff").strip():
        return "no text (only white space)"
    return None


def _pdf_reason(path: Path) -> str | None:
    data = path.read_bytes()
    if data.lstrip()[:5] != b"%PDF-":
        return "not a PDF file (no %PDF header)"
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            return "encrypted PDF; save a copy without a password"
        if len(reader.pages) == 0:
            return "PDF without pages"
    except Exception as error:
        return f"unreadable PDF (corrupt or truncated: {type(error).__name__})"
    return None if _pdf_has_text(reader) else NO_PDF_TEXT


def _pdf_has_text(reader: Any) -> bool:
    """Whether a page has text, looking no further than the first that has: a scanned PDF is then skipped before any
    model loads, each time its folder is indexed again."""
    for page in reader.pages:
        try:
            if page.extract_text().strip():
                return True
        except Exception:  # the converter will say what is wrong with it
            return True
    return False


def _docx_reason(path: Path) -> str | None:
    if not zipfile.is_zipfile(path):
        return "not a DOCX file (not a zip archive)"
    from xml.etree.ElementTree import ParseError, XMLPullParser

    try:
        with zipfile.ZipFile(path) as archive:
            if "word/document.xml" not in archive.namelist():
                return "not a DOCX file (no word/document.xml)"
            parser = XMLPullParser()
            with archive.open("word/document.xml") as document:
                while chunk := document.read(1 << 20):
                    parser.feed(chunk)
            parser.close()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError):
        return "corrupt DOCX file"
    except ParseError:
        return "corrupt DOCX file (its text, word/document.xml, is not valid XML)"
    return None
