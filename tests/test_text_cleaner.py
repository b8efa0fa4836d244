"""docqa's text cleaner: what Haystack's DocumentCleaner (as docqa configured it) gives on ordinary text, but
superscripts, subscripts and fractions kept, PDF words hyphenated at a line end joined and PDF running headers and
footers removed."""

import random
import sys

import pytest
import yaml
from haystack import Document, Pipeline
from haystack.components.preprocessors import DocumentCleaner

from indexing.text_cleaner import TextCleaner, is_page_number_line

pytestmark = pytest.mark.unit

WHITE_SPACE = "".join(chr(code) for code in range(sys.maxunicode + 1) if chr(code).isspace())
ORDINARY_TEXTS = [
    "The oﬃce closed the ﬁscal year with a surplus.\nThe ﬂoor was cleaned.",
    "Full-width ＡＢＣ１２３ and ｈａｒｂｏｕｒ, a non-breaking\xa0space and an ideographic\u3000space.",
    "Name\t\tAge\tTown\nKari  \t 42\tMolde\n",
    "First line\r\nSecond line\r\n\r\nThird line after a blank one\r\n",
    "Page one\f\fPage three after a blank page\f\f",
    "\f\f\f",
    "   leading spaces\ntrailing spaces   \n  both  \n\n\n   \n\t\nlast",
    "Tabs\tin\tthe\tmiddle and    runs   of   spaces.\v Vertical tab and \x1c separators\x1f here.",
    f"Every kind of white space:{WHITE_SPACE}between words{WHITE_SPACE}",
    "Line separators\u2028and next lines\x85are white space, not line breaks here.",
    "",
    " \n \f \n ",
    "Combining: cafe\u0301 and Å (A with ring) and ﬀ ﬃ ﬄ ﬅ.",
    "Text with a dash - at the end of a line -\nand a hyphenated word at a page end commis-\fsioned.",
    "Roman Ⅻ, circled ①, ㈱ and ㌔ and the ellipsis … and ‥ are normalized.",
]
YAML_CLEANER = {
    "remove_empty_lines": True,
    "remove_extra_whitespaces": False,
    "remove_repeated_substrings": False,
    "unicode_normalization": "NFKC",
    "replace_regexes": {r"[^\S\n\f]+": " ", "(?m)^ | $": ""},
    "strip_whitespaces": False,
}


def _haystack(texts: list[str], file_path: str) -> list[Document]:
    documents = [Document(content=text, meta={"file_path": file_path, "n": i}) for i, text in enumerate(texts)]
    return DocumentCleaner(**YAML_CLEANER).run(documents)["documents"]


def _ours(texts: list[str], file_path: str, cleaner: TextCleaner | None = None) -> list[Document]:
    documents = [Document(content=text, meta={"file_path": file_path, "n": i}) for i, text in enumerate(texts)]
    return (cleaner or TextCleaner()).run(documents)["documents"]


def _clean(text: str, file_path: str = "/docs/report.pdf", **parameters) -> str:
    return TextCleaner(**parameters).clean(text, file_path)


@pytest.mark.parametrize("file_path", ["/docs/notes.txt", "/docs/report.pdf", "/docs/REPORT.PDF", "/docs/page.html"])
def test_ordinary_text_is_cleaned_as_haystacks_cleaner_configured_as_docqa_did(file_path):
    theirs = _haystack(ORDINARY_TEXTS, file_path)
    ours = _ours(ORDINARY_TEXTS, file_path)
    assert [d.content for d in ours] == [d.content for d in theirs]
    assert [d.id for d in ours] == [d.id for d in theirs], "a new id from the cleaned content, as DocumentCleaner"
    assert [d.meta for d in ours] == [d.meta for d in theirs]
    assert ours[0].content == "The office closed the fiscal year with a surplus.\nThe floor was cleaned."
    assert ours[4].content == "Page one\f\fPage three after a blank page\f\f"
    assert ours[3].content == "First line\nSecond line\nThird line after a blank one"


