"""How answers are shown: the CLI's text and the page's HTML keep document text literal."""

import html
from html.parser import HTMLParser

import pytest
from haystack import Document
from haystack.dataclasses import ExtractedAnswer

from docqa.answer_html import answer_html, passage_html
from docqa.ask import Answer, AskResult, one_line, page_citation, result_from_answers
from docqa.commands.ask import NO_ANSWER_TEXT, format_result, highlight

pytestmark = pytest.mark.unit


class _Text(HTMLParser):
    """The visible text of an HTML fragment, and the text inside <mark>."""

    def __init__(self) -> None:
        super().__init__()
        self.text, self.marked, self._in_mark = [], [], False

    def handle_starttag(self, tag, attrs):
        self._in_mark |= tag == "mark"

    def handle_endtag(self, tag):
        self._in_mark &= tag != "mark"

    def handle_data(self, data):
        self.text.append(data)
        if self._in_mark:
            self.marked.append(data)


def _parse(fragment: str) -> _Text:
    parser = _Text()
    parser.feed(fragment)
    return parser


def _answer(text, context, start, source="/docs/a_b_c.pdf", page=2, score=0.91):
    return Answer(text=text, score=score, source=source, page=page, start=start, end=start + len(text), context=context)


def test_one_line_collapses_line_breaks_and_runs_of_spaces():
    assert one_line("\nThe most planted\n  apple ") == "The most planted apple"


def test_passage_html_marks_exactly_the_answer_and_escapes_markup():
    context = "Fees: $40 and $50 <script>alert(1)</script> *net* # total"
    start = context.index("$40")
    parsed = _parse(passage_html(context, start, start + len("$40 and $50")))
    assert "".join(parsed.marked) == "$40 and $50"
    assert "".join(parsed.text) == context
    assert "<script>" not in passage_html(context, 0, 4)


def test_passage_html_keeps_line_breaks_visible():
    fragment = passage_html("Brewing Green Tea\nGreen tea is made from leaves.", 18, 27)
    assert fragment.startswith('<p style="white-space: pre-wrap">')
    assert "".join(_parse(fragment).text) == "Brewing Green Tea\nGreen tea is made from leaves."


def test_answer_html_shows_text_score_source_and_page():
    context = "Paid 400 silver daler\nfor the work & more."
    answer = _answer("400 silver daler\nfor", context, context.index("400"), source="/docs/x<y>.html", page=3)
    fragment = answer_html(answer)
    text = "".join(_parse(fragment).text)
    assert "400 silver daler for — score 0.91" in text
    assert "/docs/x<y>.html, page 3" in text
    assert html.escape("x<y>") in fragment
    assert "".join(_parse(fragment).marked) == "400 silver daler\nfor"


def test_answer_html_without_page_or_source():
    answer = _answer("it", "it is", 0, source=None, page=None)
    text = "".join(_parse(answer_html(answer)).text)
    assert "unknown source" in text and "page" not in text


def test_a_page_with_its_own_printed_number_is_cited_by_both():
    passage = Document(
        content="The pension fund's manager is Solveig Bakke.",
        meta={"file_path": "/docs/report.pdf", "page_number": 4, "page_label": "ii"},
    )
    start = passage.content.index("Solveig")
    span = ExtractedAnswer(
        query="Who manages the fund?",
        score=0.8,
        data="Solveig Bakke",
        document=passage,
        document_offset=ExtractedAnswer.Span(start, start + 13),
        meta={"page_number": 4},
    )
    result = result_from_answers("Who manages the fund?", [span], [passage])
    assert (result.answers[0].page, result.answers[0].page_label) == (4, "ii")
    assert (result.documents[0].page, result.documents[0].page_label) == (4, "ii")
    assert "source: /docs/report.pdf, page ii (PDF page 4)" in format_result(result)
    assert "/docs/report.pdf, page ii (PDF page 4)" in "".join(_parse(answer_html(result.answers[0])).text)
    assert page_citation(4) == ", page 4" and page_citation(None, "ii") == ""


def test_an_answer_past_a_page_break_in_its_passage_is_cited_by_that_pages_number():
    passage = Document(
        content="The new contract was signed by\fOla Nordmann on 3 May.",
        meta={"file_path": "/docs/c.pdf", "page_number": 4, "page_label": "2", "next_page_label": "3"},
    )
    start = passage.content.index("Ola")

    def span(begin: int, page: int) -> ExtractedAnswer:
        return ExtractedAnswer(
            query="q",
            score=0.8,
            data=passage.content[begin : begin + 3],
            document=passage,
            document_offset=ExtractedAnswer.Span(begin, begin + 3),
            meta={"page_number": page},
        )

    after, before = result_from_answers("q", [span(start, 5), span(4, 4)], [passage]).answers
    assert (after.page, after.page_label, before.page, before.page_label) == (5, "3", 4, "2")
    marked = _parse(passage_html(passage.content, start, start + 3))
    assert "".join(marked.text) == passage.content.replace("\f", "\n")


