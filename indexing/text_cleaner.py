"""Cleaning converted text before it is split: docqa's own cleaner in place of Haystack's ``DocumentCleaner``.

For ordinary text it gives what the ``DocumentCleaner`` configuration docqa used gives (NFKC, line breaks and form
feeds kept, other runs of white space made one space, spaces at line starts and ends and empty lines dropped). That
configuration cannot make three changes that real documents need:

- NFKC turns superscripts and subscripts into plain characters: ``10⁶`` becomes ``106`` and ``10⁻³`` ``10−3`` (wrong
  numbers in an answer), ``Revenue¹`` becomes ``Revenue1`` (a word BM25 no longer finds). It writes fractions with a
  fraction slash, so ``1½`` becomes ``11⁄2`` (eleven halves). Both are kept as they are, while ligatures (``ﬁ``) and
  full-width letters are still normalized.
- PDF words hyphenated at a line end (``commis-`` / ``sioned``) stay split, so neither keyword search nor an answer
  span has the word. They are joined.
- A PDF's page numbers (``Page 3 of 4``, ``- 3 -``) at the top or bottom of each page are part of every page's
  passages. Those lines are removed; other running headers and footers are kept, as the same line on every page may
  be content (a table's header row repeated on each page, a form printed in several copies, a title), and a number
  counting up from page to page may be an invoice number or a date. Haystack's ``remove_repeated_substrings`` finds
  only text that is identical on every page and removes substrings wherever they occur.
"""

import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from copy import deepcopy
from functools import cache
from pathlib import Path
from typing import Any

from haystack import Document, component, default_from_dict, default_to_dict, logging

logger = logging.getLogger(__name__)

SUPER_AND_SUBSCRIPT_TAGS = frozenset({"<super>", "<sub>"})
FRACTION_TAGS = frozenset({"<fraction>"})
#: Compatibility decompositions are all in planes 0 and 1 (plane 2 has canonical ones only).
_LAST_DECOMPOSED = 0x1FFFF

#: Running headers and footers: lines among the first and the last this many lines of a page ...
RUNNING_LINES_PER_EDGE = 2
#: ... that recur at that edge of at least this share of the pages with text ...
RUNNING_MIN_SHARE = 0.5
#: ... in a document of at least this many pages with text.
RUNNING_MIN_PAGES = 3

_DIGITS = re.compile(r"\d+")
#: A hyphen (or soft hyphen, or Unicode hyphen) at a line end, with the next line's first letter (the letter before
#: the hyphen is checked apart: a pattern that starts with a look-behind is tried at every position, and slowly).
_HYPHENATED = re.compile(r"[-\u00ad\u2010]\n(?=([^\W\d_]))")
_LETTER = re.compile(r"[^\W\d_]")


