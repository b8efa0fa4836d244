"""What this machine has and computes fast: checks the device setting and decides the models' precision on CPU.

bf16 matrix products are about 2.5x faster than fp32 on CPUs with bf16 dot-product instructions (AVX-512 BF16 or
AMX) and 6-10x slower where torch has to emulate them; int8 ones are 2.6x faster than fp32 on CPUs with VNNI, which
also lets weights and activations use all 8 bits, and 1.7x on CPUs with AVX2 alone (7-bit weights there).
bench/RESULTS.md has the measurements of each kind of CPU.
"""

from functools import cache
from pathlib import Path

from docqa.errors import DeviceUnavailableError

NATIVE_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
VNNI_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})
INT8_FLAGS = VNNI_FLAGS | {"avx2"}


@cache
def cpu_flags() -> frozenset[str]:
    """The CPU feature flags the kernel reports (``/proc/cpuinfo``); empty where there is no such file."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return frozenset()


def cpu_has_native_bf16(flags: frozenset[str] | None = None) -> bool:
    """True when the CPU multiplies bf16 in hardware (AVX-512 BF16 or AMX-BF16)."""
    return bool(NATIVE_BF16_FLAGS & (cpu_flags() if flags is None else flags))


def cpu_has_vnni(flags: frozenset[str] | None = None) -> bool:
    """True when the CPU adds int8 products in 32-bit accumulators (AVX-512 VNNI, AVX-VNNI or AMX-INT8)."""
    return bool(VNNI_FLAGS & (cpu_flags() if flags is None else flags))


def cpu_has_fast_int8(flags: frozenset[str] | None = None) -> bool:
    """True when the CPU multiplies int8 faster than fp32: AVX2 (pairs of products summed in 16 bits) or VNNI/AMX."""
    return bool(INT8_FLAGS & (cpu_flags() if flags is None else flags))


def default_cpu_precision(flags: frozenset[str] | None = None) -> str:
    """
    The fastest CPU precision that keeps answers and retrieval (bench/RESULTS.md): ``"bf16"`` with native bf16,
    else ``"int8"`` with VNNI or AVX2 (8-bit activations, per-channel weights of 8 bits with VNNI, 7 without),
    else ``"fp32"``.
    """
    if cpu_has_native_bf16(flags):
        return "bf16"
    return "int8" if cpu_has_fast_int8(flags) else "fp32"


def require_device(device: str) -> str:
    """
    ``device`` ("cpu", "cuda", "cuda:N", "mps") when this machine has it.

    :raises docqa.errors.DeviceUnavailableError: when it names a GPU that is not there.
    """
    import torch

    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            build = " (this torch is a CPU-only build)" if torch.version.cuda is None else ""
            raise DeviceUnavailableError(device, f"no CUDA GPU is visible{build}")
        index = torch.device(device).index
        if index is not None and index >= torch.cuda.device_count():
            raise DeviceUnavailableError(device, f"only {torch.cuda.device_count()} CUDA GPU(s) are visible")
    elif device == "mps" and not torch.backends.mps.is_available():
        raise DeviceUnavailableError(device, "Apple's Metal (MPS) is not available")
    return device
