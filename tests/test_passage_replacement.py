"""Replacing a file's passages in a real in-memory Haystack store: new first, stale after, never empty."""

import pytest
from haystack import Document
from haystack.document_stores.in_memory import InMemoryDocumentStore

from docqa.errors import DocumentWriteError
from docqa.passage_replacement import delete_file_passages, file_filter, replace_file_passages

pytestmark = pytest.mark.unit


def passages(file_path, texts):
    return [Document(content=text, meta={"file_path": file_path, "char_start": i}) for i, text in enumerate(texts)]


def ids_of(store, file_path):
    return {doc.id for doc in store.filter_documents(filters=file_filter(file_path))}


class FailsAfter(InMemoryDocumentStore):
    """An in-memory store whose next write stores ``limit`` documents and then fails, like a server going away."""

    limit: int | None = None

    def write_documents(self, documents, policy=None):
        if self.limit is None:
            return super().write_documents(documents, policy=policy)
        super().write_documents(documents[: self.limit], policy=policy)
        raise ConnectionError("the store went away")


class WritesFewer(InMemoryDocumentStore):
    """An in-memory store that drops the last document of a write and says so in its count."""

    def write_documents(self, documents, policy=None):
        return super().write_documents(documents[:-1], policy=policy)


class KeepsDeleted(InMemoryDocumentStore):
    """An in-memory store that refuses to delete, naming each passage id like the Elasticsearch store does."""

    def delete_documents(self, document_ids):
        failures = {f"passage {doc_id}": "index is read-only" for doc_id in document_ids}
        raise DocumentWriteError("the test store", failures, 0, len(document_ids), action="deleted from")


def test_changed_file_ends_with_exactly_its_new_passages():
    store = InMemoryDocumentStore()
    other = passages("/docs/b.txt", ["untouched"])
    replace_file_passages(store, "/docs/b.txt", other)
    old = passages("/docs/a.txt", ["first", "second", "third"])
    assert replace_file_passages(store, "/docs/a.txt", old) == {"written": 3, "deleted": 0}
    new = passages("/docs/a.txt", ["first", "second, edited"])
    assert replace_file_passages(store, "/docs/a.txt", new) == {"written": 2, "deleted": 2}
    assert ids_of(store, "/docs/a.txt") == {doc.id for doc in new}
    assert ids_of(store, "/docs/b.txt") == {doc.id for doc in other}
    assert replace_file_passages(store, "/docs/a.txt", new) == {"written": 2, "deleted": 0}
    assert store.count_documents() == 3


def test_failure_half_way_leaves_the_old_passages_and_a_rerun_completes():
    store = FailsAfter()
    old = passages("/docs/a.txt", ["one", "two", "three"])
    replace_file_passages(store, "/docs/a.txt", old)
    new = passages("/docs/a.txt", ["one, edited", "two, edited", "three, edited"])
    store.limit = 1
    with pytest.raises(ConnectionError):
        replace_file_passages(store, "/docs/a.txt", new)
    remaining = ids_of(store, "/docs/a.txt")
    assert {doc.id for doc in old} <= remaining
    assert new[0].id in remaining
    store.limit = None
    replace_file_passages(store, "/docs/a.txt", new)
    assert ids_of(store, "/docs/a.txt") == {doc.id for doc in new}


def test_short_write_deletes_nothing_and_names_the_file():
    store = WritesFewer()
    InMemoryDocumentStore.write_documents(store, passages("/docs/a.txt", ["old"]))
    with pytest.raises(DocumentWriteError) as caught:
        replace_file_passages(store, "/docs/a.txt", passages("/docs/a.txt", ["new one", "new two"]))
    assert "/docs/a.txt" in caught.value.failures
    assert "wrote 1 of 2" in str(caught.value)
    assert len(ids_of(store, "/docs/a.txt")) == 2


def test_refuses_empty_or_foreign_passages():
    store = InMemoryDocumentStore()
    with pytest.raises(ValueError, match="delete_file_passages"):
        replace_file_passages(store, "/docs/a.txt", [])
    with pytest.raises(ValueError, match=r"/docs/b\.txt"):
        replace_file_passages(store, "/docs/a.txt", passages("/docs/b.txt", ["wrong file"]))
    assert store.count_documents() == 0


def test_delete_file_passages():
    store = InMemoryDocumentStore()
    replace_file_passages(store, "/docs/a.txt", passages("/docs/a.txt", ["x", "y"]))
    replace_file_passages(store, "/docs/b.txt", passages("/docs/b.txt", ["z"]))
    assert delete_file_passages(store, "/docs/a.txt") == 2
    assert delete_file_passages(store, "/docs/a.txt") == 0
    assert ids_of(store, "/docs/a.txt") == set()
    assert store.count_documents() == 1


def test_passages_the_store_keeps_are_reported_by_file_not_by_id():
    store = KeepsDeleted()
    replace_file_passages(store, "/docs/a.txt", passages("/docs/a.txt", ["one", "two", "three"]))
    with pytest.raises(DocumentWriteError) as caught:
        replace_file_passages(store, "/docs/a.txt", passages("/docs/a.txt", ["one, edited"]))
    assert caught.value.failures == {"/docs/a.txt": "3 old passages kept: index is read-only"}
    assert (caught.value.written, caught.value.sent) == (0, 3)
    assert str(caught.value).startswith("3 of 3 passages were not deleted from KeepsDeleted: /docs/a.txt (")
    assert len(ids_of(store, "/docs/a.txt")) == 4
    with pytest.raises(DocumentWriteError, match=r"4 of 4 passages were not deleted .*: /docs/a\.txt \(4 old"):
        delete_file_passages(store, "/docs/a.txt")
