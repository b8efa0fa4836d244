"""Dynamic int8 quantisation of a model's linear layers on CPU, shared by the reader and the embedders.

Weights are int8 with one scale per output channel; activations are quantised to uint8 on the fly, one scale per
forward pass. torch's default quantises activations to 7 bits (``reduce_range``) because CPUs without VNNI add
pairs of uint8 x int8 products in saturating 16-bit registers; with VNNI (or AMX) the products go straight into
32-bit accumulators, so there the full 8 bits are used, which halves the activation rounding error. Weights are
packed for oneDNN there (its VNNI kernels ran the reader's linear layers 10-20% faster than fbgemm's on a Cascade
Lake CPU; bench/RESULTS.md).
"""

import contextlib
import warnings
from collections.abc import Iterable, Iterator
from typing import Any

import torch
from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear
from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

from docqa.hardware import cpu_has_vnni


class FullRangeDynamicLinear(DynamicLinear):
    """A dynamically quantised ``Linear`` whose activations use all 8 bits (needs VNNI or AMX: no saturation)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Quantise ``x`` with one uint8 scale, multiply with the int8 weights, return floats."""
        return torch.ops.quantized.linear_dynamic(x, self._packed_params._packed_params, reduce_range=False).to(x.dtype)


@contextlib.contextmanager
def _quantized_engine(engine: str | None) -> Iterator[None]:
    previous = torch.backends.quantized.engine
    if engine and engine in torch.backends.quantized.supported_engines:
        torch.backends.quantized.engine = engine
    try:
        yield
    finally:
        torch.backends.quantized.engine = previous


def quantize_linear_layers(model: Any, keep: Iterable[str] = (), vnni: bool | None = None) -> Any:
    """
    Replace every ``torch.nn.Linear`` of ``model`` (in place) by a dynamically quantised int8 one.

    :param model: a torch module on the CPU.
    :param keep: names of linear modules (as in ``named_modules``) to leave in floating point.
    :param vnni: whether the CPU has VNNI/AMX int8 instructions; None reads ``/proc/cpuinfo``.
    :returns: the quantised model.
    """
    keep = set(keep)
    if vnni is None:
        vnni = cpu_has_vnni()
    spec = {
        name: per_channel_dynamic_qconfig
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and name not in keep
    }
    mapping = {torch.nn.Linear: FullRangeDynamicLinear if vnni else DynamicLinear}
    with warnings.catch_warnings(), _quantized_engine("onednn" if vnni else None):
        warnings.simplefilter("ignore", UserWarning)  # torch 2.13 deprecates quantized tensors
        return quantize_dynamic(model, spec, dtype=torch.qint8, mapping=mapping, inplace=True)
