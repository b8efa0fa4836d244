"""HTML files to documents: the main text as trafilatura extracts it, from whole pages and from fragments alike.

Haystack's ``HTMLToDocument`` hands the bytes to trafilatura, which finds nothing in a fragment without an ``<html>``
root (``<p>The ferry leaves at seven.</p>`` saved as a file) and guesses the encoding of a short page that declares
none (Latin-1 ``château`` comes out as ``ch‚teau``). This converter decodes such pages the way text files are
decoded (``indexing.files.text_encoding``) and reads a fragment as the body of a page.

trafilatura deletes every ``<aside>`` and ``<figure>`` as boilerplate, so a contact box or an image caption never
reached the index. The converter puts back, where they stood among the extracted text, the captions and the asides
that read as content (not mostly links, not navigation) outside navigation, footers, site headers, hidden parts and
blocks named as cookie banners, comments, sharing or ads.

The page's ``<h1>`` to ``<h6>`` headings that the text holds, each as a line of its own, go into the document's meta
as ``headings``: ``[level, title]`` in document order (plain-text output only). trafilatura leaves out navigation,
footers and the like, so the page's headings are matched to the text's lines: the most headings found at lines in
the order of the page, a heading written on several lines (``<br>``) by its first. A heading in an ``<aside>`` or
``<figure>`` names that box, not the text after it, and is not one of them.

Permalinks in headings (a link to the heading itself that shows only a mark: Sphinx's ``¶``, Node's and Docusaurus'
``#``, rustdoc's ``§``) are taken out of the page first, so neither the text nor the cited section reads
"Copyright¶".
"""

import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from pathlib import Path
from typing import Any

from haystack import Document, component, default_from_dict, default_to_dict
from haystack.dataclasses import ByteStream
from lxml.etree import iterwalk
from lxml.html import HtmlElement

from indexing.conversion import convert_sources
from indexing.files import text_encoding
from indexing.sections import occurrences

_SNIFF_BYTES = 4096
_DECLARED_CHARSET = re.compile(rb"<meta[^>]+charset|<\?xml[^>]+encoding", re.IGNORECASE)
_HTML_ROOT = re.compile(r"<html[\s>]", re.IGNORECASE)
_SIDE_TAGS = re.compile(r"<(?:aside|figcaption)[\s>]", re.IGNORECASE)
_SIDE_TAGS_BYTES = re.compile(_SIDE_TAGS.pattern.encode(), re.IGNORECASE)

_BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav",
    "ol", "p", "pre", "section", "summary", "table", "td", "th", "tr", "ul",
})  # fmt: skip
_NEVER_CONTENT = frozenset({
    "button", "dialog", "footer", "head", "iframe", "menu", "nav", "noscript", "object", "script", "select", "style",
    "svg", "template", "textarea",
})  # fmt: skip
_NAVIGATION_ROLES = frozenset(
    {"alertdialog", "banner", "contentinfo", "dialog", "menu", "menubar", "navigation", "search"}
)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_BOILERPLATE_NAME = re.compile(
    r"(?:^|[\s_-])(?:(?i:cookie|consent|gdpr|onetrust|disqus|newsletter)"
    r"|(?i:comments?|commentlist|respond|reply|replies|subscribe|subscription|share|sharing|social|ads?|advert"
    r"|advertisement|advertising|sponsor|sponsored|promo|related|popular|trending|breadcrumbs?|nav|navbar|navigation"
    r"|menu|footer)(?![a-z]))"
)
_MARKUP_PREFIX = re.compile(r"^(?:[-*+>]|#{1,6}|\d+\.)\s+")
_MIN_PARTIAL = 25
#: What a permalink in a heading shows.
_PERMALINK_MARKS = frozenset({"#", "¶", "§", "🔗", "⚓", "🔗\ufe0e", "🔗\ufe0f"})
_PERMALINK_HINT = re.compile(r"""href\s*=\s*["']?#""", re.IGNORECASE)
_PERMALINK_HINT_BYTES = re.compile(_PERMALINK_HINT.pattern.encode(), re.IGNORECASE)
_HEADING_TAGS = ("h1", "h2", "h3", "h4", "h5", "h6")
#: Headings and the lines of their titles, paired, beyond which the headings are matched in turn.
MAX_HEADING_PAIRS = 20_000


