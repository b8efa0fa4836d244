"""Markdown files to documents: Haystack's ``MarkdownToDocument`` plus the file's headings, for citations.

The text is ``MarkdownToDocument``'s, markdown-it's plain rendering. The ATX (``## Leave``) and Setext (a line
underlined with ``===`` or ``---``) headings go into the document's meta as ``headings``: ``[level, title, None,
occurrence]`` in document order (the occurrence tells the heading from a contents list's line), the title rendered as
the text renders it (``## The *new* [policy](x.html) ##`` gives ``The new policy``), white space collapsed; of a Setext
heading written on several lines, the first, which is the line the text has. Lines that only look like headings (in code
blocks, in HTML blocks) are not headings, and neither is YAML front matter left in the text, which markdown-it reads as
a ``---`` underlined heading.
"""

import re
from itertools import pairwise
from pathlib import Path
from typing import Any

from haystack import component
from haystack.components.converters.markdown import MarkdownToDocument
from haystack.dataclasses import ByteStream
from markdown_it.token import Token

from indexing.sections import occurrences

#: Put before each heading's text to find the line it is rendered on.
_MARK = "\ue000"
#: Front matter as ``MarkdownToDocument`` finds it.
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n.*?\r?\n---[ \t]*(?:\r?\n|$)", re.DOTALL)


@component
class MarkdownConverter(MarkdownToDocument):
    """
    Converts Markdown files to Documents as ``MarkdownToDocument`` does, with ``headings`` in the meta of those that
    have headings.

    Takes ``MarkdownToDocument``'s parameters (``table_to_single_line``, ``store_full_path``, ...).
    """

    def _extract_frontmatter(self, file_content: str, source: str | Path | ByteStream) -> tuple[str, dict[str, Any]]:
        """
        The base's front matter split, with the headings of the text left to render added to the metadata it returns
        (the base calls this once per file and merges that metadata into the document's meta); a ``headings`` key
        of the front matter gives way to them.
        """
        content, metadata = MarkdownToDocument._extract_frontmatter(self, file_content, source)
        metadata.pop("headings", None)
        headings = self._headings(content)
        if headings:
            metadata["headings"] = headings
        return content, metadata

    def _headings(self, content: str) -> list[list[Any]]:
        """``[level, title, None, occurrence]`` of the headings of ``content``, in order, as the plain renderer writes
        them (see :func:`indexing.sections.heading_offsets`)."""
        from markdown_it import MarkdownIt
        from mdit_plain.renderer import RendererPlain

        parser = MarkdownIt(renderer_cls=RendererPlain)
        if self.table_to_single_line:
            parser.enable("table")
        front_matter = _FRONT_MATTER.match(content)
        first_line = front_matter.group(0).count("\n") if front_matter else 0
        tokens = parser.parse(content)
        headings: list[list[Any]] = []
        marked = []
        for token, inline in pairwise(tokens):
            if token.type != "heading_open" or (token.map and token.map[0] < first_line):
                continue
            text = parser.renderer.render(inline.children or [], parser.options, {})
            title = next((" ".join(line.split()) for line in text.splitlines() if line.strip()), "")
            if title:
                headings.append([int(token.tag[1:]), title, None, None])
                inline.children = [Token("text", "", 0, content=_MARK), *(inline.children or [])]
                marked.append(inline)
        if headings:
            rendered = parser.renderer.render(tokens, parser.options, {})
            numbers = [number for number, line in enumerate(rendered.splitlines()) if _MARK in line]
            if len(numbers) == len(headings):
                for heading, count in zip(headings, occurrences(rendered.replace(_MARK, ""), numbers), strict=True):
                    heading[3] = count
        return headings
