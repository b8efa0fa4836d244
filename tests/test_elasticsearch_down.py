"""Elasticsearch failure behaviour, for real over loopback sockets: no server, a silent one, and an HTTP server
speaking just enough of the Elasticsearch protocol (401, a cluster still starting, bulk item errors)."""

import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
from haystack import Document
from haystack.document_stores.errors import DuplicateDocumentError
from haystack.document_stores.types import DuplicatePolicy

from docqa.components.dense_retriever import DenseRetriever
from docqa.elasticsearch_store import (
    DocqaElasticsearchStore,
    _batches,
    check_embedding_dimension,
    elasticsearch_store_from_settings,
    translate_es_errors,
    wait_until_ready,
)
from docqa.errors import (
    DocumentWriteError,
    EmbeddingDimensionError,
    EmbeddingModelMismatchError,
    EmptyIndexError,
    IndexMappingError,
    StoreUnavailableError,
    UsageError,
)
from docqa.passage_replacement import delete_file_passages, file_filter
from docqa.settings import Settings
from docqa.stores import check_embedding_model, files_filter

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def closed_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture
def silent_port(silent_server):
    """A port that accepts connections and never answers."""
    return silent_server.port


@pytest.fixture
def silent_server():
    """A server that accepts connections and never answers: its ``port``, and the connections it ``held``."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield SimpleNamespace(port=server.getsockname()[1], held=held)
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


SHARDS = {"total": 1, "successful": 1, "skipped": 0, "failed": 0}


class FakeElasticsearch(BaseHTTPRequestHandler):
    """Answers like Elasticsearch 8 for the few endpoints docqa's store uses; behaviour set on the server."""

    def log_message(self, *args):
        pass

    def _send(self, status, body, product=True):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if product:
            self.send_header("X-Elastic-Product", "Elasticsearch")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _handle(self):
        server = self.server
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self.path.split("?")[0]
        server.requests.append((self.command, path, self.headers.get("Authorization")))
        mode = server.mode
        if mode == "unauthorized":
            error = {"type": "security_exception", "reason": "unable to authenticate user [elastic]"}
            return self._send(401, {"error": {**error, "root_cause": [error]}, "status": 401})
        if mode == "not-elasticsearch":
            return self._send(200, {"hello": "world"}, product=False)
        if mode in (404, 500):
            return self._send(mode, {"error": "another web server"}, product=False)
        if mode == "index-deleted" and path.endswith("/_count"):
            error = {"type": "index_not_found_exception", "reason": "no such index [test-index]"}
            return self._send(404, {"error": {**error, "root_cause": [error]}, "status": 404})
        if path == "/_cluster/health":
            status = server.health.pop(0) if len(server.health) > 1 else server.health[0]
            if status == 503:
                error = {"type": "master_not_discovered_exception", "reason": None}
                return self._send(503, {"error": {**error, "root_cause": [error]}, "status": 503})
            return self._send(200, {"cluster_name": "fake", "status": status})
        if path == "/":
            return self._send(200, {"name": "fake", "version": {"number": "8.19.3"}, "tagline": "You Know, for Search"})
        if path.endswith("/_bulk") and server.bulk_refused:
            status, error = server.bulk_refused
            return self._send(status, {"error": {**error, "root_cause": [error]}, "status": status})
        if path.endswith("/_bulk"):
            return self._bulk(body)
        if path.endswith("/_refresh") and server.refresh_forbidden:
            error = {
                "type": "security_exception",
                "reason": "action [indices:admin/refresh] is unauthorized for user [writer] with effective roles "
                "[docqa_writer] on indices [test-index], this action is granted by the index privileges "
                "[maintenance,manage,all]",
            }
            return self._send(403, {"error": {**error, "root_cause": [error]}, "status": 403})
        if path.endswith("/_refresh"):
            return self._send(200, {"_shards": {"total": 1, "successful": 1, "failed": 0}})
        if path.endswith("/_search") and b'"knn"' in body:
            server.knn_bodies.append(json.loads(body))
            if server.stored_dims:
                dims = len(json.loads(body)["knn"]["query_vector"])
                reason = (
                    f"The query vector has a different number of dimensions [{dims}] than the document vectors "
                    f"[{server.stored_dims}]."
                )
                error = {"type": "illegal_argument_exception", "reason": reason}
                wrapped = {"type": "search_phase_execution_exception", "reason": "all shards failed"}
                return self._send(400, {"error": {**wrapped, "caused_by": error, "root_cause": [error]}, "status": 400})
            return self._send(200, {"hits": {"total": {"value": 0, "relation": "eq"}, "hits": []}})
        if path.endswith("/_search") and b'"composite"' in body:
            return self._composite(json.loads(body))
        if path.endswith("/_search") and b'"aggs"' in body:  # a terms aggregation
            terms = next(iter(json.loads(body)["aggs"].values()))["terms"]
            counts = Counter(source[terms["field"]] for source in server.stored.values() if terms["field"] in source)
            buckets = [{"key": key, "doc_count": count} for key, count in counts.most_common(terms["size"])]
            aggregations = {name: {"buckets": buckets} for name in json.loads(body)["aggs"]}
            return self._send(200, {"hits": {"total": {"value": 0}, "hits": []}, "aggregations": aggregations})
        if path.endswith("/_count"):
            return self._send(200, {"count": len(server.stored), "_shards": {"total": 1, "successful": 1}})
        if path == "/_search/scroll" and self.command == "DELETE":
            return self._send(200, {"succeeded": True, "num_freed": 1})
        if path == "/_search/scroll":
            return self._send(200, {"_scroll_id": "s1", "_shards": SHARDS, "hits": {"total": {"value": 0}, "hits": []}})
        if path.endswith("/_search"):  # the first page of a scroll: every stored passage, whatever the query
            server.scan_bodies.append(json.loads(body))
            excluded = json.loads(body).get("_source", {}).get("excludes", [])
            hits = [
                {"_id": doc_id, "_score": None, "_source": {k: v for k, v in source.items() if k not in excluded}}
                for doc_id, source in server.stored.items()
            ]
            page = {"total": {"value": len(hits)}, "hits": hits}
            return self._send(200, {"_scroll_id": "s1", "_shards": SHARDS, "hits": page})
        if self.command == "HEAD":
            return self._send(200 if server.index_exists else 404, {})
        if path.endswith("/_mapping"):
            return self._send(200, {"test-index": {"mappings": server.mapping}})
        if self.command == "DELETE" and path == "/test-index":
            server.index_exists, server.deleted = False, server.deleted + 1
            server.stored.clear()
            return self._send(200, {"acknowledged": True})
        if self.command == "PUT" and server.created_elsewhere:
            error = {"type": "resource_already_exists_exception", "reason": "index already exists"}
            return self._send(400, {"error": {**error, "root_cause": [error]}, "status": 400})
        if self.command == "PUT":
            server.index_exists = True
            server.created.append(json.loads(body))
            return self._send(200, {"acknowledged": True, "index": path.strip("/")})
        return self._send(404, {"error": {"type": "not_implemented", "reason": path}, "status": 404})

    def _composite(self, body):
        """A terms composite aggregation over one field of the stored sources, paged as Elasticsearch does."""
        composite = body["aggs"]["files"]["composite"]
        field = composite["sources"][0]["path"]["terms"]["field"]
        after = (composite.get("after") or {}).get("path")
        keys = sorted({source[field] for source in self.server.stored.values() if field in source})
        page = [key for key in keys if after is None or key > after][: composite["size"]]
        files = {"buckets": [{"key": {"path": key}, "doc_count": 1} for key in page]}
        if page:
            files["after_key"] = {"path": page[-1]}
        self.server.searches += 1
        return self._send(200, {"hits": {"total": {"value": 0}, "hits": []}, "aggregations": {"files": files}})

    def _bulk(self, body):
        if self.server.bulk_errors:
            status = self.server.bulk_errors.pop(0)
            error = {"type": "unavailable_shards_exception", "reason": "primary shard is not active"}
            return self._send(status, {"error": {**error, "root_cause": [error]}, "status": status})
        lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
        items, deletes = [], [line for line in lines if "delete" in line]
        for action in deletes:
            doc_id = action["delete"]["_id"]
            if self.server.delete_error:
                items.append({"delete": {"_id": doc_id, "status": 403, "error": self.server.delete_error}})
                continue
            found = self.server.stored.pop(doc_id, None) is not None
            items.append({"delete": {"_id": doc_id, "status": 200 if found else 404}})
        lines = [line for line in lines if "delete" not in line]
        self.server.bulk_sizes.append(len(lines) // 2)
        for action, source in zip(lines[::2], lines[1::2], strict=True):
            op, meta = next(iter(action.items()))
            doc_id = meta["_id"]
            status, error = self.server.item_result(doc_id, source)
            result = {"_id": doc_id, "status": status}
            if error:
                result["error"] = error
            else:
                self.server.stored[doc_id] = source
            items.append({op: result})
        self._send(200, {"took": 1, "errors": any("error" in next(iter(i.values())) for i in items), "items": items})

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _handle


@pytest.fixture
def fake_es():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeElasticsearch)
    server.daemon_threads = True
    server.mode = "ok"
    server.health = ["green"]
    server.index_exists = False
    server.requests = []
    server.bulk_sizes = []
    server.stored = {}
    server.created = []
    server.bulk_errors = []
    server.searches = 0
    server.created_elsewhere = False
    server.bulk_refused = None
    server.refresh_forbidden = False
    server.knn_bodies = []
    server.scan_bodies = []
    server.mapping = {}
    server.deleted = 0
    server.delete_error = None
    server.stored_dims = None
    server.item_result = lambda doc_id, source: (201, None)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


