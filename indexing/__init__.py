"""Ingestion: files and folders to passages in the document store (``python -m indexing PATH``)."""
