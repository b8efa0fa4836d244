"""Reader speed and memory: docqa's ExtractiveReader against Haystack's TransformersExtractiveReader, same inputs.

Workload: the questions of a SQuAD v2 file, each with 5 passages (its own paragraph and the next 4 of the same
article). Each reader runs in its own child process (clean peak memory), warmed up, default settings of both; the
parent hands them the same chunks of questions in turn, so a change of machine load hits both alike. Speed is
reported as wall-clock passages/s and as CPU seconds per passage (robust when other work shares the machine).

    python bench/reader.py --data ../shared/data/squad2-dev-calibration.json --model DIR --limit 40
    python bench/reader.py --data ... --model DIR --limit 40 --precision auto,int8   # several docqa precisions
    python bench/reader.py --data ... --model DIR --limit 40 --cpu-workers auto,1   # batches side by side or not
    python bench/reader.py --data ... --model DIR --limit 100 --precision-report   # fp32 vs bf16 vs int8
"""

import argparse
import contextlib
import json
import math
import multiprocessing
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PASSAGES_PER_QUESTION = 5


def load_workload(path: Path, limit: int | None) -> tuple[list[str], list[list[str]]]:
    """Questions in file order and, for each, its paragraph followed by the next 4 of its article."""
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    questions: list[str] = []
    passages: list[list[str]] = []
    for article in data:
        paragraphs = [paragraph["context"] for paragraph in article["paragraphs"]]
        for index, paragraph in enumerate(article["paragraphs"]):
            own = [paragraphs[(index + step) % len(paragraphs)] for step in range(PASSAGES_PER_QUESTION)]
            for qa in paragraph["qas"]:
                questions.append(qa["question"])
                passages.append(own[: len(paragraphs)])
    if limit:
        questions, passages = questions[:limit], passages[:limit]
    return questions, passages


def _reset_peak_rss() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _documents(passages: list[list[str]]):
    from haystack import Document

    cache: dict[str, Document] = {}
    return [[cache.setdefault(text, Document(content=text)) for text in texts] for texts in passages]


def serve(which: str, model: str, data: Path, limit: int | None, device: str, chunk: int, pipe):
    """
    Child process: load one reader and warm it, then read the chunks of questions the parent asks for.

    Each request is a chunk number (None ends); each reply is (wall seconds, CPU seconds, best span texts).
    The last reply is the peak memory since warm-up.
    """
    import torch

    questions, passages = load_workload(data, limit)
    documents = _documents(passages)
    if which.startswith("docqa:"):
        from docqa.components.reader import ExtractiveReader

        _, precision, workers = [*which.split(":"), "auto"][:3]
        cpu_workers = None if workers == "auto" else int(workers)
        reader = ExtractiveReader(model=model, device=device, precision=precision, cpu_workers=cpu_workers)
        reader.warm_up()

        def work(qs, docs):
            return reader.read_batch(qs, docs)
    else:
        from haystack.utils import ComponentDevice
        from haystack_integrations.components.readers.transformers import TransformersExtractiveReader

        torch_device = "cuda" if device == "auto" and torch.cuda.is_available() else device
        torch_device = "cpu" if torch_device == "auto" else torch_device
        reader = TransformersExtractiveReader(model=model, device=ComponentDevice.from_str(torch_device))
        reader.warm_up()
        reader.run(query="warm up", documents=documents[0])

        def work(qs, docs):
            return [reader.run(query=q, documents=d)["answers"] for q, d in zip(qs, docs, strict=True)]

    cuda = torch.cuda.is_available() and device != "cpu"
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    _reset_peak_rss()
    pipe.send("ready")
    while (index := _receive_or_end(pipe)) is not None:
        part = slice(index * chunk, (index + 1) * chunk)
        wall, cpu = time.perf_counter(), time.process_time()
        answers = work(questions[part], documents[part])
        if cuda:
            torch.cuda.synchronize()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        pipe.send((wall, cpu, [next((a.data for a in found if a.data is not None), None) for found in answers]))
    pipe.send(
        {
            "peak_rss_mib": _peak_rss_mib(),
            "cuda_max_allocated_mib": torch.cuda.max_memory_allocated() / 2**20 if cuda else None,
        }
    )


def _receive_or_end(pipe):
    """The parent's next request; None when the parent has gone."""
    try:
        return pipe.recv()
    except EOFError:
        return None


