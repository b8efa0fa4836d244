"""The Markdown converter: Haystack's text and metadata, plus the headings, titles as the text writes them."""

from pathlib import Path

import pytest
import yaml
from haystack import Pipeline
from haystack.components.converters.markdown import MarkdownToDocument
from haystack.core.serialization import component_from_dict, component_to_dict
from haystack.dataclasses import ByteStream

from docqa.pipelines import ALLOWED_MODULES, INDEXING_PIPELINE, load_pipeline
from indexing.markdown_converter import MarkdownConverter
from indexing.sections import section_starts

pytestmark = pytest.mark.unit
SAMPLE = Path(__file__).resolve().parent.parent / "docs" / "sample"

HANDBOOK = """\
---
title: Staff handbook
owner: HR
---
# Staff handbook

Read this first.

## Leave ##

Leave is booked in the portal.

### Parental   leave

Parents get 49 weeks.

```bash
# Book leave from the command line
leave book --weeks 2
```

    # indented code, not a heading

### The *new* [policy](policy.html) for `2025`

It starts in January.

Remote work
===========

Two days a week.

Equipment
---------

- A laptop.
- # A heading in a list

> ## Quoted heading
> Its text.

<div>
## In an HTML block
</div>

#

####### Seven hashes are text
"""
HANDBOOK_HEADINGS = [
    [1, "Staff handbook", None, 0],
    [2, "Leave", None, 0],
    [3, "Parental leave", None, 0],
    [3, "The new policy for 2025", None, 0],
    [1, "Remote work", None, 0],
    [2, "Equipment", None, 0],
    [1, "A heading in a list", None, 0],
    [2, "Quoted heading", None, 0],
]


def _convert(converter: MarkdownConverter, text: str, meta: dict | None = None):
    [document] = converter.run([ByteStream(text.encode(), meta=meta or {})])["documents"]
    return document


def _found_as_lines_in_order(titles: list[str], content: str) -> list[str]:
    lines = [" ".join(line.split()) for line in content.splitlines()]
    found, position = [], 0
    for title in titles:
        if title in lines[position:]:
            position += lines[position:].index(title) + 1
            found.append(title)
    return found


def test_headings_are_recorded_with_levels_and_titles_as_the_text_writes_them():
    document = _convert(MarkdownConverter(), HANDBOOK, {"file_path": "/docs/handbook.md"})
    assert document.meta["headings"] == HANDBOOK_HEADINGS
    titles = [title for _, title, _, _ in HANDBOOK_HEADINGS]
    assert _found_as_lines_in_order(titles, document.content) == titles
    lines = document.content.splitlines()
    assert "title: Staff handbook" in lines, "front matter left in the text is not a heading"
    assert "# Book leave from the command line" in lines and "## In an HTML block" in lines
    [haystack] = MarkdownToDocument().run([ByteStream(HANDBOOK.encode(), meta={"file_path": "/docs/handbook.md"})])[
        "documents"
    ]
    assert document.content == haystack.content
    assert {key: value for key, value in document.meta.items() if key != "headings"} == haystack.meta


def test_extracted_front_matter_goes_to_meta_and_the_headings_stay_the_same():
    converter = MarkdownConverter(extract_frontmatter=True)
    document = _convert(converter, HANDBOOK.replace("owner: HR", "owner: HR\nheadings: none"))
    assert document.meta["title"] == "Staff handbook" and document.meta["owner"] == "HR"
    assert document.meta["headings"] == HANDBOOK_HEADINGS
    assert "title: Staff handbook" not in document.content
    plain = _convert(converter, "---\ntitle: Notes\nheadings: [[1, Made up]]\n---\nJust a paragraph.\n")
    assert plain.meta == {"title": "Notes"}, "the key is the converter's: absent without headings"


def test_a_setext_heading_on_several_lines_is_recorded_by_its_first_line():
    document = _convert(MarkdownConverter(), "Opening hours\nand holidays\n-------------\n\nNine to five.\n")
    assert document.meta["headings"] == [[2, "Opening hours", None, 0]]
    assert document.content.splitlines()[:2] == ["Opening hours", "and holidays"]


def test_a_contents_list_does_not_take_the_place_of_the_headings_it_lists():
    text = "# Kelpie\n\n- [Usage](#usage)\n- [License](#license)\n\n## Usage\n\nRun it.\n\n## License\n\nMIT.\n"
    document = _convert(MarkdownConverter(), text)
    assert document.meta["headings"] == [[1, "Kelpie", None, 0], [2, "Usage", None, 1], [2, "License", None, 1]]
    starts = section_starts(document.content, document.meta["headings"])
    content = document.content
    assert starts == [(content.index("Usage\n\nRun it"), "Usage"), (content.index("License\n\nMIT"), "License")]


def test_a_document_without_headings_has_no_headings_key():
    text = "Plain notes.\n\n```\n# a comment\n```\n\n#hashtag is not a heading\n\n---\n\n#\n"
    document = _convert(MarkdownConverter(), text)
    assert "#hashtag is not a heading" in document.content
    assert "headings" not in document.meta


def test_the_indexing_pipeline_uses_it():
    converter = load_pipeline(INDEXING_PIPELINE).get_component("markdown_converter")
    assert isinstance(converter, MarkdownConverter)
    [document] = converter.run([SAMPLE / "green_tea_brewing.md"])["documents"]
    assert document.meta["headings"] == [
        [1, "Brewing Green Tea", None, 0],
        [2, "Water temperature", None, 0],
        [2, "Amount and time", None, 0],
        [2, "Storage", None, 0],
    ]
    assert document.meta["file_path"] == str(SAMPLE / "green_tea_brewing.md")


def test_round_trip_through_yaml_keeps_every_parameter(tmp_path):
    parameters = {
        "table_to_single_line": True,
        "progress_bar": False,
        "store_full_path": True,
        "encoding": "latin-1",
        "extract_frontmatter": True,
    }
    data = yaml.safe_load(yaml.safe_dump(component_to_dict(MarkdownConverter(**parameters), "converter")))
    assert data == {"type": "indexing.markdown_converter.MarkdownConverter", "init_parameters": parameters}
    restored = component_from_dict(MarkdownConverter, data, "converter")
    assert {name: getattr(restored, name) for name in parameters} == parameters
    pipeline = Pipeline()
    pipeline.add_component("converter", restored)
    loaded = Pipeline.loads(pipeline.dumps(), allowed_modules=ALLOWED_MODULES).get_component("converter")
    assert isinstance(loaded, MarkdownConverter)
    assert {name: getattr(loaded, name) for name in parameters} == parameters
    path = tmp_path / "caf\xe9.md"
    path.write_bytes("---\ntitle: Caf\xe9\n---\n## Caf\xe9 hours\n\nOpen at nine.\n".encode("latin-1"))
    [document] = loaded.run([path])["documents"]
    assert document.meta == {"file_path": str(path), "title": "Caf\xe9", "headings": [[2, "Caf\xe9 hours", None, 0]]}
