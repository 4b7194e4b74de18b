"""torch and NumPy's BLAS on one thread where graphmem runs its own threads on the cores.

Questions are embedded on one thread (two threads for one short question mostly wait on each other), and a batch
of concurrent queries runs as two halves on two threads of its own (graphmem.retrieve.batch): the libraries'
worker threads would compete with those for the same two cores. Both keep their count per thread: torch's is
OpenMP's (a thread that had not set it ran its half 1.7 times slower beside one that had), and OpenBLAS's is set
with ``openblas_set_num_threads_local`` (through threadpoolctl the count is the process's, and setting it from a
thread other than the main one did not take effect here). So nothing here changes another thread's counts.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_local_setters: list[Callable[[int], int]] | None = None


@contextmanager
def one_thread() -> Iterator[None]:
    """torch and BLAS on one thread in this thread until the block ends."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    previous = blas_on_one_thread()
    try:
        yield
    finally:
        restore_blas(previous)
        torch.set_num_threads(before)


def _setters() -> list[Callable[[int], int]]:
    """``openblas_set_num_threads_local`` of each OpenBLAS loaded (NumPy's, SciPy's; OpenBLAS 0.3.27 on)."""
    global _local_setters
    if _local_setters is None:
        found: list[Callable[[int], int]] = []
        try:
            from threadpoolctl import ThreadpoolController

            for lib in ThreadpoolController().select(internal_api="openblas").lib_controllers:
                handle = ctypes.CDLL(lib.filepath)
                for name in ("openblas_set_num_threads_local", "scipy_openblas_set_num_threads_local64_",
                             "scipy_openblas_set_num_threads_local"):  # fmt: skip
                    setter = getattr(handle, name, None)
                    if setter is not None:
                        setter.argtypes, setter.restype = [ctypes.c_int], ctypes.c_int
                        found.append(setter)
                        break
        except (ImportError, OSError):  # no threadpoolctl or no OpenBLAS: BLAS keeps its count
            pass
        _local_setters = found
    return _local_setters


def blas_on_one_thread() -> list[int]:
    """Set this thread's BLAS count to one; returns what to give ``restore_blas``."""
    return [setter(1) for setter in _setters()]


def restore_blas(previous: list[int]) -> None:
    for setter, count in zip(_setters(), previous, strict=False):
        setter(count)
