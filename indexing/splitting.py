"""
Passage splitting for the reader: where passages start and end in a file's cleaned text, and on which page.

Why these sizes: the reader reads 384-token windows of which up to 64 go to the question (plus 3 special tokens),
leaving about 317 tokens for the passage, and all-MiniLM-L6-v2 embeds at most 256 word pieces. A passage holds at
most :data:`MAX_WORDS` = 150 words, where a word is a run of letters and digits or one punctuation mark: the pieces
a BERT-style tokenizer makes at the least. Counted so, a table row such as ``2024-05-25,INV-1052,"85,824.00",paid``
is 17 words, not the 1 word it has between spaces, and a passage of table rows stays near the embedder's limit
instead of running to thousands of word pieces of which it embeds the first 256. English prose has about 12% of
punctuation marks and 1.3 word pieces per letters-and-digits word, so a passage is about 170-200 word pieces.

Passages end on sentence (or line) boundaries and the next passage repeats whole last sentences up to
:data:`OVERLAP_WORDS` words, so an answer near a boundary is whole in at least one passage. A sentence longer than a
passage (a transcript, a text pasted without punctuation) is cut between words, and its pieces overlap by up to
:data:`OVERLAP_WORDS` words too. NLTK (Haystack's ``split_by="sentence"``) is not a dependency, so sentences are
found with a small rule: a ``.``, ``!`` or ``?`` (and closing quotes or brackets) followed by white space, or a
line break.

A passage crosses a page break (form feed) only where a sentence does: when a page's text ends inside a sentence,
the next page's first passage starts with that sentence's beginning (up to :data:`OVERLAP_WORDS` words), so a fact
split by the page break is whole in one passage; a passage's page is the page it starts on, and an answer's page is
counted from the form feeds before it (``docqa.components.reader``). The spans are
computed here, with their pages, rather than found again by searching for each passage's text, as Haystack's
``DocumentSplitter`` does: that search matched a later copy of repeated text (merged invoices from one template
were cited on the wrong page, with offsets past the end of the text) and took minutes for a text of a few MB.
"""

import re

MAX_WORDS = 150
OVERLAP_WORDS = 30

_UNIT_END = re.compile(r"""[.!?]+["'”’)\]]*\s+|\n+""")
_SPACED_WORD = re.compile(r"\S+\s*")
_COUNTED = re.compile(r"\w+|[^\w\s]")
_SENTENCE_END = re.compile(r"""[.!?]["'”’)\]]*\s*$""")


def word_count(text: str) -> int:
    """The words of ``text`` as passages count them: runs of letters and digits, and punctuation marks."""
    return len(_COUNTED.findall(text))


def _units(text: str, start: int, end: int, max_words: int) -> list[tuple[int, int, int]]:
    """
    Sentences or lines of ``text[start:end]`` as ``(start, end, words)``, covering it; a sentence longer than
    ``max_words`` is given as its words, each with its trailing white space.
    """
    bounds = [match.end() for match in _UNIT_END.finditer(text, start, end)]
    if not bounds or bounds[-1] < end:
        bounds.append(end)
    units: list[tuple[int, int, int]] = []
    previous = start
    for bound in bounds:
        count = word_count(text[previous:bound])
        if count <= max_words:
            units.append((previous, bound, count))
        else:
            units.extend(
                (match.start(), match.end(), word_count(match.group()))
                for match in _SPACED_WORD.finditer(text, previous, bound)
            )
        previous = bound
    return units


def _pack(units: list[tuple[int, int, int]], max_words: int, overlap_words: int) -> list[tuple[int, int]]:
    """Group consecutive units into runs of at most ``max_words`` words; each run after the first starts with whole
    units of the one before, up to ``overlap_words`` words. :returns: ``(first, last)`` unit indices of each run."""
    runs: list[tuple[int, int]] = []
    first = 0
    while first < len(units):
        last, words = first, units[first][2]
        while last + 1 < len(units) and words + units[last + 1][2] <= max_words:
            last += 1
            words += units[last][2]
        runs.append((first, last))
        if last + 1 >= len(units):
            break
        next_first, carried = last + 1, 0
        while next_first - 1 > first and carried + units[next_first - 1][2] <= overlap_words:
            next_first -= 1
            carried += units[next_first][2]
        first = next_first
    return runs


def passage_spans(
    text: str, max_words: int = MAX_WORDS, overlap_words: int = OVERLAP_WORDS
) -> list[tuple[int, int, int]]:
    """
    Where the passages of ``text`` are: sentences grouped page by page into passages of at most ``max_words``
    words, with overlap.

    :param text: the cleaned text of one file; form feeds separate its pages.
    :param max_words: the most words in one passage (see the module docstring for what a word is).
    :param overlap_words: at most this many words of whole trailing sentences are repeated in the next passage.
    :returns: ``(start, end, page)`` of each passage in order: ``text[start:end]`` has no leading or trailing white
        space and at most one form feed (a sentence that goes on on the next page); ``page`` is 1 + the number of form
        feeds before ``start``.
    """
    spans: list[tuple[int, int, int]] = []
    page_start = 0
    carried: list[tuple[int, int, int]] = []
    for page, page_end in enumerate([*(m.start() for m in re.finditer("\f", text)), len(text)], start=1):
        own = _units(text, page_start, page_end, max_words)
        units = carried + own if any(text[start:end].strip() for start, end, _ in own) else own
        for first, last in _pack(units, max_words, overlap_words):
            start, end = units[first][0], units[last][1]
            passage = text[start:end]
            stripped = passage.strip()
            if stripped:
                start += len(passage) - len(passage.lstrip())
                spans.append((start, start + len(stripped), page - (first < len(units) - len(own))))
        carried = _unfinished_sentence(text, own, overlap_words)
        page_start = page_end + 1
    return spans


def _unfinished_sentence(
    text: str, units: list[tuple[int, int, int]], overlap_words: int
) -> list[tuple[int, int, int]]:
    """The last units of a page when they hold a sentence that goes on on the next page (the page's text does not
    end a sentence), at most ``overlap_words`` words: the next page's first passage starts with them."""
    filled = [unit for unit in units if text[unit[0] : unit[1]].strip()]
    carried: list[tuple[int, int, int]] = []
    words = 0
    for unit in reversed(filled):
        if _SENTENCE_END.search(text, unit[0], unit[1]) or words + unit[2] > overlap_words:
            break
        carried.insert(0, unit)
        words += unit[2]
    return carried


def split_into_passages(text: str, max_words: int = MAX_WORDS, overlap_words: int = OVERLAP_WORDS) -> list[str]:
    """
    The passages of ``text`` (:func:`passage_spans`) as strings: a ``splitting_function`` for Haystack's
    ``DocumentSplitter`` (``split_by: function``) in pipelines written before :class:`indexing.passage_splitter.
    PassageSplitter`.
    """
    return [text[start:end] for start, end, _ in passage_spans(text, max_words, overlap_words)]
