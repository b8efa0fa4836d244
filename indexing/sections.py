"""
Sections: which headings a passage, and an answer in it, come under, for citations ("Leave › Parental leave").

Converters record a file's headings in its meta as ``headings``: ``[level, title]`` in document order (Markdown,
HTML, Word), or ``[level, title, page]`` from a PDF's outline (bookmarks), a smaller level being higher in the
outline. Cleaning changes the text (normalization, joined hyphens, removed page numbers), so the headings are found
again here, in the cleaned text the splitter cuts: each title as a whole line, in order, after the previous one (a
heading that is not found is skipped; a PDF outline item is looked for on its own page only, as a line, then at the
end of a line after its number, then as part of a line, else it starts at the top of its page).

A section's *path* is the titles of the headings it is under, joined by :data:`PATH_SEPARATOR`. The first heading is
left out of every path when it is a title over the whole document, as it would be in every path: the only one of the
highest level, with other headings after it (a Markdown file's ``# Employee handbook`` above its ``##`` sections), or
a file's only heading, at its top (a Word memo's title).
"""

import bisect
import re
import unicodedata
from collections import defaultdict
from typing import Any

PATH_SEPARATOR = " › "
_NOT_LETTER_OR_DIGIT = re.compile(r"[\W_]+")
_PERMALINK_MARKS = " \t¶§ⓘ🔗⚓"
#: The most characters of one heading's title in a path.
MAX_TITLE_CHARS = 100
#: A file's only heading is its title, not a section, when it starts within this many characters of the text's start
#: (after a running header, say).
TITLE_WITHIN_CHARS = 200


def _key(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split()).casefold()


class _Lines:
    """The lines of a text with their offsets, for finding a title as a whole line at or after a line."""

    def __init__(self, text: str) -> None:
        self.starts: list[int] = []
        self.keys: list[str] = []
        self.by_key: dict[str, list[int]] = defaultdict(list)
        offset = 0
        for line in text.splitlines(keepends=True):
            stripped = line.lstrip()
            self.starts.append(offset + len(line) - len(stripped))
            self.keys.append(key := _key(line))
            self.by_key[key].append(len(self.keys) - 1)
            offset += len(line)
        self._page_of_line = self._pages(text)

    @staticmethod
    def _pages(text: str) -> list[int]:
        pages, page = [], 1
        for line in text.splitlines(keepends=True):
            pages.append(page)
            page += line.count("\f")
        return pages

    def find(self, key: str, first: int, stop: int) -> int | None:
        """The first line from ``first`` (inclusive) to ``stop`` (exclusive) that is ``key``."""
        lines = self.by_key.get(key, [])
        at = bisect.bisect_left(lines, first)
        return lines[at] if at < len(lines) and lines[at] < stop else None

    def page_range(self, page: int) -> tuple[int, int]:
        """The lines of ``page`` (1-based) as ``first, stop``; an empty range past the last page."""
        first = bisect.bisect_left(self._page_of_line, page)
        stop = bisect.bisect_right(self._page_of_line, page)
        return first, stop


def heading_offsets(text: str, headings: Any) -> list[tuple[int, int, str]]:
    """
    The converter's ``headings`` found in the cleaned ``text``: ``(offset, level, title)`` in text order.

    A heading is ``[level, title]``, ``[level, title, page]`` (a PDF outline item) or ``[level, title, page,
    occurrence]``: ``page`` None where the format has none, ``occurrence`` how many lines of the converted text before
    the heading's own line are that title too (:func:`occurrences`), so that a contents list holding the same lines
    does not take its place.

    :param text: the cleaned text of one file.
    :param headings: its ``headings`` meta (anything else gives no headings).
    """
    if not isinstance(headings, list) or not headings or not text:
        return []
    lines = _Lines(text)
    found: list[tuple[int, int, str]] = []
    next_line = 0
    for number, heading in enumerate(headings):
        if not isinstance(heading, (list, tuple)) or not 2 <= len(heading) <= 4:
            continue
        level, title = heading[0], heading[1]
        page = heading[2] if len(heading) > 2 else None
        occurrence = heading[3] if len(heading) > 3 else None
        if not isinstance(level, int) or not isinstance(title, str) or not (key := _key(title)):
            continue
        if page is not None:
            line = _paged_line(lines, key, page, next_line, _title_key(headings, number + 1))
        else:
            line = _nth_line(lines, key, occurrence, next_line)
        if line is None:
            continue
        found.append((lines.starts[line], level, " ".join(title.split())))
        next_line = line + 1 if lines.keys[line] == key else line
    return found


def occurrences(text: str, line_numbers: list[int]) -> list[int]:
    """
    For each line of ``text`` (a converter's output, numbered as ``str.splitlines`` numbers them), how many lines
    before it read the same: the ``occurrence`` of a heading written on that line.
    """
    seen: dict[str, int] = defaultdict(int)
    counts: dict[int, int] = {}
    wanted = set(line_numbers)
    for number, line in enumerate(text.splitlines()):
        key = _key(line)
        if number in wanted:
            counts[number] = seen[key]
        seen[key] += 1
    return [counts.get(number, 0) for number in line_numbers]


