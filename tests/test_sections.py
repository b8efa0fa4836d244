"""Sections: the converters' headings found in the cleaned text, and the section of each passage and answer."""

import pytest
from haystack import Document

from docqa.ask import section_at, section_citation
from indexing.passage_splitter import PassageSplitter
from indexing.passages import PassageMetadata
from indexing.sections import heading_offsets, passage_sections, section_starts

pytestmark = pytest.mark.unit

HANDBOOK = (
    "Employee handbook\n"
    "Leave\n"
    "Everyone gets 25 days of annual leave.\n"
    "Parental leave\n"
    "Parents get 14 weeks of paid leave.\n"
    "Sick leave\n"
    "Call your manager before 9 am.\n"
    "Expenses\n"
    "Keep every receipt.\n"
)
HANDBOOK_HEADINGS = [[1, "Employee handbook"], [2, "Leave"], [3, "Parental leave"], [3, "Sick leave"], [2, "Expenses"]]


def test_headings_are_found_as_whole_lines_in_order_and_missing_ones_skipped():
    text = "Intro mentions Leave in passing.\nLeave\nBody.\nLeave\nMore.\n"
    headings = [[1, "Leave"], [1, "Not in the text"], [2, "  Leave "]]
    assert heading_offsets(text, headings) == [
        (text.index("Leave\nBody"), 1, "Leave"),
        (text.index("Leave\nMore"), 2, "Leave"),
    ]


def test_headings_are_matched_after_cleaning_normalized_the_text():
    text = "Intro.\nThe ﬁnal   report\nBody.\n"
    assert heading_offsets("Intro.\nThe final report\nBody.\n", [[1, "The ﬁnal\treport"]]) == [
        (7, 1, "The ﬁnal report")
    ]
    assert heading_offsets(text, [[1, "THE FINAL REPORT"]]) == [(7, 1, "THE FINAL REPORT")]


def test_a_heading_is_placed_by_its_occurrence_so_that_a_contents_list_does_not_take_it():
    text = "Contents\nTerm\nFees\nTerm\nThe term is 36 months.\nFees\nPay within 30 days.\n"
    by_occurrence = [[1, "Term", None, 1], [1, "Fees", None, 1]]
    assert heading_offsets(text, by_occurrence) == [
        (text.index("Term\nThe"), 1, "Term"),
        (text.index("Fees\nPay"), 1, "Fees"),
    ]
    assert heading_offsets(text, [[1, "Term"], [1, "Fees"]])[0][0] == text.index("Term"), "by title alone: the first"
    assert heading_offsets(text, [[1, "Term", None, 7]]) == [(text.index("Term"), 1, "Term")], "no 8th: the first"


def test_malformed_headings_meta_gives_no_headings():
    for headings in (None, "Leave", [["1", "Leave"]], [[1]], [[1, 2]], [[1, ""]], [1, "Leave"]):
        assert heading_offsets("Leave\n", headings) == []


def test_paths_follow_levels_and_a_title_over_the_whole_document_is_left_out():
    starts = section_starts(HANDBOOK, HANDBOOK_HEADINGS)
    assert [path for _, path in starts] == [
        "Leave",
        "Leave › Parental leave",
        "Leave › Sick leave",
        "Expenses",
    ]
    titles = ("Leave", "Parental leave", "Sick leave", "Expenses")
    assert [offset for offset, _ in starts] == [HANDBOOK.index(f"\n{title}\n") + 1 for title in titles]


def test_a_first_heading_is_kept_when_it_is_not_above_all_the_others():
    text = "Scope\nA.\nTerms\nB.\n"
    assert [path for _, path in section_starts(text, [[1, "Scope"], [1, "Terms"]])] == ["Scope", "Terms"]
    appendix = "Intro. " * 40 + "\nAppendix\nC.\n"
    assert [path for _, path in section_starts(appendix, [[2, "Appendix"]])] == ["Appendix"]
    assert section_starts("Office move\nWe move on 3 May.\n", [[0, "Office move"]]) == []


def test_pdf_outline_items_are_looked_for_on_their_own_page():
    text = "Results are in Methods.\nMore.\fSee Methods below.\n1 Methods\nWe measured.\f2 Results\nIt worked.\f"
    text += "Appendix text.\n"
    headings = [[1, "Methods", 2], [1, "2 Results", 3], [1, "Appendix", 4], [1, "Missing page", 9]]
    assert heading_offsets(text, headings) == [
        (text.index("1 Methods"), 1, "Methods"),
        (text.index("2 Results"), 1, "2 Results"),
        (text.index("Appendix text"), 1, "Appendix"),
    ]
    assert heading_offsets("Page one.\fPlain page two.\n", [[1, "Conclusions", 2]]) == [(10, 1, "Conclusions")]