@component
class TextCleaner:
    """
    Cleans the text of documents for splitting; documents without text are passed on as they are.

    Steps, in this order:

    1. NFKC normalization (:meth:`_normalize`), keeping superscripts, subscripts and fractions as they are.
    2. White space (:meth:`_collapse_white_space`): line breaks and form feeds (page breaks) kept, every other run of
       white space made one space, spaces at line starts and ends and empty lines dropped.
    3. Running headers and footers removed (:meth:`_remove_running_lines`), for the extensions in
       ``remove_page_numbers_in``.
    4. Words hyphenated at a line end joined (:meth:`_join_hyphenated`), for the extensions in
       ``join_hyphenated_lines_in``.

    Like Haystack's ``DocumentCleaner``, each document becomes a new one with a copy of its ``meta`` (and its blob,
    score and embeddings) and a new id computed from the cleaned content, or the same id with ``keep_id``.

    :param keep_super_and_subscripts: keep characters that Unicode decomposes as ``<super>`` or ``<sub>`` (``⁶ ³ ¹ ₂
        ⁻ ª``; ``㎡`` becomes ``m²``) instead of making them plain (``10⁶`` would read ``106``).
    :param keep_fractions: keep characters that Unicode decomposes as ``<fraction>`` (``½ ¾ ⅓``) instead of
        writing them with a fraction slash (``1½`` would read ``11⁄2``, eleven halves).
    :param join_hyphenated_lines_in: file extensions (of ``meta["file_path"]``, any case) whose words hyphenated at a
        line end are joined; ``[".pdf"]`` when None. Only for files whose line breaks come from a page layout: see
        :meth:`_join_hyphenated`.
    :param remove_page_numbers_in: file extensions whose running headers and footers are removed;
        ``[".pdf"]`` when None. Only for files with pages: see :meth:`_remove_running_lines`.
    :param keep_id: keep each document's id instead of computing a new one from the cleaned content.
    """

    def __init__(
        self,
        keep_super_and_subscripts: bool = True,
        keep_fractions: bool = True,
        join_hyphenated_lines_in: list[str] | None = None,
        remove_page_numbers_in: list[str] | None = None,
        keep_id: bool = False,
    ) -> None:
        self.keep_super_and_subscripts = keep_super_and_subscripts
        self.keep_fractions = keep_fractions
        self.join_hyphenated_lines_in = (
            list(join_hyphenated_lines_in) if join_hyphenated_lines_in is not None else [".pdf"]
        )
        self.remove_page_numbers_in = list(remove_page_numbers_in) if remove_page_numbers_in is not None else [".pdf"]
        self.keep_id = keep_id

    def to_dict(self) -> dict[str, Any]:
        """Serialize the component."""
        return default_to_dict(
            self,
            keep_super_and_subscripts=self.keep_super_and_subscripts,
            keep_fractions=self.keep_fractions,
            join_hyphenated_lines_in=self.join_hyphenated_lines_in,
            remove_page_numbers_in=self.remove_page_numbers_in,
            keep_id=self.keep_id,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TextCleaner":
        """Deserialize the component."""
        return default_from_dict(cls, data)

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, list[Document]]:
        """
        Clean the documents' text.

        :param documents: the documents to clean.
        :returns: ``documents``: the cleaned documents, in the same order.
        :raises TypeError: if ``documents`` is not a list of Documents.
        """
        if not isinstance(documents, list) or (documents and not isinstance(documents[0], Document)):
            raise TypeError("TextCleaner expects a list of Documents as input.")
        cleaned = []
        for doc in documents:
            if doc.content is None:
                logger.warning(
                    "TextCleaner only cleans text documents but document.content for document ID {document_id} is "
                    "None.",
                    document_id=doc.id,
                )
                cleaned.append(doc)
                continue
            cleaned.append(
                Document(
                    id=doc.id if self.keep_id else "",
                    content=self.clean(doc.content, doc.meta.get("file_path")),
                    blob=doc.blob,
                    meta=deepcopy(doc.meta),
                    score=doc.score,
                    embedding=doc.embedding,
                    sparse_embedding=doc.sparse_embedding,
                )
            )
        return {"documents": cleaned}

    def clean(self, text: str, file_path: str | None = None) -> str:
        """
        The cleaned ``text`` of a file at ``file_path`` (whose extension says which steps apply).

        :param text: the converted text, pages separated by form feeds.
        :param file_path: the file's path; None for text of no file (only the steps for every file apply).
        """
        tags = (SUPER_AND_SUBSCRIPT_TAGS if self.keep_super_and_subscripts else frozenset()) | (
            FRACTION_TAGS if self.keep_fractions else frozenset()
        )
        text = self._collapse_white_space(self._normalize(text, tags))
        suffix = Path(file_path).suffix.lower() if file_path else None
        if suffix and suffix in {extension.lower() for extension in self.remove_page_numbers_in}:
            text = self._remove_running_lines(text)
        if suffix and suffix in {extension.lower() for extension in self.join_hyphenated_lines_in}:
            text = self._join_hyphenated(text)
        return text

    @staticmethod
    def _normalize(text: str, keep: frozenset[str] = SUPER_AND_SUBSCRIPT_TAGS | FRACTION_TAGS) -> str:
        """
        NFKC normalization of ``text``, but for characters whose decomposition has a tag in ``keep``, which stay as
        they are (also inside characters decomposing into them: ``㎡`` becomes ``m²``, not ``m2``).

        :param keep: decomposition tags, e.g. ``{"<super>", "<sub>", "<fraction>"}``; NFKC itself when empty.
        """
        if unicodedata.is_normalized("NFKC", text):
            return text
        if keep:
            kept, containing = _kept_characters(keep)
            # the text's characters: much faster than searching a long text for those it rarely has
            characters = set(text)
            here = characters & kept
            present = characters.intersection(containing)
            if present:
                text = _runs_of(present).sub(lambda run: "".join(containing[char] for char in run[0]), text)
                here |= kept.intersection("".join(containing[char] for char in present))
            if here:
                return _nfkc_keeping(text, _runs_of(here))
        return unicodedata.normalize("NFKC", text)

    @staticmethod
    def _collapse_white_space(text: str) -> str:
        """
        ``text`` with its line breaks and form feeds (page breaks: all of them, blank pages included) kept, every
        other run of white space made one space, white space at line starts and ends removed and empty lines
        dropped: what ``DocumentCleaner(remove_empty_lines=True, replace_regexes={"[^\\S\\n\\f]+": " ",
        "(?m)^ | $": ""})`` gives (white space as ``str.isspace`` has it, which is the regular expressions' ``\\s``).
        """
        pages = []
        for page in text.split("\f"):
            lines = (" ".join(line.split()) for line in page.split("\n"))
            pages.append("\n".join(line for line in lines if line))
        return "\f".join(pages)

    @staticmethod
    def _join_hyphenated(text: str) -> str:
        """
        ``text`` with words hyphenated at a line end joined: a hyphen (``-``, soft hyphen or U+2010) after a letter
        and before a line break is removed with the line break when the next line starts with a lowercase letter
        (``commis-`` / ``sioned`` is ``commissioned``; ``pre-`` / ``Columbian``, ``COVID-`` / ``19`` and a hyphen
        before a page break are kept). Expects text from :meth:`_collapse_white_space` (no spaces around line breaks).

        Only for files whose line breaks come from a page layout (PDF), where a hyphen at a line end is nearly always
        a word the typesetter broke. In text, Markdown, HTML and DOCX files the line breaks are the author's: a
        hyphen at the end of a line there was typed as it is (a dash before a line of its own, a list, code, a
        hard-wrapped compound such as ``long-`` / ``term``), and wrapping tools do not hyphenate. In a PDF, a
        compound broken at its own hyphen (``well-`` / ``known``) is joined too (``wellknown``): that cannot be told
        from a hyphenated word without a dictionary, and such words are rarer than hyphenated ones.
        """

        def join(match: re.Match[str]) -> str:
            after_letter = match.start() > 0 and _LETTER.match(text, match.start() - 1)
            return "" if after_letter and match[1].islower() else match[0]

        return _HYPHENATED.sub(join, text)

    @staticmethod
    def _remove_running_lines(text: str) -> str:
        """
        ``text`` (pages separated by form feeds, as :meth:`_collapse_white_space` leaves it) without its running
        headers and footers; every form feed is kept, and a page may be left empty.

        The rule, made to remove only what is surely not content:

        - Only in a document of at least :data:`RUNNING_MIN_PAGES` pages with text.
        - A header is a line among the first :data:`RUNNING_LINES_PER_EDGE` lines of a page, a footer one among the
          last as many. Lines count as the same when they differ only in their numbers (``Page 3 of 4`` is
          ``Page 4 of 4``).
        - A header (footer) is running when the same line is a header (footer) on at least
          :data:`RUNNING_MIN_SHARE` of the pages with text (and on 2 pages at least).
        - Numbers that differ from page to page must count up with the pages, as page numbers do (``Page 3`` on the
          third page, ``Page 4`` on the fourth, or any constant offset from them): an invoice number, a date or a
          balance at the top of each page is content. Lines whose numbers do not fit are kept.
        - Lines that differ only in their numbers on the same page are content there, such as the items of a numbered
          list (``Rule 1: ...``, ``Rule 2: ...``), and do not count as a header or footer on that page.
        - Only page-number lines go (:func:`is_page_number_line`: ``3``, ``- 3 -``, ``Page 3 of 12``, ``Side 3 av
          12``): a line that is the same on every page, or holds other words, may be content (a table's header row
          repeated on each page, a form printed in several copies, a title), and an invoice number or a date that
          counts up from page to page looks like a page number but for its words.
        - A running line is removed from every page where it is a header (footer); where it occurs elsewhere on a
          page it is kept. A page's only line is never removed.
        """
        pages = [page.split("\n") if page else [] for page in text.split("\f")]
        with_text = [number for number, lines in enumerate(pages) if lines]
        if len(with_text) < RUNNING_MIN_PAGES:
            return text
        needed = max(2, math.ceil(RUNNING_MIN_SHARE * len(with_text)))
        keys = [[_line_key(line) for line in lines] for lines in pages]
        numbered = [_numbered_keys(lines, page_keys) for lines, page_keys in zip(pages, keys, strict=True)]
        dropped: set[tuple[int, int]] = set()
        for edge in (slice(None, RUNNING_LINES_PER_EDGE), slice(-RUNNING_LINES_PER_EDGE, None)):
            places: dict[tuple[str, ...], list[tuple[int, int]]] = defaultdict(list)
            for number in with_text:
                for index in range(len(pages[number]))[edge]:
                    places[keys[number][index]].append((number, index))
            for key, found in places.items():
                found = [(number, index) for number, index in found if key not in numbered[number]]
                if len({number for number, _ in found}) < needed:
                    continue
                running = _with_page_numbers(found, pages)
                counting = len({pages[number][index] for number, index in running}) > 1
                if (
                    len({number for number, _ in running}) >= needed
                    and counting
                    and all(is_page_number_line(pages[number][index]) for number, index in running)
                ):
                    dropped.update(running)
        cleaned = []
        for number, lines in enumerate(pages):
            if len(lines) > 1:
                lines = [line for index, line in enumerate(lines) if (number, index) not in dropped]
            cleaned.append("\n".join(lines))
        return "\f".join(cleaned)


