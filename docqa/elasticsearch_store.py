"""Elasticsearch as docqa's scale-out store: a lazy store, bounded and retried writes, and one-line failures.

``elasticsearch_store_from_settings`` builds the store; ``wait_until_ready``, ``check_embedding_dimension``,
``recreate_index`` and ``translate_es_errors`` are the helpers the commands and the app call around it.
"""

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any, Literal

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout, TlsError
from elasticsearch import (
    ApiError,
    AuthenticationException,
    AuthorizationException,
    BadRequestError,
    Elasticsearch,
    helpers,
)
from elasticsearch.exceptions import UnsupportedProductError
from haystack import Document, default_from_dict, default_to_dict
from haystack.document_stores.errors import DuplicateDocumentError
from haystack.document_stores.types import DuplicatePolicy
from haystack.utils import Secret, deserialize_secrets_inplace
from haystack_integrations.document_stores.elasticsearch import ElasticsearchDocumentStore

from docqa.errors import (
    DocqaError,
    DocumentWriteError,
    EmbeddingDimensionError,
    IndexMappingError,
    StoreUnavailableError,
)
from docqa.settings import Settings, get_settings

RETRY_STATUSES = (429, 502, 503, 504)
# A write refused by a block on the cluster or index (a disk past its flood-stage watermark, a read-only index): it
# comes as 429 or 403, and waiting a few seconds does not lift it.
CLUSTER_BLOCK = "cluster_block_exception"
AUTH_HINT = "Check DOCQA_ES_USERNAME and DOCQA_ES_PASSWORD (or DOCQA_ES_API_KEY)."


