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

#: The end of the codec names :func:`text_encoding` gives text with stray NUL bytes: the codec named before it, with
#: the NUL bytes dropped first (``utf-8-without-nul``; the converters decode by the name in the source's metadata).
WITHOUT_NUL = "-without-nul"


def _without_nul_codec(name: str) -> codecs.CodecInfo | None:
    name = name.replace("_", "-")
    if not name.endswith(WITHOUT_NUL):
        return None
    try:
        base = codecs.lookup(name.removesuffix(WITHOUT_NUL))
    except LookupError:
        return None

    def decode(data: bytes, errors: str = "strict") -> tuple[str, int]:
        text, _ = base.decode(bytes(data).replace(b"\x00", b""), errors)
        return text, len(data)

    return codecs.CodecInfo(name=name, encode=base.encode, decode=decode)


codecs.register(_without_nul_codec)

#: Stray NUL bytes: a few, or at most one in this many bytes in a longer file (NULs that pad the end of the file not
#: counted).
_FEW_NULS = 4
_BYTES_PER_STRAY_NUL = 100
#: Text, not binary data: at most one control character (but white space, ESC and a DOS end-of-file mark) in this
#: many characters. Binary formats are full of them; text, even text with stray NUL bytes, has next to none.
_CHARS_PER_CONTROL = 1000
_CONTROL_BYTES = bytes([*range(0x01, 0x09), *range(0x0E, 0x1A), *range(0x1C, 0x20), 0x7F])
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x19\x1c-\x1f\x7f-\x9f]")
#: UTF-16 without a byte-order mark: at least this share of the code units in the first bytes have a zero byte on
#: one side (the high byte of ASCII letters, digits, spaces and line breaks) ...
_UTF16_ZERO_SHARE = 0.1
#: ... and at least this many times as many as have one on the other side (U+0100, U+4E00 and such).
_UTF16_ZERO_RATIO = 3


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

    Bytes with NUL bytes are not binary data when they are one of:

    - UTF-16 without a byte-order mark (``utf-16-le`` or ``utf-16-be``), as some Windows tools and exports write it:
      a zero byte on the same side of most code units (the high byte of ASCII text), and valid UTF-16 that reads as
      text (few control characters).
    - Text with a few stray NUL bytes (up to 4, or 1 in 100 bytes, not counting NULs that pad the end of the
      file, as a crash or a preallocated log leaves them) and few control bytes: it is read with its NUL bytes
      removed (the encoding of the rest followed by :data:`WITHOUT_NUL`, e.g. ``utf-8-without-nul``). A NUL carries
      no text and most editors show it as nothing or a small mark, so the user sees a text file and expects it
      indexed; skipping it would leave them hunting for an invisible byte, and removing NULs loses nothing. More NULs
      in otherwise text-like bytes are not guessed at: :func:`unreadable_reason` says what is wrong and what to do.

    :returns: a codec name, or None for binary data (NUL bytes and control bytes) or bytes that no encoding reads
        as text.
    """
    for mark, encoding in _BYTE_ORDER_MARKS:
        if data.startswith(mark):
            return MOSTLY_UTF8 if encoding == "utf-8-sig" and not _decodes(data, encoding) else encoding
    if b"\x00" in data:
        wide = _utf16_without_bom(data)
        if wide is not None:
            return wide if _decodes_to_text(data, wide) else None
        if not _stray_nuls(data):
            return None
        encoding = _nul_free_text_encoding(data.replace(b"\x00", b""))
        return None if encoding is None else encoding + WITHOUT_NUL
    return _nul_free_text_encoding(data)


def _nul_free_text_encoding(data: bytes) -> str | None:
    """:func:`text_encoding` of bytes without a byte-order mark or NUL bytes."""
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


def _utf16_without_bom(data: bytes) -> str | None:
    """
    ``utf-16-le`` or ``utf-16-be`` when the NUL bytes of ``data`` fall as in UTF-16 text without a byte-order mark:
    in most code units on the same side (ASCII ``A`` is ``41 00`` in little-endian, ``00 41`` in big-endian), and
    rarely on the other. Only where the NULs fall: :func:`_decodes_to_text` says whether it is UTF-16 text.
    """
    sample = data[: _SNIFF_BYTES & ~1]
    units = len(sample) // 2
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    for zeros, others, encoding in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if zeros >= _UTF16_ZERO_SHARE * units and zeros >= _UTF16_ZERO_RATIO * others:
            return encoding
    return None


def _decodes_to_text(data: bytes, encoding: str) -> bool:
    """Whether ``data`` is valid in ``encoding`` and its text, as far as sniffed, has few control characters."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return _few_control_chars(text[:_SNIFF_BYTES])


def _few_control_chars(sample: str) -> bool:
    return len(_CONTROL_CHARS.findall(sample)) * _CHARS_PER_CONTROL <= len(sample)


def _stray_nuls(data: bytes) -> bool:
    """
    Whether the NUL bytes in ``data`` are a few strays in text: up to :data:`_FEW_NULS`, or one in
    :data:`_BYTES_PER_STRAY_NUL` of the sniffed bytes (NULs that pad the end of the file not counted), and few
    control bytes besides.
    """
    sample = data.rstrip(b"\x00")[:_SNIFF_BYTES]
    return bool(sample) and _few_nuls(sample) and _few_control_bytes(sample)


def _few_nuls(sample: bytes) -> bool:
    return sample.count(0) <= max(_FEW_NULS, len(sample) // _BYTES_PER_STRAY_NUL)


def _few_control_bytes(sample: bytes) -> bool:
    """
    Whether at most one in :data:`_CHARS_PER_CONTROL` bytes is a control byte (NUL not counted; a DOS end-of-file
    mark only at the end).
    """
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES)) + sample[:-1].count(0x1A)
    return controls * _CHARS_PER_CONTROL <= len(sample)


def _nul_reason(data: bytes) -> str:
    """Why bytes with NUL bytes that :func:`text_encoding` does not read are skipped, and what to do."""
    sample = data.rstrip(b"\x00")[:_SNIFF_BYTES]
    if not sample:
        return "no text (only NUL bytes)"
    wide = _utf16_without_bom(data)
    if wide is not None and _few_control_chars(data.decode(wide, errors="replace")[:_SNIFF_BYTES]):
        return (
            f"not valid {wide.upper()} text (its NUL bytes fall as in UTF-16 without a byte-order mark, but it is "
            "cut short or has broken characters); save it as UTF-8"
        )
    if not _few_control_bytes(sample):
        return "binary file, not text (contains NUL bytes)"
    if not _few_nuls(sample):
        return (
            f"text with too many NUL bytes to drop them unseen ({sample.count(0)} in its first {len(sample)} bytes); "
            "if it is text, save it as UTF-8 (or UTF-16 with a byte-order mark)"
        )
    return "not text in UTF-8 or any encoding recognised (besides a few NUL bytes); save it as UTF-8"


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
        # UTF-16 and UTF-32 text holds NUL bytes; the HTML converter decodes what text_encoding reads (UTF-16 without
        # a byte-order mark, text with stray NULs), and trafilatura reads a page with stray NULs that declares its
        # charset
        wide = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_BE))
        if b"\x00" in data[:_SNIFF_BYTES] and not wide and text_encoding(data) is None:
            return _nul_reason(data)
        return None
    encoding = text_encoding(data)
    if encoding is None:
        if b"\x00" in data:
            return _nul_reason(data)
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
