"""Files added on the web page: safe names, atomic writes, replacement, and the passage count the page shows."""

import os
import stat

import pytest

from docqa.errors import NoDocumentsFoundError, StoreUnavailableError
from docqa.settings import Settings
from docqa.stores import count_passages, indexed_files
from indexing.run import Indexer
from indexing.uploads import index_uploads, remove_documents, save_uploads, upload_file_name

TEXT = b"The Kessel Bay ferry leaves every hour from the north pier. The crossing takes twenty minutes."


@pytest.mark.unit
@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("C:\\Users\\ann\\notes.md", "notes.md"),
        (".bashrc.txt", "bashrc.txt"),
        ("...", "upload"),
        ("", "upload"),
        (".txt", "upload.txt"),
        ("na\x00me\n.txt", "name.txt"),
        ("  spaced name.html ", "spaced name.html"),
    ],
)
def test_upload_file_name_keeps_only_a_safe_base_name(sent, kept):
    assert upload_file_name(sent) == kept


@pytest.mark.unit
def test_save_uploads_writes_inside_the_folder_and_refuses_a_second_file_of_the_same_name(tmp_path):
    folder = tmp_path / "uploads"
    paths, refused = save_uploads([("../a.txt", b"one"), ("b.md", b"two"), ("sub/a.txt", b"three")], folder)
    assert paths == [folder / "a.txt", folder / "b.md"]
    assert refused == {"sub/a.txt": "another file in this upload is also named a.txt; rename one and add it again"}
    assert (folder / "a.txt").read_bytes() == b"one"
    assert (folder / "b.md").read_bytes() == b"two"
    assert sorted(os.listdir(folder)) == ["a.txt", "b.md"], "no temporary file is left behind"
    assert not (tmp_path / "a.txt").exists()
    assert save_uploads([("b.md", b"new")], folder) == ([folder / "b.md"], {})
    assert (folder / "b.md").read_bytes() == b"new", "a later upload replaces the file"


@pytest.mark.unit
def test_a_failed_write_leaves_no_temporary_file(tmp_path):
    folder = tmp_path / "uploads"
    folder.mkdir()
    (folder / "a.txt").mkdir()  # a directory where the file should go: the rename fails
    with pytest.raises(OSError):
        save_uploads([("a.txt", b"one")], folder)
    assert os.listdir(folder) == ["a.txt"]
    assert stat.S_ISDIR(os.stat(folder / "a.txt").st_mode)


@pytest.fixture
def embedded(embedded_store_env):
    return embedded_store_env


@pytest.mark.slow
def test_index_uploads_indexes_good_files_skips_bad_ones_and_replaces_changed_ones(embedded):
    folder = embedded / "uploads"
    indexer = Indexer()
    summary = index_uploads([("ferry.txt", TEXT), ("empty.txt", b""), ("photo.png", b"\x89PNG")], folder, indexer)
    assert summary.files_indexed == 1 and summary.replaced == []
    assert summary.skipped == {
        str(folder / "empty.txt"): "empty file",
        str(folder / "photo.png"): "unsupported file type '.png'",
    }
    assert os.listdir(folder) == ["ferry.txt"], "files that could not be indexed are not kept"
    assert count_passages() == summary.passages_written >= 1
    again = index_uploads([("ferry.txt", TEXT)], folder, indexer)
    assert again.files_unchanged == 1 and again.files_indexed == 0 and again.replaced == []
    changed = index_uploads([("C:\\Other\\ferry.txt", TEXT.replace(b"hour", b"half hour"))], folder, indexer)
    assert changed.files_indexed == 1 and changed.replaced == ["ferry.txt"], (
        "the page says an earlier file was replaced"
    )
    passages = indexer.store.filter_documents()
    assert passages and all("half hour" in passage.content for passage in passages if "every" in passage.content)
    assert count_passages() == len(passages)
    emptied = index_uploads([("ferry.txt", b"")], folder, indexer)
    assert emptied.skipped == {
        str(folder / "ferry.txt"): "empty file; its earlier passages were removed from the index"
    }
    assert count_passages() == 0 and os.listdir(folder) == []


@pytest.mark.slow
def test_index_uploads_of_unsupported_files_only_is_a_one_line_error(embedded):
    with pytest.raises(NoDocumentsFoundError):
        index_uploads([("photo.png", b"\x89PNG")], embedded / "uploads", Indexer())
    assert os.listdir(embedded / "uploads") == [], "nothing that could not be indexed is kept"


@pytest.mark.unit
def test_count_passages_of_an_empty_embedded_store(tmp_path):
    assert count_passages(Settings(_env_file=None, store="memory", store_path=tmp_path / "store")) == 0


@pytest.mark.unit
def test_count_passages_with_elasticsearch_down_is_one_line():
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    settings = Settings(
        _env_file=None,
        store="elasticsearch",
        es_hosts=f"http://127.0.0.1:{port}",
        es_request_timeout=2.0,
        es_max_retries=1,
    )
    with pytest.raises(StoreUnavailableError) as caught:
        count_passages(settings)
    assert f"127.0.0.1:{port}" in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.slow
def test_remove_documents_deletes_uploaded_copies_only(embedded):
    folder = embedded / "uploads"
    own = embedded / "mine"
    own.mkdir()
    (own / "notes.txt").write_bytes(TEXT)
    indexer = Indexer()
    index_uploads([("ferry.txt", TEXT)], folder, indexer)
    indexer.run([own], progress=False)
    uploaded, mine = str(folder / "ferry.txt"), str((own / "notes.txt").resolve())
    assert indexed_files() == sorted([uploaded, mine])
    removed = remove_documents([uploaded, mine], folder, indexer)
    assert set(removed) == {uploaded, mine} and all(count >= 1 for count in removed.values())
    assert not (folder / "ferry.txt").exists(), "the uploaded copy goes with its passages"
    assert (own / "notes.txt").exists(), "a file indexed from the user's own folder is never deleted"
    assert indexed_files() == [] and count_passages() == 0
