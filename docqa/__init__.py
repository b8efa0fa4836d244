"""docqa: extractive question answering over your own documents, built on Haystack."""

__version__ = "0.1.0"