def _receive(pipe, which: str):
    """The child's next message; a child that died (its traceback is above) ends the benchmark instead of hanging it."""
    try:
        return pipe.recv()
    except EOFError:
        raise SystemExit(f"the {which} reader's process ended early; its error is printed above") from None


def compare(args) -> list[dict]:
    """Run the readers in two child processes, alternating chunk by chunk so load changes hit both alike."""
    questions, passages = load_workload(args.data, args.limit)
    chunks = math.ceil(len(questions) / args.chunk)
    context = multiprocessing.get_context("spawn")
    readers = [
        f"docqa:{precision}" if workers == "auto" else f"docqa:{precision}:{workers}"
        for precision in args.precision.split(",")
        for workers in args.cpu_workers.split(",")
    ]
    readers += [] if args.skip_haystack else ["haystack"]
    children = []
    for which in readers:
        parent_end, child_end = context.Pipe()
        process = context.Process(
            target=serve,
            args=(which, args.model, args.data, args.limit, args.device, args.chunk, child_end),
        )
        process.start()
        child_end.close()
        _receive(parent_end, which)
        children.append((which, process, parent_end))
    totals = {which: {"wall": 0.0, "cpu": 0.0, "best": []} for which in readers}
    for index in range(chunks):
        for which, _, pipe in children:
            pipe.send(index)
            wall, cpu, best = _receive(pipe, which)
            totals[which]["wall"] += wall
            totals[which]["cpu"] += cpu
            totals[which]["best"].extend(best)
    n_passages = sum(map(len, passages))
    results = []
    for which, process, pipe in children:
        pipe.send(None)
        memory = _receive(pipe, which)
        process.join()
        total = totals[which]
        results.append(
            {
                "reader": which,
                "questions": len(questions),
                "passages": n_passages,
                "seconds": round(total["wall"], 2),
                "passages_per_s": round(n_passages / total["wall"], 3),
                "cpu_seconds_per_passage": round(total["cpu"] / n_passages, 4),
                **memory,
                "best_spans": total["best"],
            }
        )
    return results


def model_flops(model: str, questions: list[str], passages: list[list[str]]) -> float:
    """
    Model FLOPs of reading every (question, passage) pair once: the encoder's matrix products over the real tokens
    of every window docqa's reader makes (no padding), ``2 n L (4 d^2 + 2 d f) + 4 n^2 L d`` per window of ``n``
    tokens, plus the span head.
    """
    from docqa.components.reader import ExtractiveReader

    reader = ExtractiveReader(model=model, device="cpu", precision="fp32")
    reader.warm_up()
    config = reader._model.config
    layers, width, ff = config.num_hidden_layers, config.hidden_size, config.intermediate_size
    total = 0.0
    for start in range(0, len(questions), 256):
        part = slice(start, start + 256)
        for window in reader._preprocess(questions[part], _documents(passages[part])):
            n = len(window.ids)
            total += 2 * n * layers * (4 * width**2 + 2 * width * ff) + 4 * n**2 * layers * width + 2 * n * width * 2
    return total


def decision_margin(answers, threshold: float) -> float:
    """
    By how many logits the chosen answer beat the runner-up: the next span, or no-answer, which sits at
    ``-threshold`` on the spans' ``logit_gap`` scale. An error of the span scores below half of it cannot change
    the answer.
    """
    spans = sorted((answer.meta["logit_gap"] for answer in answers if answer.data is not None), reverse=True)
    values = sorted([*spans[:2], -threshold], reverse=True)
    return round(values[0] - values[1], 4)


