"""Where docqa's reader spends its time: tokenising, the model with span decoding, answer building, per token budget.

    python bench/reader_stages.py --data ../shared/data/squad2-dev-calibration.json --model DIR --limit 200
    python bench/reader_stages.py --data ... --model DIR --device cuda --budgets 16384,32768,65536,131072
    python bench/reader_stages.py --data ... --model DIR --device cuda --cudnn-attention off,on
    python bench/reader_stages.py --data ... --model DIR --stand-in-model [--pipelined]

Same workload as bench/reader.py (each question with 5 passages of its article). For each ``max_tokens_per_batch``
the reader first reads everything untimed by stage (its real speed; on a GPU the stages overlap: it tokenises the
next chunk and builds the last one's answers while the model runs), then again one stage after another, each timed
on its own (each model call synchronised, so the stages add up; on a CPU with several workers the model stage sums
calls that overlapped).
Padding efficiency is the share of the model's tokens that are real, not padding.

``--stand-in-model`` replaces the model by :class:`PeakedLogits` (noise plus one clear span per window, as a trained
model's logits have, in a few operations): what is left is the reader's own work on the host, which is what bounds
it on a GPU, measured on any CPU in seconds. ``--pipelined`` overlaps the stages on a CPU as on a GPU.
"""

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reader import _documents, load_workload  # bench/reader.py, beside this file


class PeakedLogits:
    """Stand-in QA model: start and end logits of noise plus one clear span per window, seeded by the input."""

    def __call__(self, input_ids, attention_mask, **_):
        import torch

        rows, width = input_ids.shape
        generator = torch.Generator().manual_seed(int(input_ids[:, :8].sum()))
        start, end = torch.randn(2, rows, width, generator=generator)
        lengths = attention_mask.sum(1)
        peak = (torch.rand(rows, generator=generator) * (lengths - 4).clamp(min=1)).long()
        row = torch.arange(rows)
        start[row, peak] += 6
        end[row, (peak + 3).clamp(max=width - 1)] += 6
        return SimpleNamespace(start_logits=start, end_logits=end)


def _timed(function, name: str, totals: dict[str, float], synchronize):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        result = function(*args, **kwargs)
        synchronize()
        totals[name] += time.perf_counter() - started
        return result

    return wrapper


def measure(reader, questions: list[str], documents: list, repeats: int) -> dict:
    """One reader's end-to-end speed (best of ``repeats``) and its stage split."""
    import torch

    from docqa.components import reader as reader_module
    from docqa.shapes import padded_width

    cuda = reader._torch_device.type == "cuda"

    def synchronize() -> None:
        if cuda:
            torch.cuda.synchronize()

    passages = sum(map(len, documents))
    times = []
    for _ in range(repeats):
        synchronize()
        started = time.perf_counter()
        reader.read_batch(questions, documents)
        synchronize()
        times.append(time.perf_counter() - started)
    best = min(times)

    totals: dict[str, float] = defaultdict(float)
    shapes = {"real_tokens": 0, "model_tokens": 0, "batches": 0}
    preprocess, forward, postprocess = reader._preprocess, reader._forward, reader._postprocess

    def counted_forward(windows, batch, *args):
        shapes["batches"] += 1
        shapes["real_tokens"] += sum(len(windows[i].ids) for i in batch)
        shapes["model_tokens"] += len(batch) * padded_width(len(windows[batch[0]].ids), reader.max_seq_len)
        return timed_forward(windows, batch, *args)

    timed_forward = _timed(forward, "model and span decoding", totals, synchronize)
    reader._preprocess = _timed(preprocess, "tokenising", totals, synchronize)
    reader._forward = counted_forward
    reader._postprocess = _timed(postprocess, "answers (Python)", totals, synchronize)
    pipelined, reader._pipelined = reader._pipelined, False
    try:
        synchronize()
        started = time.perf_counter()
        reader.read_batch(questions, documents)
        synchronize()
        staged = time.perf_counter() - started
    finally:
        del reader._preprocess, reader._forward, reader._postprocess
        reader._pipelined = pipelined
    stages = {name: round(seconds, 3) for name, seconds in totals.items()}
    stages["other"] = round(staged - sum(totals.values()), 3)
    return {
        "max_tokens_per_batch": reader._budget,
        "pairs_per_chunk": reader_module.PAIRS_PER_CHUNK,
        "pipelined": pipelined,
        "passages": passages,
        "seconds": round(best, 3),
        "passages_per_s": round(passages / best, 1),
        "first_read_passages_per_s": round(passages / times[0], 1),
        "one_stage_at_a_time_seconds": round(staged, 3),
        "stage_seconds": stages,
        "batches": shapes["batches"],
        "padding_efficiency": round(shapes["real_tokens"] / max(1, shapes["model_tokens"]), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="SQuAD v2 JSON file")
    parser.add_argument("--model", required=True, help="QA model: local directory or hub name")
    parser.add_argument("--limit", type=int, default=None, help="first N questions only")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--precision", default="auto", help="docqa reader precision")
    parser.add_argument("--budgets", default="", help="max_tokens_per_batch values, comma-separated (default: its own)")
    parser.add_argument("--chunk-pairs", default="", help="PAIRS_PER_CHUNK values, comma-separated (default: its own)")
    parser.add_argument(
        "--cudnn-attention",
        default="off",
        help="off (docqa's choice on CUDA) and/or on (torch's default on Hopper), comma-separated, fresh reader each",
    )
    parser.add_argument("--stand-in-model", action="store_true", help="time the host work only (PeakedLogits)")
    parser.add_argument("--pipelined", action="store_true", help="overlap the stages on a CPU too (as on a GPU)")
    parser.add_argument("--repeats", type=int, default=2, help="end-to-end reads per budget, best kept (default 2)")
    args = parser.parse_args()

    import torch

    from docqa import attention_kernels
    from docqa.components import reader as reader_module
    from docqa.components.reader import ExtractiveReader

    questions, passages = load_workload(args.data, args.limit)
    documents = _documents(passages)
    print(
        f"machine: {os.cpu_count()} CPUs, torch {torch.__version__}, "
        f"CUDA: {torch.cuda.get_device_name() if torch.cuda.is_available() else 'none'}; "
        f"{len(questions)} questions, {sum(map(len, documents))} passages",
        flush=True,
    )
    chunk_pairs = [int(value) for value in args.chunk_pairs.split(",") if value] or [reader_module.PAIRS_PER_CHUNK]
    for budget in [int(value) for value in args.budgets.split(",") if value] or [None]:
        for cudnn in args.cudnn_attention.split(","):
            attention_kernels.CUDNN_ATTENTION = cudnn == "on"
            reader = ExtractiveReader(
                model=args.model, device=args.device, precision=args.precision, max_tokens_per_batch=budget
            )
            reader.warm_up()
            if args.stand_in_model:
                reader._model = PeakedLogits()
            reader._pipelined = reader._pipelined or args.pipelined
            for pairs in chunk_pairs:
                reader_module.PAIRS_PER_CHUNK = pairs
                result = measure(reader, questions, documents, args.repeats)
                settings = {"device": reader.resolved_device(), "precision": reader.resolved_precision()}
                if args.stand_in_model:
                    settings["model"] = "stand-in (PeakedLogits)"
                print(json.dumps({**settings, "cudnn_attention": cudnn, **result}))
                print(flush=True)


if __name__ == "__main__":
    main()
