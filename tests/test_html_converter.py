"""The HTML converter: fragments and pages without a declared charset, and the same text as Haystack's converter on
ordinary pages."""

from pathlib import Path

import pytest
import yaml
from haystack.components.converters import HTMLToDocument
from haystack.dataclasses import ByteStream

from indexing.html_converter import HTMLConverter
from indexing.sections import section_starts

pytestmark = pytest.mark.unit
SAMPLE = Path(__file__).resolve().parent.parent / "docs" / "sample"
MUSEUM = "The Kessel museum opens at nine every morning except Monday."


def _texts(converter, *pages: bytes) -> list[str]:
    return [document.content for document in converter.run([ByteStream(page) for page in pages])["documents"]]


@pytest.mark.parametrize(
    "page", [f"<p>{MUSEUM}</p>", f"<body><p>{MUSEUM}</p></body>", f"<div><h2>Hours</h2><p>{MUSEUM}</p></div>"]
)
def test_a_fragment_is_read_as_the_body_of_a_page(page):
    [text] = _texts(HTMLConverter(), page.encode())
    assert MUSEUM in text
    assert _texts(HTMLToDocument(), f"<p>{MUSEUM}</p>".encode()) == [], "what this converter is for"


def test_a_page_without_a_declared_charset_is_decoded_like_a_text_file(tmp_path):
    french = "<html><body><p>Le château de Brissac est ouvert en été, de neuf à dix-huit heures.</p></body></html>"
    path = tmp_path / "brissac.html"
    path.write_bytes(french.encode("cp1252"))
    [document] = HTMLConverter().run([path], meta=[{"file_path": str(path)}])["documents"]
    assert document.content == "Le château de Brissac est ouvert en été, de neuf à dix-huit heures."
    assert document.meta == {"file_path": str(path), "encoding": "cp1252"}
    [utf8] = HTMLConverter().run([ByteStream(french.encode())])["documents"]
    assert utf8.content == document.content and utf8.meta["encoding"] == "utf-8"


@pytest.mark.parametrize("path", sorted(SAMPLE.glob("*.html")))
def test_ordinary_pages_give_what_haystacks_converter_gives(path, tmp_path):
    declared = "<html><head><meta charset='windows-1252'></head><body><p>Caf\xe9 \x96 open.</p></body></html>"
    (tmp_path / "declared.html").write_bytes(declared.encode("latin-1"))
    for page in (path, tmp_path / "declared.html"):
        ours = HTMLConverter().run([page])["documents"]
        theirs = HTMLToDocument().run([page])["documents"]
        assert [d.content for d in ours] == [d.content for d in theirs] and ours[0].content
    assert _texts(HTMLConverter(), declared.encode("latin-1")) == ["Café – open."]


def test_a_page_with_no_text_gives_no_document():
    assert _texts(HTMLConverter(), b"<html><body><script>var x = 1;</script></body></html>", b"   ") == []


def test_round_trip_through_yaml_keeps_every_parameter():
    converter = HTMLConverter(
        extraction_kwargs={"favor_recall": True, "include_tables": False},
        store_full_path=False,
        keep_asides_and_captions=False,
    )
    data = yaml.safe_load(yaml.safe_dump(converter.to_dict()))
    assert data == {
        "type": "indexing.html_converter.HTMLConverter",
        "init_parameters": {
            "extraction_kwargs": {"favor_recall": True, "include_tables": False},
            "store_full_path": False,
            "keep_asides_and_captions": False,
        },
    }
    restored = HTMLConverter.from_dict(data)
    assert (restored.extraction_kwargs, restored.store_full_path, restored.keep_asides_and_captions) == (
        {"favor_recall": True, "include_tables": False},
        False,
        False,
    )
    [document] = restored.run([ByteStream(f"<p>{MUSEUM}</p>".encode(), meta={"file_path": "/docs/hours.html"})])[
        "documents"
    ]
    assert document.meta["file_path"] == "hours.html"


def test_pages_with_a_byte_order_mark_are_read_even_with_stray_bytes(tmp_path):
    from indexing.files import unreadable_reason

    page = f"<html><body><p>{MUSEUM}</p><p>The café serves lunch.</p></body></html>"
    wide = tmp_path / "wide.html"
    wide.write_bytes(page.encode("utf-16"))
    assert unreadable_reason(wide) is None, "UTF-16 text holds NUL bytes and is still text"
    assert _texts(HTMLConverter(), wide.read_bytes()) == [f"{MUSEUM}\nThe café serves lunch."]
    stray = b"\xef\xbb\xbf" + page.encode().replace(b"lunch", b"lunch \x92")
    assert _texts(HTMLConverter(), stray) == [f"{MUSEUM}\nThe café serves lunch \ufffd."]
    assert _texts(HTMLConverter(), page.encode("utf-16") + b"\x00") != [], "a broken UTF-16 page goes to trafilatura"


