"""Finding the files to index and rejecting, with a reason, those that cannot be converted."""

import bisect
import codecs
import collections
import functools
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
#: The bytes legacy code pages are weighed by (each read in all of them).
_LEGACY_SAMPLE_BYTES = 1 << 14
#: A legacy code page charset-normalizer does not find by itself is taken where it reads the bytes with at most this
#: many misreadings per non-ASCII byte and charset-normalizer finds it no more garbled than this (its chaos, the share
#: of garbled text: it finds Finnish as Windows-1252, ``Hyvää päivää``, too garbled for its own limit of 0.2).
_MISREADING_SHARE = 0.1
_CHAOS_LIMIT = 0.5
_ASCII = bytes(range(0x80))
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
#: UTF-16 without a byte-order mark and with few NUL bytes: at least this share of the first bytes are not printable
#: ASCII (UTF-16 text has about half, Japanese in kana a fifth; English or French in an 8-bit encoding next to none)
#: ...
_UTF16_NOT_ASCII = 0.1
_PRINTABLE_ASCII = bytes(range(0x20, 0x7F)) + b"\n\r"
_UTF16_SAMPLE_BYTES = 1 << 13
#: ... and they read as at least this many letters, and of this many letters or more, no more than this share
#: different (Chinese text has at most 0.8 in 200 characters; 200 random CJK ideographs are nearly all different).
_UTF16_LETTERS = 4
_UTF16_REPEATS_IN = 200
_UTF16_DISTINCT_SHARE = 0.85
#: Scripts by the code point they start at, for telling UTF-16 text from other bytes read as UTF-16 (``rare``: rare
#: CJK ideographs, Yi, and scripts few texts are written in).
_SCRIPT_RANGES = (
    (0x0000, "latin"),
    (0x0370, "greek"),
    (0x0400, "cyrillic"),
    (0x0530, "armenian"),
    (0x0590, "hebrew"),
    (0x0600, "arabic"),
    (0x0700, "rare"),
    (0x0750, "arabic"),
    (0x0780, "rare"),
    (0x08A0, "arabic"),
    (0x0900, "devanagari"),
    (0x0980, "bengali"),
    (0x0A00, "gurmukhi"),
    (0x0A80, "gujarati"),
    (0x0B00, "oriya"),
    (0x0B80, "tamil"),
    (0x0C00, "telugu"),
    (0x0C80, "kannada"),
    (0x0D00, "malayalam"),
    (0x0D80, "sinhala"),
    (0x0E00, "thai"),
    (0x0E80, "lao"),
    (0x0F00, "tibetan"),
    (0x1000, "myanmar"),
    (0x10A0, "georgian"),
    (0x1100, "hangul"),
    (0x1200, "ethiopic"),
    (0x13A0, "rare"),
    (0x1780, "khmer"),
    (0x1800, "rare"),
    (0x1E00, "latin"),
    (0x1F00, "greek"),
    (0x2000, "symbols"),
    (0x2E80, "cjk"),
    (0x3130, "hangul"),
    (0x3190, "cjk"),
    (0x3400, "rare"),
    (0x4E00, "cjk"),
    (0xA000, "rare"),
    (0xAC00, "hangul"),
    (0xD7B0, "rare"),
    (0xF900, "cjk"),
    (0xFB00, "latin"),
    (0xFB1D, "hebrew"),
    (0xFB50, "arabic"),
    (0xFE00, "rare"),
    (0xFE70, "arabic"),
    (0xFF00, "cjk"),
    (0xFFF0, "rare"),
)
_SCRIPT_STARTS = [start for start, _ in _SCRIPT_RANGES]
_SCRIPTS = [script for _, script in _SCRIPT_RANGES]

