"""Shared fixtures: tiny question-answering models built once per test session (random weights, no hub)."""

import pytest

from tests.tiny_models import build_bert_qa, build_roberta_qa


@pytest.fixture(scope="session")
def tiny_roberta_dir(tmp_path_factory):
    """A tiny RoBERTa QA model with a byte-level BPE tokenizer (directory for ``from_pretrained``)."""
    return build_roberta_qa(tmp_path_factory.mktemp("tiny-roberta-qa"), seed=0)


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory):
    """A tiny BERT QA model with a WordPiece tokenizer (directory for ``from_pretrained``)."""
    return build_bert_qa(tmp_path_factory.mktemp("tiny-bert-qa"), seed=0)