def test_random_text_is_cleaned_as_haystacks_cleaner():
    rng = random.Random(2024)
    alphabet = [*"abcXYZ .,", *WHITE_SPACE, "\n", "\n", "\f", "\r\n", "ﬁ", "Ａ", "é", "e\u0301", "\u200b", "\t\t"]
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80))) for _ in range(500)]
    assert [d.content for d in _ours(texts, "/docs/a.txt")] == [d.content for d in _haystack(texts, "/docs/a.txt")]


def test_meta_ids_and_other_fields_are_handled_as_haystacks_cleaner():
    document = Document(id="given", content="A  b", meta={"file_path": "/d/a.pdf", "page": [1]}, score=0.5)
    [theirs] = DocumentCleaner(**YAML_CLEANER).run([document])["documents"]
    [ours] = TextCleaner().run([document])["documents"]
    assert (ours.id, ours.content, ours.meta, ours.score) == (theirs.id, theirs.content, theirs.meta, theirs.score)
    assert ours.id != "given" and ours.meta is not document.meta
    [kept] = TextCleaner(keep_id=True).run([document])["documents"]
    assert kept.id == "given"
    empty = Document(content=None, meta={"file_path": "/d/a.pdf"})
    assert TextCleaner().run([empty])["documents"] == [empty], "a document without text is passed on"
    with pytest.raises(TypeError):
        TextCleaner().run(["not a document"])


def test_superscripts_subscripts_and_fractions_are_kept():
    text = (
        "The culture reached 10⁶ cells. The tank holds 25 m³ (25 ㎥) of brine, the hall 400 ㎡.\n"
        "Revenue¹ grew by ½, to 1½ times; H₂O at 10⁻³ bar. The ﬁrst ＡＢＣ, the 2ª ediçao.\n"
        "¹ Before tax."
    )
    expected = (
        "The culture reached 10⁶ cells. The tank holds 25 m³ (25 m³) of brine, the hall 400 m².\n"
        "Revenue¹ grew by ½, to 1½ times; H₂O at 10⁻³ bar. The first ABC, the 2ª ediçao.\n"
        "¹ Before tax."
    )
    assert _clean(text, "/docs/lab.txt") == expected
    assert _clean(text, "/docs/lab.pdf") == expected
    assert _clean(text, "/docs/lab.txt", keep_super_and_subscripts=False, keep_fractions=False) == (
        "The culture reached 106 cells. The tank holds 25 m3 (25 m3) of brine, the hall 400 m2.\n"
        "Revenue1 grew by 1⁄2, to 11⁄2 times; H2O at 10−3 bar. The first ABC, the 2a ediçao.\n"
        "1 Before tax."
    ), "NFKC itself"
    assert _clean("1½ and 10⁶", "/d/a.txt", keep_fractions=False) == "11⁄2 and 10⁶"
    assert _clean("1½ and 10⁶", "/d/a.txt", keep_super_and_subscripts=False) == "1½ and 106"


def test_pdf_words_hyphenated_at_a_line_end_are_joined():
    text = (
        "The plant was commis-\nsioned in Septem- \n  ber by the environ-\nmental fund and co-\nop-\neration.\n"
        "A pre-\nColumbian site, a COVID-\n19 ward, a 3-\nfold rise, a dash -\nhere and a soft hy\u00ad\nphen.\n"
        "The last word of the page is hyphen-\fated across the page break."
    )
    assert _clean(text, "/docs/report.pdf") == (
        "The plant was commissioned in September by the environmental fund and cooperation.\n"
        "A pre-\nColumbian site, a COVID-\n19 ward, a 3-\nfold rise, a dash -\nhere and a soft hyphen.\n"
        "The last word of the page is hyphen-\fated across the page break."
    )
    assert _clean("commis-\nsioned", "/docs/REPORT.PDF") == "commissioned"
    for other in ("/docs/notes.txt", "/docs/notes.md", "/docs/page.html", "/docs/letter.docx", None):
        assert _clean("commis-\nsioned and long-\nterm", other) == "commis-\nsioned and long-\nterm", other
    assert _clean("commis-\nsioned", "/docs/a.pdf", join_hyphenated_lines_in=[]) == "commis-\nsioned"
    assert _clean("commis-\nsioned", "/docs/a.txt", join_hyphenated_lines_in=[".TXT"]) == "commissioned"