def test_the_yaml_converter_keeps_the_heading_and_leaves_reader_comments_out():
    from docqa.pipelines import INDEXING_PIPELINE, load_pipeline

    page = (
        "<html><head><title>Opening hours</title></head><body><div id='cookie-banner'>We use cookies. Accept all."
        "</div><div class='content'><h1>Opening hours</h1><p>The recycling station at Haugen is open Monday to "
        "Thursday from 07:00 to 19:00.</p><p>Garden waste is free of charge.</p></div><div class='comments'>"
        "<h3>Comments</h3><p>Great service! - Knut</p></div></body></html>"
    )
    converter = load_pipeline(INDEXING_PIPELINE).get_component("html_converter")
    assert _texts(converter, page.encode()) == [
        "Opening hours\nThe recycling station at Haugen is open Monday to Thursday from 07:00 to 19:00.\n"
        "Garden waste is free of charge."
    ]
    assert _texts(HTMLConverter(), page.encode())[0].count("Great service! - Knut") == 2, "trafilatura's default"


CONTACT = "Contact: Tor Aasen, phone 4412"
CAPTION = "Meeting room on floor 3, Fjellet"
CONTACT_ASIDE = f"<aside class='contact-box'><h3>Questions?</h3><p>{CONTACT}</p></aside>"
RELATED_ASIDE = (
    "<aside class='sidebar'><h3>See also</h3><ul><li><a href='/oslo'>Oslo office</a></li>"
    "<li><a href='/travel'>Travel policy</a></li><li><a href='/parking'>Parking rules</a></li></ul></aside>"
)
ENTRANCE = "The Bergen office moved to Strandkaien 12 in March. Access cards open the main entrance from 06:00."
ROOMS = "Meeting rooms are booked in the calendar. The large rooms have video conferencing and seat twelve."
PARKING = "Parking is available in the basement garage for employees with a permit from the reception."
BOILERPLATE = (
    "We use cookies",
    "Human Resources",
    "IT Helpdesk",
    "Acme Intranet",
    "Privacy statement",
    "Contact the web team",
    "garage open on Sundays",
    "Oslo office",
    "Travel policy",
)


def _intranet_page(aside_in_article: str = CONTACT_ASIDE, sidebar: str = RELATED_ASIDE) -> str:
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Facilities</title></head><body>"
        "<div id='cookie-banner' class='cookie-banner'>We use cookies to improve your experience. "
        "<button>Accept all</button></div>"
        "<header class='site-header'><a href='/'>Acme Intranet</a><nav class='main-nav'><ul>"
        "<li><a href='/'>Home</a></li><li><a href='/hr'>Human Resources</a></li>"
        "<li><a href='/it'>IT Helpdesk</a></li></ul></nav></header>"
        f"<main><article><h1>Facilities at the Bergen office</h1><p>{ENTRANCE}</p>"
        f"<figure><img src='/img/fjellet.jpg' alt='Fjellet'><figcaption>{CAPTION}</figcaption></figure>"
        f"<p>{ROOMS}</p>{aside_in_article}<p>{PARKING}</p></article>{sidebar}"
        "<section class='comments' id='comments'><h3>Comments</h3><div class='comment'>"
        "<p>Is the garage open on Sundays? - Kari Nordmann</p></div></section></main>"
        "<footer class='site-footer'><ul><li><a href='/about'>About Acme</a></li>"
        "<li><a href='/privacy'>Privacy statement</a></li><li><a href='/contact'>Contact the web team</a></li></ul>"
        "</footer></body></html>"
    )


def _yaml_converter():
    from docqa.pipelines import INDEXING_PIPELINE, load_pipeline

    return load_pipeline(INDEXING_PIPELINE).get_component("html_converter")


