"""Dynamic int8 quantisation shared by the reader and the embedders: what is quantised, and how precisely."""

import pytest
import torch
from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

from docqa import hardware
from docqa.components.reader import ExtractiveReader
from docqa.quantization import (
    FullRangeDynamicLinear,
    FusedProjections,
    Projection,
    fuse_projections,
    quantize_linear_layers,
)

pytestmark = pytest.mark.unit

needs_vnni = pytest.mark.skipif(
    not hardware.cpu_has_vnni(), reason="8-bit activations need VNNI/AMX int8 instructions, which this CPU lacks"
)


def two_layer_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 8))


@pytest.mark.parametrize(("vnni", "expected"), [(True, FullRangeDynamicLinear), (False, DynamicLinear)])
def test_every_linear_but_the_kept_ones_is_quantised(vnni, expected):
    engine = torch.backends.quantized.engine
    model = quantize_linear_layers(two_layer_model(), keep=["2"], vnni=vnni)
    assert type(model[0]) is expected
    assert type(model[2]) is torch.nn.Linear and model[2].weight.dtype == torch.float32
    assert torch.backends.quantized.engine == engine, "the process-wide engine is restored"


def test_weights_get_one_scale_per_output_channel():
    model = quantize_linear_layers(two_layer_model(), vnni=False)
    weight = model[0].weight()
    assert weight.qscheme() in (torch.per_channel_symmetric, torch.per_channel_affine)
    assert weight.q_per_channel_scales().numel() == 128
    assert not weight.q_per_channel_zero_points().any(), "symmetric: every zero point is 0"


def integer_weight_layer() -> torch.nn.Linear:
    """A layer whose weights int8 represents exactly (scale 1 per channel), so only activation rounding is left."""
    torch.manual_seed(0)
    layer = torch.nn.Linear(256, 256, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.randint(-127, 128, (256, 256)).float())
        layer.weight[:, 0] = 127.0
    return layer


@needs_vnni
def test_full_range_activations_halve_the_rounding_error():
    layer = integer_weight_layer()
    x = torch.randn(512, 256)
    with torch.inference_mode():
        exact = layer(x)
        eight_bits = quantize_linear_layers(torch.nn.Sequential(integer_weight_layer()), vnni=True)(x)
        seven_bits = quantize_linear_layers(torch.nn.Sequential(integer_weight_layer()), vnni=False)(x)
    error_8 = (eight_bits - exact).abs().mean() / exact.abs().mean()
    error_7 = (seven_bits - exact).abs().mean() / exact.abs().mean()
    assert error_8 < 0.65 * error_7, (float(error_8), float(error_7))
    assert error_8 < 0.02


@needs_vnni
def test_full_range_does_not_saturate_on_large_activations():
    """Saturating 16-bit sums would show as errors far above the 8-bit rounding on inputs of any size."""
    model = quantize_linear_layers(torch.nn.Sequential(integer_weight_layer()), vnni=True)
    layer = integer_weight_layer()
    x = torch.rand(256, 256) * 1000
    with torch.inference_mode():
        exact, ours = layer(x), model(x)
    assert float((ours - exact).abs().max() / exact.abs().max()) < 0.01


def test_int8_reader_keeps_its_span_head_in_floating_point(tiny_roberta_dir):
    reader = ExtractiveReader(model=str(tiny_roberta_dir), device="cpu", precision="int8")
    reader.warm_up()
    assert type(reader._model.qa_outputs) is torch.nn.Linear
    attention = reader._model.roberta.encoder.layer[0].attention.self
    assert type(attention.query) is Projection and isinstance(attention.fused_projections.linear, DynamicLinear)
    assert reader._budget == 2048
    full = ExtractiveReader(model=str(tiny_roberta_dir), device="cpu", precision="fp32")
    full.warm_up()
    assert full._budget == 4096


def tiny_bert() -> torch.nn.Module:
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(vocab_size=50, hidden_size=48, num_hidden_layers=2, num_attention_heads=4, intermediate_size=96)
    return BertModel(config).eval()


def encode(model: torch.nn.Module) -> torch.Tensor:
    torch.manual_seed(1)
    ids = torch.randint(5, 50, (3, 20))
    mask = torch.ones_like(ids)
    mask[1, 12:] = 0
    with torch.inference_mode():
        return model(input_ids=ids, attention_mask=mask).last_hidden_state


def test_fused_projections_give_the_same_outputs_in_fp32_and_int8():
    fused = fuse_projections(tiny_bert())
    attention = fused.encoder.layer[0].attention.self
    assert [type(attention.query), type(attention.key), type(attention.value)] == [Projection] * 3
    assert attention.fused_projections.linear.out_features == 3 * 48
    assert not any(name.endswith(("query.weight", "key.weight", "value.weight")) for name in fused.state_dict())
    torch.testing.assert_close(encode(fused), encode(tiny_bert()), atol=1e-5, rtol=1e-5)
    assert attention.fused_projections._pending == {}, "every computed projection was handed out"

    separate = quantize_linear_layers(tiny_bert(), fuse=False)
    together = quantize_linear_layers(tiny_bert())
    assert isinstance(together.encoder.layer[1].attention.self.fused_projections.linear, DynamicLinear)
    torch.testing.assert_close(encode(together), encode(separate), atol=1e-5, rtol=1e-5)


def test_interleaved_inputs_each_get_their_own_projections():
    torch.manual_seed(0)
    linears = [torch.nn.Linear(8, 8), torch.nn.Linear(8, 4), torch.nn.Linear(8, 8)]
    fused = FusedProjections(linears)
    first, second = torch.randn(5, 8), torch.randn(5, 8)
    order = [(first, 0), (second, 0), (second, 1), (first, 1), (first, 2), (second, 2), (first, 0)]
    with torch.no_grad():
        for x, index in order:
            torch.testing.assert_close(fused.output(x, index), linears[index](x))
    assert set(fused._pending) == {id(first)}, "only the last, half-used input is still held"


def test_kept_projections_are_not_fused():
    model = fuse_projections(tiny_bert(), keep=["encoder.layer.0.attention.self.key"])
    assert type(model.encoder.layer[0].attention.self.key) is torch.nn.Linear
    assert type(model.encoder.layer[1].attention.self.key) is Projection