def _pages(*pages: str) -> str:
    return "\f".join(pages)


REPORT = _pages(
    "Nordvik Municipality - Annual Report 2023\nPage 1 of 4\nThe plant was commis-\n"
    "sioned in September.\nIt serves 14,000 residents.\nConfidential",
    "Nordvik Municipality - Annual Report 2023\nPage 2 of 4\nConfidential",
    "Nordvik Municipality - Annual Report 2023\nPage 3 of 4\nThe harbour master reported.\nConfidential",
    "Nordvik Municipality - Annual Report 2023\nPage 4 of 4\nThe budget closed.\nConfidential",
)


def test_pdf_page_number_lines_are_removed_and_other_running_lines_kept():
    cleaned = _clean(REPORT)
    assert cleaned == _pages(
        "Nordvik Municipality - Annual Report 2023\nThe plant was commissioned in September.\n"
        "It serves 14,000 residents.\nConfidential",
        "Nordvik Municipality - Annual Report 2023\nConfidential",
        "Nordvik Municipality - Annual Report 2023\nThe harbour master reported.\nConfidential",
        "Nordvik Municipality - Annual Report 2023\nThe budget closed.\nConfidential",
    )
    assert cleaned.count("\f") == REPORT.count("\f") == 3
    assert _clean(REPORT, "/docs/report.txt") == REPORT, "only PDFs"
    assert _clean(REPORT, remove_page_numbers_in=[]).count("Page ") == 4


@pytest.mark.parametrize(
    "line", ["3", "- 3 -", "Page 3 of 12", "Side 3 av 12", "p. 3", "3/12", "[3]", "Seite 3 von 12"]
)
def test_page_number_lines(line):
    assert is_page_number_line(line)


@pytest.mark.parametrize(
    "line", ["Invoice no. 1052", "2024-06-03", "Page 1 of 4 | Printed 2024-02-01", "Apartment 12", "Rule 3", "Page"]
)
def test_lines_with_other_words_or_three_numbers_are_not_page_numbers(line):
    assert not is_page_number_line(line)


def test_content_that_repeats_or_counts_up_from_page_to_page_is_kept():
    forms = _pages(*(f"Leave application\nEmployee: {name}\nApproved by: Kari Nilsen" for name in "ABC"))
    table = _pages(*(f"Item | Price (NOK excl. VAT)\nItem {n} | {n}00\nItem {n}b | {n}50" for n in range(1, 4)))
    invoices = _pages(*(f"Invoice no. {1051 + n}\nCustomer {n}.\nGoods: {n} crates." for n in range(1, 5)))
    diary = _pages(*(f"2024-06-0{n}\nWork on site {n}.\nWeather fine." for n in range(1, 5)))
    flats = _pages(*(f"Apartment {n}\nThe tap leaks.\nInspected." for n in range(1, 5)))
    for text in (forms, table, invoices, diary, flats):
        assert TextCleaner._remove_running_lines(text) == text


def test_page_numbers_with_an_offset_and_bare_page_numbers_are_running_lines():
    bodies = ["The ferry leaves at seven.", "The museum opens at nine.", "Lunch is served at noon.", "A.\nB.", "C."]
    pages = [f"{body}\n{n + 5}" for n, body in enumerate(bodies)]
    assert TextCleaner._remove_running_lines(_pages(*pages)) == _pages(*bodies)


def test_a_header_on_only_one_of_four_pages_is_kept():
    text = _pages(
        "Draft for the board\nThe ferry leaves at seven.\nIt is late.",
        "The museum opens at nine.\nOn Mondays too.",
        "Lunch is served at noon.\nIn the hall.",
        "The bus leaves at five.\nFrom the square.",
    )
    assert TextCleaner._remove_running_lines(text) == text


def test_page_numbers_on_half_the_pages_are_removed():
    text = _pages("1\nOne.\nA", "Two.\nB", "3\nThree.\nC", "Four.\nD")
    assert TextCleaner._remove_running_lines(text) == _pages("One.\nA", "Two.\nB", "Three.\nC", "Four.\nD")