def test_an_aside_and_a_figure_caption_are_indexed_once_in_place_and_boilerplate_stays_out(tmp_path):
    path = tmp_path / "facilities.html"
    path.write_text(_intranet_page(), encoding="utf-8")
    [document] = _yaml_converter().run([path])["documents"]
    assert document.content == "\n".join(
        ["Facilities at the Bergen office", ENTRANCE, CAPTION, ROOMS, "Questions?", CONTACT, PARKING]
    )
    assert [phrase for phrase in BOILERPLATE if phrase in document.content] == []
    [trafilatura] = HTMLConverter({"include_comments": False}, keep_asides_and_captions=False).run([path])["documents"]
    assert CONTACT not in trafilatura.content and CAPTION not in trafilatura.content, "what the option is for"


def test_a_sidebar_aside_outside_the_article_follows_the_article_text(tmp_path):
    path = tmp_path / "facilities.html"
    path.write_text(_intranet_page(aside_in_article="", sidebar=CONTACT_ASIDE + RELATED_ASIDE), encoding="utf-8")
    [text] = [document.content for document in _yaml_converter().run([path])["documents"]]
    assert text.endswith(f"{PARKING}\nQuestions?\n{CONTACT}") and text.count(CONTACT) == 1
    assert [phrase for phrase in BOILERPLATE if phrase in text] == []


@pytest.mark.parametrize(
    "aside",
    [
        RELATED_ASIDE,
        "<aside><p>Read next: <a href='/oslo'>The new Oslo office opens in May with room for everyone</a></p></aside>",
        "<aside><nav><h3>In this section</h3><p>Facilities, canteen and parking at all our offices</p></nav></aside>",
        "<aside class='share-buttons'>Share this page with your colleagues on Teams or by e-mail</aside>",
        "<aside id='newsletter-signup'>Get the weekly facilities newsletter in your inbox every Friday</aside>",
        "<aside aria-label='Cookie consent'>We use cookies to give you the best experience on the intranet</aside>",
        "<aside style='display: none'>Draft note: the garage rules are being rewritten by the facilities team</aside>",
    ],
)
def test_navigation_like_and_boilerplate_asides_are_not_indexed(aside):
    page = _intranet_page(aside_in_article=aside, sidebar="").encode()
    [text] = _texts(_yaml_converter(), page)
    assert text == "\n".join(["Facilities at the Bergen office", ENTRANCE, CAPTION, ROOMS, PARKING])


def test_side_text_that_trafilatura_extracted_is_not_repeated():
    page = _intranet_page(aside_in_article=f"<p>{CONTACT}</p><aside><p>{CONTACT}</p></aside>", sidebar="").encode()
    [text] = _texts(_yaml_converter(), page)
    assert text.count(CONTACT) == 1
    [with_comments] = _texts(HTMLConverter(), page)
    assert with_comments.count(CONTACT) == 1 and with_comments.count(CAPTION) == 1


def test_side_text_is_put_back_in_markdown_and_in_fragments_but_not_in_other_formats():
    page = _intranet_page().encode()
    [markdown] = _texts(HTMLConverter({"include_comments": False, "output_format": "markdown"}), page)
    assert f"\n\n{CAPTION}\n\n" in markdown and f"\n\n{CONTACT}\n\n" in markdown
    [xml] = _texts(HTMLConverter({"include_comments": False, "output_format": "xml"}), page)
    assert CONTACT not in xml
    assert _texts(HTMLConverter(), f"<aside><p>{CONTACT}</p></aside>".encode()) == [CONTACT]


# ------------------------------------------------------------------------------------------------ headings

RESTAURANT = (
    "<!DOCTYPE html><html><head><title>Kro</title></head><body>"
    "<header class='site-header'><nav><h2>Menu</h2><ul><li><a href='/'>Home</a></li>"
    "<li><a href='/book'>Book a table</a></li></ul></nav></header>"
    "<main><article><h1>Restaurant  Kro</h1>"
    "<p>The Kro restaurant serves traditional food from the west coast of Norway every day.</p>"
    "<h2>Menu</h2><p>The menu changes with the seasons, with fish in winter and lamb in autumn.</p>"
    "<h3>Desserts <em>and</em> <a href='/cakes'>cakes</a></h3>"
    "<p>Cloudberry cream and waffles with brown cheese are served until nine.</p>"
    "<h2>Opening<br>hours</h2><p>The restaurant is open from eleven to twenty-two hours from Tuesday to Sunday.</p>"
    "<h2> </h2><p>Tables for groups larger than eight are booked by phone, at least two days ahead.</p>"
    "</article></main>"
    "<footer class='site-footer'><h2>Contact us</h2><p>Strandkaien 3, Bergen. Phone 55 00 00 00.</p></footer>"
    "</body></html>"
)