@component
class HTMLConverter:
    """
    Converts HTML files to Documents holding their main text (trafilatura), with the encoding used and the headings
    in ``meta``.

    :param extraction_kwargs: keyword arguments for trafilatura's ``extract``.
    :param store_full_path: keep the full path in ``file_path`` (else the file name only).
    :param keep_asides_and_captions: put back, in document order, the text of figure captions and of content-like
        ``<aside>`` blocks that trafilatura drops as boilerplate (text and Markdown output only).
    """

    def __init__(
        self,
        extraction_kwargs: dict[str, Any] | None = None,
        store_full_path: bool = True,
        keep_asides_and_captions: bool = True,
    ) -> None:
        self.extraction_kwargs = dict(extraction_kwargs or {})
        self.store_full_path = store_full_path
        self.keep_asides_and_captions = keep_asides_and_captions

    def to_dict(self) -> dict[str, Any]:
        """Serialize the component."""
        return default_to_dict(
            self,
            extraction_kwargs=self.extraction_kwargs,
            store_full_path=self.store_full_path,
            keep_asides_and_captions=self.keep_asides_and_captions,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "HTMLConverter":
        """Deserialize the component."""
        return default_from_dict(cls, data)

    @component.output_types(documents=list[Document])
    def run(
        self, sources: list[str | Path | ByteStream], meta: dict[str, Any] | list[dict[str, Any]] | None = None
    ) -> dict[str, list[Document]]:
        """
        Convert HTML files; a file that cannot be read, is empty or holds no text is left out (with a warning).

        :param sources: file paths or ByteStreams.
        :param meta: metadata for all documents, or one dict per source.
        :returns: ``documents``, one per file with text.
        """

        def text_of(stream: ByteStream) -> tuple[str | None, dict[str, Any]]:
            html, encoding = self._decode(stream.data)
            text, headings = self._extract(html)
            extra: dict[str, Any] = {"encoding": encoding} if encoding else {}
            if headings:
                extra["headings"] = headings
            return text, extra

        return {"documents": convert_sources(sources, meta, self.store_full_path, text_of)}

    @staticmethod
    def _decode(data: bytes) -> tuple[str | bytes, str | None]:
        """
        The page as text and the encoding it was read in; a page that declares its charset stays bytes for
        trafilatura, which reads the declaration (encoding None).
        """
        if _DECLARED_CHARSET.search(data[:_SNIFF_BYTES]):
            return data, None
        encoding = text_encoding(data)
        if encoding is None:
            return data, None
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:  # a broken UTF-16 page, say: trafilatura does what it can with the bytes
            return data, None

    def _extract(self, html: str | bytes) -> tuple[str | None, list[list[Any]]]:
        """The main text of ``html`` and its headings; a fragment (no ``<html>`` root) is read as a page's body."""
        html = _without_permalinks(html)
        text = self._extract_page(html)
        if not text:
            page = html if isinstance(html, str) else html.decode("utf-8", errors="replace")
            if _HTML_ROOT.search(page[:_SNIFF_BYTES]):
                return None, []
            html = f"<html><body>{page}</body></html>"
            text = self._extract_page(html)
        plain = self.extraction_kwargs.get("output_format", "txt") == "txt"
        if not text or not plain or self.extraction_kwargs.get("include_formatting", False):
            return text, []
        from trafilatura.utils import load_html

        tree = load_html(html)
        return text, [] if tree is None else _headings(tree, text)

    def _extract_page(self, html: str | bytes) -> str | None:
        """trafilatura's text of ``html``, with the captions and asides it dropped put back when so configured."""
        from trafilatura import extract
        from trafilatura.utils import load_html

        text = extract(html, **self.extraction_kwargs)
        output_format = self.extraction_kwargs.get("output_format", "txt")
        side_tags = _SIDE_TAGS if isinstance(html, str) else _SIDE_TAGS_BYTES
        if not self.keep_asides_and_captions or output_format not in ("txt", "markdown") or not side_tags.search(html):
            return text
        tree = load_html(html)
        if tree is None:
            return text
        markdown = output_format == "markdown" or self.extraction_kwargs.get("include_formatting", False)
        return _put_back(text, _text_blocks(tree), "\n\n" if markdown else "\n")


def _without_permalinks(html: str | bytes) -> str | bytes:
    """``html`` without the permalinks in its headings: links to a place in the page (``href="#..."``) inside an
    ``<h1>``-``<h6>`` that show only a permalink mark; unchanged where it has none."""
    hint = _PERMALINK_HINT if isinstance(html, str) else _PERMALINK_HINT_BYTES
    if not hint.search(html):
        return html
    from lxml.html import tostring
    from trafilatura.utils import load_html

    tree = load_html(html)
    if tree is None:
        return html
    permalinks = [
        link
        for heading in tree.iter(*_HEADING_TAGS)
        for link in heading.iter("a")
        if (link.get("href") or "").startswith("#") and link.text_content().strip() in _PERMALINK_MARKS
    ]
    if not permalinks:
        return html
    for link in permalinks:
        link.drop_tree()
    return tostring(tree, encoding="unicode")


def _headings(tree: HtmlElement, text: str) -> list[list[Any]]:
    """
    ``[level, title, None, occurrence]`` of the headings of the page ``tree`` that ``text`` holds as lines (see
    :func:`indexing.sections.heading_offsets`): the most that are found at lines in the page's order, the latest such
    lines, so that a heading that trafilatura left out does not take the line of a later one with the same title, nor a
    contents list the lines of the headings after it. A page whose headings have more than :data:`MAX_HEADING_PAIRS`
    such lines in all (thousands of headings of one title) takes each at the first line after the one before.
    """
    lines: dict[str, list[int]] = defaultdict(list)
    for number, line in enumerate(text.splitlines()):
        lines[" ".join(line.split())].append(number)
    candidates = [
        (int(element.tag[1]), _first_line(element))
        for element in tree.iter(*_HEADING_TAGS)
        if not element.xpath("ancestor::aside|ancestor::figure")
    ]
    if sum(len(lines.get(title, ())) for _, title in candidates) > MAX_HEADING_PAIRS:
        return _headings_in_turn(candidates, lines, text)
    # A longest decreasing sequence of lines over the headings taken last to first: of the longest, the one whose
    # lines are latest, so that a contents list before the headings does not take their lines.
    pairs = [
        (i, line)
        for i in reversed(range(len(candidates)))
        if (title := candidates[i][1])
        for line in lines.get(title, [])
    ]
    ends: list[int] = []  # the least -line that ends a sequence of each length
    last: list[int] = []  # the pair it ends with
    previous: list[int | None] = []
    for index, (_, line) in enumerate(pairs):
        length = bisect_left(ends, -line)
        previous.append(last[length - 1] if length else None)
        if length == len(ends):
            ends.append(-line)
            last.append(index)
        else:
            ends[length], last[length] = -line, index
    chosen: list[tuple[int, int]] = []
    at = last[-1] if last else None
    while at is not None:
        chosen.append(pairs[at])
        at = previous[at]
    counts = occurrences(text, [line for _, line in chosen])
    return [[*candidates[index], None, count] for (index, _), count in zip(chosen, counts, strict=True)]


def _headings_in_turn(candidates: list[tuple[int, str]], lines: dict[str, list[int]], text: str) -> list[list[Any]]:
    chosen: list[tuple[int, int]] = []
    after = -1
    for index, (_, title) in enumerate(candidates):
        at = bisect_right(lines.get(title, []), after)
        if title and at < len(lines[title]):
            after = lines[title][at]
            chosen.append((index, after))
    counts = occurrences(text, [line for _, line in chosen])
    return [[*candidates[index], None, count] for (index, _), count in zip(chosen, counts, strict=True)]


def _first_line(heading: HtmlElement) -> str:
    """The first non-empty line of a heading's text, a ``<br>`` breaking lines, white space collapsed."""
    pieces = ["\n" if isinstance(node, HtmlElement) else str(node) for node in heading.xpath(".//text()|.//br")]
    return next((" ".join(line.split()) for line in "".join(pieces).splitlines() if line.strip()), "")


def _text_blocks(tree: HtmlElement) -> list[tuple[str, bool]]:
    """
    The page's text, block by block in document order, leaving out what is never content; each block with whether
    it is in a caption or a content-like aside.
    """
    blocks: list[tuple[str, bool]] = []
    run: list[str] = []
    side: HtmlElement | None = None
    in_content = 0
    opened: list[tuple[bool, bool, bool]] = []

    def flush() -> None:
        text = " ".join("".join(run).split())
        run.clear()
        if text:
            blocks.append((text, side is not None))

    body = tree.find("body")
    root = tree if body is None else body
    walker = iterwalk(root, events=("start", "end", "comment", "pi"))
    for event, element in walker:
        if event in ("comment", "pi"):
            run.append(element.tail or "")
            continue
        tag = element.tag if isinstance(element.tag, str) else None
        if event == "start":
            if tag in _BLOCKS:
                flush()
            skip = tag is None or (element is not root and _never_content(element, tag, in_content > 0))
            starts_side = not skip and side is None and tag in ("aside", "figcaption")
            is_content = tag in ("article", "main")
            opened.append((skip, starts_side, is_content))
            if skip:
                walker.skip_subtree()
                continue
            if starts_side:
                side = element
            in_content += is_content
            run.append(element.text or "")
        else:
            skip, ends_side, is_content = opened.pop()
            if tag in _BLOCKS:
                flush()
            if ends_side:
                side = None
            if not skip:
                in_content -= is_content
            if element is not root:
                run.append(element.tail or "")
    flush()
    return blocks


def _never_content(element: HtmlElement, tag: str, in_content: bool) -> bool:
    """Whether ``element`` is navigation, a footer, a site header, hidden, or named as boilerplate."""
    if tag in _NEVER_CONTENT or (tag == "header" and not in_content):
        return True
    if (element.get("role") or "").lower() in _NAVIGATION_ROLES or element.get("hidden") is not None:
        return True
    if element.get("aria-hidden") == "true" or _HIDDEN_STYLE.search(element.get("style") or ""):
        return True
    if tag == "aside" and _is_navigation(element):
        return True
    names = " ".join(element.get(name) or "" for name in ("id", "class", "aria-label"))
    return bool(_BOILERPLATE_NAME.search(names)) and not element.xpath("boolean(.//article|.//main|.//h1)")


def _is_navigation(aside: HtmlElement) -> bool:
    """Whether an aside is navigation: no text, a ``<nav>``, or links for at least half its text."""
    text = len("".join(aside.text_content().split()))
    links = sum(len("".join(link.text_content().split())) for link in aside.iter("a"))
    return not text or 2 * links >= text or bool(aside.xpath("boolean(.//nav|.//*[@role='navigation'])"))


def _put_back(text: str | None, blocks: list[tuple[str, bool]], separator: str) -> str | None:
    """
    ``text`` with the side blocks it lacks inserted after the last block before them that it holds.

    :param text: trafilatura's text, its blocks joined by ``separator``.
    :param blocks: the page's blocks and whether each is a side block (:func:`_text_blocks`).
    :returns: the text with the missing side blocks in place.
    """
    if not any(is_side for _, is_side in blocks):
        return text
    units = text.split(separator) if text else []
    lines = [[_MARKUP_PREFIX.sub("", " ".join(line.split())) for line in unit.split("\n")] for unit in units]
    found_in = _Units(lines)
    added: dict[int, list[str]] = {}
    position = 0
    for block, is_side in blocks:
        found = found_in.first(block, 0 if is_side else position)
        if found is not None:
            position = max(position, found + 1)
        elif is_side and all(block not in put for put in added.values()):
            added.setdefault(position, []).append(block)
    joined = [part for index, unit in enumerate(units) for part in (*added.get(index, []), unit)]
    return separator.join(joined + added.get(len(units), [])) or None


class _Units:
    """The normalized lines of a text's units, to find a block: as a line or, when long, inside one."""

    def __init__(self, lines: list[list[str]]) -> None:
        self.lines = lines
        self.whole = "\n".join(line for unit in lines for line in unit)
        self.where: dict[str, list[int]] = {}
        for index, unit in enumerate(lines):
            for line in unit:
                self.where.setdefault(line, []).append(index)

    def first(self, block: str, start: int) -> int | None:
        """The first unit from ``start`` holding ``block``."""
        exact = self.where.get(block, [])
        at = bisect_left(exact, start)
        if at < len(exact):
            return exact[at]
        if len(block) < _MIN_PARTIAL or block not in self.whole:
            return None
        return next((i for i in range(start, len(self.lines)) if any(block in line for line in self.lines[i])), None)