def _nth_line(lines: _Lines, key: str, occurrence: Any, next_line: int) -> int | None:
    """The line that is the ``occurrence``-th (from 0) of those reading ``key``, where it exists and comes after the
    previous heading; else the first such line after the previous heading."""
    if isinstance(occurrence, int) and not isinstance(occurrence, bool) and occurrence >= 0:
        same = lines.by_key.get(key, [])
        if occurrence < len(same) and same[occurrence] >= next_line:
            return same[occurrence]
    return lines.find(key, next_line, len(lines.keys))


def _loose(key: str) -> str:
    return _NOT_LETTER_OR_DIGIT.sub("", key)


def _title_key(headings: list[Any], number: int) -> str:
    heading = headings[number] if number < len(headings) else None
    title = heading[1] if isinstance(heading, (list, tuple)) and len(heading) > 1 else None
    return _key(title) if isinstance(title, str) else ""


def _paged_line(lines: _Lines, key: str, page: Any, next_line: int, following: str = "") -> int | None:
    """
    The line of a PDF outline item on its ``page``, the first of: the title as a line (not one followed by the
    ``following`` item's title, a contents list's, where the page has another); a line reading the same in
    letters and digits ("Non-regular" for a bookmark "Nonregular"); one ending with it (a bookmark "Methods" for
    "2.1 Methods"); two lines that do (a title wrapped); one holding it; the page's first line, where no earlier item
    is on the page. None when the page is not in the text, lies before the previous item, or has one and the title
    is not found.
    """
    if not isinstance(page, int) or isinstance(page, bool):
        return None
    page_first, stop = lines.page_range(page)
    first = max(page_first, next_line)
    if first >= stop:
        return None
    exact = [line for line in lines.by_key.get(key, []) if first <= line < stop]
    if exact:
        return next(
            (line for line in exact if not following or line + 1 >= stop or lines.keys[line + 1] != following), exact[0]
        )
    loose = _loose(key)
    keys = lines.keys
    for matches in (
        lambda i: loose and _loose(keys[i]) == loose,
        lambda i: keys[i].endswith(" " + key),
        lambda i: loose and i + 1 < stop and _loose(keys[i] + keys[i + 1]).endswith(loose),
        lambda i: key in keys[i],
    ):
        line = next((i for i in range(first, stop) if matches(i)), None)
        if line is not None:
            return line
    return first if first == page_first else None


def section_starts(text: str, headings: Any) -> list[tuple[int, str]]:
    """
    Where each section of ``text`` starts and its path: ``(offset, path)`` in text order.

    :param text: the cleaned text of one file.
    :param headings: its ``headings`` meta.
    """
    found = heading_offsets(text, headings)
    if found and _is_document_title(found):
        found = found[1:]
    starts: list[tuple[int, str]] = []
    open_headings: list[tuple[int, str]] = []
    for offset, level, title in found:
        while open_headings and open_headings[-1][0] >= level:
            open_headings.pop()
        open_headings.append((level, title))
        starts.append((offset, PATH_SEPARATOR.join(shown_title(title) for _, title in open_headings)))
    return starts


def shown_title(title: str) -> str:
    """A heading's title as a path shows it: without the permalink marks pages put after it (Sphinx's ``¶``,
    rustdoc's ``§``; not ``#``, as in "C#") and cut to :data:`MAX_TITLE_CHARS` (a long paragraph in a heading
    style)."""
    title = title.rstrip(_PERMALINK_MARKS) or title
    return title if len(title) <= MAX_TITLE_CHARS else title[: MAX_TITLE_CHARS - 1].rstrip() + "…"


def _is_document_title(found: list[tuple[int, int, str]]) -> bool:
    """Whether the first heading is a title over the whole document: the only one of the highest level, with other
    headings after it, or the only heading, at the top of the text."""
    if len(found) == 1:
        return found[0][0] < TITLE_WITHIN_CHARS
    top = min(level for _, level, _ in found)
    return found[0][1] == top and all(level > top for _, level, _ in found[1:])


def passage_sections(starts: list[tuple[int, str]], start: int, end: int) -> dict[str, Any]:
    """
    The section meta of the passage ``text[start:end]``: ``section``, the path it starts under, and, where other
    sections start inside it, ``section_offsets`` (offsets in the passage, the first 0) and ``sections`` (their
    paths, the first ``section`` or ``""``); empty when no section applies.

    :param starts: :func:`section_starts` of the passage's text.
    """
    before = bisect.bisect_right(starts, start, key=lambda item: item[0])
    section = starts[before - 1][1] if before else ""
    inside = [(offset - start, path) for offset, path in starts[before:] if offset < end]
    meta: dict[str, Any] = {}
    if section:
        meta["section"] = section
    if inside:
        meta["section_offsets"] = [0] + [offset for offset, _ in inside]
        meta["sections"] = [section] + [path for _, path in inside]
    return meta