#: Words that may stand beside the numbers of a page-number line (``Page 3 of 12``, ``Seite 3 von 12``, ``p. 3``).
PAGE_NUMBER_WORDS = frozenset(
    [
        "page",
        "pages",
        "p",
        "pg",
        "pp",
        "of",
        "side",
        "sida",
        "sidan",
        "av",
        "seite",
        "von",
        "s",
        "página",
        "pagina",
        "de",
        "di",
        "sivu",
        "strona",
        "z",
        "blz",
        "van",
    ]
)
_PAGE_NUMBER_PUNCTUATION = re.compile(r"[\s\-\u2013\u2014|/.:,()\[\]]*")


def is_page_number_line(line: str) -> bool:
    """Whether ``line`` holds a page number and nothing else: one or two numbers (``3 of 12``; a date has three),
    :data:`PAGE_NUMBER_WORDS` (at most 3 words), dashes, bars, slashes and brackets."""
    if not 1 <= len(_DIGITS.findall(line)) <= 2:
        return False
    words = re.findall(r"[^\W\d_]+", line.lower())
    if len(words) > 3 or not set(words) <= PAGE_NUMBER_WORDS:
        return False
    rest = re.sub(r"[^\W\d_]+|\d+", "", line)
    return _PAGE_NUMBER_PUNCTUATION.fullmatch(rest) is not None


