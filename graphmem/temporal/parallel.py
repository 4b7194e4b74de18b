"""Running reconsolidation's batches in two processes: this one and, with a spare core, a forked worker.

A fork shares every fact read so far without copying or pickling it. Each process reads, plans and writes
its own batches through its own store connection: only each batch's counts travel back.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import TypeVar

T = TypeVar("T")


def can_fork() -> bool:
    if os.environ.get("GRAPHMEM_RECONSOLIDATE_WORKERS", "1") == "0" or sys.platform != "linux":
        return False
    daemon = multiprocessing.current_process().daemon  # may have no children
    return threading.active_count() == 1 and not daemon and len(os.sched_getaffinity(0)) > 1


def planned(n: int, run: Callable[[int], T],
            worker: Callable[[], AbstractContextManager[Callable[[int], T]]] | None = None) -> Iterator[T]:  # fmt: skip
    """``run`` of batches 0..n-1, in no set order: here, and with a spare core by a forked worker too, which runs
    the function ``worker()`` gives it (as a context: its own store connection, say; no worker without it).
    The worker is forked on Linux only, and only while this process runs no other thread: a fork copies no
    thread, only their locks. Batches go to whichever process is free; the caller gets every result.
    GRAPHMEM_RECONSOLIDATE_WORKERS=0: no worker. Results must be picklable."""
    if n < 2 or worker is None or not can_fork():
        yield from map(run, range(n))
        return
    context = multiprocessing.get_context("fork")
    taken, out = context.Value("i", 0), context.Queue()

    def take() -> int:
        with taken.get_lock():
            taken.value += 1
            return int(taken.value) - 1

    def work() -> None:
        try:
            with worker() as own:
                while (k := take()) < n:
                    out.put(own(k))
            out.put(None)
        except BaseException:
            out.put(traceback.format_exc())

    def received(block: bool) -> T | None:
        """The worker's next result; None when it has no more (or, not blocking, none ready yet)."""
        while True:
            try:
                item = out.get(block=block, timeout=1 if block else None)
            except queue.Empty:
                if not block:
                    return None
                if not process.is_alive() and out.empty():
                    raise RuntimeError("the reconsolidation worker died without a word") from None
                continue
            if isinstance(item, str):
                raise RuntimeError(f"a reconsolidation worker failed:\n{item}")
            if item is None:
                finished.append(True)
            return item

    finished: list[bool] = []
    process = context.Process(target=work, name="graphmem-reconsolidate", daemon=True)
    process.start()
    try:
        while (k := take()) < n:
            yield run(k)
            while not finished and (ready := received(block=False)) is not None:  # the worker's, while it plans
                yield ready
        while not finished and (ready := received(block=True)) is not None:
            yield ready
    finally:
        process.join(timeout=None if finished else 1)
        if process.is_alive():
            process.terminate()