def es_settings(url, **overrides):
    values = {"store": "elasticsearch", "es_hosts": url, "es_request_timeout": 2.0, "es_max_retries": 1}
    values.update(overrides)
    return Settings(_env_file=None, **values)


def make_store(url, **kwargs):
    return DocqaElasticsearchStore(hosts=[url], index="test-index", request_timeout=2.0, max_retries=1, **kwargs)


def passages(file_path, count, start=0):
    return [
        Document(content=f"passage {i} of {file_path}", meta={"file_path": file_path, "char_start": i * 10})
        for i in range(start, start + count)
    ]


def test_constructing_the_store_contacts_no_server(fake_es):
    store = elasticsearch_store_from_settings(es_settings(fake_es.url))
    DocqaElasticsearchStore.from_dict(store.to_dict())
    assert fake_es.requests == []


def test_closed_port_is_not_reachable(closed_port):
    settings = es_settings(f"http://127.0.0.1:{closed_port}")
    store = elasticsearch_store_from_settings(settings)
    with pytest.raises(StoreUnavailableError) as caught, translate_es_errors(settings):
        store.count_documents()
    message = str(caught.value)
    assert f"127.0.0.1:{closed_port}" in message
    assert "is not reachable (connection refused)" in message
    assert "\n" not in message


def test_silent_port_did_not_answer(silent_port):
    settings = es_settings(f"http://127.0.0.1:{silent_port}", es_request_timeout=0.5, es_max_retries=0)
    store = elasticsearch_store_from_settings(settings)
    with pytest.raises(StoreUnavailableError) as caught, translate_es_errors(settings):
        store.filter_documents()
    assert f"Elasticsearch at http://127.0.0.1:{silent_port} did not answer within 0.5 s. " in str(caught.value)
    retried = es_settings(f"http://127.0.0.1:{silent_port}", es_request_timeout=0.5, es_max_retries=1)
    with pytest.raises(StoreUnavailableError) as caught, translate_es_errors(retried):
        elasticsearch_store_from_settings(retried).filter_documents()
    assert "did not answer within 0.5 s (2 tries)" in str(caught.value)