def _line_key(line: str) -> tuple[str, ...]:
    """A line with its numbers left out: lines that differ only in their numbers have the same key."""
    return tuple(_DIGITS.split(line))


def _numbered_keys(lines: list[str], keys: list[tuple[str, ...]]) -> set[tuple[str, ...]]:
    """The keys of a page's lines that differ only in their numbers (``Rule 1: ...``, ``Rule 2: ...``)."""
    distinct = Counter(key for key, _ in set(zip(keys, lines, strict=True)))
    return {key for key, count in distinct.items() if count > 1}


def _with_page_numbers(found: list[tuple[int, int]], pages: list[list[str]]) -> list[tuple[int, int]]:
    """
    The places (page, line) of lines with the same key whose numbers are the same on every page or count up with the
    pages: for each number in the line, whichever of the two most lines agree on (a tie counts as the same), and the
    lines that agree with it.
    """
    numbers = [_DIGITS.findall(pages[number][index]) for number, index in found]
    agree = [True] * len(found)
    for position in range(len(numbers[0])):
        values = [line_numbers[position] for line_numbers in numbers]
        shifts = [_shift(value, number) for value, (number, _) in zip(values, found, strict=True)]
        value, same = Counter(values).most_common(1)[0]
        shift, counting = Counter(shifts).most_common(1)[0]
        matches = [v == value for v in values] if same >= counting else [s == shift for s in shifts]
        agree = [a and m for a, m in zip(agree, matches, strict=True)]
    return [place for place, ok in zip(found, agree, strict=True) if ok]


def _shift(value: str, page: int) -> int | str:
    """How much a number is more than its page's index (a long digit string, no page number, stands for itself)."""
    return int(value) - page if len(value) < 10 else value


@cache
def _kept_characters(keep: frozenset[str]) -> tuple[frozenset[str], dict[str, str]]:
    """
    The characters whose decomposition has a tag in ``keep``, and what the characters whose compatibility
    decomposition holds one of them become (``㎡``: ``m²``). Built on first use.
    """
    kept = frozenset(chr(code) for code in range(_LAST_DECOMPOSED + 1) if _tag(chr(code)) in keep)
    pattern = _runs_of(kept)
    containing = {}
    for code in range(_LAST_DECOMPOSED + 1):
        char = chr(code)
        tag = _tag(char)
        if tag is None or tag in keep:
            continue
        decomposition = "".join(chr(int(part, 16)) for part in unicodedata.decomposition(char).split()[1:])
        if pattern.search(decomposition):
            containing[char] = _nfkc_keeping(decomposition, pattern)
    return kept, containing


def _runs_of(characters: Iterable[str]) -> re.Pattern[str]:
    """A pattern of runs of ``characters`` (a class of few characters: one of many, some beyond U+FFFF, is slow)."""
    characters = sorted(characters)
    return re.compile("[" + "".join(map(re.escape, characters)) + "]+" if characters else "(?!)")


def _tag(char: str) -> str | None:
    """The tag of a character's compatibility decomposition (``<super>``), or None (none, or canonical)."""
    decomposition = unicodedata.decomposition(char)
    return decomposition.split(maxsplit=1)[0] if decomposition.startswith("<") else None


def _nfkc_keeping(text: str, kept: re.Pattern[str]) -> str:
    """NFKC of the text between the runs that ``kept`` matches, which stay as they are."""
    parts = []
    start = 0
    for match in kept.finditer(text):
        parts.append(unicodedata.normalize("NFKC", text[start : match.start()]))
        parts.append(match[0])
        start = match.end()
    parts.append(unicodedata.normalize("NFKC", text[start:]))
    return "".join(parts)
