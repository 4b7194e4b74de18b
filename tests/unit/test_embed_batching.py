"""BatchingEmbedder: concurrent callers share model calls and each gets exactly its own rows."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from graphmem.embed_batching import BatchingEmbedder


class SlowHashEmbedder:
    """A deterministic stand-in for the model whose every call takes 50 ms, like a model's fixed cost."""

    model_name = "hash"
    dimension = 8

    def __init__(self, fail_on: str | None = None) -> None:
        self.batches: list[list[str]] = []
        self.fail_on = fail_on
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            self.batches.append(list(texts))
        time.sleep(0.05)
        if self.fail_on is not None and self.fail_on in texts:
            raise RuntimeError(f"cannot encode {self.fail_on!r}")
        rows = np.array([[hash((text, i)) % 1000 for i in range(self.dimension)] for text in texts], dtype=np.float32)
        return rows.reshape(len(texts), self.dimension)


def test_concurrent_questions_share_calls_and_get_their_own_rows() -> None:
    inner = SlowHashEmbedder()
    batching = BatchingEmbedder(inner)
    questions = [f"question {i}" for i in range(32)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        rows = list(pool.map(lambda q: batching.encode([q]), questions))
    for question, row in zip(questions, rows, strict=True):
        assert np.array_equal(row, SlowHashEmbedder().encode([question]))
    assert sorted(t for batch in inner.batches for t in batch) == sorted(questions)  # each encoded once
    assert len(inner.batches) < len(questions) and max(len(b) for b in inner.batches) > 1
    assert batching.calls == len(inner.batches) and batching.texts == len(questions)


def test_one_caller_at_a_time_is_one_call_each_and_keeps_multi_text_requests_whole() -> None:
    inner = SlowHashEmbedder()
    batching = BatchingEmbedder(inner, max_batch=2)
    rows = batching.encode(["a", "b", "c"])  # larger than max_batch: still one request, one call
    assert rows.shape == (3, 8) and inner.batches == [["a", "b", "c"]]
    assert batching.encode([]).shape == (0, 8)


def test_max_batch_bounds_a_call() -> None:
    inner = SlowHashEmbedder()
    batching = BatchingEmbedder(inner, max_batch=3)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda i: batching.encode([f"q{i}"]), range(16)))
    assert all(len(batch) <= 3 for batch in inner.batches) and batching.texts == 16


def test_a_failing_question_fails_only_its_caller_and_the_embedder_goes_on() -> None:
    batching = BatchingEmbedder(SlowHashEmbedder(fail_on="poison"))
    with pytest.raises(RuntimeError, match="poison"):
        batching.encode(["poison"])
    assert batching.encode(["fine"]).shape == (1, 8)
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(batching.encode, [text]) for text in ("x", "poison", "y", "z")]
    # Whatever was batched with it, only the poisoned question fails.
    assert ["error" if f.exception() else "ok" for f in futures] == ["ok", "error", "ok", "ok"]
    assert batching.encode(["after"]).shape == (1, 8)


@pytest.mark.parametrize("parallel", [1, 2])
def test_parallel_calls_run_at_once_and_no_more(parallel: int) -> None:
    class Counting(SlowHashEmbedder):
        def __init__(self) -> None:
            super().__init__()
            self.now = self.most = 0

        def encode(self, texts: Sequence[str]) -> np.ndarray:
            with self._lock:
                self.now += 1
                self.most = max(self.most, self.now)
            try:
                return super().encode(texts)
            finally:
                with self._lock:
                    self.now -= 1

    inner = Counting()
    batching = BatchingEmbedder(inner, parallel=parallel)
    questions = [f"question {i}" for i in range(12)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        rows = list(pool.map(lambda q: batching.encode([q]), questions))
    for question, row in zip(questions, rows, strict=True):
        assert np.array_equal(row, SlowHashEmbedder().encode([question]))
    assert inner.most == parallel
