"""Which attention kernels the models run with on a GPU.

On Hopper and Blackwell GPUs (H100, H200, B200) torch's ``scaled_dot_product_attention`` tries cuDNN's attention
first in bf16 and fp16 (torch's ``check_prefer_cudnn_attention``). cuDNN builds an execution graph for every new
problem shape, keyed by batch size and sequence length, at tens of milliseconds of host time each, and the reader and
the embedders make many shapes: each batch is padded to its own longest passage, and the last batch of every chunk is
shorter. On an H200 the reader's first read of the calibration workload ran at 2,550-2,850 passages/s, and a re-read
of the same batches at 5,500-6,300 (bench/RESULTS.md, GPU). Without cuDNN, SDPA runs flash attention (no padding) or
memory-efficient attention (a padding mask), and neither builds anything per shape.

torch keeps the choice in process-wide flags, set on entering and restored on leaving the context; forward passes
running at once in several threads (two sessions of the page) can leave cuDNN off after both finish. That only
changes which kernel runs, never a result.
"""

import contextlib
from typing import Any

#: Let SDPA use cuDNN attention on CUDA after all (``bench/reader_stages.py --cudnn-attention on`` measures it).
CUDNN_ATTENTION = False


def attention_kernels(device_type: str) -> contextlib.AbstractContextManager[Any]:
    """
    The context a model's forward pass runs in on ``device_type``.

    :param device_type: a torch device type: ``"cuda"``, ``"cpu"``, ...
    :returns: on CUDA, SDPA restricted to flash, memory-efficient and math attention (unless
        :data:`CUDNN_ATTENTION`); elsewhere, nothing changes.
    """
    if device_type != "cuda" or CUDNN_ATTENTION:
        return contextlib.nullcontext()
    from torch.nn.attention import SDPBackend, sdpa_kernel

    return sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH])