def test_headings_that_the_text_holds_are_recorded_in_order_and_navigation_headings_are_not():
    [document] = _yaml_converter().run([ByteStream(RESTAURANT.encode())])["documents"]
    assert document.meta["headings"] == [
        [1, "Restaurant Kro", None, 0],
        [2, "Menu", None, 0],
        [3, "Desserts and cakes", None, 0],
        [2, "Opening", None, 0],
    ]
    lines = document.content.split("\n")
    assert (lines[0], lines[2], lines.count("Menu")) == ("Restaurant Kro", "Menu", 1), "the nav's Menu is left out"
    assert "Opening" in lines and "hours" in lines and "Contact us" not in document.content


def test_headings_of_put_back_asides_and_of_dropped_parts_are_not_sections(tmp_path):
    path = tmp_path / "facilities.html"
    path.write_text(_intranet_page(), encoding="utf-8")
    [document] = _yaml_converter().run([path])["documents"]
    assert "\nQuestions?\n" in document.content, "the contact box is put back, its heading names only the box"
    assert document.meta["headings"] == [[1, "Facilities at the Bergen office", None, 0]]
    assert "See also" not in document.content and "Comments" not in document.content


def test_a_heading_whose_title_a_contents_list_repeats_is_placed_on_its_own_line():
    items = "".join(f"<p>{title}</p>" for title in ("Term", "Fees"))
    body = "<p>The term of this agreement is thirty-six months from signing.</p>" * 3
    page = f"<html><body><article><h1>Agreement</h1><p>Contents</p>{items}<h2>Term</h2>{body}<h2>Fees</h2>{body}"
    [document] = HTMLConverter().run([ByteStream((page + "</article></body></html>").encode())])["documents"]
    assert document.meta["headings"] == [[1, "Agreement", None, 0], [2, "Term", None, 1], [2, "Fees", None, 1]]
    starts = section_starts(document.content, document.meta["headings"])
    assert [document.content[offset:].split("\n")[1][:12] for offset, _ in starts] == ["The term of "] * 2


def test_thousands_of_headings_of_one_title_are_matched_in_turn():
    page = "<html><body><article>" + "<h3>Details</h3><p>A detail of this long page.</p>" * 3000
    [document] = HTMLConverter().run([ByteStream((page + "</article></body></html>").encode())])["documents"]
    headings = document.meta["headings"]
    assert len(headings) == document.content.split("\n").count("Details") > 100
    assert headings[:2] == [[3, "Details", None, 0], [3, "Details", None, 1]]


def test_a_page_without_headings_in_its_text_has_no_headings_key():
    fragment = f"<div><h2>Hours</h2><p>{MUSEUM}</p></div>".encode()
    [document] = HTMLConverter().run([ByteStream(fragment)])["documents"]
    assert document.content == MUSEUM, "trafilatura leaves the heading of this fragment out"
    assert document.meta == {"encoding": "utf-8"}
    [markdown] = HTMLConverter({"output_format": "markdown"}).run([ByteStream(RESTAURANT.encode())])["documents"]
    assert "## Menu" in markdown.content.split("\n") and "headings" not in markdown.meta, "plain text output only"


def test_permalink_marks_in_headings_are_left_out_of_text_and_sections():
    body = "<p>The delimiter separates the entries of the search path on this platform.</p>"
    note = "<p>The compiler of this language reads the sources of the project; see the notes <a href='#n'>#</a>.</p>"
    page = (
        "<html><body><article>"
        '<h1>Path<span><a class="mark" href="#path">#</a></span></h1>'
        f'<h2>Copyright<a class="headerlink" href="#copyright" title="Permalink">¶</a></h2>{body}'
        f'<h2 id="panics"><a class="doc-anchor" href="#panics">§</a>Panics</h2>{body}'
        f"<h2>Using C#</h2>{note}"
        "</article></body></html>"
    )
    [document] = HTMLConverter().run([ByteStream(page.encode())])["documents"]
    lines = document.content.split("\n")
    assert lines[0] == "Path" and "Copyright" in lines and "Panics" in lines and "Using C#" in lines
    assert lines[-1].endswith("see the notes #."), "links that are not a heading's own stay"
    assert "¶" not in document.content and "§" not in document.content
    starts = section_starts(document.content, document.meta["headings"])
    assert [path for _, path in starts] == ["Copyright", "Panics", "Using C#"]
