"""Questions from concurrent callers are embedded together, in one model call.

Encoding one short question costs about as much as encoding eight (the model's fixed cost per call dominates),
so under concurrent queries a model call per question would queue them behind each other. Here the first caller
runs the model for every question waiting at that moment; the others wait for their rows. While the model runs,
new questions gather and go together in the next call. ``parallel`` calls may run at once (Memory allows two:
the two halves of a batch of queries embed their questions each on its own core, graphmem.retrieve.batch).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from graphmem.embed import Embedder, EmbedderWrapper


@dataclass
class _Request:
    texts: list[str]
    vectors: np.ndarray | None = None
    error: BaseException | None = None
    done: bool = False


class BatchingEmbedder(EmbedderWrapper):
    """Thread-safe; with one caller at a time it is the inner embedder plus a lock."""

    def __init__(self, inner: Embedder, max_batch: int = 64, parallel: int = 1) -> None:
        super().__init__(inner)
        self.max_batch = max_batch
        self.parallel = parallel
        self._cond = threading.Condition()
        self._pending: list[_Request] = []
        self._running = 0  # model calls under way
        self.calls = 0  # model calls made, for tests and benchmarks
        self.texts = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        request = _Request(list(texts))
        with self._cond:
            self._pending.append(request)
        while True:
            with self._cond:
                while not request.done and (self._running >= self.parallel or request not in self._pending):
                    self._cond.wait()
                if request.done:
                    break
                self._running += 1  # a call free: this caller runs one for the questions waiting
                batch = self._take()
            self._run(batch)
        if request.error is not None:
            raise request.error
        assert request.vectors is not None
        return request.vectors

    def _take(self) -> list[_Request]:
        """The waiting requests, oldest first, up to max_batch texts (at least one request)."""
        batch, size = [], 0
        while self._pending and (not batch or size + len(self._pending[0].texts) <= self.max_batch):
            request = self._pending.pop(0)
            batch.append(request)
            size += len(request.texts)
        return batch

    def _run(self, batch: list[_Request]) -> None:
        calls = 1
        try:
            vectors = self.inner.encode([text for request in batch for text in request.texts])
            offset = 0
            for request in batch:
                request.vectors = vectors[offset : offset + len(request.texts)]
                offset += len(request.texts)
        except Exception as exc:
            if len(batch) == 1:
                batch[0].error = exc  # raised in its caller's thread
            else:  # one bad question must not fail the others: each is encoded alone
                for request in batch:
                    calls += 1
                    try:
                        request.vectors = self.inner.encode(request.texts)
                    except Exception as alone:
                        request.error = alone
        finally:
            with self._cond:
                for request in batch:
                    if request.vectors is None and request.error is None:  # interrupted (KeyboardInterrupt, ...)
                        request.error = RuntimeError("the embedding call was interrupted")
                    request.done = True
                self.calls += calls
                self.texts += sum(len(r.texts) for r in batch if r.vectors is not None)
                self._running -= 1
                self._cond.notify_all()