def test_pdf_outline_items_on_a_page_with_a_contents_list_are_found_at_their_headings():
    text = "Contents\n1. Definitions\n2. Term\n1. Definitions\nDay means a day.\n2. Term\nIt runs 36 months.\n"
    headings = [[1, "1. Definitions", 1], [1, "2. Term", 1]]
    assert heading_offsets(text, headings) == [
        (text.index("1. Definitions\nDay"), 1, "1. Definitions"),
        (text.index("2. Term\nIt runs"), 1, "2. Term"),
    ]


def test_pdf_outline_items_printed_otherwise_are_found_or_skipped_but_never_guessed_after_another():
    text = (
        "6.2 Embedded deps\nbody of 6.2 here\n7. Interaction with Locally Installed Python\nVersions\nbody of 7\n"
        "2.13. Non-regular files\nbody of 2.13\fNext page.\n"
    )
    headings = [
        [1, "6.2 Embedded deps", 1],
        [1, "7. Interaction with Locally Installed Python Versions", 1],
        [1, "2.13. Nonregular files", 1],
        [1, "Not printed anywhere", 1],
    ]
    assert [offset for offset, _, _ in heading_offsets(text, headings)] == [
        0,
        text.index("7. Interaction"),
        text.index("2.13."),
    ]


def test_paths_show_titles_without_permalink_marks_and_cut_to_a_readable_length():
    text = "Contents¶\nIntro.\nC#\nBody.\n" + "A" * 300 + "\nEnd.\n"
    headings = [[1, "Contents¶", None, 0], [2, "C#", None, 0], [1, "A" * 300, None, 0]]
    paths = [path for _, path in section_starts(text, headings)]
    assert paths == ["Contents", "Contents › C#", "A" * 99 + "…"]


def test_a_passage_gets_the_section_it_starts_in_and_those_starting_inside_it():
    starts = [(10, "Leave"), (50, "Leave › Sick leave")]
    assert passage_sections(starts, 0, 10) == {}
    assert passage_sections(starts, 12, 40) == {"section": "Leave"}
    assert passage_sections(starts, 10, 60) == {
        "section": "Leave",
        "section_offsets": [0, 40],
        "sections": ["Leave", "Leave › Sick leave"],
    }
    assert passage_sections(starts, 0, 20) == {"section_offsets": [0, 10], "sections": ["", "Leave"]}


def test_an_answer_is_cited_under_the_heading_above_it_in_its_passage():
    meta = {"section": "Leave", "section_offsets": [0, 40], "sections": ["Leave", "Leave › Sick leave"]}
    assert section_at(meta, 5) == "Leave"
    assert section_at(meta, 40) == section_at(meta, 45) == "Leave › Sick leave"
    assert section_at({"section_offsets": [0, 10], "sections": ["", "Leave"]}, 3) is None
    assert section_at({"section": "Expenses"}, 100) == "Expenses"
    assert section_at({}, 0) is None
    assert section_citation("Leave › Sick leave") == ", section “Leave › Sick leave”"
    assert section_citation(None) == ""


def test_indexed_passages_carry_their_sections_and_every_answer_position_finds_its_heading():
    document = Document(content=HANDBOOK, meta={"file_path": "/docs/handbook.md", "headings": HANDBOOK_HEADINGS})
    passages = PassageMetadata().run(PassageSplitter(max_words=12, overlap_words=4).run([document])["documents"])
    passages = passages["documents"]
    assert len(passages) > 3
    expected = dict(section_starts(HANDBOOK, HANDBOOK_HEADINGS))
    for passage in passages:
        assert "headings" not in passage.meta
        for offset in range(len(passage.content)):
            in_file = passage.meta["char_start"] + offset
            above = [path for start, path in expected.items() if start <= in_file]
            assert section_at(passage.meta, offset) == (above[-1] if above else None)
    receipt = next(p for p in passages if "receipt" in p.content)
    assert section_at(receipt.meta, receipt.content.index("receipt")) == "Expenses"


def test_passages_of_a_file_without_headings_have_no_section_fields():
    passages = PassageSplitter().run([Document(content="Just text.\nMore text.\n", meta={"file_path": "/a.txt"})])
    assert not {"section", "sections", "section_offsets"} & set(passages["documents"][0].meta)
