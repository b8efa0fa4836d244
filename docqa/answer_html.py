"""HTML of answers for the web page.

Document text is escaped and shown exactly as written: a passage with ``$40 and $50``, ``*`` or ``#`` must not turn
into LaTeX, emphasis or a heading, as it would through Markdown.
"""

import html

from docqa.ask import Answer, one_line, page_citation, section_citation


def passage_html(context: str, start: int, end: int) -> str:
    """The passage with the answer ``context[start:end]`` marked, its line breaks shown as such (a page break as
    a line break)."""

    def shown(text: str) -> str:
        return html.escape(text.replace("\f", "\n"))

    return (
        '<p style="white-space: pre-wrap">'
        + shown(context[:start])
        + f"<mark><b>{shown(context[start:end])}</b></mark>"
        + shown(context[end:])
        + "</p>"
    )


def answer_html(answer: Answer) -> str:
    """One answer: its text and score, its source (file, page and section), and its passage with the answer marked."""
    citation = page_citation(answer.page, answer.page_label) + section_citation(answer.section)
    source = html.escape(f"{answer.source or 'unknown source'}{citation}")
    return (
        f"<p><b>{html.escape(one_line(answer.text))}</b> — score {answer.score:.2f}</p>"
        f'<p style="opacity: 0.7; font-size: 0.875em">{source}</p>'
        + passage_html(answer.context, answer.start, answer.end)
    )
