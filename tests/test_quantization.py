"""Dynamic int8 quantisation shared by the reader and the embedders: what is quantised, and how precisely."""

import pytest
import torch
from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear
from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

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


@pytest.mark.parametrize("vnni", [True, False])
def test_every_linear_but_the_kept_ones_is_quantised(vnni):
    engine = torch.backends.quantized.engine
    model = quantize_linear_layers(two_layer_model(), keep=["2"], vnni=vnni)
    assert type(model[0]) is FullRangeDynamicLinear
    assert type(model[2]) is torch.nn.Linear and model[2].weight.dtype == torch.float32
    assert torch.backends.quantized.engine == engine, "the process-wide engine is restored"


@pytest.mark.parametrize(("vnni", "low", "high"), [(True, -128, 127), (False, -64, 63)])
def test_weights_get_one_scale_per_output_channel_and_seven_bits_without_vnni(vnni, low, high):
    model = quantize_linear_layers(two_layer_model(), vnni=vnni)
    weight = model[0].weight()
    assert weight.qscheme() in (torch.per_channel_symmetric, torch.per_channel_affine)
    assert weight.q_per_channel_scales().numel() == 128
    assert not weight.q_per_channel_zero_points().any(), "symmetric: every zero point is 0"
    values = weight.int_repr()
    assert int(values.min()) >= low and int(values.max()) <= high
    assert {int(values.min()), int(values.max())} & {low, high}, "the range is used"


def integer_weight_layer(limit: int = 127) -> torch.nn.Linear:
    """A layer of whole-number weights within ``limit`` (one reaching it per channel): weight rounding stays small."""
    torch.manual_seed(0)
    layer = torch.nn.Linear(256, 256, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.randint(-limit, limit + 1, (256, 256)).float())
        layer.weight[:, 0] = float(limit)
    return layer


def torch_default_int8(layer: torch.nn.Linear) -> torch.nn.Module:
    """torch's own dynamic quantisation: 8-bit per-channel weights, 7-bit activations (``reduce_range``)."""
    return quantize_dynamic(torch.nn.Sequential(layer), {"0": per_channel_dynamic_qconfig}, dtype=torch.qint8)


@needs_vnni
def test_full_range_activations_halve_the_rounding_error():
    layer = integer_weight_layer()
    x = torch.randn(512, 256)
    with torch.inference_mode():
        exact = layer(x)
        eight_bits = quantize_linear_layers(torch.nn.Sequential(integer_weight_layer()), vnni=True)(x)
        seven_bits = torch_default_int8(integer_weight_layer())(x)
    error_8 = (eight_bits - exact).abs().mean() / exact.abs().mean()
    error_7 = (seven_bits - exact).abs().mean() / exact.abs().mean()
    assert error_8 < 0.65 * error_7, (float(error_8), float(error_7))
    assert error_8 < 0.02


def test_seven_bit_weights_keep_eight_bit_activations_on_any_cpu():
    """Whole-number weights within 7 bits round little; the activations round at twice torch's default resolution."""
    layer = integer_weight_layer(63)
    x = torch.randn(512, 256)
    with torch.inference_mode():
        exact = layer(x)
        ours = quantize_linear_layers(torch.nn.Sequential(integer_weight_layer(63)), vnni=False)(x)
        default = torch_default_int8(integer_weight_layer(63))(x)
    error = (ours - exact).abs().mean() / exact.abs().mean()
    error_default = (default - exact).abs().mean() / exact.abs().mean()
    assert error < 0.7 * error_default, (float(error), float(error_default))
    assert error < 0.02


def test_seven_bit_weights_beat_seven_bit_activations_where_channels_differ_in_size():
    """Activations share one scale across channels, weights have one per channel: the bit is better spent on them."""
    torch.manual_seed(0)
    layer = torch.nn.Linear(768, 1024)
    x = torch.randn(1024, 768) * 3
    x[:, :8] += 20
    with torch.inference_mode():
        exact = layer(x)
        ours = quantize_linear_layers(torch.nn.Sequential(layer), vnni=False)(x)
        default = torch_default_int8(layer)(x)
    assert float((ours - exact).abs().mean()) < 0.75 * float((default - exact).abs().mean())


@pytest.mark.parametrize(
    "vnni", [pytest.param(True, marks=needs_vnni), False], ids=["8-bit weights (VNNI)", "7-bit weights"]
)
def test_full_range_does_not_saturate_on_large_activations(vnni):
    """Saturating 16-bit sums would show as errors far above the 8-bit rounding on inputs of any size."""
    limit = 127 if vnni else 63
    model = quantize_linear_layers(torch.nn.Sequential(integer_weight_layer(limit)), vnni=vnni)
    layer = integer_weight_layer(limit)
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