def test_wait_until_ready_gives_up_after_the_configured_time(closed_port):
    settings = es_settings(f"http://127.0.0.1:{closed_port}", es_wait_seconds=1.0)
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError) as caught:
        wait_until_ready(settings, poll_s=0.2)
    assert time.monotonic() - started >= 1.0
    message = str(caught.value)
    assert "is not reachable (connection refused); gave up after waiting 1 s" in message
    assert "DOCQA_ES_WAIT_SECONDS" in message


def test_wait_until_ready_reports_a_cluster_still_starting(fake_es):
    fake_es.health = [503]
    with pytest.raises(StoreUnavailableError) as caught:
        wait_until_ready(make_store(fake_es.url), timeout_s=0.6, poll_s=0.1)
    assert f"Elasticsearch at {fake_es.url} is still starting (cluster not ready" in str(caught.value)
    assert len([r for r in fake_es.requests if r[1] == "/_cluster/health"]) > 1


def test_wait_until_ready_returns_once_the_cluster_is_ready(fake_es):
    fake_es.health = [503, "red", "yellow"]
    assert wait_until_ready(make_store(fake_es.url), timeout_s=30, poll_s=0.05) == "yellow"
    assert [r[1] for r in fake_es.requests].count("/_cluster/health") == 3


def test_a_starting_cluster_is_reported_on_store_calls(fake_es):
    fake_es.health = [503]
    store = make_store(fake_es.url, retry_backoff=0.01)
    with pytest.raises(StoreUnavailableError) as caught, translate_es_errors(store):
        store.client.cluster.health()
    assert "is still starting (cluster not ready" in str(caught.value)


def test_rejected_credentials(fake_es, monkeypatch):
    fake_es.mode = "unauthorized"
    monkeypatch.setenv("DOCQA_ES_PASSWORD", "wrong")
    settings = es_settings(fake_es.url, es_username="elastic")
    store = elasticsearch_store_from_settings(settings)
    with pytest.raises(StoreUnavailableError) as caught, translate_es_errors(settings):
        store.count_documents()
    message = str(caught.value)
    assert f"Elasticsearch at {fake_es.url} rejected the credentials (401)" in message
    assert "DOCQA_ES_PASSWORD" in message
    expected = "Basic " + base64.b64encode(b"elastic:wrong").decode()
    assert fake_es.requests[0][2] == expected


def test_wait_until_ready_does_not_wait_on_rejected_credentials(fake_es):
    fake_es.mode = "unauthorized"
    with pytest.raises(StoreUnavailableError, match=r"rejected the credentials \(401\)"):
        wait_until_ready(make_store(fake_es.url), timeout_s=30, poll_s=0.05)
    assert len(fake_es.requests) == 1


def test_wait_until_ready_does_not_wait_on_a_web_server_that_is_not_elasticsearch(fake_es):
    fake_es.mode = 404
    with pytest.raises(StoreUnavailableError) as caught:
        wait_until_ready(make_store(fake_es.url), timeout_s=30, poll_s=0.05)
    message = str(caught.value)
    assert message.startswith(f"Elasticsearch at {fake_es.url} answered 404 (not found) where Elasticsearch would not")
    assert "gave up" not in message and ".;" not in message
    assert len(fake_es.requests) == 1