#: Single-byte code pages, of European languages mostly, weighed by the letters they read besides those
#: charset-normalizer finds (it tells them apart poorly: it reads Czech as Windows-1252 and Latvian as Latin-1), in
#: order of preference where they read as well: Windows-1252 (older Western European files) first.
_LEGACY_CODE_PAGES = (
    "cp1252",
    "cp1250",
    "cp1251",
    "cp1253",
    "cp1254",
    "cp1257",
    "iso8859_15",
    "iso8859_2",
    "iso8859_13",
    "iso8859_7",
    "koi8_r",
    "koi8_u",
    "iso8859_5",
    "cp866",
    "cp1255",
    "iso8859_4",
    "iso8859_3",
)
#: The letters of the languages written in those code pages: the Latin letters beyond ASCII, and all the letters of
#: Cyrillic and Greek ones. A reading whose letters are not those of one language is a misreading: Czech ``třetího``
#: read as Windows-1252 is ``tøetího`` (ø is Danish, í is not).
_ALPHABETS = (
    "àâæçéèêëîïôœùûüÿ",  # French
    "äöüß",  # German
    "áéíñóúü",  # Spanish
    "àáâãçéêíóôõú",  # Portuguese
    "àèéìíîòóùú",  # Italian
    "àçéèíïòóúü",  # Catalan
    "áéëèïóöüíú",  # Dutch
    "åäöé",  # Swedish
    "äöåšž",  # Finnish
    "æøåéèêóòô",  # Norwegian, Danish
    "áðéíóúýþæö",  # Icelandic
    "äöõüšž",  # Estonian
    "çë",  # Albanian
    "ąćęłńóśźż",  # Polish
    "áčďéěíňóřšťúůýž",  # Czech
    "áäčďéíĺľňóôŕšťúýž",  # Slovak
    "áéíóöőúüű",  # Hungarian
    "čćđšž",  # Slovenian, Croatian, Bosnian, Serbian in Latin letters
    "ăâîșțşţ",  # Romanian
    "âçğıîöşüû",  # Turkish
    "ąčęėįšųūž",  # Lithuanian
    "āčēģīķļņšūž",  # Latvian
    "ĉĝĥĵŝŭ",  # Esperanto
    "àċèġħìòùż",  # Maltese
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",  # Russian
    "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя",  # Ukrainian
    "абвгдеёжзійклмнопрстуўфхцчшыьэюя",  # Belarusian
    "абвгдежзийклмнопрстуфхцчшщъьюя",  # Bulgarian
    "абвгдђежзијклљмнњопрстћуфхцчџш",  # Serbian
    "абвгдѓежзѕијклљмнњопрстќуфхцчџш",  # Macedonian
    "αβγδεζηθικλμνξοπρσςτυφχψωάέήίόύώϊϋ",  # Greek
)
_ALPHABET_SETS = tuple(map(frozenset, _ALPHABETS))
#: Vowels of Cyrillic: a word of Cyrillic letters without one is rare (``в``, ``СССР``), but common in other text read
#: as Cyrillic (Hebrew in Windows-1255 reads as Windows-1251 ``бйъ дсфш``).
_CYRILLIC_VOWELS = frozenset("аеёиоуыэюяєії")
#: Letters out of place in the languages that have them, as in other languages read in their code pages: ``ç``
#: between consonants (Latvian ``novēlēja`` read as Windows-1252 is ``novçlçja``), a grave-accented vowel before a
#: vowel (Slovenian ``občina`` is ``obèina``), ``æ`` between vowels (Croatian ``vijeće`` is ``vijeæe``), ``ñ`` before
#: no vowel (Polish ``Gdańsk`` is ``Gdañsk``), ``ð`` first in a word (Lithuanian ``Šiauliai`` is ``Ðiauliai``), ``þ``
#: after a vowel (Turkish ``teşekkür`` is ``teþekkür``), ``ą`` or ``ę`` before a vowel (Slovenian ``šola`` in
#: ISO-8859-2 read as Windows-1250 is ``ąola``), and ``ς`` inside a word.
_MISPLACED_LETTERS = re.compile(
    r"(?<=[b-df-hj-np-tv-z])ç[b-df-hj-np-tv-z]|[àèìòù][aeiouyà-åè-ïò-öù-ü]|(?:(?<!\w)|[aeiou])æ[aeiouy]"
    r"|ñ(?![aeiouáéíóú])|(?<!\w)ð|[aeiouy]þ|[ąę][aeiouy]|ς\w"
)
#: Symbols that may come inside a word (``don’t``, ``Jean‐Luc``, ``l·l``), before one and after one: quotes, dashes,
#: the ellipsis; before one also ¿, ¡ and ° (``°C``), after one also ©, ®, ™, °, ª and º (``nº``).
_INSIDE_WORDS = frozenset("’'‐‑–—…·.")
_BEFORE_WORDS = frozenset("“”„‚‘’«»‹›\"'–—‐‑…¿¡°")
_AFTER_WORDS = frozenset("“”„‚‘’«»‹›\"'–—‐‑…©®™°ªº")
#: A run of ASCII letters and other characters that are not white space, one of the latter at least (in text, and
#: in bytes of a single-byte encoding).
_NON_ASCII_WORD = re.compile(
    r"(?<![^\s\x00-\x40\x5b-\x60\x7b-\x7f])[a-zA-Z]*+[^\s\x00-\x7f][^\s\x00-\x40\x5b-\x60\x7b-\x7f]*+"
)
_NON_ASCII_BYTES_WORD = re.compile(
    rb"(?<![^\s\x00-\x40\x5b-\x60\x7b-\x7f])[a-zA-Z]*+[\x80-\xff][^\s\x00-\x40\x5b-\x60\x7b-\x7f]*+"
)


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
    :data:`MOSTLY_UTF8` when they are but for a few stray bytes; else the legacy code page that reads them with the
    fewest :func:`_misreadings` (``zosta³a`` is Polish read as Windows-1252, ``tøetího`` Czech), among those
    charset-normalizer finds about as little garbled as the least (it alone takes Czech for Western European and
    Latvian for Latin-1): Windows-1252 (older Western European files) first where several read as well, then the
    other Windows code pages. Bytes that read as UTF-16 text without a byte-order mark (Chinese, Japanese, Thai:
    text whose UTF-16 has few NUL bytes or none) are UTF-16 unless a code page reads them without a misreading.

    Bytes with NUL bytes are not binary data when they are one of:

    - UTF-16 without a byte-order mark (``utf-16-le`` or ``utf-16-be``), as some Windows tools and exports write it:
      a zero byte on the same side of most code units (the high byte of ASCII text), and valid UTF-16 that reads as
      text (few control characters); or, NUL bytes on both sides and not a few strays, valid UTF-16 whose text is of
      one script (:func:`_utf16_text_encoding`).
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
            return _utf16_text_encoding(data)
        encoding = _nul_free_text_encoding(data.replace(b"\x00", b""))
        return None if encoding is None else encoding + WITHOUT_NUL
    return _nul_free_text_encoding(data)


