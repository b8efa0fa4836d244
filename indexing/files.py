"""Finding the files to index and rejecting, with a reason, those that cannot be converted."""

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from docqa.errors import InputPathError, NoDocumentsFoundError

SUPPORTED_EXTENSIONS = (".txt", ".md", ".html", ".htm", ".pdf", ".docx")
TEXT_EXTENSIONS = (".txt", ".md", ".html", ".htm")
_SNIFF_BYTES = 1 << 16


@dataclass
class Discovery:
    """The files found under the paths given: those to index, and those skipped with their reason."""

    files: list[Path] = field(default_factory=list)
    skipped: dict[Path, str] = field(default_factory=dict)


def discover_files(paths: list[str | Path]) -> Discovery:
    """
    Expand files and folders (recursively, hidden entries left out) into the files to index.

    A file with an unsupported extension is skipped with a reason; files are absolute, resolved and unique.

    :raises InputPathError: when a path does not exist (before anything is indexed).
    :raises NoDocumentsFoundError: when no file of a supported type is found.
    """
    discovery = Discovery()
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            raise InputPathError(str(raw))
        if path.is_dir():
            candidates = sorted(p for p in path.rglob("*") if p.is_file() and not _hidden(p.relative_to(path)))
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
        raise NoDocumentsFoundError([str(p) for p in paths], list(SUPPORTED_EXTENSIONS))
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


def _text_reason(path: Path) -> str | None:
    data = path.read_bytes()
    if b"\x00" in data[:_SNIFF_BYTES]:
        return "binary file, not text (contains NUL bytes)"
    if path.suffix.lower() in (".txt", ".md"):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            return f"not UTF-8 text (undecodable byte at offset {error.start})"
        if not text.strip():
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
    return None


def _docx_reason(path: Path) -> str | None:
    if not zipfile.is_zipfile(path):
        return "not a DOCX file (not a zip archive)"
    try:
        with zipfile.ZipFile(path) as archive:
            if "word/document.xml" not in archive.namelist():
                return "not a DOCX file (no word/document.xml)"
    except zipfile.BadZipFile:
        return "corrupt DOCX file"
    return None
