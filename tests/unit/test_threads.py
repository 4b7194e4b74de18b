"""graphmem.threads: torch's count back when its last user leaves; BLAS's count set per thread."""

from __future__ import annotations

import threading

import torch
from threadpoolctl import threadpool_info

from graphmem import threads
from graphmem.threads import blas_on_one_thread, one_thread, restore_blas


def blas_counts() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["internal_api"] == "openblas"]


def test_torch_is_on_one_thread_in_the_block_and_in_that_thread_only() -> None:
    before = torch.get_num_threads()
    entered, leave = threading.Event(), threading.Event()
    seen: list[int] = []

    def other() -> None:
        seen.append(torch.get_num_threads())
        with one_thread():
            entered.set()
            leave.wait(10)
            seen.append(torch.get_num_threads())
        seen.append(torch.get_num_threads())

    thread = threading.Thread(target=other)
    thread.start()
    assert entered.wait(10)
    assert torch.get_num_threads() == before  # the other thread's block does not change this one's count
    with one_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    leave.set()
    thread.join(10)
    assert seen[1] == 1 and seen[2] == seen[0]  # one inside the block, its own count back after


def test_blas_is_set_for_the_calling_thread_only() -> None:
    if not threads._setters():
        import pytest

        pytest.skip("this OpenBLAS has no per-thread count (OpenBLAS before 0.3.27)")
    main = blas_counts()
    inside: list[list[int]] = []

    def worker() -> None:
        previous = blas_on_one_thread()
        inside.append(blas_counts())
        restore_blas(previous)
        inside.append(blas_counts())

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(10)
    assert 1 in inside[0] and inside[1] == main  # NumPy's OpenBLAS on one thread there, then put back
    assert blas_counts() == main  # never touched here