def _nul_free_text_encoding(data: bytes) -> str | None:
    """
    :func:`text_encoding` of bytes without a byte-order mark or NUL bytes: UTF-8 (but UTF-16 where UTF-8 would read
    control characters: Thai), :data:`MOSTLY_UTF8`, the legacy code page that reads them best, or UTF-16 without a
    byte-order mark (text without ASCII: Chinese, Japanese) where they read as its text and no code page reads them
    without misreadings.
    """
    if _decodes(data, "utf-8"):
        if _few_control_chars(data[:_SNIFF_BYTES].decode("utf-8", errors="ignore")):
            return "utf-8"
        return _utf16_text_encoding(data) or "utf-8"
    if _mostly_utf8(data):
        return MOSTLY_UTF8
    legacy = _legacy_encoding(data)
    if legacy is None or legacy[1]:
        wide = _utf16_text_encoding(data)
        if wide is not None:
            return wide
    return None if legacy is None else legacy[0]


def _legacy_encoding(data: bytes) -> tuple[str, int] | None:
    """
    The legacy code page that reads ``data`` with the fewest :func:`_misreadings`, and their number: among
    :data:`_LEGACY_CODE_PAGES` and those charset-normalizer finds (in this order where they read as well), one that
    charset-normalizer finds, by itself or asked about it alone, or with few misreadings (:data:`_MISREADING_SHARE`)
    and not too garbled (:data:`_CHAOS_LIMIT`). None where none is.
    """
    from charset_normalizer import from_bytes

    chaos = {result.encoding: result.chaos for result in from_bytes(data)}
    sample = _non_ascii_sample(data)
    misreadings = {}
    for encoding in dict.fromkeys([*_LEGACY_CODE_PAGES, *chaos]):
        count = _misreadings(sample, encoding)
        if count is not None:
            misreadings[encoding] = count
    non_ascii = len(sample) - len(sample.translate(None, _ASCII))
    for encoding in sorted(misreadings, key=misreadings.__getitem__):
        if (
            encoding in chaos
            or from_bytes(data, cp_isolation=[encoding]).best()
            or (
                misreadings[encoding] <= _MISREADING_SHARE * non_ascii
                and from_bytes(data, cp_isolation=[encoding], threshold=_CHAOS_LIMIT).best()
            )
        ) and _decodes(data, encoding):
            return encoding, misreadings[encoding]
    return None


def _non_ascii_sample(data: bytes) -> bytes:
    """The :data:`_LEGACY_SAMPLE_BYTES` of ``data`` from (a little before) its first non-ASCII byte."""
    first = re.search(rb"[\x80-\xff]", data)
    start = max(0, first.start() - 64) if first else 0
    return data[start : start + _LEGACY_SAMPLE_BYTES]