def test_wait_until_ready_names_the_last_reason_in_one_sentence(fake_es):
    fake_es.mode = 500
    with pytest.raises(StoreUnavailableError) as caught:
        wait_until_ready(make_store(fake_es.url), timeout_s=0.5, poll_s=0.1)
    message = str(caught.value)
    assert "failed with HTTP 500" in message and "; gave up after waiting 0.5 s. Start it" in message
    assert ".;" not in message


def test_api_key_wins_over_the_password(fake_es, monkeypatch):
    monkeypatch.setenv("DOCQA_ES_API_KEY", "a2V5aWQ6c2VjcmV0")
    monkeypatch.setenv("DOCQA_ES_PASSWORD", "pw")
    store = elasticsearch_store_from_settings(es_settings(fake_es.url, es_username="elastic"))
    assert "a2V5aWQ6c2VjcmV0" not in json.dumps(store.to_dict())
    store.client.info()
    assert fake_es.requests[0][2] == "ApiKey a2V5aWQ6c2VjcmV0"


def test_a_server_that_is_not_elasticsearch(fake_es):
    fake_es.mode = "not-elasticsearch"
    store = make_store(fake_es.url)
    with pytest.raises(StoreUnavailableError, match="is not Elasticsearch"), translate_es_errors(store):
        store.client.info()


@pytest.mark.parametrize(
    ("status", "message"),
    [(404, "answered 404 (not found) where Elasticsearch would not"), (500, "failed with HTTP 500")],
)
def test_a_web_server_answering_errors_is_one_line(fake_es, status, message):
    fake_es.mode = status
    settings = es_settings(fake_es.url, es_max_retries=0)
    with pytest.raises(StoreUnavailableError) as error, translate_es_errors(settings):
        elasticsearch_store_from_settings(settings).count_documents()
    assert str(error.value).startswith(f"Elasticsearch at {fake_es.url} {message}") and "\n" not in str(error.value)


def test_an_index_deleted_meanwhile_is_told_apart_from_a_wrong_server(fake_es):
    fake_es.mode = "index-deleted"
    settings = es_settings(fake_es.url, es_max_retries=0)
    with pytest.raises(StoreUnavailableError) as error, translate_es_errors(settings):
        elasticsearch_store_from_settings(settings).count_documents()
    message = str(error.value)
    assert message.startswith(f"Elasticsearch at {fake_es.url} answered 404 (index_not_found_exception)")
    assert message.endswith("If the index was deleted, index your documents again.")


def test_https_to_a_plain_http_server_is_a_tls_failure(fake_es):
    url = fake_es.url.replace("http://", "https://")
    settings = es_settings(url, es_max_retries=0)
    store = elasticsearch_store_from_settings(settings)
    with pytest.raises(StoreUnavailableError) as caught, translate_es_errors(settings):
        store.count_documents()
    assert f"Elasticsearch at {url} could not be reached over TLS" in str(caught.value)
    assert "DOCQA_ES_CA_CERTS" in str(caught.value)


def test_a_tls_failure_after_retries_names_its_cause_once(fake_es, tmp_path):
    url = fake_es.url.replace("http://", "https://")
    store = make_store(url, ca_certs=str(tmp_path / "gone.pem"), retry_backoff=0.01)
    with pytest.raises(StoreUnavailableError) as caught, translate_es_errors(store):
        store.count_documents()
    assert str(caught.value).startswith(
        f"Elasticsearch at {url} could not be reached over TLS ([Errno 2] No such file or directory). Check"
    )


def test_translate_passes_other_errors_and_unwraps_docqa_errors():
    settings = es_settings("http://127.0.0.1:9")
    with pytest.raises(KeyError), translate_es_errors(settings):
        raise KeyError("not about Elasticsearch")
    with pytest.raises(EmptyIndexError), translate_es_errors(settings):
        try:
            raise EmptyIndexError("somewhere")
        except EmptyIndexError as inner:
            raise RuntimeError("a pipeline wrapped it") from inner


def test_batches_are_bounded_by_count_and_bytes():
    actions = [(f"id{i}", {"content": "x" * 100}) for i in range(10)]
    by_count = list(_batches(actions, max_docs=4, max_bytes=10**6))
    assert [len(b) for b in by_count] == [4, 4, 2]
    by_bytes = list(_batches(actions, max_docs=100, max_bytes=400))
    assert all(len(b) <= 3 for b in by_bytes)
    assert sum(len(b) for b in by_bytes) == 10
    assert [a for b in by_bytes for a in b] == actions
    huge = [("big", {"content": "y" * 5000}), ("small", {"content": "z"})]
    assert [len(b) for b in _batches(huge, max_docs=10, max_bytes=1000)] == [1, 1]


