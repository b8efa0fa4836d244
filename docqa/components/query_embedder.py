"""Embedding of a question for dense retrieval."""

from typing import Any

from haystack import component, default_from_dict, default_to_dict


@component
class QueryEmbedder:
    """
    Embeds a question into the space of :class:`~docqa.components.passage_embedder.PassageEmbedder` (normalised, so
    cosine similarity = dot product). Questions longer than the model's maximum length are truncated by the model.
    """

    def __init__(self, model: str | None = None, device: str | None = None, precision: str = "auto") -> None:
        """
        :param model: sentence-transformers hub name or local directory; None means ``DOCQA_EMBEDDING_MODEL``.
        :param device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``; None means ``DOCQA_DEVICE``.
        :param precision: ``auto``, ``fp32``, ``bf16``, ``fp16`` (CUDA) or ``int8`` (CPU); keep it equal to the
            passage embedder's.
        """
        self.model = model
        self.device = device
        self.precision = precision
        self._model: Any = None

    def warm_up(self) -> None:
        """Load the model (shared with every other embedder of the same model, device and precision)."""
        if self._model is None:
            from docqa.embedding_backend import load_model

            self._model = load_model(self.model, self.device, self.precision)

    @component.output_types(embedding=list[float])
    def run(self, text: str) -> dict[str, list[float]]:
        """
        :param text: the question.
        :returns: ``embedding``: its normalised vector.
        """
        if not isinstance(text, str):
            raise TypeError("QueryEmbedder expects one string; use PassageEmbedder for Documents.")
        from docqa.embedding_backend import encode

        self.warm_up()
        return {"embedding": encode(self._model, [text])[0].tolist()}

    def to_dict(self) -> dict[str, Any]:
        """Serialize the component."""
        return default_to_dict(self, model=self.model, device=self.device, precision=self.precision)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "QueryEmbedder":
        """Deserialize the component."""
        return default_from_dict(cls, data)