def _misreadings(sample: bytes, encoding: str) -> int | None:
    """
    How badly ``sample`` reads in ``encoding``, in its words with other than ASCII letters: symbols inside or stuck to
    words (``zosta³a`` is Polish read as Windows-1252), a capital after a small letter (``пОЕЪД`` is KOI8-R read as
    Windows-1251), letters of two scripts side by side (``cafй``), :data:`_MISPLACED_LETTERS`, Cyrillic words
    without a vowel, control and unassigned characters, and letters beyond those of the one language whose alphabet
    holds most of them. None where the sample does not decode.
    """
    table = _single_byte_table(encoding)
    if table is not None:
        if not _decodes(sample, encoding):
            return None
        blob = b" ".join(_NON_ASCII_BYTES_WORD.findall(sample))
        words = blob.decode(encoding)
        kinds = blob.translate(table[0]).decode("ascii")
        letters = collections.Counter()
        for byte, times in collections.Counter(blob).items():
            if table[1][byte]:
                letters[table[1][byte]] += times
    else:
        try:
            text = codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
        except UnicodeDecodeError:
            return None
        words = " ".join(_NON_ASCII_WORD.findall(text))
        kinds = words.translate(_CHAR_KINDS)
        letters = collections.Counter(words.translate(_ALPHABET_LETTERS))
    covered = max(sum(times for letter, times in letters.items() if letter in alphabet) for alphabet in _ALPHABET_SETS)
    return (
        3 * (len(sample) - len(sample.translate(None, _CONTROL_BYTES)))
        + 3 * kinds.count("c")
        + 2 * kinds.count("x")
        + 2 * len(_MISREADINGS_OF_2.findall(kinds))
        + len(_MISREADINGS_OF_1.findall(kinds))
        + len(_MISPLACED_LETTERS.findall(words.lower()))
        + letters.total()
        - covered
    )


@functools.cache
def _single_byte_table(encoding: str) -> tuple[bytes, list[str]] | None:
    """
    For a single-byte encoding, the :meth:`bytes.translate` table from bytes to the kinds of the characters they read
    as (:func:`_char_kind`) and the letters of :data:`_ALPHABETS` they read as ('' for others); None for others.
    """
    chars = "".join(bytes([byte]).decode(encoding, errors="replace") for byte in range(256))
    if len(chars) != 256 or bytes(range(256)).decode(encoding, errors="replace") != chars:
        return None
    return "".join(map(_char_kind, chars)).encode("ascii"), [char.translate(_ALPHABET_LETTERS) for char in chars]


class _CharKinds(dict):
    """A :meth:`str.translate` table from characters to their kind (:func:`_char_kind`), filled as they come."""

    def __missing__(self, point: int) -> str:
        self[point] = kind = _char_kind(chr(point))
        return kind


class _AlphabetLetters(dict):
    """A :meth:`str.translate` table that keeps the letters :data:`_ALPHABETS` are made of, in lower case."""

    def __missing__(self, point: int) -> str | None:
        lower = chr(point).lower()[0]
        self[point] = letter = lower if _char_kind(chr(point)) in "lLgGrRvV" and lower > "\x7f" else None
        return letter


_CHAR_KINDS = _CharKinds()
_ALPHABET_LETTERS = _AlphabetLetters()
_LETTER = "[aAlLgGrRvVokm]"
#: In words' kinds, misreadings that count twice: a symbol inside a word that is no :data:`_INSIDE_WORDS`, a letter next
#: to one of another script (ASCII and CJK is ``Python编程``); and once: a symbol after a word that is no
#: :data:`_AFTER_WORDS`, before one no :data:`_BEFORE_WORDS`, a capital letter after a small one (both ASCII is
#: ``iPhone``), a Cyrillic word of two letters or more, none a vowel.
_MISREADINGS_OF_2 = re.compile(
    f"(?<={_LETTER})[0246](?={_LETTER})|[lL](?=[gGrRvVok])|[gG](?=[lLrRvVok])|[rRvV](?=[lLgGok])|o(?=[lLgGrRvVk])"
    "|k(?=[lLgGrRvVo])|[aA](?=[gGrRvVo])|[gGrRvVo](?=[aA])"
)
_MISREADINGS_OF_1 = re.compile(
    f"(?<={_LETTER})[0123](?!{_LETTER})|(?<!{_LETTER})[0145](?={_LETTER})|[lgrv][ALGRV]|a[LGRV]"
    r"|(?<!\S)(?:[^\saAlLgGrRvVok]*+[rR]){2,}+[^\saAlLgGrRvVok]*+(?!\S)"
)