def test_writes_go_in_bounded_batches_and_are_counted(fake_es):
    store = make_store(fake_es.url, batch_size=3, embedding_dim=384)
    documents = passages("/docs/a.txt", 7)
    assert store.write_documents(documents, policy=DuplicatePolicy.OVERWRITE) == 7
    assert fake_es.bulk_sizes == [3, 3, 1]
    assert set(fake_es.stored) == {d.id for d in documents}
    [created] = fake_es.created
    embedding = created["mappings"]["properties"]["embedding"]
    assert embedding == {"type": "dense_vector", "dims": 384, "index": True, "similarity": "cosine"}
    assert ("POST", "/test-index/_refresh", None) in fake_es.requests


def test_file_paths_pages_through_a_composite_aggregation_without_fetching_passages(fake_es):
    from docqa.passage_replacement import stored_file_paths

    store = make_store(fake_es.url, embedding_dim=384)
    documents = [doc for i in range(2500) for doc in passages(f"/docs/{i:04}.txt", 1)] + passages("/docs/0001.txt", 3)
    store.write_documents(documents, policy=DuplicatePolicy.OVERWRITE)
    fake_es.searches = 0
    assert stored_file_paths(store) == {f"/docs/{i:04}.txt" for i in range(2500)}
    assert fake_es.searches == 4, "1,000 files per page, then an empty page"


def test_an_index_created_meanwhile_by_another_process_is_fine(fake_es):
    fake_es.created_elsewhere = True
    store = make_store(fake_es.url)
    assert store.write_documents(passages("/docs/a.txt", 1), policy=DuplicatePolicy.OVERWRITE) == 1


def test_overloaded_documents_are_retried_with_backoff(fake_es):
    attempts = {}

    def overloaded_twice(doc_id, source):
        attempts[doc_id] = attempts.get(doc_id, 0) + 1
        if attempts[doc_id] <= 2:
            return 429, {"type": "es_rejected_execution_exception", "reason": "queue full"}
        return 201, None

    fake_es.item_result = overloaded_twice
    store = make_store(fake_es.url, retry_backoff=0.01)
    store.max_retries = 3
    documents = passages("/docs/a.txt", 4)
    assert store.write_documents(documents, policy=DuplicatePolicy.OVERWRITE) == 4
    assert fake_es.bulk_sizes == [4, 4, 4]


def test_a_bulk_request_answered_503_is_sent_again(fake_es):
    fake_es.bulk_errors = [503, 503]
    store = make_store(fake_es.url, retry_backoff=0.01)
    store.max_retries = 2
    documents = passages("/docs/a.txt", 2)
    assert store.write_documents(documents, policy=DuplicatePolicy.OVERWRITE) == 2
    assert set(fake_es.stored) == {d.id for d in documents}
    assert len([r for r in fake_es.requests if r[1].endswith("/_bulk")]) == 3


def test_partial_failures_name_the_files_and_the_reasons(fake_es):
    def reject_b(doc_id, source):
        if source["file_path"] == "/docs/b.pdf":
            return 400, {"type": "document_parsing_exception", "reason": "failed to parse field [embedding]"}
        if source["file_path"] == "/docs/c.md":
            return 429, {"type": "es_rejected_execution_exception", "reason": "queue full"}
        return 201, None

    fake_es.item_result = reject_b
    store = make_store(fake_es.url, retry_backoff=0.01)
    documents = passages("/docs/a.txt", 3) + passages("/docs/b.pdf", 2) + passages("/docs/c.md", 1)
    with pytest.raises(DocumentWriteError) as caught:
        store.write_documents(documents, policy=DuplicatePolicy.OVERWRITE)
    error = caught.value
    assert (error.written, error.sent) == (3, 6)
    assert set(error.failures) == {"/docs/b.pdf", "/docs/c.md"}
    assert "document_parsing_exception" in error.failures["/docs/b.pdf"]
    assert "overloaded" in error.failures["/docs/c.md"]
    message = str(error)
    assert message.startswith("3 of 6 passages were not written to Elasticsearch index 'test-index'")
    assert "run the indexing command again" in message
    assert "\n" not in message
    assert len(fake_es.stored) == 3


FLOOD_STAGE = {
    "type": "cluster_block_exception",
    "reason": "index [test-index] blocked by: [TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark, "
    "index has read-only-allow-delete block];",
}


def test_a_write_blocked_by_a_full_disk_is_not_retried_and_says_why(fake_es):
    fake_es.item_result = lambda doc_id, source: (429, FLOOD_STAGE)
    store = make_store(fake_es.url, retry_backoff=0.01)
    store.max_retries = 3
    with pytest.raises(DocumentWriteError) as caught:
        store.write_documents(passages("/docs/a.txt", 2), policy=DuplicatePolicy.OVERWRITE)
    assert fake_es.bulk_sizes == [2]
    assert "flood-stage watermark" in caught.value.failures["/docs/a.txt"]
    assert "overloaded" not in str(caught.value)


