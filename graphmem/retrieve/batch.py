"""Queries that arrive together are answered together: one embedding call for their questions, one product of the
fact vectors with all of them, and their walks solved as one block (graphmem.retrieve.ppr_many).

Why: 8 clients asking one Memory at once each ran a whole query in turn behind Python's lock, so on 2 cores they
waited about 8 times one query's time (``graphmem.bench.load``: 12.9 times the p95 of one client at 10k
passages). A batch of m queries costs far less than m queries: the model's fixed cost per call, the read of
every fact vector and of the graph are paid once. ``QueryBatcher`` gathers the calls: a caller that finds no
batch running (``max_parallel``, 1 by default: two batches at once, one per core, measured slower) answers every
waiting call of its kind like its own; the others wait for their result. A caller alone is answered by
``Retriever.search`` itself. A batch of several runs on the batcher's own threads, not the caller's: its walks
allocate and free megabytes of arrays, which a thread that ran the last batch finds in its malloc arena, while a
caller that had not led one lately paid thousands of page faults for them (under ``graphmem.bench.load``,
batches of 8 took 110 ms led by the callers against 101 ms on one thread). From SPLIT_FROM queries a batch runs
as two halves, one per core, torch and BLAS on one thread in each (graphmem.threads): a batch of 8 took about
63 ms so against 99 ms as one block, and 8 clients' p95 went from 4.3 to 2.8-2.9 times one client's.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Executor, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from graphmem.retrieve.core import Retriever
from graphmem.retrieve.ppr_many import solve_many
from graphmem.retrieve.results import Query, Retrieval, Walk, WalkStart
from graphmem.threads import blas_on_one_thread, one_thread

BATCHED_MODES = ("ppr", "hybrid")
SPLIT_FROM = 4  # a batch of at least this many runs as two halves, one per core


def prepare_many(retriever: Retriever, queries: list[str]) -> list[Query]:
    """``Retriever.prepare`` of each query (graph modes), with one model call for the questions and one for
    the names that matched nothing exactly (apart: in one batch they would be padded to the questions' length)."""
    parts = [retriever.names(query) for query in queries]
    vectors = retriever.embedder.encode(queries)
    names = list(dict.fromkeys(span for _, _, spans in parts for span in spans))
    named = dict(zip(names, retriever.embedder.encode(names), strict=True)) if names else {}
    return [Query(query, vectors[i], titles, links, {span: named[span] for span in spans})
            for i, (query, (titles, links, spans)) in enumerate(zip(queries, parts, strict=True))]  # fmt: skip


def search_many(retriever: Retriever, queries: list[str], k: int = 5, mode: str = "ppr",
                as_of: datetime | None = None, helper: Executor | None = None) -> list[Retrieval]:  # fmt: skip
    """``retriever.search`` of each query, together (ppr and hybrid; other modes and a single query one by one).
    With a ``helper`` (an executor with a thread free), SPLIT_FROM queries or more run as two halves, one there."""
    if mode not in BATCHED_MODES or len(queries) < 2 or retriever.index.n_units == 0 or k <= 0:
        return [retriever.search(query, k, mode, as_of) for query in queries]
    if helper is None or len(queries) < SPLIT_FROM:
        return _search_block(retriever, queries, k, mode, as_of)
    middle = (len(queries) + 1) // 2
    first = helper.submit(_search_block, retriever, queries[:middle], k, mode, as_of)
    try:
        second = _search_block(retriever, queries[middle:], k, mode, as_of)
    finally:
        wait([first])  # never leave the other half running behind an error
    return first.result() + second


def _search_block(retriever: Retriever, queries: list[str], k: int, mode: str,
                  as_of: datetime | None) -> list[Retrieval]:  # fmt: skip
    started = time.perf_counter()
    index, config = retriever.index, retriever.config
    solver, valid, allowed = retriever._at(as_of)
    parsed = prepare_many(retriever, queries)
    vectors = np.stack([query.vector for query in parsed])
    dense = vectors @ index.unit_vectors.T
    fact_scores = _scores(vectors, index.fact_vectors) if config.fact_seeds and len(index.fact_vectors) else None
    starts: list[WalkStart | Walk] = []
    for i, query in enumerate(parsed):
        relevance = retriever.relevance(dense[i], query.text, mode)
        starts.append(retriever.walk_start(query, relevance, valid, None if fact_scores is None else fact_scores[i]))
    walks = _walk_all(retriever, solver, starts)
    return [retriever.finish(Retrieval(query=query, mode=mode, hits=[], as_of=as_of), walk.scores, walk, allowed, k,
                             started) for query, walk in zip(queries, walks, strict=True)]  # fmt: skip


def _scores(vectors: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``vectors @ matrix.T`` on one thread, through torch: for 4 questions against 114k fact vectors, 7.3 ms
    against OpenBLAS's 13.6 ms (a batch's half runs this beside the other half, graphmem.threads)."""
    try:
        import torch
    except ImportError:
        return vectors @ matrix.T
    with one_thread():
        product = torch.from_numpy(np.ascontiguousarray(matrix)) @ torch.from_numpy(np.ascontiguousarray(vectors)).T
    return np.ascontiguousarray(product.numpy().T)


def _walk_all(retriever: Retriever, solver: object, starts: list[WalkStart | Walk]) -> list[Walk]:
    """Both walks of every seeded query, each as one block solve."""
    seeded = [s for s in starts if isinstance(s, WalkStart)]
    if not seeded:
        return [s for s in starts if isinstance(s, Walk)]
    damping = retriever.config.damping
    biases = None if seeded[0].bias is None else np.stack([s.bias for s in seeded])  # type: ignore[misc]
    first = solve_many(solver, np.stack([s.reset for s in seeded]), damping, biases)  # type: ignore[arg-type]
    visits = [retriever.first_visits(row) for row in first]
    hops = [retriever.hop_reset(row) for row in visits]
    second: list[np.ndarray | None] = [None] * len(seeded)
    if hops[0] is not None:
        rows = solve_many(solver, np.stack([hop[0] for hop in hops if hop is not None]), damping, biases)  # type: ignore[arg-type]
        second = list(rows)
    ended = iter([retriever.walk_end(s, v, two, hop) for s, v, two, hop in zip(seeded, visits, second, hops,
                                                                                strict=True)])  # fmt: skip
    return [next(ended) if isinstance(s, WalkStart) else s for s in starts]


@dataclass(eq=False)
class _Call:
    retriever: Retriever
    query: str
    key: tuple[int, int, str, datetime | None]
    thread: int = 0
    result: Retrieval | None = None
    error: BaseException | None = None
    done: bool = False


class QueryBatcher:
    """Thread-safe; with one caller at a time it is ``Retriever.search`` plus a lock."""

    def __init__(self, max_batch: int = 8, max_parallel: int = 1, gather_seconds: float = 0.002) -> None:
        self.max_batch = max_batch
        self.max_parallel = max_parallel
        self.gather_seconds = gather_seconds
        lock = threading.RLock()
        self._cond = threading.Condition(lock)
        self._arrived = threading.Condition(lock)  # a caller asked: the leader gathering a batch looks again
        self._waiting: list[_Call] = []
        self._running = 0
        self._returning: set[int] = set()  # threads of the batch answered last: they may ask again at once
        self._answered_at = 0.0
        self._workers: ThreadPoolExecutor | None = None  # where batches of several run, made when first needed
        self.batches = 0  # batches answered, and the queries in them (tests and benchmarks read these)
        self.queries = 0

    def close(self) -> None:
        """Stop the batcher's threads once the batch under way is answered; a later search starts them again."""
        with self._cond:
            workers, self._workers = self._workers, None
        if workers is not None:
            workers.shutdown(wait=True)

    def _search_many(self, batch: list[_Call], k: int, mode: str, as_of: datetime | None) -> list[Retrieval]:
        queries = [c.query for c in batch]
        if len(batch) == 1:
            return search_many(batch[0].retriever, queries, k, mode, as_of)
        with self._cond:
            if self._workers is None:  # two threads per batch at once, a batch's and its helper's; BLAS on one
                # thread in each (graphmem.threads): with its own workers it competed with the other half
                self._workers = ThreadPoolExecutor(2 * self.max_parallel, thread_name_prefix="graphmem-batch",
                                                   initializer=blas_on_one_thread)  # fmt: skip
            workers = self._workers
        return workers.submit(search_many, batch[0].retriever, queries, k, mode, as_of, workers).result()

    def search(self, retriever: Retriever, query: str, k: int = 5, mode: str = "ppr",
               as_of: datetime | None = None) -> Retrieval:  # fmt: skip
        if mode not in BATCHED_MODES:
            return retriever.search(query, k, mode, as_of)
        started = time.perf_counter()
        call = _Call(retriever, query, (id(retriever), k, mode, as_of), threading.get_ident())
        with self._cond:
            self._waiting.append(call)
            self._arrived.notify_all()  # every gathering leader (max_parallel of them) looks
            while not call.done and (self._running >= self.max_parallel or call not in self._waiting):
                self._cond.wait()
            batch = []
            if not call.done:
                self._running += 1  # this caller leads the next batch: claimed before gathering it
                self._gather(call)
                batch = self._take(call)
        if batch:
            self._answer(batch, k, mode, as_of)
        if call.error is not None:
            raise call.error
        assert call.result is not None
        call.result.milliseconds = (time.perf_counter() - started) * 1000  # as this caller waited for it
        return call.result

    def _gather(self, call: _Call) -> None:
        """Wait up to gather_seconds for the callers of the batch just answered to ask again, so that a batch
        holds every busy caller rather than half of them in turn (8 clients went in alternate batches of 4).
        A caller alone, or asking again after a pause, or with all of them waiting already, does not wait."""
        deadline = self._answered_at + self.gather_seconds
        while (left := deadline - time.perf_counter()) > 0:
            alike = [c for c in self._waiting if c.key == call.key]
            if len(alike) >= self.max_batch or not self._returning - {c.thread for c in alike}:
                return
            self._arrived.wait(left)

    def _take(self, call: _Call) -> list[_Call]:
        """``call`` and the oldest waiting calls of its kind (same retriever and arguments), up to max_batch."""
        alike = [c for c in self._waiting if c is not call and c.key == call.key]
        batch = [call, *alike[: self.max_batch - 1]]
        self._waiting = [c for c in self._waiting if c not in batch]
        return batch

    def _answer(self, batch: list[_Call], k: int, mode: str, as_of: datetime | None) -> None:
        try:
            try:
                results = self._search_many(batch, k, mode, as_of)
                for c, result in zip(batch, results, strict=True):
                    c.result = result
            except Exception:
                if len(batch) == 1:
                    raise
                for c in batch:  # one bad query must not fail the others: each is answered alone
                    try:
                        c.result = c.retriever.search(c.query, k, mode, as_of)
                    except Exception as alone:
                        c.error = alone
        except BaseException as exc:
            batch[0].error = exc
        finally:
            with self._cond:
                for c in batch:
                    if c.result is None and c.error is None:  # interrupted (KeyboardInterrupt, ...)
                        c.error = RuntimeError("the query was interrupted")
                    c.done = True
                self._running -= 1
                self._returning, self._answered_at = {c.thread for c in batch}, time.perf_counter()
                self.batches += 1
                self.queries += len(batch)
                self._cond.notify_all()
