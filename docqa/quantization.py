"""Dynamic int8 quantisation of a model's linear layers on CPU, shared by the reader and the embedders.

Weights are int8 with one scale per output channel; activations are quantised to uint8 on the fly, one scale per
forward pass. CPUs without VNNI add pairs of uint8 x int8 products in saturating 16-bit registers, so one side must
give up a bit: torch's default takes it from the activations (``reduce_range``, 7-bit activations). Here it is taken
from the weights instead (-64..63, still one scale per output channel: 255 x 64 x 2 fits 16 bits), which keeps 8-bit
activations, the larger of the two rounding errors since their one scale covers every channel; on an AVX2 CPU that
cut the reader's mean logit error by a quarter and ran 10-20% faster on oneDNN's kernels (bench/RESULTS.md). With
VNNI (or AMX) the products go straight into 32-bit accumulators, so there both keep their 8 bits. Weights are packed
for oneDNN (its VNNI kernels ran the reader's linear layers 10-20% faster than fbgemm's on a Cascade Lake CPU); where
a torch build lacks oneDNN, torch's default applies. The query, key and value projections of each attention layer
become one linear layer before quantisation: their input is quantised once instead of three times and one wider
product runs in place of three (the same numbers: one input, one scale, the same weights).
"""

import contextlib
import warnings
from collections.abc import Iterable, Iterator
from typing import Any

import torch
from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear
from torch.ao.quantization import QConfig, default_dynamic_quant_observer, per_channel_dynamic_qconfig, quantize_dynamic
from torch.ao.quantization.observer import PerChannelMinMaxObserver

from docqa.hardware import cpu_has_vnni


class FullRangeDynamicLinear(DynamicLinear):
    """
    A dynamically quantised ``Linear`` whose activations use all 8 bits: with VNNI or AMX, or with 7-bit weights
    (no 16-bit sum can saturate either way).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Quantise ``x`` with one uint8 scale, multiply with the int8 weights, return floats."""
        return torch.ops.quantized.linear_dynamic(x, self._packed_params._packed_params, reduce_range=False).to(x.dtype)


# Attribute names of the three projections of one input in the attention layers of BERT, RoBERTa, XLM-R,
# DistilBERT and most decoder-style models.
PROJECTION_NAMES = (("query", "key", "value"), ("q_lin", "k_lin", "v_lin"), ("q_proj", "k_proj", "v_proj"))
_MAX_PENDING = 16
# Symmetric per-channel int8 weights in -64..63, for CPUs that sum pairs of products in 16 bits.
SEVEN_BIT_WEIGHTS = QConfig(
    activation=default_dynamic_quant_observer,
    weight=PerChannelMinMaxObserver.with_args(
        dtype=torch.qint8, qscheme=torch.per_channel_symmetric, quant_min=-64, quant_max=63
    ),
)


class FusedProjections(torch.nn.Module):
    """
    One linear layer holding several projections of the same input, computed together on the first call for an
    input and handed out by :class:`Projection` modules (the model's code calls them one after the other).
    """

    def __init__(self, linears: list[torch.nn.Linear]) -> None:
        super().__init__()
        first = linears[0]
        self.sizes = [linear.out_features for linear in linears]
        self.linear = torch.nn.utils.skip_init(
            torch.nn.Linear,
            first.in_features,
            sum(self.sizes),
            bias=True,
            device=first.weight.device,
            dtype=first.weight.dtype,
        )
        with torch.no_grad():
            self.linear.weight.copy_(torch.cat([linear.weight for linear in linears]))
            self.linear.bias.copy_(
                torch.cat(
                    [
                        linear.bias if linear.bias is not None else linear.weight.new_zeros(size)
                        for linear, size in zip(linears, self.sizes, strict=True)
                    ]
                )
            )
        self._pending: dict[int, tuple[torch.Tensor, list[torch.Tensor | None]]] = {}

    def output(self, x: torch.Tensor, index: int) -> torch.Tensor:
        """Projection ``index`` of ``x``; all of them are computed when ``x`` is new (one entry per thread's input)."""
        key = id(x)
        entry = self._pending.get(key)
        if entry is None or entry[0] is not x or entry[1][index] is None:
            entry = (x, list(self.linear(x).split(self.sizes, dim=-1)))
            if len(self._pending) >= _MAX_PENDING:
                self._pending.pop(next(iter(self._pending)), None)
            self._pending[key] = entry
        parts = entry[1]
        out, parts[index] = parts[index], None
        if all(part is None for part in parts):
            self._pending.pop(key, None)
        return out


class Projection(torch.nn.Module):
    """One projection served by a :class:`FusedProjections` (not a submodule here, so its weights appear once)."""

    def __init__(self, fused: FusedProjections, index: int) -> None:
        super().__init__()
        self._fused = (fused,)
        self.index = index
        self.out_features = fused.sizes[index]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The projection of ``x``."""
        return self._fused[0].output(x, self.index)


def fuse_projections(model: Any, keep: Iterable[str] = ()) -> Any:
    """
    Replace (in place) every attention layer's query, key and value ``Linear`` by one :class:`FusedProjections`
    named ``fused_projections``, when the three take the same input width and none is in ``keep``.

    :returns: ``model``.
    """
    keep = set(keep)
    for name, module in list(model.named_modules()):
        for names in PROJECTION_NAMES:
            linears = [getattr(module, attribute, None) for attribute in names]
            if not all(type(linear) is torch.nn.Linear for linear in linears):
                continue
            if (
                len({linear.in_features for linear in linears}) > 1
                or {f"{name}.{attribute}" if name else attribute for attribute in names} & keep
            ):
                continue
            fused = FusedProjections(linears)
            module.fused_projections = fused
            for index, attribute in enumerate(names):
                setattr(module, attribute, Projection(fused, index))
    return model


@contextlib.contextmanager
def _quantized_engine(engine: str | None) -> Iterator[None]:
    previous = torch.backends.quantized.engine
    if engine and engine in torch.backends.quantized.supported_engines:
        torch.backends.quantized.engine = engine
    try:
        yield
    finally:
        torch.backends.quantized.engine = previous


def quantize_linear_layers(model: Any, keep: Iterable[str] = (), vnni: bool | None = None, fuse: bool = True) -> Any:
    """
    Replace every ``torch.nn.Linear`` of ``model`` (in place) by a dynamically quantised int8 one, after fusing the
    attention projections (:func:`fuse_projections`).

    :param model: a torch module on the CPU.
    :param keep: names of linear modules (as in ``named_modules``) to leave in floating point.
    :param vnni: whether the CPU has VNNI/AMX int8 instructions (8-bit weights; else 7-bit weights); None reads
        ``/proc/cpuinfo``.
    :param fuse: fuse the attention projections first.
    :returns: the quantised model.
    """
    keep = set(keep)
    if fuse:
        fuse_projections(model, keep)
    if vnni is None:
        vnni = cpu_has_vnni()
    onednn = "onednn" in torch.backends.quantized.supported_engines
    qconfig = per_channel_dynamic_qconfig if vnni or not onednn else SEVEN_BIT_WEIGHTS
    spec = {
        name: qconfig
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and name not in keep
    }
    mapping = {torch.nn.Linear: FullRangeDynamicLinear if vnni or onednn else DynamicLinear}
    with warnings.catch_warnings(), _quantized_engine("onednn" if onednn else None):
        warnings.simplefilter("ignore", UserWarning)  # torch 2.13 deprecates quantized tensors
        return quantize_dynamic(model, spec, dtype=torch.qint8, mapping=mapping, inplace=True)
