"""BM25 keyword retrieval over whichever document store the settings choose."""

from typing import Any

from haystack import Document, component, default_from_dict, default_to_dict

from docqa.parameters import require_count


@component
class KeywordRetriever:
    """
    Finds passages by BM25 in the configured store: Haystack's ``InMemoryBM25Retriever`` on the embedded store,
    ``ElasticsearchBM25Retriever`` on Elasticsearch.
    """

    def __init__(self, top_k: int = 10) -> None:
        """:param top_k: how many passages to return."""
        self.top_k = require_count("top_k", top_k)
        self._retriever: Any = None

    def warm_up(self) -> None:
        """
        Build the store and Haystack's retriever for it; contacts no server. The embedded store's BM25 statistics
        are built here, so the first question is not the slow one.
        """
        if self._retriever is not None:
            return
        from docqa.settings import get_settings
        from docqa.stores import document_store_from_settings

        settings = get_settings()
        store = document_store_from_settings(settings)
        if settings.store == "elasticsearch":
            from haystack_integrations.components.retrievers.elasticsearch import ElasticsearchBM25Retriever

            self._retriever = ElasticsearchBM25Retriever(document_store=store, top_k=self.top_k)
        else:
            from haystack.components.retrievers.in_memory import InMemoryBM25Retriever

            store.warm_up(bm25=True)
            self._retriever = InMemoryBM25Retriever(document_store=store, top_k=self.top_k)

    @component.output_types(documents=list[Document])
    def run(
        self, query: str, top_k: int | None = None, filters: dict[str, Any] | None = None
    ) -> dict[str, list[Document]]:
        """
        :param query: the question as typed.
        :param top_k: overrides the number of passages for this call.
        :param filters: Haystack metadata filters.
        :returns: ``documents``, best first, with ``score`` set.
        """
        self.warm_up()
        return self._retriever.run(query=query, top_k=top_k or self.top_k, filters=filters)

    def to_dict(self) -> dict[str, Any]:
        """Serialize the component."""
        return default_to_dict(self, top_k=self.top_k)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "KeywordRetriever":
        """Deserialize the component."""
        return default_from_dict(cls, data)
