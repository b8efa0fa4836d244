"""Dynamic int8 quantisation shared by the reader and the embedders: what is quantised, and how precisely."""

import pytest
import torch
from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

from docqa import hardware
from docqa.components.reader import ExtractiveReader
from docqa.quantization import FullRangeDynamicLinear, quantize_linear_layers

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
    assert isinstance(reader._model.roberta.encoder.layer[0].attention.self.query, DynamicLinear)
    assert reader._budget == 2048
    full = ExtractiveReader(model=str(tiny_roberta_dir), device="cpu", precision="fp32")
    full.warm_up()
    assert full._budget == 4096