def test_answers_are_cited_under_the_heading_above_them_in_text_page_and_batch_rows():
    from docqa.batch import QuestionRow, output_record

    content = "for everyone.\nParental leave\nParents get 14 weeks of paid leave."
    passage = Document(
        content=content,
        meta={
            "file_path": "/docs/handbook.md",
            "section": "Leave › Annual leave",
            "section_offsets": [0, content.index("Parental")],
            "sections": ["Leave › Annual leave", "Leave › Parental leave"],
        },
    )

    def span(text: str) -> ExtractedAnswer:
        start = content.index(text)
        offset = ExtractedAnswer.Span(start, start + len(text))
        return ExtractedAnswer(query="q", score=0.8, data=text, document=passage, document_offset=offset, meta={})

    result = result_from_answers("q", [span("14 weeks"), span("everyone")], [passage])
    assert [a.section for a in result.answers] == ["Leave › Parental leave", "Leave › Annual leave"]
    assert result.documents[0].section == "Leave › Annual leave"
    assert "source: /docs/handbook.md, section “Leave › Parental leave”" in format_result(result)
    shown = "".join(_parse(answer_html(result.answers[0])).text)
    assert "/docs/handbook.md, section “Leave › Parental leave”" in shown
    assert output_record(QuestionRow("1", "q"), result, "")["section"] == "Leave › Parental leave"


def test_highlight_cuts_around_the_answer_and_keeps_one_line():
    context = "a" * 200 + " the\nanswer " + "b" * 200
    start = context.index("the")
    snippet = highlight(context, start, start + len("the\nanswer"))
    assert snippet.startswith("…") and snippet.endswith("…")
    assert "»the answer«" in snippet and "\n" not in snippet
    assert len(snippet) < 200


def test_format_result_lists_answers_on_one_line_each_with_source_and_page():
    context = "Members harvested 3,150\ntonnes of apples."
    answer = _answer("3,150\ntonnes", context, context.index("3,150"))
    result = AskResult(query="q", no_answer=False, no_answer_score=0.1, answers=[answer])
    lines = format_result(result).splitlines()
    assert lines[0] == "Answer: 3,150 tonnes  (score 0.91)"
    assert lines[1] == "    source: /docs/a_b_c.pdf, page 2"
    assert "»3,150 tonnes«" in lines[2]


def test_format_result_no_answer_names_the_closest_span():
    result = AskResult(
        query="q", no_answer=True, no_answer_score=0.8, answers=[_answer("a\nb", "x a\nb y", 2, page=None)]
    )
    text = format_result(result)
    assert text.splitlines()[0] == NO_ANSWER_TEXT
    assert "(no-answer confidence 0.80)" in text
    assert "Closest span, below the threshold: 'a b' (0.91) in /docs/a_b_c.pdf" in text
    spans = [_answer("a", "x a", 2, page=None), _answer("y", "x y", 2, page=3, score=0.5)]
    lines = format_result(AskResult(query="q", no_answer=True, no_answer_score=0.8, answers=spans)).splitlines()
    assert lines[2:] == [
        "  Closest span, below the threshold: 'a' (0.91) in /docs/a_b_c.pdf",
        "  #2: 'y' (0.50) in /docs/a_b_c.pdf, page 3",
    ]


def test_answers_are_shown_without_the_white_space_their_tokens_took_along():
    from haystack import Document, ExtractedAnswer

    from docqa.ask import result_from_answers

    passage = Document(content="The keeper was\n Agnes Merrow. \n\nShe stayed.", meta={"file_path": "/d/a.txt"})

    def span(start: int, end: int, score: float) -> ExtractedAnswer:
        return ExtractedAnswer(
            query="q",
            score=score,
            data=passage.content[start:end],
            document=passage,
            document_offset=ExtractedAnswer.Span(start, end),
        )

    padded, blank = span(14, 30, 0.9), span(29, 32, 0.8)
    assert padded.data == "\n Agnes Merrow. " and blank.data.strip() == ""
    no_answer = ExtractedAnswer(query="q", score=0.1, data=None)
    result = result_from_answers("q", [padded, blank, no_answer], [passage])
    [answer] = result.answers
    assert (answer.text, answer.start, answer.end) == ("Agnes Merrow.", 16, 29)
    assert answer.context[answer.start : answer.end] == answer.text and not result.no_answer
    only_blank = result_from_answers("q", [blank, no_answer], [passage])
    assert only_blank.no_answer and only_blank.answers == []