class DocqaElasticsearchStore(ElasticsearchDocumentStore):
    """
    ``ElasticsearchDocumentStore`` with docqa's connection settings, cosine similarity and safe writes.

    No server is contacted until the first store call. Writes go in batches bounded by count and bytes; requests
    answered with 429 / 502 / 503 / 504 or timing out are retried with exponential backoff; every document sent is
    accounted for, and partial failures raise :class:`docqa.errors.DocumentWriteError` naming the files.
    """

    def __init__(
        self,
        *,
        hosts: list[str] | None = None,
        index: str = "docqa",
        username: str | None = None,
        password: Secret | None = None,
        api_key: Secret | None = None,
        ca_certs: str | None = None,
        verify_certs: bool = True,
        request_timeout: float = 30.0,
        max_retries: int = 3,
        embedding_dim: int | None = None,
        batch_size: int = 500,
        batch_bytes: int = 10 * 1024 * 1024,
        retry_backoff: float = 0.5,
    ) -> None:
        """
        Create the store; connecting is deferred to the first call.

        :param hosts: Elasticsearch URLs.
        :param index: index name.
        :param username: user for basic authentication (password from ``password``).
        :param password: password Secret; defaults to the ``DOCQA_ES_PASSWORD`` environment variable.
        :param api_key: API key Secret (base64 ``id:key``); defaults to ``DOCQA_ES_API_KEY``. Wins over a password.
        :param ca_certs: CA certificate file for HTTPS.
        :param verify_certs: verify the server's TLS certificate.
        :param request_timeout: seconds to wait for one request.
        :param max_retries: retries of a request that failed, timed out or was answered with an overload status.
        :param embedding_dim: dense_vector dimension used when this store creates the index; None lets the first
            written vector decide.
        :param batch_size: most documents in one bulk request.
        :param batch_bytes: most bytes of document JSON in one bulk request.
        :param retry_backoff: seconds before the first retry of an overloaded write; doubles each retry, at most 30.
        """
        self.hosts = list(hosts or ["http://localhost:9200"])
        self.username = username
        self.password = password if password is not None else Secret.from_env_var("DOCQA_ES_PASSWORD", strict=False)
        self.api_key = api_key if api_key is not None else Secret.from_env_var("DOCQA_ES_API_KEY", strict=False)
        self.ca_certs = ca_certs
        self.verify_certs = verify_certs
        self.request_timeout = request_timeout
        self.max_retries = max_retries
        self.embedding_dim = embedding_dim
        self.batch_size = batch_size
        self.batch_bytes = batch_bytes
        self.retry_backoff = retry_backoff
        connection: dict[str, Any] = {
            "request_timeout": request_timeout,
            "max_retries": max_retries,
            "retry_on_timeout": True,
            "retry_on_status": RETRY_STATUSES,
            "verify_certs": verify_certs,
        }
        if ca_certs:
            connection["ca_certs"] = ca_certs
        super().__init__(
            hosts=self.hosts,
            index=index,
            api_key=self.api_key,
            api_key_id=None,
            embedding_similarity_function="cosine",
            **connection,
        )

    @property
    def index(self) -> str:
        """The index name."""
        return self._index

    @property
    def where(self) -> str:
        """The index and hosts, for messages."""
        return f"Elasticsearch index {self._index!r} at {', '.join(self.hosts)}"

    def to_dict(self) -> dict[str, Any]:
        """Serialize the store; secrets are stored as environment variable names only."""
        return default_to_dict(
            self,
            hosts=self.hosts,
            index=self._index,
            username=self.username,
            password=self.password.to_dict(),
            api_key=self.api_key.to_dict(),
            ca_certs=self.ca_certs,
            verify_certs=self.verify_certs,
            request_timeout=self.request_timeout,
            max_retries=self.max_retries,
            embedding_dim=self.embedding_dim,
            batch_size=self.batch_size,
            batch_bytes=self.batch_bytes,
            retry_backoff=self.retry_backoff,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "DocqaElasticsearchStore":
        """Deserialize a store written by :meth:`to_dict`."""
        deserialize_secrets_inplace(data["init_parameters"], keys=["password", "api_key"])
        return default_from_dict(cls, data)

    def _auth(self) -> dict[str, Any]:
        api_key = self.api_key.resolve_value()
        if api_key:
            return {"api_key": api_key}
        if self.username:
            return {"basic_auth": (self.username, self.password.resolve_value() or "")}
        return {}

    def new_client(self) -> Elasticsearch:
        """A new client with this store's connection settings; contacts no server."""
        return Elasticsearch(self.hosts, headers=self._headers, **self._auth(), **self._kwargs)

    def _create_async_client(self) -> Any:
        from elasticsearch import AsyncElasticsearch

        return AsyncElasticsearch(self.hosts, headers=self._headers, **self._auth(), **self._kwargs)

    def index_mappings(self, embedding_dim: int | None = None) -> dict[str, Any]:
        """The mapping this store creates its index with (dense_vector of ``embedding_dim``, cosine, indexed)."""
        mappings = json.loads(json.dumps(self._default_mappings))
        dims = embedding_dim or self.embedding_dim
        if dims:
            mappings["properties"]["embedding"]["dims"] = dims
        return mappings

    def _ensure_initialized(self) -> None:
        if self._client is None:
            client = self.new_client()
            client.info()
            if not client.indices.exists(index=self._index):
                _create_index(client, self._index, self.index_mappings())
            self._client = client

    def filter_documents(self, filters: dict[str, Any] | None = None) -> list[Document]:
        """
        Return every document matching the filters, however many (scrolls instead of paging).

        :param filters: Haystack filters, or None for all documents.
        """
        return self._scan(filters, embeddings=True)

    def filter_passages(self, filters: dict[str, Any] | None = None) -> list[Document]:
        """
        :meth:`filter_documents` without the embeddings: what indexing needs to compare and delete passages, at a
        tenth of the transfer (a 384-float vector is about 8 KB of JSON per passage).
        """
        return self._scan(filters, embeddings=False)

    def _scan(self, filters: dict[str, Any] | None, embeddings: bool) -> list[Document]:
        if filters and "operator" not in filters and "conditions" not in filters:
            msg = "Invalid filter syntax. See https://docs.haystack.deepset.ai/docs/metadata-filtering for details."
            raise ValueError(msg)
        from haystack_integrations.document_stores.elasticsearch.filters import _normalize_filters

        query: dict[str, Any] = {
            "query": {"bool": {"filter": _normalize_filters(filters)}} if filters else {"match_all": {}}
        }
        if not embeddings:
            query["_source"] = {"excludes": ["embedding"]}
        hits = helpers.scan(self.client, index=self._index, query=query, size=500)
        return [self._deserialize_document(hit) for hit in hits]

    def embedding_models(self) -> set[str]:
        """The models that embedded the stored passages, as recorded (``meta["embedding_model"]``), where recorded."""
        aggregation = {"models": {"terms": {"field": "embedding_model", "size": 100}}}
        result = self.client.search(index=self._index, size=0, aggs=aggregation)
        return {str(bucket["key"]) for bucket in result["aggregations"]["models"]["buckets"]}

    def file_paths(self) -> set[str]:
        """The ``file_path`` of every passage (indexed files), by a composite aggregation: no passage is fetched."""
        paths: set[str] = set()
        after: dict[str, Any] | None = None
        while True:
            source: dict[str, Any] = {"size": 1000, "sources": [{"path": {"terms": {"field": "file_path"}}}]}
            if after:
                source["after"] = after
            result = self.client.search(index=self._index, size=0, aggs={"files": {"composite": source}})
            files = result["aggregations"]["files"]
            paths.update(str(bucket["key"]["path"]) for bucket in files["buckets"])
            after = files.get("after_key")
            if not files["buckets"] or not after:
                return paths

    def write_documents(
        self,
        documents: list[Document],
        policy: DuplicatePolicy = DuplicatePolicy.NONE,
        refresh: Literal["wait_for", True, False] = "wait_for",
    ) -> int:
        """
        Write documents in bounded batches, retrying overloaded requests, and account for every one.

        :param documents: documents to write; their ids decide duplicates.
        :param policy: OVERWRITE replaces documents with the same id (re-running an indexing run adds no
            duplicates); SKIP keeps the stored one; NONE and FAIL raise ``DuplicateDocumentError``.
        :param refresh: make the written documents searchable before returning (any truthy value).
        :returns: the number of documents written.
        :raises DocumentWriteError: when some documents were not written; names their files and the reasons.
        """
        if documents and not isinstance(documents[0], Document):
            msg = "param 'documents' must contain a list of objects of type Document"
            raise ValueError(msg)
        if not documents:
            return 0
        op = "index" if policy == DuplicatePolicy.OVERWRITE else "create"
        client = self.client
        written, skipped, duplicates, failures = 0, 0, [], {}
        for batch in _batches([_to_action(doc) for doc in documents], self.batch_size, self.batch_bytes):
            batch_written, batch_conflicts, batch_failures = self._send_batch(client, op, batch)
            written += batch_written
            failures.update(batch_failures)
            if policy == DuplicatePolicy.SKIP:
                skipped += len(batch_conflicts)
            else:
                duplicates.extend(batch_conflicts)
        if refresh and written:
            self._refresh()
        if duplicates:
            msg = f"IDs '{', '.join(duplicates)}' already exist in the document store."
            raise DuplicateDocumentError(msg)
        if failures or written + skipped != len(documents):
            files = _failures_by_file(documents, failures)
            raise DocumentWriteError(self.where, files, written, len(documents))
        return written

    def _send_batch(
        self, client: Elasticsearch, op: str, batch: list[tuple[str, dict[str, Any]]]
    ) -> tuple[int, list[str], dict[str, str]]:
        """Send one batch; retry the documents rejected as overloaded. Returns written, conflicts, failures."""
        pending = batch
        written, conflicts, failures, last_reason = 0, [], {}, {}
        client = client.options(max_retries=0)
        for attempt in range(self.max_retries + 1):
            operations: list[dict[str, Any]] = []
            for doc_id, source in pending:
                operations.extend(({op: {"_id": doc_id}}, source))
            try:
                response = client.bulk(operations=operations, index=self._index, refresh=False)
            except (ConnectionTimeout, TransportConnectionError, ApiError) as error:
                retryable = not isinstance(error, ApiError) or (
                    error.status_code in RETRY_STATUSES and error.error != CLUSTER_BLOCK
                )
                if attempt == self.max_retries or not retryable:
                    raise
                self._backoff(attempt)
                continue
            retry = []
            by_id = dict(pending)
            for item in response["items"]:
                result = item[op]
                status = result.get("status", 500)
                if 200 <= status < 300:
                    written += 1
                elif status == 409 and op == "create":
                    conflicts.append(result["_id"])
                elif status in RETRY_STATUSES and (result.get("error") or {}).get("type") != CLUSTER_BLOCK:
                    retry.append((result["_id"], by_id[result["_id"]]))
                    last_reason[result["_id"]] = _item_reason(result)
                else:
                    failures[result["_id"]] = _item_reason(result)
            pending = retry
            if not pending:
                break
            if attempt < self.max_retries:
                self._backoff(attempt)
        for doc_id, _ in pending:
            failures[doc_id] = (
                f"rejected as overloaded after {self.max_retries} retries ({last_reason[doc_id]}); try again later"
            )
        return written, conflicts, failures

    def _refresh(self) -> None:
        """
        Make the changes searchable now. A user allowed to write but not to refresh (the ``maintenance`` privilege)
        sees them after the index's next periodic refresh instead (1 s by default).
        """
        with suppress(AuthorizationException):
            self.client.indices.refresh(index=self._index)

    def _backoff(self, attempt: int) -> None:
        time.sleep(min(30.0, self.retry_backoff * 2**attempt))

    def delete_documents(self, document_ids: list[str], refresh: Literal["wait_for", True, False] = "wait_for") -> None:
        """
        Delete documents by id; ids not in the index are ignored.

        :raises DocumentWriteError: when Elasticsearch refuses to delete some of them.
        """
        actions = ({"_op_type": "delete", "_id": doc_id} for doc_id in document_ids)
        failed = {}
        for ok, item in helpers.streaming_bulk(
            self.client,
            actions,
            index=self._index,
            chunk_size=self.batch_size,
            max_retries=self.max_retries,
            initial_backoff=self.retry_backoff,
            raise_on_error=False,
        ):
            result = item["delete"]
            if not ok and result.get("status") != 404:
                failed[result["_id"]] = _item_reason(result)
        if refresh and document_ids:
            self._refresh()
        if failed:
            passages = {f"passage {doc_id}": reason for doc_id, reason in failed.items()}
            raise DocumentWriteError(self.where, passages, 0, len(failed), action="deleted from")

    def delete_by_filter(self, filters: dict[str, Any], refresh: bool = True) -> int:
        """Delete the documents matching the filters; refreshes by default so the deletion is visible at once."""
        return super().delete_by_filter(filters, refresh=refresh)


def _create_index(client: Elasticsearch, index: str, mappings: dict[str, Any]) -> None:
    """Create the index; another process creating it at the same moment is fine."""
    try:
        client.indices.create(index=index, mappings=mappings)
    except BadRequestError as error:
        if error.error != "resource_already_exists_exception":
            raise


def _to_action(document: Document) -> tuple[str, dict[str, Any]]:
    source = document.to_dict()
    for field in ("embedding", "blob", "score"):
        if source.get(field) is None:
            source.pop(field, None)
    source.pop("sparse_embedding", None)
    return document.id, source


def _batches(
    actions: list[tuple[str, dict[str, Any]]], max_docs: int, max_bytes: int
) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """
    Split ``(id, source)`` actions into batches of at most ``max_docs`` documents and ``max_bytes`` bytes of JSON.

    A single document larger than ``max_bytes`` travels alone.
    """
    batch: list[tuple[str, dict[str, Any]]] = []
    size = 0
    for action in actions:
        action_bytes = len(json.dumps(action[1], ensure_ascii=False).encode("utf-8")) + len(action[0]) + 32
        if batch and (len(batch) >= max_docs or size + action_bytes > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(action)
        size += action_bytes
    if batch:
        yield batch


def _item_reason(result: dict[str, Any]) -> str:
    error = result.get("error") or {}
    if isinstance(error, dict):
        reason = f"{error.get('type', 'error')}: {error.get('reason', '')}".strip(": ")
    else:
        reason = str(error)
    reason = " ".join(reason.split())
    return f"{reason[:200]} (status {result.get('status', '?')})"


def _failures_by_file(documents: list[Document], failures: dict[str, str]) -> dict[str, str]:
    """Map each failed document id to its file (``meta['file_path']``, else the id) and keep the first reason."""
    files: dict[str, str] = {}
    for document in documents:
        if document.id in failures:
            files.setdefault(str(document.meta.get("file_path", document.id)), failures[document.id])
    if not files:
        files["(unknown)"] = "Elasticsearch acknowledged fewer documents than were sent"
    return files


def elasticsearch_store_from_settings(settings: Settings | None = None) -> DocqaElasticsearchStore:
    """
    Build the Elasticsearch store the settings describe; no server is contacted.

    :param settings: settings to use; read from the environment when None.
    """
    settings = settings or get_settings()
    _export_secrets_from_env_file(settings)
    return DocqaElasticsearchStore(
        hosts=settings.es_host_list,
        index=settings.es_index,
        username=settings.es_username,
        password=Secret.from_env_var("DOCQA_ES_PASSWORD", strict=False),
        api_key=Secret.from_env_var("DOCQA_ES_API_KEY", strict=False),
        ca_certs=str(settings.es_ca_certs) if settings.es_ca_certs else None,
        verify_certs=settings.es_verify_certs,
        request_timeout=settings.es_request_timeout,
        max_retries=settings.es_max_retries,
    )


SECRET_VARIABLES = ("DOCQA_ES_PASSWORD", "DOCQA_ES_API_KEY")


def _export_secrets_from_env_file(settings: Settings) -> None:
    """
    Make the secrets of the settings' ``.env`` file visible to Haystack's ``Secret.from_env_var``.

    Settings read ``.env`` but do not hold secrets; a variable already in the environment wins.
    """
    import os

    from dotenv import dotenv_values

    env_file = settings.model_config.get("env_file")
    if not env_file or not isinstance(env_file, str | os.PathLike) or not os.path.isfile(env_file):
        return
    values = dotenv_values(env_file)
    for name in SECRET_VARIABLES:
        if values.get(name) and not os.environ.get(name):
            os.environ[name] = str(values[name])


def _as_store(store_or_settings: Any) -> DocqaElasticsearchStore:
    if isinstance(store_or_settings, DocqaElasticsearchStore):
        return store_or_settings
    if store_or_settings is None or isinstance(store_or_settings, Settings):
        return elasticsearch_store_from_settings(store_or_settings)
    msg = f"expected a DocqaElasticsearchStore or Settings, got {type(store_or_settings).__name__}"
    raise TypeError(msg)


def _hosts_of(store_or_settings: Any) -> str:
    if isinstance(store_or_settings, DocqaElasticsearchStore):
        return ", ".join(store_or_settings.hosts)
    settings = store_or_settings if isinstance(store_or_settings, Settings) else get_settings()
    return ", ".join(settings.es_host_list)


def _where_of(store_or_settings: Any) -> str:
    return _as_store(store_or_settings).where


_DIMENSION_MISMATCH = re.compile(r"different number of dimensions \[(\d+)\] than the document vectors \[(\d+)\]")


def _query_dimension_mismatch(error: BaseException) -> tuple[int, int] | None:
    """``(stored, query)`` dimensions when Elasticsearch refused a kNN query vector of another dimension."""
    if not isinstance(error, BadRequestError):
        return None
    found = _DIMENSION_MISMATCH.search(json.dumps(error.body) if not isinstance(error.body, str) else error.body)
    return (int(found.group(2)), int(found.group(1))) if found else None


def _timeout_of(store_or_settings: Any) -> float:
    if isinstance(store_or_settings, DocqaElasticsearchStore):
        return store_or_settings.request_timeout
    settings = store_or_settings if isinstance(store_or_settings, Settings) else get_settings()
    return settings.es_request_timeout


def _tries_of(store_or_settings: Any) -> int:
    if isinstance(store_or_settings, DocqaElasticsearchStore):
        return store_or_settings.max_retries + 1
    settings = store_or_settings if isinstance(store_or_settings, Settings) else get_settings()
    return settings.es_max_retries + 1


def unavailable_reason(error: BaseException, request_timeout: float, tries: int = 1) -> str | None:
    """
    Say in a few words why Elasticsearch could not serve a request, or None when ``error`` is not about that.

    :param error: an exception raised by the Elasticsearch client.
    :param request_timeout: the request timeout in seconds, for the "did not answer" message.
    :param tries: how many times the client sent the request (1 + its retries), for the same message.
    """
    if isinstance(error, ConnectionTimeout):
        waited = f" ({tries} tries)" if tries > 1 else ""
        return (
            f"did not answer within {request_timeout:g} s{waited}. Check that it is healthy, or raise "
            "DOCQA_ES_REQUEST_TIMEOUT."
        )
    if isinstance(error, TlsError):
        return (
            f"could not be reached over TLS ({_short(_details(error).split(' TLS error caused by:')[0])}). "
            "Check DOCQA_ES_CA_CERTS, DOCQA_ES_VERIFY_CERTS and the http/https scheme in DOCQA_ES_HOSTS."
        )
    if isinstance(error, TransportConnectionError):
        text = _details(error).lower()
        if "refused" in text:
            cause = "connection refused"
        elif "name or service not known" in text or "name resolution" in text or "nodename nor servname" in text:
            cause = "host name not found"
        elif "timed out" in text:
            cause = "connection timed out"
        elif "reset by peer" in text or "aborted" in text or "remotedisconnected" in text:
            cause = "the server closed the connection; if it uses TLS, write https:// in DOCQA_ES_HOSTS"
        else:
            cause = _short(_details(error))
        return f"is not reachable ({cause}). Start it (docker compose up -d elasticsearch) or fix DOCQA_ES_HOSTS."
    if isinstance(error, ApiError) and error.error == CLUSTER_BLOCK:
        return (
            f"refused the change ({_short(_reason(error))}): free disk space on its nodes if the reason names a "
            "watermark, or ask its administrator to lift the block."
        )
    if isinstance(error, AuthenticationException):
        return f"rejected the credentials (401). {AUTH_HINT}"
    if isinstance(error, AuthorizationException):
        return f"refused access (403: {_short(_reason(error), 400)}). {AUTH_HINT}"
    if isinstance(error, UnsupportedProductError):
        return "answered but is not Elasticsearch (missing X-Elastic-Product header). Fix DOCQA_ES_HOSTS."
    if isinstance(error, ApiError):
        if error.status_code == 429:
            return "is overloaded (429 too many requests). Try again later."
        if error.status_code in (502, 503, 504):
            return f"is still starting (cluster not ready, status {error.status_code}). Wait and try again."
        if error.status_code == 404 and not _from_elasticsearch(error):
            return (
                "answered 404 (not found) where Elasticsearch would not: check that DOCQA_ES_HOSTS names "
                "Elasticsearch itself (host, port and any proxy path)."
            )
        if error.status_code == 404:
            return f"answered 404 ({_short(_details(error))}). If the index was deleted, index your documents again."
        if error.status_code >= 500:
            return f"failed with HTTP {error.status_code} ({_short(str(error.message))}). Check its health and logs."
    return None


def _from_elasticsearch(error: ApiError) -> bool:
    """Whether the answer came from Elasticsearch (which names itself in a header on every response)."""
    headers = getattr(getattr(error, "meta", None), "headers", None) or {}
    return headers.get("X-Elastic-Product") == "Elasticsearch"


def _reason(error: ApiError) -> str:
    """Elasticsearch's own reason for an error (it names the missing privilege, the block, ...)."""
    body = error.body if isinstance(error.body, dict) else {}
    detail = body.get("error")
    if isinstance(detail, dict) and detail.get("reason"):
        return str(detail["reason"])
    return str(error.message)


def _short(text: str, limit: int = 160) -> str:
    """``text`` on one line, cut at a word to at most ``limit`` characters (``…`` marks a cut)."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"


def _details(error: BaseException) -> str:
    parts = [str(getattr(error, "message", "")), *(str(cause) for cause in getattr(error, "errors", ()))]
    return " ".join(part for part in parts if part) or str(error)


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


@contextmanager
def translate_es_errors(store_or_settings: Any = None) -> Iterator[None]:
    """
    Turn Elasticsearch connection failures raised inside the block into ``StoreUnavailableError``.

    Also re-raises a ``DocqaError`` found in the cause chain (e.g. wrapped by a pipeline or a store) as itself.
    Other errors pass through unchanged.

    :param store_or_settings: the store or the settings, to name the host and the timeout; read from the
        environment when None.
    """
    try:
        yield
    except DocqaError:
        raise
    except Exception as error:
        for cause in _causes(error):
            if isinstance(cause, DocqaError):
                raise cause from error
            dimensions = _query_dimension_mismatch(cause)
            if dimensions:
                raise EmbeddingDimensionError(_where_of(store_or_settings), *dimensions) from error
            reason = unavailable_reason(cause, _timeout_of(store_or_settings), _tries_of(store_or_settings))
            if reason:
                raise StoreUnavailableError(_hosts_of(store_or_settings), reason) from error
        raise


def wait_until_ready(store_or_settings: Any = None, timeout_s: float | None = None, poll_s: float = 1.0) -> str:
    """
    Poll the cluster health until it is yellow or green, for at most ``timeout_s`` seconds.

    Wrong credentials and servers that are not Elasticsearch fail at once: waiting would not help.

    :param store_or_settings: the store, or the settings to build one from; environment settings when None.
    :param timeout_s: how long to wait; ``settings.es_wait_seconds`` (60) when None and given settings.
    :param poll_s: pause between two polls.
    :returns: the cluster status reached, ``"yellow"`` or ``"green"``.
    :raises StoreUnavailableError: when the cluster is not ready in time, naming the last reason.
    """
    if timeout_s is None:
        settings = store_or_settings if isinstance(store_or_settings, Settings) else get_settings()
        timeout_s = settings.es_wait_seconds
    store = _as_store(store_or_settings)
    host = ", ".join(store.hosts)
    client = store.new_client()
    deadline = time.monotonic() + timeout_s
    reason = "is still starting (cluster not ready)"
    try:
        while True:
            remaining = deadline - time.monotonic()
            request_timeout = max(0.5, min(store.request_timeout, remaining))
            try:
                health = client.options(request_timeout=request_timeout, max_retries=0).cluster.health()
                if health.get("status") in ("yellow", "green"):
                    return health["status"]
                reason = f"is still starting (cluster not ready, status {health.get('status')})"
            except (AuthenticationException, AuthorizationException, UnsupportedProductError) as error:
                raise StoreUnavailableError(host, unavailable_reason(error, request_timeout) or "") from error
            except Exception as error:
                found = unavailable_reason(error, request_timeout)
                if found is None:
                    raise
                if _answered_not_as_elasticsearch(error):
                    raise StoreUnavailableError(host, found) from error
                reason = found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                first = reason.split(". ")[0].rstrip(".")
                raise StoreUnavailableError(
                    host, f"{first}; gave up after waiting {timeout_s:g} s. Start it or raise DOCQA_ES_WAIT_SECONDS."
                )
            time.sleep(min(poll_s, remaining))
    finally:
        client.close()


def _answered_not_as_elasticsearch(error: Exception) -> bool:
    """A client error (4xx other than 408 and 429) from a server that is not Elasticsearch: waiting will not help."""
    return (
        isinstance(error, ApiError)
        and isinstance(error.status_code, int)
        and 400 <= error.status_code < 500
        and error.status_code not in (408, 429)
        and not _from_elasticsearch(error)
    )


def check_embedding_dimension(store: DocqaElasticsearchStore, model_dim: int) -> None:
    """
    Make sure the index stores ``model_dim``-dimensional vectors before the first write.

    Creates the index with ``dense_vector(dims=model_dim, similarity=cosine, index=true)`` when it does not exist,
    and sets the dimension of an existing empty index created without one.

    :raises EmbeddingDimensionError: when the index holds vectors of another dimension.
    :raises IndexMappingError: when the index holds passages but maps ``embedding`` or ``file_path`` with other types
        (an empty one is created again).
    """
    if store.embedding_dim is None:
        store.embedding_dim = model_dim
    client = store.client
    mapping = client.indices.get_mapping(index=store.index)
    properties = next(iter(mapping.body.values()))["mappings"].get("properties", {})
    embedding = properties.get("embedding", {})
    dims = embedding.get("dims")
    wrong = [
        f"{field} as {kind}, not {expected}"
        for field, expected in (("embedding", "dense_vector"), ("file_path", "keyword"))
        if (kind := properties.get(field, {}).get("type", expected)) != expected
    ]
    if (dims is None or wrong) and client.count(index=store.index)["count"] == 0:
        recreate_index(store, model_dim)
    elif wrong:
        raise IndexMappingError(store.where, " and ".join(wrong))
    elif dims is not None and dims != model_dim:
        raise EmbeddingDimensionError(store.where, int(dims), model_dim)


def recreate_index(store: DocqaElasticsearchStore, model_dim: int) -> None:
    """Delete the index and all its passages, and create it empty with ``model_dim``-dimensional vectors."""
    store.embedding_dim = model_dim
    client = store.client
    client.indices.delete(index=store.index, ignore_unavailable=True)
    _create_index(client, store.index, store.index_mappings(model_dim))
