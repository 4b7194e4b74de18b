"""Extraction in worker processes: spaCy parses on every core.

spaCy holds the GIL while it parses, so parsing on two cores takes two processes. Workers
start with ``spawn`` (never ``fork`` a process that has torch threads running) and each
builds its extractor once.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor

from graphmem.extract.types import Extractor, PassageExtraction, PassageInput

_worker_extractor: Extractor | None = None
_SINGLE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _start(factory: Callable[[], Extractor]) -> None:
    global _worker_extractor
    _worker_extractor = factory()


def _ready() -> bool:
    return _worker_extractor is not None


def _extract(passages: Sequence[PassageInput]) -> list[PassageExtraction]:
    assert _worker_extractor is not None, "worker started without an extractor"
    return _worker_extractor.extract(passages)


class BackgroundExtractor:
    """Submits batches to ``workers`` processes that each build their extractor with ``factory``."""

    def __init__(self, factory: Callable[[], Extractor], workers: int = 1) -> None:
        self.workers = workers
        self._pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"), initializer=_start,
            initargs=(factory,),
        )  # fmt: skip
        # Each worker gets single-threaded BLAS: otherwise workers oversubscribe the cores, and
        # their idle BLAS threads spin on cores the main process needs for the embedding model.
        saved = {name: os.environ.get(name) for name in _SINGLE_THREAD}
        os.environ.update(_SINGLE_THREAD)
        try:
            for _ in range(workers):
                self._pool.submit(_ready)  # starts the processes now, with this environment
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def submit(self, passages: Sequence[PassageInput]) -> Future[list[PassageExtraction]]:
        """Extract ``passages``, split evenly across the workers; one future for the whole batch."""
        size = max(1, -(-len(passages) // self.workers))
        parts = [self._pool.submit(_extract, list(passages[i : i + size])) for i in range(0, len(passages), size)]
        combined: Future[list[PassageExtraction]] = Future()

        def gather(_: Future[list[PassageExtraction]]) -> None:
            if combined.done() or not all(p.done() for p in parts):
                return
            errors = [p.exception() for p in parts if p.exception() is not None]
            if errors:
                combined.set_exception(errors[0])  # type: ignore[arg-type]
            else:
                combined.set_result([e for p in parts for e in p.result()])

        for part in parts:
            part.add_done_callback(gather)
        return combined

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> BackgroundExtractor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
