"""Attention kernels on a GPU: cuDNN attention left out (a graph built per batch shape), nothing changed elsewhere."""

import pytest
import torch
from haystack import Document

from docqa import attention_kernels as kernels_module
from docqa import embedding_backend
from docqa.components import reader as reader_module
from docqa.components.reader import ExtractiveReader
from tests.tiny_models import build_tiny_sentence_transformer

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def tiny_st_dir(tmp_path_factory) -> str:
    return str(build_tiny_sentence_transformer(tmp_path_factory.mktemp("tiny-st")))


def enabled() -> dict[str, bool]:
    backends = torch.backends.cuda
    return {
        "cudnn": backends.cudnn_sdp_enabled(),
        "flash": backends.flash_sdp_enabled(),
        "efficient": backends.mem_efficient_sdp_enabled(),
        "math": backends.math_sdp_enabled(),
    }


def test_cuda_forward_passes_run_without_cudnn_attention_and_restore_it():
    before = enabled()
    assert before["cudnn"]
    with kernels_module.attention_kernels("cuda"):
        assert enabled() == {"cudnn": False, "flash": True, "efficient": True, "math": True}
    assert enabled() == before


def test_other_devices_and_the_switch_change_nothing(monkeypatch):
    before = enabled()
    with kernels_module.attention_kernels("cpu"):
        assert enabled() == before
    monkeypatch.setattr(kernels_module, "CUDNN_ATTENTION", True)
    with kernels_module.attention_kernels("cuda"):
        assert enabled() == before


def test_reader_and_embedder_forward_passes_enter_it(tiny_roberta_dir, tiny_st_dir, monkeypatch):
    seen = []

    def spy(device_type):
        seen.append(device_type)
        return kernels_module.attention_kernels(device_type)

    monkeypatch.setattr(reader_module, "attention_kernels", spy)
    monkeypatch.setattr(embedding_backend, "attention_kernels", spy)
    reader = ExtractiveReader(
        model=str(tiny_roberta_dir),
        device="cpu",
        precision="fp32",
        max_seq_len=64,
        doc_stride=16,
        max_query_length=16,
        max_tokens_per_batch=64,
    )
    reader.warm_up()
    seen.clear()
    reader.run("Who?", [Document(content="Rollo was the Norse leader of the Normans in France. " * 12)])
    reader_calls = len(seen)
    model = embedding_backend.load_model(tiny_st_dir, "cpu", "fp32")
    embedding_backend.encode(model, ["one text", "another, longer text to embed"], max_tokens_per_batch=8)
    assert reader_calls >= 2
    assert len(seen) - reader_calls == 2
    assert set(seen) == {"cpu"}