def test_overloaded_passages_keep_elasticsearchs_reason(fake_es):
    queue_full = {"type": "es_rejected_execution_exception", "reason": "rejected execution: queue capacity 200"}
    fake_es.item_result = lambda doc_id, source: (429, queue_full)
    store = make_store(fake_es.url, retry_backoff=0.01)
    with pytest.raises(DocumentWriteError) as caught:
        store.write_documents(passages("/docs/a.txt", 1), policy=DuplicatePolicy.OVERWRITE)
    reason = caught.value.failures["/docs/a.txt"]
    assert reason.startswith("rejected as overloaded after 1 retries (es_rejected_execution_exception: rejected")
    assert fake_es.bulk_sizes == [1, 1]


@pytest.mark.parametrize("status", [403, 429])
def test_a_request_refused_by_a_cluster_block_is_one_line_naming_the_block(fake_es, status):
    fake_es.bulk_refused = (status, FLOOD_STAGE)
    store = make_store(fake_es.url, retry_backoff=0.01)
    store.max_retries = 3
    with pytest.raises(StoreUnavailableError) as caught, translate_es_errors(store):
        store.write_documents(passages("/docs/a.txt", 1), policy=DuplicatePolicy.OVERWRITE)
    message = str(caught.value)
    assert message.startswith(f"Elasticsearch at {fake_es.url} refused the change (index [test-index] blocked by:")
    assert "free disk space" in message and "\n" not in message
    assert len([r for r in fake_es.requests if r[1].endswith("/_bulk")]) == 1


def test_a_missing_privilege_is_named(fake_es):
    forbidden = {
        "type": "security_exception",
        "reason": "action [indices:data/write/bulk[s]] is unauthorized for user [reader] with effective roles "
        "[viewer] on indices [test-index], this action is granted by the index privileges [create_doc,write,all]",
    }
    fake_es.bulk_refused = (403, forbidden)
    store = make_store(fake_es.url)
    with pytest.raises(StoreUnavailableError) as caught, translate_es_errors(store):
        store.write_documents(passages("/docs/a.txt", 1), policy=DuplicatePolicy.OVERWRITE)
    message = str(caught.value)
    assert "refused access (403: action [indices:data/write/bulk[s]] is unauthorized for user [reader]" in message
    assert "granted by the index privileges [create_doc,write,all]" in message


def test_writing_needs_no_refresh_privilege(fake_es):
    fake_es.refresh_forbidden = True
    store = make_store(fake_es.url)
    documents = passages("/docs/a.txt", 3)
    assert store.write_documents(documents, policy=DuplicatePolicy.OVERWRITE) == 3
    store.delete_documents([documents[0].id])
    assert len([r for r in fake_es.requests if r[1].endswith("/_refresh")]) == 2


def test_a_question_embedded_by_another_model_is_one_line(fake_es):
    fake_es.stored_dims = 384
    store = make_store(fake_es.url)
    with pytest.raises(EmbeddingDimensionError) as caught, translate_es_errors(store):
        store._embedding_retrieval(query_embedding=[0.1] * 768, top_k=3, num_candidates=100)
    message = str(caught.value)
    assert message.startswith(f"Elasticsearch index 'test-index' at {fake_es.url} holds 384-dimensional vectors")
    assert "the embedding model produces 768" in message


def test_knn_candidates_stay_within_elasticsearchs_bounds(fake_es, monkeypatch):
    monkeypatch.setenv("DOCQA_STORE", "elasticsearch")
    monkeypatch.setenv("DOCQA_ES_HOSTS", fake_es.url)
    monkeypatch.setenv("DOCQA_ES_INDEX", "test-index")
    retriever = DenseRetriever(top_k=10)
    for top_k in (None, 200, 2000, 10_000):
        assert retriever.run(query_embedding=[0.1] * 4, top_k=top_k) == {"documents": []}
    knn = [(body["knn"]["k"], body["knn"]["num_candidates"]) for body in fake_es.knn_bodies]
    assert knn == [(10, 100), (200, 2000), (2000, 10_000), (10_000, 10_000)]
    with pytest.raises(UsageError, match="at most 10000 passages per query; top_k is 10001"):
        retriever.run(query_embedding=[0.1] * 4, top_k=10_001)
    pinned = DenseRetriever(top_k=10, num_candidates=50)
    pinned.run(query_embedding=[0.1] * 4, top_k=80)
    assert fake_es.knn_bodies[-1]["knn"]["num_candidates"] == 80


def test_a_question_within_more_files_than_a_terms_query_takes_is_split(fake_es, monkeypatch):
    """Elasticsearch refuses a terms query of more than 65,536 values (``index.max_terms_count``)."""
    monkeypatch.setenv("DOCQA_STORE", "elasticsearch")
    monkeypatch.setenv("DOCQA_ES_HOSTS", fake_es.url)
    monkeypatch.setenv("DOCQA_ES_INDEX", "test-index")
    files = [f"/docs/{number}.txt" for number in range(150_000)]
    DenseRetriever(top_k=10).run(query_embedding=[0.1] * 4, filters=files_filter(files))

    def terms_lists(clause):
        if isinstance(clause, dict):
            if "terms" in clause:
                yield clause["terms"]["file_path"]
            for value in clause.values():
                yield from terms_lists(value)
        elif isinstance(clause, list):
            for value in clause:
                yield from terms_lists(value)

    lists = list(terms_lists(fake_es.knn_bodies[-1]["knn"]["filter"]))
    assert [len(values) for values in lists] == [65_536, 65_536, 18_928]
    assert [path for values in lists for path in values] == files
    assert files_filter(files[:65_536]) == {"field": "meta.file_path", "operator": "in", "value": files[:65_536]}


