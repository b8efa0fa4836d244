"""
Passage splitting for the reader: the ``splitting_function`` of Haystack's ``DocumentSplitter`` in the YAML.

Why these sizes: the reader reads 384-token windows of which up to 64 go to the question (plus 3 special tokens),
leaving about 317 tokens for the passage. English prose takes about 1.3 word pieces per word, so a passage of at
most :data:`MAX_WORDS` = 150 words (about 200 tokens) fits one reader window, fits all-MiniLM-L6-v2's 256 word
pieces, and is still long enough for retrieval to find it by its subject. Measured on docs/sample: passages of
38-146 words are 46-182 MiniLM tokens. Number-heavy text can reach about 2.3 tokens per word; the reader then
reads such a passage in two windows (``doc_stride``). Passages end on sentence (or line) boundaries and the next
passage repeats whole last sentences up to :data:`OVERLAP_WORDS` words, so an answer near a boundary is whole in
at least one passage. NLTK (Haystack's ``split_by="sentence"``) is not a dependency, so sentences are found with
a small rule: a ``.``, ``!`` or ``?`` (and closing quotes or brackets) followed by white space, or a line break.

Passages never cross a page break (form feed), so a passage's ``page_number`` is the page of all its text.
Every passage is an exact substring of the text given, so ``DocumentSplitter`` finds its start offset
(``split_idx_start``) and its page (form feeds before it) in that text.
"""

import re

MAX_WORDS = 150
OVERLAP_WORDS = 30

_UNIT_END = re.compile(r"""[.!?]+["'”’)\]]*\s+|\n+""")
_WORD = re.compile(r"\S+\s*")


def _units(text: str, max_words: int) -> list[str]:
    """Cut ``text`` into sentences or lines that concatenate back to ``text``; long ones into word runs."""
    units: list[str] = []
    start = 0
    for match in _UNIT_END.finditer(text):
        units.append(text[start : match.end()])
        start = match.end()
    if start < len(text):
        units.append(text[start:])
    result: list[str] = []
    for unit in units:
        words = _WORD.findall(unit)
        if len(words) <= max_words:
            result.append(unit)
            continue
        head = unit[: len(unit) - len(unit.lstrip())]
        chunks = ["".join(words[i : i + max_words]) for i in range(0, len(words), max_words)]
        chunks[0] = head + chunks[0]
        result.extend(chunks)
    return result


def _word_count(unit: str) -> int:
    return len(unit.split())


def split_into_passages(text: str, max_words: int = MAX_WORDS, overlap_words: int = OVERLAP_WORDS) -> list[str]:
    """
    Group the sentences of each page of ``text`` into passages of at most ``max_words`` words with overlap.

    :param text: the cleaned text of one file.
    :param max_words: the most words in one passage (a longer single sentence is cut between words).
    :param overlap_words: at most this many words of whole trailing sentences are repeated in the next passage.
    :returns: the passages, each an exact substring of ``text`` without leading or trailing white space and
        without a form feed.
    """
    passages: list[str] = []
    for page in text.split("\f"):
        passages.extend(_group(page, max_words, overlap_words))
    return passages


def _group(text: str, max_words: int, overlap_words: int) -> list[str]:
    units = _units(text, max_words)
    counts = [_word_count(unit) for unit in units]
    passages: list[str] = []
    first = 0
    while first < len(units):
        last = first
        words = counts[first]
        while last + 1 < len(units) and words + counts[last + 1] <= max_words:
            last += 1
            words += counts[last]
        passage = "".join(units[first : last + 1]).strip()
        if passage:
            passages.append(passage)
        if last + 1 >= len(units):
            break
        next_first = last + 1
        carried = 0
        while next_first - 1 > first and carried + counts[next_first - 1] <= overlap_words:
            next_first -= 1
            carried += counts[next_first]
        first = next_first
    return passages