def _char_kind(char: str) -> str:
    """
    A character's kind, one letter: ``a``, ``A``: small, capital ASCII letter; ``l``, ``L``: other Latin; ``g``,
    ``G``: Greek; ``r``, ``R``: Cyrillic consonant; ``v``, ``V``: Cyrillic vowel; ``o``: letter of another alphabet;
    ``k``: of CJK and Korean; ``m``: mark or digit; ``c``: control; ``x``: private use, unassigned, half-width
    katakana or Korean letter parts; ``f``: neither letter nor symbol (formatting, punctuation of other scripts); a
    space for white space; a digit for a symbol: the sum of 1 for one of :data:`_INSIDE_WORDS`, 2 for
    :data:`_BEFORE_WORDS` and 4 for :data:`_AFTER_WORDS`.
    """
    if char.isspace():
        return " "
    category = unicodedata.category(char)
    point = ord(char)
    if (
        category in ("Lu", "Ll", "Lt")
        or (category == "Lo" and char not in "ªº")
        or (category == "Lm" and point >= 0x3000)
    ):
        capital = category in ("Lu", "Lt")
        if 0xFF61 <= point <= 0xFF9F or 0x3131 <= point <= 0x318E:
            return "x"
        if point < 0x80:
            return "A" if capital else "a"
        if point < 0x250 or 0x1E00 <= point < 0x1F00:
            return "L" if capital else "l"
        if 0x370 <= point < 0x400 or 0x1F00 <= point < 0x2000:
            return "G" if capital else "g"
        if 0x400 <= point < 0x530:
            if char.lower() in _CYRILLIC_VOWELS:
                return "V" if capital else "v"
            return "R" if capital else "r"
        return "k" if point >= 0x2E80 else "o"
    if category[0] == "M" or category == "Nd":
        return "m"
    if category == "Cc":
        return "c"
    if category in ("Co", "Cn"):
        return "x"
    if category == "Cf" or 0x590 <= point < 0x2000 or point >= 0x2C00:
        return "f"
    return str((char in _INSIDE_WORDS) + 2 * (char in _BEFORE_WORDS) + 4 * (char in _AFTER_WORDS))


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


def _utf16_text_encoding(data: bytes) -> str | None:
    """
    ``utf-16-le`` or ``utf-16-be`` when ``data`` is UTF-16 text without a byte-order mark, in any script (UTF-16
    of Chinese or Thai has few NUL bytes, or none): an even number of bytes, not mostly printable ASCII (text in an
    8-bit encoding), valid UTF-16 (no unpaired surrogates) whose sniffed text :func:`_reads_as_wide_text`.
    """
    sample = data[:_UTF16_SAMPLE_BYTES]
    if len(data) % 2 or not sample or len(sample.translate(None, _PRINTABLE_ASCII)) < _UTF16_NOT_ASCII * len(sample):
        return None
    high_bytes = {"utf-16-le": len(set(sample[1::2])), "utf-16-be": len(set(sample[0::2]))}
    for encoding in sorted(high_bytes, key=high_bytes.__getitem__):
        try:
            text = codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
        except UnicodeDecodeError:
            continue
        if _reads_as_wide_text(text) and _decodes_to_text(data, encoding):
            return encoding
    return None


def _reads_as_wide_text(text: str) -> bool:
    """
    Whether ``text`` (bytes read as UTF-16) reads as text: a few letters at least, no control, private-use or
    unassigned characters (but one in 200), symbols other than CJK ones (but one in 20), twice as many letters as
    other characters but white space, letters that repeat (:data:`_UTF16_DISTINCT_SHARE`), and letters of one script
    (and Latin) but one in 20. Other bytes read as UTF-16 give letters of many scripts, CJK ideographs among Hangul
    and rare ones, and symbols; numbers in the range of CJK ideographs give ideographs that hardly repeat.
    """
    scripts: dict[str, int] = {}
    distinct = set()
    bad = letters = others = symbols = 0
    for char in text:
        category = unicodedata.category(char)
        if category[0] in "LM":
            script = _SCRIPTS[bisect.bisect(_SCRIPT_STARTS, ord(char)) - 1]
            scripts[script] = scripts.get(script, 0) + 1
            letters += 1
            distinct.add(char)
        elif category in ("Cc", "Co", "Cn") and char not in "\t\n\r\f":
            bad += 1
        elif not char.isspace():
            others += 1
            symbols += category[0] == "S" and char < "\u2e80"
    if letters < _UTF16_LETTERS or bad * 200 > len(text) or symbols * 20 > len(text) or letters < 2 * others:
        return False
    if letters >= _UTF16_REPEATS_IN and len(distinct) > _UTF16_DISTINCT_SHARE * letters:
        return False
    main = max(scripts, key=scripts.__getitem__)
    in_main = scripts[main] + (scripts.get("latin", 0) if main != "latin" else 0)
    return main != "rare" and in_main >= 0.95 * letters


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
