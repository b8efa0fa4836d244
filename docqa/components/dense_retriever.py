"""Dense retrieval over whichever document store the settings choose."""

from typing import Any

from haystack import Document, component, default_from_dict, default_to_dict

from docqa.parameters import require_count

# Elasticsearch's limit on kNN candidates per shard (and so on k).
MAX_KNN_CANDIDATES = 10_000


@component
class DenseRetriever:
    """
    Finds the passages nearest to a query embedding in the configured store.

    The store is the one ``DOCQA_STORE`` selects: the embedded store through Haystack's ``InMemoryEmbeddingRetriever``
    or Elasticsearch kNN through ``ElasticsearchEmbeddingRetriever`` (``num_candidates`` defaults to
    ``max(100, 10 * top_k)``, within Elasticsearch's bounds ``top_k <= num_candidates <= 10,000``), so one pipeline
    YAML serves both.
    """

    def __init__(self, top_k: int = 10, num_candidates: int | None = None) -> None:
        """
        :param top_k: how many passages to return.
        :param num_candidates: Elasticsearch kNN candidates per shard; None means ``max(100, 10 * top_k)``.
        """
        self.top_k = require_count("top_k", top_k)
        self.num_candidates = None if num_candidates is None else require_count("num_candidates", num_candidates)
        self._store: Any = None
        self._retriever: Any = None
        self._knn_retrievers: dict[int, Any] = {}

    def warm_up(self) -> None:
        """Build the store and Haystack's retriever for it; contacts no server."""
        if self._retriever is not None:
            return
        from docqa.settings import get_settings
        from docqa.stores import document_store_from_settings

        settings = get_settings()
        store = self._store = document_store_from_settings(settings)
        if settings.store == "elasticsearch":
            self._retriever = self._knn_retriever(self.top_k)
        else:
            from haystack.components.retrievers.in_memory import InMemoryEmbeddingRetriever

            self._retriever = InMemoryEmbeddingRetriever(document_store=store, top_k=self.top_k)

    @property
    def document_store(self) -> Any:
        """The store this retriever reads from (built by ``warm_up``, which contacts no server)."""
        self.warm_up()
        return self._store

    @component.output_types(documents=list[Document])
    def run(
        self, query_embedding: list[float], top_k: int | None = None, filters: dict[str, Any] | None = None
    ) -> dict[str, list[Document]]:
        """
        :param query_embedding: the embedded question.
        :param top_k: overrides the number of passages for this call.
        :param filters: Haystack metadata filters.
        :returns: ``documents``, best first, with ``score`` set.
        """
        self.warm_up()
        top_k = top_k or self.top_k
        retriever = self._knn_retriever(top_k) if self._knn_retrievers else self._retriever
        return retriever.run(query_embedding=query_embedding, top_k=top_k, filters=filters)

    def _knn_retriever(self, top_k: int) -> Any:
        """Haystack's kNN retriever for ``top_k`` passages, with as many candidates as Elasticsearch allows."""
        retriever = self._knn_retrievers.get(top_k)
        if retriever is None:
            from haystack_integrations.components.retrievers.elasticsearch import ElasticsearchEmbeddingRetriever

            from docqa.errors import UsageError

            if top_k > MAX_KNN_CANDIDATES:
                raise UsageError(
                    f"Elasticsearch returns at most {MAX_KNN_CANDIDATES} passages per query; top_k is {top_k}"
                )
            candidates = min(MAX_KNN_CANDIDATES, max(top_k, self.num_candidates or max(100, 10 * top_k)))
            retriever = self._knn_retrievers[top_k] = ElasticsearchEmbeddingRetriever(
                document_store=self._store, top_k=top_k, num_candidates=candidates
            )
        return retriever

    def to_dict(self) -> dict[str, Any]:
        """Serialize the component."""
        return default_to_dict(self, top_k=self.top_k, num_candidates=self.num_candidates)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "DenseRetriever":
        """Deserialize the component."""
        return default_from_dict(cls, data)
