"""Save, load and query times of the embedded store against Haystack's JSON snapshot of ``InMemoryDocumentStore``.

Usage: ``python bench/store.py --passages 100000`` (synthetic passages: random text, random unit 384-d vectors,
indexing-like meta). Prints a table; ``--json FILE`` also writes the figures.
"""

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from haystack import Document
from haystack.document_stores.in_memory import InMemoryDocumentStore
from haystack.document_stores.types import DuplicatePolicy

from docqa.embedded_store import EmbeddedDocumentStore


def make_passages(count: int, dim: int, chars: int, seed: int) -> list[Document]:
    """Synthetic passages shaped like indexing output: ~``chars`` characters, unit vectors, the usual meta."""
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    vocabulary = ["".join(rng.choice(letters, size=length)) for length in rng.integers(2, 11, size=20000)]
    words_per_passage = chars // 7
    word_ids = rng.integers(0, len(vocabulary), size=(count, words_per_passage))
    vectors = rng.standard_normal((count, dim), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    passages = []
    for i in range(count):
        file_number = i // 40
        file_path = f"/home/user/documents/reports/report-{file_number:05d}.pdf"
        content = " ".join(vocabulary[w] for w in word_ids[i])
        char_start = (i % 40) * chars
        passages.append(
            Document(
                id=hashlib.sha256(f"{file_path}{char_start}{content}".encode()).hexdigest(),
                content=content,
                meta={
                    "file_path": file_path,
                    "file_name": f"report-{file_number:05d}.pdf",
                    "page_number": (i % 40) // 3 + 1,
                    "char_start": char_start,
                    "char_end": char_start + len(content),
                    "file_sha256": hashlib.sha256(file_path.encode()).hexdigest(),
                    "passage_count": 40,
                    "split_id": i % 40,
                },
                embedding=vectors[i].tolist(),
            )
        )
    return passages


CPU_SECONDS: dict[str, float] = {}


def timed(function, *args, **kwargs) -> tuple[float, object]:
    """Wall seconds and result of one call; its CPU seconds are kept in ``CPU_SECONDS[function name]``."""
    start, start_cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    CPU_SECONDS[getattr(function, "__name__", "call")] = time.process_time() - start_cpu
    return time.perf_counter() - start, result


def median_time(function, repeats: int) -> float:
    return statistics.median(timed(function)[0] for _ in range(repeats))


def keyword_queries(passages: list[Document]) -> tuple[str, str]:
    """A one-word query and a question-like one: six words of the first passage and one that no passage has."""
    words = passages[0].content.split()
    return words[0], " ".join([*words[:6], "zzzz"])


def bench_haystack(passages: list[Document], query: list[float], workdir: Path) -> dict[str, float]:
    store = InMemoryDocumentStore(embedding_similarity_function="cosine", shared=False)
    store.write_documents(passages, policy=DuplicatePolicy.OVERWRITE)
    path = workdir / "haystack.json"
    save_s, _ = timed(store.save_to_disk, str(path))
    save_cpu_s = CPU_SECONDS["save_to_disk"]
    size = path.stat().st_size
    del store
    load_s, loaded = timed(InMemoryDocumentStore.load_from_disk, str(path))
    load_cpu_s = CPU_SECONDS["load_from_disk"]
    assert loaded.count_documents() == len(passages)
    query_s = median_time(lambda: loaded.embedding_retrieval(query, top_k=10), 3)
    word, question = keyword_queries(passages)
    bm25_s = median_time(lambda: loaded.bm25_retrieval(word, top_k=10), 3)
    bm25_question_s = median_time(lambda: loaded.bm25_retrieval(question, top_k=10), 3)
    return {
        "save_s": save_s,
        "load_s": load_s,
        "size_mb": size / 1e6,
        "query_s": query_s,
        "save_cpu_s": save_cpu_s,
        "load_cpu_s": load_cpu_s,
        "bm25_query_s": bm25_s,
        "bm25_question_s": bm25_question_s,
    }


def bench_embedded(passages: list[Document], query: list[float], workdir: Path) -> dict[str, float]:
    path = workdir / "embedded"
    store = EmbeddedDocumentStore(path=str(path))
    first_write_s, _ = timed(store.write_documents, passages)
    first_write_cpu_s = CPU_SECONDS["write_documents"]
    extra = [Document(id=f"extra-{i}", content="x" * 600, embedding=query) for i in range(100)]
    append_s, _ = timed(store.write_documents, extra)
    save_s, _ = timed(store.compact)
    save_cpu_s = CPU_SECONDS["compact"]
    size = (path / "snapshot.bin").stat().st_size
    del store
    reader = EmbeddedDocumentStore(path=str(path))
    load_s, count = timed(reader.count_documents)
    load_cpu_s = CPU_SECONDS["count_documents"]
    assert count == len(passages) + 100
    unchanged_check_s = median_time(reader.count_documents, 20)
    first_query_s, top = timed(reader.embedding_retrieval, query, top_k=10)
    assert top[0].id.startswith("extra-")
    query_s = median_time(lambda: reader.embedding_retrieval(query, top_k=10), 5)
    file_filter = {"field": "meta.file_path", "operator": "==", "value": passages[0].meta["file_path"]}
    filtered_query_s = median_time(lambda: reader.embedding_retrieval(query, filters=file_filter, top_k=10), 3)
    word, question = keyword_queries(passages)
    bm25_first_s, _ = timed(reader.bm25_retrieval, word, top_k=10)
    bm25_s = median_time(lambda: reader.bm25_retrieval(word, top_k=10), 3)
    bm25_question_first_s, _ = timed(reader.bm25_retrieval, question, top_k=10)
    bm25_question_s = median_time(lambda: reader.bm25_retrieval(question, top_k=10), 3)
    return {
        "save_s": save_s,
        "load_s": load_s,
        "size_mb": size / 1e6,
        "query_s": query_s,
        "save_cpu_s": save_cpu_s,
        "load_cpu_s": load_cpu_s,
        "first_write_s": first_write_s,
        "first_write_cpu_s": first_write_cpu_s,
        "append_100_s": append_s,
        "unchanged_check_s": unchanged_check_s,
        "first_query_s": first_query_s,
        "filtered_query_s": filtered_query_s,
        "bm25_first_query_s": bm25_first_s,
        "bm25_query_s": bm25_s,
        "bm25_question_first_s": bm25_question_first_s,
        "bm25_question_s": bm25_question_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=100000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--chars", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dir", help="work directory (default: a temporary one, removed after)")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--skip-haystack", action="store_true", help="measure only the embedded store")
    args = parser.parse_args()

    workdir = Path(args.dir or tempfile.mkdtemp(prefix="docqa-bench-store-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        build_s, passages = timed(make_passages, args.passages, args.dim, args.chars, args.seed)
        query = np.random.default_rng(args.seed + 1).standard_normal(args.dim).astype(np.float32)
        query = (query / np.linalg.norm(query)).tolist()
        print(f"{args.passages} passages, {args.dim}-d, ~{args.chars} chars (built in {build_s:.1f} s)", flush=True)
        results = {"embedded": bench_embedded(passages, query, workdir)}
        print("embedded store done", flush=True)
        if not args.skip_haystack:
            results["haystack_json"] = bench_haystack(passages, query, workdir)
    finally:
        if not args.dir:
            shutil.rmtree(workdir, ignore_errors=True)

    cpu = platform.processor() or platform.machine()
    machine = f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"\nmachine: {machine}")
    print(f"{'':26}{'embedded':>12}{'haystack json':>15}{'ratio':>9}")
    ours, theirs = results["embedded"], results.get("haystack_json", {})
    for key, label in [
        ("save_s", "save (s)"),
        ("save_cpu_s", "save, CPU (s)"),
        ("load_s", "load (s)"),
        ("load_cpu_s", "load, CPU (s)"),
        ("size_mb", "file size (MB)"),
        ("query_s", "embedding query (s)"),
        ("bm25_query_s", "BM25 query, 1 word (s)"),
        ("bm25_question_s", "BM25 query, 7 words (s)"),
    ]:
        other = theirs.get(key)
        ratio = f"{other / ours[key]:8.1f}x" if other else ""
        print(f"{label:26}{ours[key]:12.4f}{other if other is not None else float('nan'):15.4f}{ratio:>9}")
    for key in ours:
        if key not in theirs and key not in ("bm25_query_s", "bm25_question_s"):
            print(f"{key:26}{ours[key]:12.4f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine, "args": vars(args), **results}, indent=2))


if __name__ == "__main__":
    main()