def test_indexing_reads_stored_passages_without_their_embeddings(fake_es):
    store = make_store(fake_es.url)
    documents = [replace(doc, embedding=[0.5] * 8) for doc in passages("/docs/a.txt", 3)]
    store.write_documents(documents, policy=DuplicatePolicy.OVERWRITE)
    assert all(doc.embedding == [0.5] * 8 for doc in store.filter_documents(file_filter("/docs/a.txt")))
    assert "_source" not in fake_es.scan_bodies[-1]
    assert delete_file_passages(store, "/docs/a.txt") == 3
    assert fake_es.scan_bodies[-1]["_source"] == {"excludes": ["embedding"]}
    assert fake_es.stored == {}


def test_passages_elasticsearch_refuses_to_delete_are_reported_by_file(fake_es):
    store = make_store(fake_es.url)
    store.write_documents(passages("/docs/a.txt", 3), policy=DuplicatePolicy.OVERWRITE)
    fake_es.delete_error = {
        "type": "cluster_block_exception",
        "reason": "index [test-index] blocked by: [FORBIDDEN/8/index write (api)];",
    }
    with pytest.raises(DocumentWriteError) as caught:
        delete_file_passages(store, "/docs/a.txt")
    message = str(caught.value)
    where = f"Elasticsearch index 'test-index' at {fake_es.url}"
    assert message.startswith(f"3 of 3 passages were not deleted from {where}: /docs/a.txt (3 old passages kept: ")
    assert "index write (api)" in message
    assert "passage " not in message
    assert len(fake_es.stored) == 3
    fake_es.delete_error = None
    assert delete_file_passages(store, "/docs/a.txt") == 3
    assert fake_es.stored == {}


def test_the_models_that_embedded_the_passages_are_listed_by_an_aggregation(fake_es):
    store = make_store(fake_es.url)
    documents = passages("/docs/a.txt", 2) + passages("/docs/b.txt", 1)
    documents[2] = replace(documents[2], meta={**documents[2].meta, "embedding_model": "other-minilm"})
    store.write_documents(documents, policy=DuplicatePolicy.OVERWRITE)
    assert store.embedding_models() == {"other-minilm"}
    check_embedding_model(store, "/models/other-minilm")
    with pytest.raises(EmbeddingModelMismatchError, match="indexed with the embedding model other-minilm, but"):
        check_embedding_model(store, "sentence-transformers/all-MiniLM-L6-v2", es_settings(fake_es.url))
    assert not fake_es.scan_bodies, "no passage is fetched"


TEXT_FILE_PATH = {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}


def test_an_index_mapping_file_paths_as_text_is_refused_or_made_again_when_empty(fake_es):
    fake_es.index_exists = True
    fake_es.mapping = {"properties": {"embedding": {"type": "dense_vector", "dims": 8}, "file_path": TEXT_FILE_PATH}}
    fake_es.stored = {"p1": {"content": "x", "file_path": "/docs/a.txt"}}
    store = make_store(fake_es.url)
    with pytest.raises(IndexMappingError) as caught:
        check_embedding_dimension(store, 8)
    assert str(caught.value).startswith(
        f"Elasticsearch index 'test-index' at {fake_es.url} maps file_path as text, not keyword (an index made by"
    )
    assert "Re-index with --recreate" in str(caught.value) and fake_es.deleted == 0

    fake_es.stored.clear()
    check_embedding_dimension(store, 8)
    assert fake_es.deleted == 1
    assert fake_es.created[-1]["mappings"]["properties"]["embedding"]["dims"] == 8


def test_duplicate_policies(fake_es):
    def conflict(doc_id, source):
        return 409, {"type": "version_conflict_engine_exception", "reason": "document already exists"}

    fake_es.item_result = conflict
    store = make_store(fake_es.url)
    documents = passages("/docs/a.txt", 2)
    with pytest.raises(DuplicateDocumentError):
        store.write_documents(documents)
    assert store.write_documents(documents, policy=DuplicatePolicy.SKIP) == 0


def cli_env(port):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCQA_")}
    env.update(
        DOCQA_STORE="elasticsearch",
        DOCQA_ES_HOSTS=f"http://127.0.0.1:{port}",
        DOCQA_ES_WAIT_SECONDS="1",
        DOCQA_ES_REQUEST_TIMEOUT="2",
        DOCQA_ES_MAX_RETRIES="0",
    )
    return env


