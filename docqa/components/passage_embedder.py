"""Embedding of passages for dense retrieval."""

from dataclasses import replace
from typing import Any

from haystack import Document, component, default_from_dict, default_to_dict

from docqa.model_sources import embedding_model


@component
class PassageEmbedder:
    """
    Sets a normalised embedding on a copy of every passage (cosine similarity = dot product).

    The passage text embedded is its content, exactly as :class:`~docqa.components.query_embedder.QueryEmbedder`
    embeds a question. Passages are tokenized once, sorted by length and batched by a token budget; the order of the
    output is the order of the input.
    """

    def __init__(
        self,
        model: str | None = None,
        device: str | None = None,
        precision: str = "auto",
        max_tokens_per_batch: int | None = None,
        progress_bar: bool = False,
        cpu_workers: int | None = None,
    ) -> None:
        """
        :param model: sentence-transformers hub name or local directory; None means ``DOCQA_EMBEDDING_MODEL``.
        :param device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``; None means ``DOCQA_DEVICE``.
        :param precision: ``auto`` (the fastest that keeps retrieval quality on this device), ``fp32``, ``bf16``,
            ``fp16`` (CUDA) or ``int8`` (CPU).
        :param max_tokens_per_batch: token budget of one forward pass (batch size x padded length); None: the
            measured best for the precision in use (4096 tokens, 2048 in int8).
        :param progress_bar: show a progress bar while embedding.
        :param cpu_workers: batches embedded at once on the CPU, each on its share of the cores; None: one per core
            up to 4 (faster than one batch over all cores; bench/RESULTS.md), 1: one batch at a time.
        """
        self.model = model
        self.device = device
        self.precision = precision
        self.max_tokens_per_batch = max_tokens_per_batch
        self.progress_bar = progress_bar
        self.cpu_workers = cpu_workers
        self._model: Any = None

    def warm_up(self) -> None:
        """Load the model (shared with every other embedder of the same model, device and precision)."""
        if self._model is None:
            from docqa.embedding_backend import load_model

            self._model = load_model(self.model, self.device, self.precision)

    @staticmethod
    def _preprocess(documents: list[Document]) -> list[str]:
        return [doc.content or "" for doc in documents]

    @staticmethod
    def _postprocess(documents: list[Document], embeddings: Any, model_name: str) -> list[Document]:
        """Copies of the passages with their vectors and the model that made them (``meta["embedding_model"]``)."""
        return [
            replace(doc, embedding=vector.tolist(), meta={**doc.meta, "embedding_model": model_name})
            for doc, vector in zip(documents, embeddings, strict=True)
        ]

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, list[Document]]:
        """
        :param documents: the passages.
        :returns: ``documents``: copies of the passages, in the same order, with ``embedding`` set and the model's
            name or folder, as configured, in ``meta["embedding_model"]`` (questions are checked against it).
        """
        if not isinstance(documents, list) or any(not isinstance(doc, Document) for doc in documents):
            raise TypeError("PassageEmbedder expects a list of Documents; use QueryEmbedder for a question.")
        if not documents:
            return {"documents": []}
        from docqa.embedding_backend import encode

        self.warm_up()
        embeddings = encode(
            self._model, self._preprocess(documents), self.max_tokens_per_batch, self.progress_bar, self.cpu_workers
        )
        return {"documents": self._postprocess(documents, embeddings, embedding_model(self.model))}

    def to_dict(self) -> dict[str, Any]:
        """Serialize the component."""
        return default_to_dict(
            self,
            model=self.model,
            device=self.device,
            precision=self.precision,
            max_tokens_per_batch=self.max_tokens_per_batch,
            progress_bar=self.progress_bar,
            cpu_workers=self.cpu_workers,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PassageEmbedder":
        """Deserialize the component."""
        return default_from_dict(cls, data)
