"""The CPU default precision follows the CPU's bf16 support, for the reader and the embedders alike."""

import platform

import pytest

from docqa import embedding_backend, hardware
from docqa.components.reader import ExtractiveReader

pytestmark = pytest.mark.unit

AVX2_ONLY = frozenset({"fpu", "sse4_2", "avx", "avx2", "fma"})
AVX512_BF16 = AVX2_ONLY | {"avx512f", "avx512bw", "avx512_bf16", "avx512_vnni"}
AMX = AVX2_ONLY | {"avx512f", "amx_tile", "amx_bf16", "amx_int8"}


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (AVX2_ONLY, "fp32"),
        (AVX512_BF16, "bf16"),
        (AMX, "bf16"),
        (AVX2_ONLY | {"avx512f"}, "fp32"),
        (frozenset(), "fp32"),
    ],
)
def test_default_cpu_precision_follows_native_bf16(flags, expected):
    assert hardware.default_cpu_precision(flags) == expected


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.machine() != "x86_64", reason="reads /proc/cpuinfo of x86-64 Linux"
)
def test_cpu_flags_are_read_from_this_machine():
    flags = hardware.cpu_flags()
    assert {"sse2", "fpu"} <= flags, "every x86-64 CPU reports sse2 and fpu"
    assert hardware.cpu_has_native_bf16() == bool({"avx512_bf16", "amx_bf16"} & flags)


@pytest.mark.parametrize("flags", [AVX2_ONLY, AVX512_BF16])
def test_auto_precision_on_cpu_is_the_hardware_default(flags, monkeypatch):
    monkeypatch.setattr(hardware, "cpu_flags", lambda: flags)
    expected = "bf16" if flags is AVX512_BF16 else "fp32"
    assert ExtractiveReader(device="cpu").resolved_precision() == expected
    assert embedding_backend.resolve_precision("auto", "cpu") == expected
    assert ExtractiveReader(device="cpu", precision="fp32").resolved_precision() == "fp32"
    assert embedding_backend.resolve_precision("int8", "cpu") == "int8"