def run_docqa_with_es_down(port, model_dir, *args):
    """``python -m docqa ARGS`` with Elasticsearch at ``port`` (where nothing listens) and a tiny local model."""
    env = cli_env(port)
    model = str(model_dir)
    env.update(DOCQA_EMBEDDING_MODEL=model, DOCQA_READER_MODEL=model, DOCQA_DEVICE="cpu", HF_HUB_OFFLINE="1")
    return subprocess.run(
        [sys.executable, "-m", "docqa", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def assert_one_line_naming(result, port):
    assert result.returncode != 0
    stderr = result.stderr.strip()
    assert "\n" not in stderr, stderr
    assert f"Elasticsearch at http://127.0.0.1:{port}" in stderr
    assert "not reachable" in stderr


@pytest.mark.skipif(
    not (ROOT / "indexing" / "__main__.py").exists(), reason="python -m indexing does not exist yet (lead: enable)"
)
def test_indexing_command_with_elasticsearch_down(closed_port, tmp_path):
    (tmp_path / "a.txt").write_text("Elasticsearch is down in this test.")
    result = subprocess.run(
        [sys.executable, "-m", "indexing", str(tmp_path)],
        cwd=ROOT,
        env=cli_env(closed_port),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert_one_line_naming(result, closed_port)


@pytest.mark.slow
@pytest.mark.skipif(
    not (ROOT / "docqa" / "components" / "query_embedder.py").exists(),
    reason="the query pipeline's embedder component does not exist yet (lead: enable)",
)
def test_ask_command_with_elasticsearch_down(closed_port, tiny_bert_dir):
    result = run_docqa_with_es_down(closed_port, tiny_bert_dir, "ask", "Is the store up?")
    assert_one_line_naming(result, closed_port)
    assert result.stderr.startswith("docqa: Elasticsearch at")


@pytest.mark.slow
def test_batch_command_with_elasticsearch_down(closed_port, tiny_bert_dir, tmp_path):
    questions = tmp_path / "questions.txt"
    questions.write_text("Is the store up?\nAnd now?\n")
    out = str(tmp_path / "answers.csv")
    result = run_docqa_with_es_down(closed_port, tiny_bert_dir, "batch", str(questions), "--out", out)
    assert_one_line_naming(result, closed_port)
    assert result.stderr.startswith("docqa: Elasticsearch at")
    assert not (tmp_path / "answers.csv").exists(), "the output is opened only once the store answers"


def test_an_empty_elasticsearch_index_is_reported_before_any_model_loads(fake_es, monkeypatch):
    from docqa.ask import require_documents
    from docqa.batch import BatchAnswerer
    from docqa.pipelines import QUERY_PIPELINE, load_pipeline

    monkeypatch.setenv("DOCQA_STORE", "elasticsearch")
    monkeypatch.setenv("DOCQA_ES_HOSTS", fake_es.url)
    monkeypatch.setenv("DOCQA_ES_INDEX", "test-index")
    with pytest.raises(EmptyIndexError) as empty:
        require_documents(load_pipeline(QUERY_PIPELINE))
    assert f"Elasticsearch index 'test-index' at {fake_es.url}" in str(empty.value)
    with pytest.raises(EmptyIndexError):
        BatchAnswerer(QUERY_PIPELINE).check_index()
    assert any(path == "/test-index/_count" for _, path, _ in fake_es.requests)
    fake_es.stored["one"] = {"content": "a passage"}
    require_documents(load_pipeline(QUERY_PIPELINE))


def test_password_from_the_env_file_is_used(fake_es, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DOCQA_ES_PASSWORD", raising=False)
    monkeypatch.delenv("DOCQA_ES_API_KEY", raising=False)
    (tmp_path / ".env").write_text("DOCQA_ES_PASSWORD=from-the-file\n")
    store = elasticsearch_store_from_settings(es_settings(fake_es.url, es_username="elastic"))
    store.client.info()
    assert fake_es.requests[0][2] == "Basic " + base64.b64encode(b"elastic:from-the-file").decode()
    assert "from-the-file" not in json.dumps(store.to_dict())


def test_the_page_asks_a_silent_store_once_a_minute_not_on_every_click(silent_server, monkeypatch):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("DOCQA_STORE", "elasticsearch")
    monkeypatch.setenv("DOCQA_ES_HOSTS", f"http://127.0.0.1:{silent_server.port}")
    monkeypatch.setenv("DOCQA_ES_REQUEST_TIMEOUT", "0.5")
    monkeypatch.setenv("DOCQA_ES_MAX_RETRIES", "0")
    st.cache_data.clear()
    try:
        page = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        page.run()
        assert not page.exception
        [error] = [box.value for box in page.sidebar.error]
        assert error.startswith(f"Elasticsearch at http://127.0.0.1:{silent_server.port} did not answer within 0.5 s")
        asked = len(silent_server.held)
        assert asked >= 1
        page.text_input(key="question").input("Who?")
        page.run()
        assert len(silent_server.held) == asked, "a rerun does not wait on the silent store again"
        assert [box.value for box in page.sidebar.error] == [error]
        page.button(key="store_retry").click()
        page.run()
        assert len(silent_server.held) > asked, "Try again asks the store again"
    finally:
        st.cache_data.clear()