def test_a_two_page_document_keeps_its_lines():
    text = _pages("Annual Report 2023\nPage 1 of 2\nFirst.", "Annual Report 2023\nPage 2 of 2\nSecond.")
    assert TextCleaner._remove_running_lines(text) == text
    assert TextCleaner._remove_running_lines(_pages(text, "", "")) == _pages(text, "", ""), "pages with text count"


def test_a_pages_only_line_is_kept():
    counted = _pages("1\nOne.", "2", "3\nThree.", "4\nFour.")
    assert TextCleaner._remove_running_lines(counted) == _pages("One.", "2", "Three.", "Four.")


def test_numbers_that_do_not_count_up_with_the_pages_are_content():
    invoices = _pages(
        "Invoice no. 1052 of 2024-03-02\nSalmon, 40 crates.\nTotal 12,400 NOK",
        "Invoice no. 1187 of 2024-03-09\nPrawns, 12 crates.\nTotal 8,100 NOK",
        "Invoice no. 1190 of 2024-03-11\nCod, 7 crates.\nTotal 3,050 NOK",
    )
    assert TextCleaner._remove_running_lines(invoices) == invoices
    balances = _pages("Balance 100\nA.", "Balance 250\nB.", "Balance 375\nC.", "Balance 90\nD.")
    assert TextCleaner._remove_running_lines(balances) == balances


def test_a_numbered_list_across_identical_pages_is_content():
    page = "\n".join(f"Rule {n}: visitors must sign the register." for n in range(1, 8))
    text = _pages(page, page, page)
    assert TextCleaner._remove_running_lines(text) == text


def test_a_running_line_is_removed_only_at_the_top_or_bottom_of_a_page():
    text = _pages("- 1 -\nA.\nB.\nC.\nD.\nE.", "- 2 -\nF.\n12\nG.\nH.", "- 3 -\nI.\nJ.")
    assert TextCleaner._remove_running_lines(text) == _pages("A.\nB.\nC.\nD.\nE.", "F.\n12\nG.\nH.", "I.\nJ.")
    doubled = _pages("1\n1\nA.", "B.\nC.", "D.\nE.", "F.\nG.")
    assert TextCleaner._remove_running_lines(doubled) == doubled, "one page is not half of four, however often"


def test_round_trip_through_yaml_keeps_every_parameter():
    cleaner = TextCleaner(
        keep_super_and_subscripts=False,
        keep_fractions=False,
        join_hyphenated_lines_in=[".pdf", ".txt"],
        remove_page_numbers_in=[".PDF"],
        keep_id=True,
    )
    data = yaml.safe_load(yaml.safe_dump(cleaner.to_dict()))
    assert data == {
        "type": "indexing.text_cleaner.TextCleaner",
        "init_parameters": {
            "keep_super_and_subscripts": False,
            "keep_fractions": False,
            "join_hyphenated_lines_in": [".pdf", ".txt"],
            "remove_page_numbers_in": [".PDF"],
            "keep_id": True,
        },
    }
    restored = TextCleaner.from_dict(data)
    for name in data["init_parameters"]:
        assert getattr(restored, name) == getattr(cleaner, name), name
    assert TextCleaner.from_dict(TextCleaner().to_dict()).to_dict() == TextCleaner().to_dict()
    assert TextCleaner().to_dict()["init_parameters"] == {
        "keep_super_and_subscripts": True,
        "keep_fractions": True,
        "join_hyphenated_lines_in": [".pdf"],
        "remove_page_numbers_in": [".pdf"],
        "keep_id": False,
    }


def test_a_pipeline_with_the_cleaner_round_trips_and_runs():
    pipeline = Pipeline()
    pipeline.add_component("cleaner", TextCleaner(join_hyphenated_lines_in=[".pdf", ".txt"]))
    loaded = Pipeline.loads(pipeline.dumps(), allowed_modules=["indexing"])
    result = loaded.run(
        {"cleaner": {"documents": [Document(content="10⁶ commis-\nsioned", meta={"file_path": "a.txt"})]}}
    )
    assert result["cleaner"]["documents"][0].content == "10⁶ commissioned"
