"""Tests of the embedded document store: persistence, crash safety, concurrent writers and retrieval."""

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from haystack import Document
from haystack.components.retrievers.in_memory import InMemoryBM25Retriever, InMemoryEmbeddingRetriever
from haystack.dataclasses import ByteStream, SparseEmbedding
from haystack.document_stores.errors import DuplicateDocumentError
from haystack.document_stores.in_memory import InMemoryDocumentStore
from haystack.document_stores.types import DuplicatePolicy
from haystack.utils.filters import document_matches_filter

import docqa.embedded_store as embedded_store
from docqa.embedded_store import SNAPSHOT_NAME, EmbeddedDocumentStore, _file_path_values
from docqa.errors import EmbeddingDimensionError, StoreError

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[1]
WORDS = [
    "cat",
    "dog",
    "bird",
    "fish",
    "river",
    "mountain",
    "paper",
    "engine",
    "violin",
    "castle",
    "harbor",
    "winter",
    "lemon",
    "tiger",
]


def make_docs(count: int, dim: int = 16, seed: int = 0, prefix: str = "d") -> list[Document]:
    """Documents with float32-exact random embeddings, varied text and meta."""
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(count, dim)).astype(np.float32)
    return [
        Document(
            id=f"{prefix}{i}",
            content=" ".join(rng.choice(WORDS, size=12)),
            meta={"file_path": f"/data/{prefix}{i % 4}.txt", "page_number": i % 3, "tags": ["a", str(i)]},
            embedding=vectors[i].tolist(),
        )
        for i in range(count)
    ]


def run_python(code: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args], env=env, capture_output=True, text=True, timeout=120
    )