def precision_report(model: str, data: Path, limit: int | None, precisions: list[str]) -> list[dict]:
    """Logit change and chosen-answer change of each precision against fp32, plus its speed, on the workload."""
    import torch

    from docqa.components.reader import ExtractiveReader

    questions, passages = load_workload(data, limit)
    documents = _documents(passages)
    rows = []
    reference_logits = None
    reference_answers = None
    for precision in ["fp32", *precisions]:
        reader = ExtractiveReader(model=model, device="cpu", precision=precision)
        reader.warm_up()
        started, cpu = time.perf_counter(), time.process_time()
        answers = reader.read_batch(questions, documents)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        chosen = [(a[0].data, a[0].document_offset.start if a[0].document_offset else None) for a in answers]
        margins = [decision_margin(found, reader.no_answer_threshold) for found in answers]
        windows = reader._preprocess(questions, documents)
        logits = []
        for batch in reader._batches(windows):
            inputs, _ = reader._inputs(windows, batch)
            with torch.inference_mode():
                output = reader._model(**inputs)
            valid = inputs["attention_mask"].bool()
            logits.append(torch.stack([output.start_logits.float()[valid], output.end_logits.float()[valid]]))
        logits = torch.cat(logits, dim=1)
        if reference_logits is None:
            reference_logits, reference_answers, reference_margins = logits, chosen, margins
        changed = [i for i, (a, b) in enumerate(zip(chosen, reference_answers, strict=True)) if a != b]
        rows.append(
            {
                "precision": precision,
                "passages_per_s": round(sum(map(len, documents)) / seconds, 3),
                "cpu_seconds_per_passage": round(cpu / sum(map(len, documents)), 4),
                "max_abs_logit_change": float((logits - reference_logits).abs().max()),
                "mean_abs_logit_change": float((logits - reference_logits).abs().mean()),
                "changed_answers": len(changed) / len(chosen),
                "median_fp32_margin": round(float(np.median(reference_margins)), 4),
                "largest_fp32_margin_of_a_changed_answer": max((reference_margins[i] for i in changed), default=None),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="SQuAD v2 JSON file")
    parser.add_argument("--model", required=True, help="QA model: local directory or hub name")
    parser.add_argument("--limit", type=int, default=None, help="first N questions only")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument(
        "--precision", default="auto", help="docqa reader precision(s), comma-separated, each measured (default: auto)"
    )
    parser.add_argument(
        "--cpu-workers",
        default="auto",
        help="docqa reader cpu_workers, comma-separated, each measured: auto (one batch per core) and/or numbers",
    )
    parser.add_argument("--precisions", default="bf16,int8", help="compared with fp32 by --precision-report")
    parser.add_argument("--chunk", type=int, default=50, help="questions per alternating chunk (default 50)")
    parser.add_argument("--skip-haystack", action="store_true", help="measure docqa's reader only")
    parser.add_argument(
        "--peak-tflops",
        type=float,
        default=790.0,
        help="dense bf16 peak of the GPU for model FLOP utilisation (default 790: H200)",
    )
    parser.add_argument(
        "--precision-report", action="store_true", help="compare bf16 and int8 against fp32 on CPU instead"
    )
    args = parser.parse_args()

    import torch

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch threads "
        f"{torch.get_num_threads()}, CUDA: {torch.cuda.get_device_name() if torch.cuda.is_available() else 'none'}"
    )
    if args.precision_report:
        precision_report(args.model, args.data, args.limit, args.precisions.split(","))
        return
    results = compare(args)
    for result in results:
        print(json.dumps({key: value for key, value in result.items() if key != "best_spans"}))
    if torch.cuda.is_available() and args.device != "cpu":
        questions, passages = load_workload(args.data, args.limit)
        flops = model_flops(args.model, questions, passages)
        print(f"model FLOPs: {flops / 1e12:.1f} TFLOP ({flops / sum(map(len, passages)) / 1e9:.1f} GFLOP per passage)")
        for result in results:
            achieved = flops / result["seconds"] / 1e12
            print(
                f"model FLOP utilisation {result['reader']}: {achieved:.1f} TFLOP/s, "
                f"{100 * achieved / args.peak_tflops:.2f}% of {args.peak_tflops:.0f} TFLOP/s"
            )
    theirs = results[-1] if results[-1]["reader"] == "haystack" else None
    for ours in results:
        if theirs is None or ours is theirs:
            continue
        same = sum(a == b for a, b in zip(ours["best_spans"], theirs["best_spans"], strict=True))
        print(
            f"speed ratio {ours['reader']}/haystack: {ours['passages_per_s'] / theirs['passages_per_s']:.2f}x "
            f"wall-clock ({ours['passages_per_s']:.2f} vs {theirs['passages_per_s']:.2f} passages/s), "
            f"{theirs['cpu_seconds_per_passage'] / ours['cpu_seconds_per_passage']:.2f}x in CPU time per passage; "
            f"same best span text on {same}/{len(ours['best_spans'])} questions (they differ by design: no-answer "
            "rule, max_answer_length)"
        )


if __name__ == "__main__":
    main()
