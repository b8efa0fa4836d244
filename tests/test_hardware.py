"""The CPU default precision follows the CPU's bf16 and int8 instructions, for the reader and the embedders alike; a
device setting naming a GPU the machine lacks is one clear error, before any model loads."""

import platform

import pytest
import torch

from docqa import embedding_backend, hardware
from docqa.components.reader import ExtractiveReader
from docqa.errors import DeviceUnavailableError

pytestmark = pytest.mark.unit

AVX2_ONLY = frozenset({"fpu", "sse4_2", "avx", "avx2", "fma"})
AVX512_BF16 = AVX2_ONLY | {"avx512f", "avx512bw", "avx512_bf16", "avx512_vnni"}
AMX = AVX2_ONLY | {"avx512f", "amx_tile", "amx_bf16", "amx_int8"}
AVX512_VNNI = AVX2_ONLY | {"avx512f", "avx512bw", "avx512_vnni"}


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (AVX2_ONLY, "int8"),
        (AVX512_BF16, "bf16"),
        (AMX, "bf16"),
        (AVX2_ONLY | {"avx512f"}, "int8"),
        (AVX512_VNNI, "int8"),
        (AVX2_ONLY | {"avx_vnni"}, "int8"),
        (frozenset({"fpu", "sse4_2", "avx"}), "fp32"),
        (frozenset(), "fp32"),
    ],
)
def test_default_cpu_precision_follows_native_bf16_then_int8_instructions(flags, expected):
    assert hardware.default_cpu_precision(flags) == expected


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.machine() != "x86_64", reason="reads /proc/cpuinfo of x86-64 Linux"
)
def test_cpu_flags_are_read_from_this_machine():
    flags = hardware.cpu_flags()
    assert {"sse2", "fpu"} <= flags, "every x86-64 CPU reports sse2 and fpu"
    assert hardware.cpu_has_native_bf16() == bool({"avx512_bf16", "amx_bf16"} & flags)
    assert hardware.cpu_has_vnni() == bool({"avx512_vnni", "avx_vnni", "amx_int8"} & flags)


@pytest.mark.parametrize(
    ("flags", "expected"),
    [(AVX2_ONLY, "int8"), (AVX512_BF16, "bf16"), (AVX512_VNNI, "int8"), (frozenset({"sse4_2", "avx"}), "fp32")],
)
def test_auto_precision_on_cpu_is_the_hardware_default(flags, expected, monkeypatch):
    monkeypatch.setattr(hardware, "cpu_flags", lambda: flags)
    assert ExtractiveReader(device="cpu").resolved_precision() == expected
    assert embedding_backend.resolve_precision("auto", "cpu") == expected
    assert ExtractiveReader(device="cpu", precision="fp32").resolved_precision() == "fp32"
    assert embedding_backend.resolve_precision("int8", "cpu") == "int8"


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (AVX2_ONLY, False),
        (AVX512_BF16, True),
        (AMX, True),
        (AVX2_ONLY | {"avx_vnni"}, True),
        (AVX2_ONLY | {"avx512f"}, False),
    ],
)
def test_vnni_is_read_from_the_flags(flags, expected):
    assert hardware.cpu_has_vnni(flags) is expected


def test_a_gpu_the_machine_lacks_is_refused_before_any_model_loads(tmp_path):
    assert hardware.require_device("cpu") == "cpu"
    with pytest.raises(DeviceUnavailableError, match=r"device 'cuda:99': .*Set DOCQA_DEVICE") as raised:
        hardware.require_device("cuda:99")
    assert raised.value.exit_code == 2
    missing_model = str(tmp_path / "no-model")
    with pytest.raises(DeviceUnavailableError):
        ExtractiveReader(model=missing_model, device="cuda:99").warm_up()
    with pytest.raises(DeviceUnavailableError):
        embedding_backend.load_model(missing_model, "cuda:99")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_cuda_without_a_gpu_says_so():
    with pytest.raises(DeviceUnavailableError, match="no CUDA GPU is visible"):
        hardware.require_device("cuda")
    assert embedding_backend.resolve_device("auto") == "cpu"