def start_python(code: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def as_tuple(doc: Document) -> tuple:
    return doc.id, doc.content, doc.meta, doc.embedding


def record_starts(journal: bytes) -> list[int]:
    """The byte offsets at which the records of a journal start."""
    starts, position = [], 0
    while position < len(journal):
        starts.append(position)
        position += embedded_store._RECORD_HEAD.size + embedded_store._RECORD_HEAD.unpack_from(journal, position)[2]
    return starts


def cut_short_message(path: Path, start: int, end: int) -> str:
    return (
        f"document store {path}: the last change in journal.0 was cut short (bytes {start}-{end} ignored): a crash "
        "while writing loses only that one change, a copy of the store cut short may lose later ones too. Index your "
        "files again to restore what is missing (unchanged files are skipped)."
    )


def test_round_trip_keeps_content_meta_and_embeddings(tmp_path):
    docs = make_docs(20)
    docs.append(Document(id="no-vector", content="plain text", meta={"nested": {"k": [1, 2.5, None]}}))
    docs.append(
        Document(
            id="extras",
            content=None,
            blob=ByteStream(data=b"\x00\x01bytes", mime_type="application/octet-stream"),
            sparse_embedding=SparseEmbedding(indices=[1, 7], values=[0.5, 0.25]),
        )
    )
    store = EmbeddedDocumentStore(path=str(tmp_path / "store"))
    assert store.write_documents(docs) == len(docs)

    reloaded = EmbeddedDocumentStore(path=str(tmp_path / "store"))
    got = {doc.id: doc for doc in reloaded.filter_documents()}
    assert sorted(got) == sorted(doc.id for doc in docs)
    for doc in docs:
        assert as_tuple(got[doc.id]) == as_tuple(doc)
        assert got[doc.id].score is None
    assert got["extras"].blob.data == b"\x00\x01bytes"
    assert got["extras"].sparse_embedding.indices == [1, 7]
    assert reloaded.embedding_dimension() == 16


def test_returned_documents_are_copies(tmp_path):
    store = EmbeddedDocumentStore(path=str(tmp_path))
    store.write_documents(make_docs(3))
    first = store.filter_documents()[0]
    first.meta["file_path"] = "changed"
    assert all(doc.meta["file_path"] != "changed" for doc in store.filter_documents())


def test_store_survives_a_process_restart(tmp_path):
    path = str(tmp_path / "store")
    result = run_python(
        """
        import sys
        from haystack import Document
        from docqa.embedded_store import EmbeddedDocumentStore
        store = EmbeddedDocumentStore(path=sys.argv[1])
        store.write_documents([Document(id=f"x{i}", content=f"text {i}", meta={"n": i}, embedding=[float(i), 1.0])
                               for i in range(30)])
        store.delete_documents(["x3"])
        """,
        path,
    )
    assert result.returncode == 0, result.stderr
    store = EmbeddedDocumentStore(path=path)
    assert store.count_documents() == 29
    doc = store.filter_documents({"field": "meta.n", "operator": "==", "value": 7})[0]
    assert (doc.id, doc.content, doc.embedding) == ("x7", "text 7", [7.0, 1.0])


def test_crash_while_writing_a_snapshot_keeps_the_previous_one(tmp_path, monkeypatch):
    path = str(tmp_path / "store")
    store = EmbeddedDocumentStore(path=path)
    store.write_documents(make_docs(10))
    store.compact()

    def write_half_then_crash(file, parts):
        data = b"".join(parts)
        file.write(data[: len(data) // 2])
        raise KeyboardInterrupt("simulated crash")

    monkeypatch.setattr(embedded_store, "_write_parts", write_half_then_crash)
    with pytest.raises(KeyboardInterrupt):
        store.compact()
    with pytest.raises(KeyboardInterrupt):
        store.write_documents(make_docs(5, prefix="new"))
    monkeypatch.undo()

    assert sorted(os.listdir(path)) == [".lock", "journal.1", SNAPSHOT_NAME]
    reader = EmbeddedDocumentStore(path=path)
    assert sorted(doc.id for doc in reader.filter_documents()) == sorted(f"d{i}" for i in range(10))
    # the torn journal record is cut off by the next writer, whose change then reads back fine
    reader.write_documents(make_docs(2, prefix="after"))
    again = EmbeddedDocumentStore(path=path)
    assert again.count_documents() == 12
    assert store.count_documents() == 12


def test_killed_writer_leaves_a_readable_store(tmp_path):
    path = str(tmp_path / "store")
    writer = start_python(
        """
        import sys
        from haystack import Document
        from docqa.embedded_store import EmbeddedDocumentStore
        store = EmbeddedDocumentStore(path=sys.argv[1])
        store.compact_min_bytes = 0
        for batch in range(100000):
            store.write_documents([Document(id=f"{batch}-{i}", content="x" * 2000, embedding=[0.5] * 64)
                                   for i in range(50)])
            if batch == 1:
                print("ready", flush=True)
        """,
        path,
    )
    try:
        assert writer.stdout.readline().strip() == b"ready"
        time.sleep(0.7)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    count = EmbeddedDocumentStore(path=path).count_documents()
    assert count >= 100
    assert count % 50 == 0


WRITER = """
import sys
from haystack import Document
from docqa.embedded_store import EmbeddedDocumentStore
store = EmbeddedDocumentStore(path=sys.argv[1])
store.compact_min_bytes = 4000
name = sys.argv[2]
for batch in range(8):
    store.write_documents([Document(id=f"{name}-{batch}-{i}", content=f"{name} {batch} {i}", embedding=[1.0, 0.0])
                           for i in range(15)])
"""


def test_two_writer_processes_lose_nothing(tmp_path):
    path = str(tmp_path / "store")
    reader = EmbeddedDocumentStore(path=path)
    assert reader.count_documents() == 0
    writers = [start_python(WRITER, path, name) for name in ("page", "cli")]
    for writer in writers:
        _, stderr = writer.communicate(timeout=120)
        assert writer.returncode == 0, stderr.decode()
    ids = {doc.id for doc in reader.filter_documents()}
    expected = {f"{name}-{batch}-{i}" for name in ("page", "cli") for batch in range(8) for i in range(15)}
    assert ids == expected
    assert EmbeddedDocumentStore(path=path).count_documents() == 240


def test_reader_sees_what_another_process_wrote(tmp_path):
    path = str(tmp_path / "store")
    reader = EmbeddedDocumentStore(path=path)
    reader.write_documents(make_docs(5))
    assert reader.count_documents() == 5
    retriever = InMemoryEmbeddingRetriever(document_store=reader)
    result = run_python(
        """
        import sys
        from haystack import Document
        from docqa.embedded_store import EmbeddedDocumentStore
        store = EmbeddedDocumentStore(path=sys.argv[1])
        store.write_documents([Document(id="fresh", content="fresh passage", embedding=[9.0] * 16)])
        store.delete_documents(["d0"])
        """,
        path,
    )
    assert result.returncode == 0, result.stderr
    assert reader.count_documents() == 5
    top = retriever.run(query_embedding=[1.0] * 16, top_k=1)["documents"][0]
    assert top.id == "fresh"
    assert "d0" not in {doc.id for doc in reader.filter_documents()}


@pytest.mark.parametrize("similarity", ["cosine", "dot_product"])
def test_embedding_retrieval_matches_haystack_and_brute_force(tmp_path, similarity):
    docs = make_docs(300, dim=24, seed=3)
    docs.append(Document(id="zero", content="zero vector", embedding=[0.0] * 24))
    docs.append(Document(id="bare", content="no vector"))
    store = EmbeddedDocumentStore(path=str(tmp_path), embedding_similarity_function=similarity)
    store.write_documents(docs[:150])
    store.write_documents(docs[150:])
    store = EmbeddedDocumentStore(path=str(tmp_path), embedding_similarity_function=similarity)
    reference = InMemoryDocumentStore(embedding_similarity_function=similarity)
    reference.write_documents(docs)

    vectors = np.array([doc.embedding for doc in docs[:301]], dtype=np.float64)
    rng = np.random.default_rng(11)
    for _ in range(5):
        query = rng.normal(size=24).tolist()
        ours = store.embedding_retrieval(query, top_k=20)
        theirs = reference.embedding_retrieval(query, top_k=20)
        assert [doc.id for doc in ours] == [doc.id for doc in theirs]
        assert [doc.score for doc in ours] == pytest.approx([doc.score for doc in theirs], rel=1e-5, abs=1e-6)
        brute = vectors @ np.array(query)
        if similarity == "cosine":
            norms = np.linalg.norm(vectors, axis=1)
            brute = brute / (np.where(norms == 0, 1, norms) * np.linalg.norm(query))
        assert [doc.id for doc in ours] == [docs[i].id for i in np.argsort(-brute, kind="stable")[:20]]
        assert all(doc.embedding is None for doc in ours)

    query = rng.normal(size=24).tolist()
    scaled = store.embedding_retrieval(query, top_k=5, scale_score=True, return_embedding=True)
    reference_scaled = reference.embedding_retrieval(query, top_k=5, scale_score=True, return_embedding=True)
    assert [doc.score for doc in scaled] == pytest.approx([doc.score for doc in reference_scaled], rel=1e-5)
    assert [doc.embedding for doc in scaled] == [doc.embedding for doc in reference_scaled]


def test_embedding_retrieval_honours_filters_and_top_k(tmp_path):
    docs = make_docs(60, dim=8, seed=5)
    store = EmbeddedDocumentStore(path=str(tmp_path))
    store.write_documents(docs)
    reference = InMemoryDocumentStore(embedding_similarity_function="cosine")
    reference.write_documents(docs)
    filters = {
        "operator": "AND",
        "conditions": [
            {"field": "meta.file_path", "operator": "in", "value": ["/data/d1.txt", "/data/d2.txt"]},
            {"field": "meta.page_number", "operator": ">", "value": 0},
        ],
    }
    query = np.random.default_rng(2).normal(size=8).tolist()
    ours = store.embedding_retrieval(query, filters=filters, top_k=100)
    theirs = reference.embedding_retrieval(query, filters=filters, top_k=100)
    assert [doc.id for doc in ours] == [doc.id for doc in theirs]
    assert len(ours) == len(reference.filter_documents(filters))
    assert all(doc.meta["page_number"] > 0 for doc in ours)
    assert store.embedding_retrieval(query, top_k=0) == []
    with pytest.raises(EmbeddingDimensionError):
        store.embedding_retrieval([0.1, 0.2], top_k=3)


def test_filters_delete_and_update_persist(tmp_path):
    path = str(tmp_path)
    store = EmbeddedDocumentStore(path=path)
    store.write_documents(make_docs(40))
    by_file = {"field": "meta.file_path", "operator": "==", "value": "/data/d1.txt"}
    assert {doc.id for doc in store.filter_documents(by_file)} == {f"d{i}" for i in range(1, 40, 4)}
    assert store.count_documents_by_filter(by_file) == 10

    assert store.delete_by_filter(by_file) == 10
    page_two = {"field": "meta.page_number", "operator": "==", "value": 2}
    expected_updated = store.count_documents_by_filter(page_two)
    assert store.update_by_filter(page_two, {"reviewed": True}) == expected_updated

    reloaded = EmbeddedDocumentStore(path=path)
    assert reloaded.count_documents() == 30
    assert reloaded.filter_documents(by_file) == []
    reviewed = reloaded.filter_documents({"field": "meta.reviewed", "operator": "==", "value": True})
    assert len(reviewed) == expected_updated
    assert all(doc.meta["page_number"] == 2 and doc.embedding is not None for doc in reviewed)

    reloaded.delete_all_documents()
    assert EmbeddedDocumentStore(path=path).count_documents() == 0
    assert store.count_documents() == 0


def test_duplicate_policies(tmp_path):
    store = EmbeddedDocumentStore(path=str(tmp_path))
    docs = make_docs(4)
    store.write_documents(docs[:2])
    with pytest.raises(DuplicateDocumentError):
        store.write_documents(docs[2:] + docs[:1])
    assert store.count_documents() == 2
    assert store.write_documents(docs, policy=DuplicatePolicy.SKIP) == 2
    changed = Document(id="d0", content="new text", embedding=[0.0] * 16)
    assert store.write_documents([changed], policy=DuplicatePolicy.OVERWRITE) == 1
    reloaded = EmbeddedDocumentStore(path=str(tmp_path))
    assert reloaded.count_documents() == 4
    assert reloaded.filter_documents({"field": "id", "operator": "==", "value": "d0"})[0].content == "new text"


def test_bm25_retrieval_after_reload_matches_haystack(tmp_path):
    docs = make_docs(80, seed=8)
    store = EmbeddedDocumentStore(path=str(tmp_path))
    store.write_documents(docs[:60])
    reloaded = EmbeddedDocumentStore(path=str(tmp_path))
    assert reloaded.bm25_retrieval("tiger lemon", top_k=3)  # builds the BM25 statistics
    store.write_documents(docs[60:])
    store.delete_documents(["d5", "d6"])
    reference = InMemoryDocumentStore()
    reference.write_documents([doc for doc in docs if doc.id not in ("d5", "d6")])

    reloaded.warm_up(bm25=True)
    retriever = InMemoryBM25Retriever(document_store=reloaded, top_k=10)
    for query in ("tiger lemon", "violin castle harbor", "winter"):
        ours = retriever.run(query=query)["documents"]
        theirs = reference.bm25_retrieval(query, top_k=10)
        assert [doc.id for doc in ours] == [doc.id for doc in theirs]
        assert [doc.score for doc in ours] == pytest.approx([doc.score for doc in theirs])
    assert reloaded.bm25_retrieval("nothing-matches-this", top_k=5) == []


def test_keyword_queries_find_words_with_superscripts_and_subscripts(tmp_path):
    store = EmbeddedDocumentStore(path=str(tmp_path))
    store.write_documents(
        [
            Document(id="report", content="Revenue¹ grew by 12 % to NOK 4.1 billion."),
            Document(id="climate", content="CO₂ emissions fell to 10⁶ tonnes; the tank holds 25 m³."),
            Document(id="other", content="The canteen opens at eight."),
        ]
    )
    assert [doc.id for doc in store.bm25_retrieval("revenue growth", top_k=1)] == ["report"]
    assert [doc.id for doc in store.bm25_retrieval("CO2 emissions", top_k=1)] == ["climate"]
    assert [doc.id for doc in store.bm25_retrieval("CO₂", top_k=1)] == ["climate"]
    assert [doc.id for doc in store.bm25_retrieval("tonnes", top_k=1)] == ["climate"]
    assert store._tokenize_bm25("Revenue¹ 10⁶ m³ H₂O") == ["revenue", "10", "m", "h2o"]
    haystack = InMemoryDocumentStore()
    assert haystack._tokenize_bm25("Revenue¹ CO₂") == ["revenue¹", "co₂"]


def bm25_corpus(seed: int) -> list[Document]:
    """Passages of uneven lengths with repeated terms, accents, an empty passage and one without content."""
    rng = np.random.default_rng(seed)
    words = [*WORDS, "Château", "château", "naïve", "x"]
    docs = [
        Document(
            id=f"p{i}",
            content=" ".join(rng.choice(words, size=int(rng.integers(1, 40)))),
            meta={"file_path": f"/data/f{i % 5}.txt", "page_number": int(i % 3)},
        )
        for i in range(120)
    ]
    docs[7] = Document(id="p7", content="", meta={"file_path": "/data/f2.txt", "page_number": 1})
    docs[9] = Document(id="p9", blob=ByteStream(b"image"), meta={"file_path": "/data/f4.txt", "page_number": 0})
    return docs


@pytest.mark.parametrize(
    ("algorithm", "parameters"),
    [
        ("BM25L", None),
        ("BM25L", {"k1": 1.2, "b": 0.5, "delta": 0.8}),
        ("BM25Okapi", None),
        ("BM25Okapi", {"k1": 0.9, "b": 0.3, "epsilon": 0.5}),
        ("BM25Plus", None),
        ("BM25Plus", {"k1": 2.0, "b": 1.0, "delta": 0.4}),
    ],
)
def test_bm25_scores_equal_haystacks_to_the_last_bit(tmp_path, algorithm, parameters):
    store = EmbeddedDocumentStore(path=str(tmp_path), bm25_algorithm=algorithm, bm25_parameters=parameters)
    docs = bm25_corpus(seed=3)
    store.write_documents(docs[:80])
    store.bm25_retrieval("cat", top_k=1)
    store.write_documents(docs[80:])
    store.delete_documents(["p11", "p40"])
    store.write_documents([Document(id="p12", content="lemon lemon tiger")], policy=DuplicatePolicy.OVERWRITE)
    stored = [doc for doc in store.filter_documents() if doc.content is not None]
    file_filter = {"field": "meta.file_path", "operator": "in", "value": ["/data/f1.txt", "/data/f3.txt"]}
    for query in ("tiger lemon", "cat cat dog river Château", "naïve x", "castle", "zebra", "the"):
        # Haystack's own scoring function, on the same statistics
        expected = sorted(store.bm25_algorithm_inst(query, stored), key=lambda pair: pair[1], reverse=True)
        if algorithm != "BM25Okapi":
            expected = [(doc, score) for doc, score in expected if score > 0.0]
        found = store.bm25_retrieval(query, top_k=200)
        assert [(doc.id, doc.score) for doc in found] == [(doc.id, score) for doc, score in expected]
        assert [doc.id for doc in store.bm25_retrieval(query, top_k=7)] == [doc.id for doc, _ in expected[:7]]
        in_files = [doc.id for doc, _ in expected if doc.meta.get("file_path") in file_filter["value"]]
        assert [doc.id for doc in store.bm25_retrieval(query, filters=file_filter, top_k=200)] == in_files

    reference = InMemoryDocumentStore(bm25_algorithm=algorithm, bm25_parameters=parameters)
    reference.write_documents(store.filter_documents())
    ours = store.bm25_retrieval("lemon tiger castle", top_k=10, scale_score=True)
    theirs = reference.bm25_retrieval("lemon tiger castle", top_k=10, scale_score=True)
    assert [doc.id for doc in ours] == [doc.id for doc in theirs]
    assert [doc.score for doc in ours] == pytest.approx([doc.score for doc in theirs], rel=1e-12)


def test_filters_by_file_match_haystacks_matching(tmp_path):
    store = EmbeddedDocumentStore(path=str(tmp_path))
    docs = make_docs(30)
    docs[3] = Document(id="d3", content="no file", embedding=docs[3].embedding)
    docs[4] = Document(id="d4", content="dated", meta={"file_path": "2024-01-01"}, embedding=docs[4].embedding)
    docs[5] = Document(id="d5", content="two", meta={"file_path": ["/data/d1.txt"]}, embedding=docs[5].embedding)
    store.write_documents(docs)
    store.write_documents([replace(docs[2], content="moved to the end")], policy=DuplicatePolicy.OVERWRITE)
    store.delete_documents(["d6"])
    stored = store.filter_documents()
    filters = [
        {"field": "meta.file_path", "operator": "==", "value": "/data/d2.txt"},
        {"field": "meta.file_path", "operator": "==", "value": "/data/absent.txt"},
        {"field": "meta.file_path", "operator": "in", "value": ["/data/d3.txt", "/data/d1.txt", "/data/d3.txt"]},
        {"field": "meta.file_path", "operator": "in", "value": []},
        {"field": "meta.file_path", "operator": "in", "value": ["2024-01-01T00:00:00", "/data/d0.txt"]},
        {"field": "meta.file_path", "operator": "==", "value": None},
    ]
    filters += [
        {"operator": "OR", "conditions": [filters[2], filters[0], filters[1]]},
        {"operator": "OR", "conditions": [filters[0], {"field": "content", "operator": "==", "value": "no file"}]},
    ]
    or_paths = ["/data/d3.txt", "/data/d1.txt", "/data/d3.txt", "/data/d2.txt", "/data/absent.txt"]
    assert _file_path_values(filters[6]) == or_paths, "an OR of file conditions is answered from the index by file"
    assert _file_path_values(filters[7]) is None
    for condition in filters:
        expected = [doc.id for doc in stored if document_matches_filter(condition, doc)]
        assert [doc.id for doc in store.filter_documents(condition)] == expected, condition
        assert [doc.id for doc in store.filter_passages(condition)] == expected, condition
    assert "d4" in [doc.id for doc in store.filter_documents(filters[4])]
    in_file = filters[0]
    assert [doc.id for doc in store.filter_documents(in_file)] == ["d10", "d14", "d18", "d22", "d26", "d2"]
    store.write_documents([Document(id="new", content="x", meta={"file_path": "/data/d2.txt"}, embedding=[0.0] * 16)])
    assert [doc.id for doc in store.filter_documents(in_file)][-1] == "new"

    # the index is kept up to date by writes and deletes, here and from another process
    moved = replace(docs[1], meta={**docs[1].meta, "file_path": "/data/d2.txt"})
    store.write_documents([moved, replace(docs[10], content="again")], policy=DuplicatePolicy.OVERWRITE)
    store.delete_documents(["d14", "d7"])
    EmbeddedDocumentStore(path=str(tmp_path)).write_documents(
        [Document(id="other", content="y", meta={"file_path": "/data/d3.txt"}, embedding=[0.0] * 16)]
    )
    stored = store.filter_documents()
    for condition in filters:
        expected = [doc.id for doc in stored if document_matches_filter(condition, doc)]
        assert [doc.id for doc in store.filter_passages(condition)] == expected, condition
    assert [doc.id for doc in store.filter_documents(in_file)] == ["d18", "d22", "d26", "d2", "new", "d1", "d10"]


def test_filter_passages_leaves_the_embeddings_out(tmp_path):
    store = EmbeddedDocumentStore(path=str(tmp_path), return_embedding=True)
    docs = make_docs(6)
    store.write_documents(docs)
    in_file = {"field": "meta.file_path", "operator": "==", "value": "/data/d1.txt"}
    passages = store.filter_passages(in_file)
    assert [doc.id for doc in passages] == ["d1", "d5"]
    assert all(doc.embedding is None for doc in passages) and passages[0].meta == docs[1].meta
    assert [doc.embedding for doc in store.filter_documents(in_file)] == [docs[1].embedding, docs[5].embedding]


def test_bm25_scores_follow_every_change_of_the_store(tmp_path):
    store = EmbeddedDocumentStore(path=str(tmp_path))
    store.write_documents([Document(id="a", content="violin castle"), Document(id="b", content="violin")])
    assert [doc.id for doc in store.bm25_retrieval("castle")] == ["a"]
    other = EmbeddedDocumentStore(path=str(tmp_path))
    other.write_documents([Document(id="c", content="castle castle castle")])
    assert [doc.id for doc in store.bm25_retrieval("castle")] == ["c", "a"]
    other.delete_documents(["c", "a"])
    assert store.bm25_retrieval("castle") == []
    assert [doc.id for doc in store.bm25_retrieval("violin")] == ["b"]


@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage"])
def test_damaged_snapshot_raises_store_error(tmp_path, damage):
    path = tmp_path / "store"
    store = EmbeddedDocumentStore(path=str(path))
    store.write_documents(make_docs(10))
    store.compact()
    snapshot = path / SNAPSHOT_NAME
    data = bytearray(snapshot.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF
    elif damage == "truncate":
        data = data[: len(data) - 7]
    else:
        data = bytearray(b"this is not a store" * 10)
    snapshot.write_bytes(bytes(data))

    with pytest.raises(StoreError) as error:
        EmbeddedDocumentStore(path=str(path)).count_documents()
    message = str(error.value)
    assert "damaged" in message and "--recreate" in message and "\n" not in message
    with pytest.raises(StoreError):
        store.count_documents()

    store.delete_all_documents()
    store.write_documents(make_docs(3))
    assert EmbeddedDocumentStore(path=str(path)).count_documents() == 3


def test_a_journal_after_a_snapshot_without_the_snapshot_is_a_damaged_store_not_an_empty_one(tmp_path):
    path = tmp_path / "store"
    store = EmbeddedDocumentStore(path=str(path))
    store.write_documents(make_docs(10))
    store.compact()
    store.write_documents(make_docs(2, prefix="more"))
    assert (path / "journal.1").exists()
    (path / SNAPSHOT_NAME).unlink()
    with pytest.raises(StoreError) as error:
        EmbeddedDocumentStore(path=str(path)).count_documents()
    message = str(error.value)
    assert f"{SNAPSHOT_NAME} is missing but journal.1 is there: the store is damaged." in message
    assert "--recreate" in message and "\n" not in message
    assert (path / "journal.1").exists(), "nothing is deleted by reading"
    store.delete_all_documents()
    store.write_documents(make_docs(3))
    assert EmbeddedDocumentStore(path=str(path)).count_documents() == 3


def two_changes(tmp_path: Path, count: int) -> tuple[Path, Path]:
    """A store written twice, ``count`` documents each time: its folder and its journal."""
    path = tmp_path / "store"
    store = EmbeddedDocumentStore(path=str(path))
    store.write_documents(make_docs(count))
    store.write_documents(make_docs(count, prefix="more"))
    return path, path / "journal.0"


def test_damaged_journal_record_raises_store_error(tmp_path):
    path, journal = two_changes(tmp_path, 5)
    data = bytearray(journal.read_bytes())
    data[30] ^= 0xFF
    journal.write_bytes(bytes(data))
    with pytest.raises(StoreError, match=r"journal\.0 is damaged"):
        EmbeddedDocumentStore(path=str(path)).count_documents()


@pytest.mark.parametrize("tail", ["header", "payload", "checksum", "zeros"])
def test_a_last_change_cut_short_is_ignored_with_one_warning(tmp_path, caplog, tail):
    path, journal = two_changes(tmp_path, 4)
    data = journal.read_bytes()
    last = record_starts(data)[-1]
    if tail == "header":
        data = data[: last + 7]
    elif tail == "payload":
        data = data[: (last + len(data)) // 2]
    elif tail == "checksum":
        data = data[:-1] + bytes([data[-1] ^ 1])
    else:
        data = data[:last] + bytes(len(data) - last)
    journal.write_bytes(data)

    with caplog.at_level(logging.WARNING, logger="docqa.embedded_store"):
        reader = EmbeddedDocumentStore(path=str(path))
        assert sorted(doc.id for doc in reader.filter_documents()) == [f"d{i}" for i in range(4)]
        assert reader.count_documents() == 4
        assert EmbeddedDocumentStore(path=str(path)).count_documents() == 4
    assert [record.getMessage() for record in caplog.records] == [cut_short_message(path, last, len(data))]


def test_a_journal_cut_short_is_repaired_by_the_next_writer_and_warned_about_once(tmp_path, caplog, monkeypatch):
    path = tmp_path / "store"
    store = EmbeddedDocumentStore(path=str(path))
    for batch in range(3):
        store.write_documents(make_docs(2, seed=batch, prefix=f"b{batch}-"))
    journal = path / "journal.0"
    data = journal.read_bytes()
    second = record_starts(data)[1]
    journal.write_bytes(data[: second + 100])

    with caplog.at_level(logging.WARNING, logger="docqa.embedded_store"):
        reader = EmbeddedDocumentStore(path=str(path))
        assert reader.count_documents() == 2
        writer = EmbeddedDocumentStore(path=str(path))
        writer.write_documents(make_docs(1, prefix="after"))
        assert record_starts(journal.read_bytes()) == [0, second]
        assert {doc.id for doc in reader.filter_documents()} == {"b0-0", "b0-1", "after0"}
        monkeypatch.setattr(embedded_store, "_WARNED_TAILS", set())
        assert EmbeddedDocumentStore(path=str(path)).count_documents() == 3
    assert [record.getMessage() for record in caplog.records] == [cut_short_message(path, second, second + 100)]


def test_a_change_cut_short_is_one_line_on_stderr_once_per_process(tmp_path):
    path = tmp_path / "store"
    EmbeddedDocumentStore(path=str(path)).write_documents(make_docs(3))
    journal = path / "journal.0"
    size = journal.stat().st_size
    journal.write_bytes(journal.read_bytes()[: size - 5])
    result = run_python(
        """
        import sys
        from docqa.embedded_store import EmbeddedDocumentStore
        for _ in range(2):
            store = EmbeddedDocumentStore(path=sys.argv[1])
            print(store.count_documents(), store.count_documents())
        """,
        str(path),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["0"] * 4
    assert result.stderr.splitlines() == [cut_short_message(path, 0, size - 5)]


@pytest.mark.parametrize("damage", ["garbage", "appended", "op"])
def test_journal_bytes_that_are_no_record_make_a_damaged_store_not_an_empty_one(tmp_path, caplog, damage):
    path, journal = two_changes(tmp_path, 3)
    data = bytearray(journal.read_bytes())
    if damage == "garbage":
        data, where = bytearray(b"garbage"), 0
    elif damage == "appended":
        data, where = data + b"not a journal record", len(data)
    else:
        where = record_starts(bytes(data))[-1]
        data[where + 4] = 7
    journal.write_bytes(bytes(data))
    with pytest.raises(StoreError) as error:
        EmbeddedDocumentStore(path=str(path)).count_documents()
    assert str(error.value) == (
        f"document store {path}: the journal.0 is damaged (bad record at byte {where}). Re-index with --recreate."
    )
    assert not caplog.records


def test_a_file_in_the_way_of_the_store_is_named_for_reads_and_writes(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    for path in (blocker, blocker / "store"):
        store = EmbeddedDocumentStore(path=str(path))
        with pytest.raises(StoreError, match="a file is in the way") as error:
            store.write_documents(make_docs(1))
        assert str(error.value).startswith(f"document store {path}:")
        with pytest.raises(StoreError, match="Set DOCQA_STORE_PATH to a directory"):
            EmbeddedDocumentStore(path=str(path)).count_documents()
        assert (f": {blocker} is a file" in str(error.value)) == (path != blocker), "the file in the way is named"
    assert blocker.read_text() == "not a directory"


def test_a_full_disk_says_the_passages_written_before_are_kept(tmp_path, monkeypatch):
    import errno

    import docqa.embedded_store as embedded_store

    store = EmbeddedDocumentStore(path=str(tmp_path / "store"))
    store.write_documents(make_docs(2))

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(embedded_store, "_write_parts", full)
    with pytest.raises(StoreError) as error:
        store.write_documents(make_docs(2, prefix="more"))
    assert str(error.value).endswith(
        "cannot write journal.0: No space left on device. The passages written before are kept: free some space and "
        "run the command again to index the rest."
    )
    monkeypatch.undo()
    assert EmbeddedDocumentStore(path=str(tmp_path / "store")).count_documents() == 2


def test_unwritable_path_raises_store_error():
    with pytest.raises(StoreError, match="cannot write there") as error:
        EmbeddedDocumentStore(path="/proc/docqa-store").write_documents(make_docs(1))
    assert "Set DOCQA_STORE_PATH to a writable directory" in str(error.value)


def test_mismatched_embedding_dimension_is_refused(tmp_path):
    store = EmbeddedDocumentStore(path=str(tmp_path))
    store.write_documents(make_docs(2, dim=16))
    with pytest.raises(EmbeddingDimensionError):
        store.write_documents([Document(id="other", content="x", embedding=[0.1] * 8)])
    assert store.count_documents() == 2


def test_missing_store_reads_as_empty_without_creating_it(tmp_path):
    store = EmbeddedDocumentStore(path=str(tmp_path / "absent"))
    store.warm_up(bm25=True)
    assert store.count_documents() == 0
    assert store.bm25_retrieval("anything") == []
    assert store.embedding_retrieval([0.1, 0.2]) == []
    assert store.embedding_dimension() is None
    assert not (tmp_path / "absent").exists()


def test_serialization_round_trip(tmp_path):
    store = EmbeddedDocumentStore(
        path=str(tmp_path), embedding_similarity_function="dot_product", bm25_algorithm="BM25Plus"
    )
    data = store.to_dict()
    assert data["init_parameters"]["path"] == str(tmp_path)
    clone = EmbeddedDocumentStore.from_dict(data)
    assert (clone.path, clone.embedding_similarity_function, clone.bm25_algorithm) == (
        str(tmp_path),
        "dot_product",
        "BM25Plus",
    )


def test_open_shared_returns_one_store_per_directory(tmp_path):
    first = EmbeddedDocumentStore.open_shared(str(tmp_path / "a"))
    assert EmbeddedDocumentStore.open_shared(str(tmp_path / "a")) is first
    assert EmbeddedDocumentStore.open_shared(str(tmp_path / "b")) is not first
    assert EmbeddedDocumentStore.open_shared(str(tmp_path / "a"), bm25_algorithm="BM25Okapi") is not first
