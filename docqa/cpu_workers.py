"""Running independent batches side by side on the CPU cores, one batch per core.

torch splits every operator of a forward pass over its intra-op threads. For the small matrices of the 6-layer
encoders used here that split costs a lot: on 2 cores, two batches at a time with one thread each embed and read
faster than one batch at a time with two threads, with the same results (bench/RESULTS.md). Each worker is a Python
thread whose own torch thread count is set (a per-thread setting with torch's OpenMP backend); torch releases the
GIL inside operators, so the workers run in parallel.
"""

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

# More workers means more Python threads contending for the GIL between operators; past a few cores the remaining
# cores serve each worker's operators (intra-op threads) instead.
MAX_WORKERS = 4


def plan_workers(device_type: str, workers: int | None = None, threads: int | None = None) -> tuple[int, int]:
    """
    How to spread batches over the CPU.

    :param device_type: ``"cpu"``, ``"cuda"``, ...; only CPU batches are spread.
    :param workers: batches at once; None: one per thread, at most :data:`MAX_WORKERS`.
    :param threads: the CPU threads to share out; None: torch's current count.
    :returns: ``(workers, threads per worker)``; ``(1, threads)`` is one batch at a time on every thread.
    """
    import torch

    threads = max(1, threads or torch.get_num_threads())
    if device_type != "cpu":
        return 1, threads
    workers = min(threads, MAX_WORKERS) if workers is None else max(1, min(workers, threads))
    return workers, max(1, threads // workers)


def map_in_workers(
    function: Callable[[Item], Result], items: Iterable[Item], workers: int, threads_per_worker: int
) -> Iterator[Result]:
    """
    ``map(function, items)`` with up to ``workers`` calls running at once, each on ``threads_per_worker`` torch
    threads; results come in the order of ``items``.

    ``function`` runs in a worker thread: it must enter ``torch.inference_mode()`` itself (a per-thread mode). The
    caller's torch thread count, and the one threads started later get, are the same afterwards.
    """
    import torch

    items = list(items)
    if workers <= 1 or len(items) <= 1:
        yield from map(function, items)
        return
    caller_threads = torch.get_num_threads()
    try:
        with ThreadPoolExecutor(
            min(workers, len(items)),
            thread_name_prefix="docqa-cpu",
            initializer=_set_worker_threads,
            initargs=(threads_per_worker,),
        ) as pool:
            yield from pool.map(function, items)
    finally:
        # torch also keeps the last count set by any thread as the one new threads start with
        torch.set_num_threads(caller_threads)


def _set_worker_threads(threads: int) -> None:
    import torch

    torch.get_num_threads()  # torch's first use in a thread sets its count from the process-wide one: do it first
    torch.set_num_threads(threads)
