"""Batches spread over CPU workers: planning, order, real parallelism, per-thread torch threads, errors."""

import threading

import pytest
import torch

from docqa.cpu_workers import MAX_WORKERS, map_in_workers, plan_workers

pytestmark = pytest.mark.unit


def test_plan_gives_one_single_threaded_worker_per_thread_up_to_the_cap():
    assert plan_workers("cpu", threads=2) == (2, 1)
    assert plan_workers("cpu", threads=1) == (1, 1)
    assert plan_workers("cpu", threads=4 * MAX_WORKERS) == (MAX_WORKERS, 4)
    assert plan_workers("cpu", workers=1, threads=8) == (1, 8)
    assert plan_workers("cpu", workers=3, threads=2) == (2, 1)
    assert plan_workers("cuda", threads=16) == (1, 16)
    assert plan_workers("cpu") == plan_workers("cpu", threads=torch.get_num_threads())


def test_results_come_in_input_order_whatever_finishes_first():
    release = {n: threading.Event() for n in range(6)}

    def work(n: int) -> int:
        if n + 1 in release:
            release[n + 1].wait(timeout=5)
        release[n].set()
        return n * n

    release[5].set()
    assert list(map_in_workers(work, range(6), workers=6, threads_per_worker=1)) == [n * n for n in range(6)]


def test_workers_run_at_once_on_their_own_torch_thread_count():
    caller_threads = torch.get_num_threads()
    both_running = threading.Barrier(2, timeout=10)

    def work(_: int) -> int:
        both_running.wait()  # raises BrokenBarrierError if the two calls ran one after the other
        return torch.get_num_threads()

    assert list(map_in_workers(work, [0, 1], workers=2, threads_per_worker=1)) == [1, 1]
    assert torch.get_num_threads() == caller_threads
    started_later: list[int] = []
    thread = threading.Thread(target=lambda: started_later.append(torch.get_num_threads()))
    thread.start()
    thread.join()
    assert started_later == [caller_threads], "a thread started afterwards gets the caller's count, not the workers'"


def test_one_worker_runs_in_the_calling_thread():
    caller = threading.get_ident()
    assert set(map_in_workers(lambda _: threading.get_ident(), range(3), workers=1, threads_per_worker=1)) == {caller}


def test_a_failing_batch_raises_in_the_caller():
    def work(n: int) -> int:
        if n == 2:
            raise ValueError("batch 2 failed")
        return n

    with pytest.raises(ValueError, match="batch 2 failed"):
        list(map_in_workers(work, range(4), workers=2, threads_per_worker=1))
    assert torch.get_num_threads() >= 1
