"""Queries answered together (graphmem.retrieve.batch) get what each gets alone, on both stores; the batcher
gathers waiting calls of one kind into one batch, and one bad query in a batch fails only itself."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import numpy as np
import pytest

from graphmem.cli import SAMPLE_PATHS
from graphmem.embed import CachedEmbedder
from graphmem.extract.spacy_extractor import SpacyExtractor
from graphmem.memory import Memory
from graphmem.retrieve import Retrieval, Retriever
from graphmem.retrieve.batch import QueryBatcher, search_many
from graphmem.store import GraphStore

ASKED = [
    "What does the man who restored the Lunnock tide mill collect?", "Who is the mayor of Kessaby?",
    "Where was Casimir Lovatt born?", "What did Oskar say about the honey?", "Who runs the Tarnel ferry?",
    "When did Rhoswen Aldane die?", "What does Orrin Shipworks build?", "Where does Idris Calloway work?",
    "What is the weather like?",  # names nothing in the graph: answered by the first stage alone
]


def close(a: object, b: object) -> bool:
    """Equal, but for floats within 1e-4: a batch embeds and scores with matrix products, one query with vector
    products, and their last bits differ."""
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-4
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[key], b[key]) for key in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def same(alone: Retrieval, together: Retrieval) -> None:
    assert [h.unit.id for h in together.hits] == [h.unit.id for h in alone.hits], alone.query
    assert np.allclose([h.score for h in together.hits], [h.score for h in alone.hits], atol=1e-4), alone.query
    assert close(together.seeds, alone.seeds) and close(together.facts, alone.facts), alone.query
    assert together.latest == alone.latest and together.fallback == alone.fallback
    assert close([h.path for h in together.hits], [h.path for h in alone.hits]), alone.query
    if together.hits:
        assert close(together.hits[0].why, alone.hits[0].why)


@pytest.fixture
def retriever(store: GraphStore, ns: str, spacy_extractor: SpacyExtractor, embedder: CachedEmbedder) -> Retriever:
    memory = Memory(store, ns, extractor=spacy_extractor, embedder=embedder)
    memory.add_paths(SAMPLE_PATHS)
    memory.retrieve(ASKED[0])
    [retriever] = memory._retrievers.values()
    return retriever


@pytest.mark.parametrize("mode", ["ppr", "hybrid"])
def test_a_batch_answers_each_query_as_it_is_answered_alone(retriever: Retriever, mode: str) -> None:
    for as_of in (None, datetime(2021, 1, 1, tzinfo=UTC)):
        together = search_many(retriever, ASKED, k=6, mode=mode, as_of=as_of)
        assert len(together) == len(ASKED)
        for question, result in zip(ASKED, together, strict=True):
            same(retriever.search(question, k=6, mode=mode, as_of=as_of), result)
    assert any(r.fallback for r in together) and any(r.seeds for r in together)


def waiting_calls(batcher: QueryBatcher, retriever: Retriever, asked: list[object]) -> list[dict[str, object]]:
    """Each question asked by its own thread while every batch slot is taken, then the slots freed at once: the
    calls are all waiting by then, so the first caller to run answers all of them in one batch."""
    outcomes: list[dict[str, object]] = [{} for _ in asked]

    def ask(i: int) -> None:
        try:
            outcomes[i]["result"] = batcher.search(retriever, asked[i], k=5, mode="ppr")  # type: ignore[arg-type]
        except Exception as exc:
            outcomes[i]["error"] = exc

    with batcher._cond:
        batcher._running = batcher.max_parallel
    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(asked))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while len(batcher._waiting) < len(asked) and time.monotonic() < deadline:
        time.sleep(0.01)
    with batcher._cond:
        assert len(batcher._waiting) == len(asked)
        batcher._running = 0
        batcher._cond.notify_all()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_waiting_calls_are_answered_in_one_batch(retriever: Retriever) -> None:
    batcher = QueryBatcher(max_batch=8, max_parallel=2)
    outcomes = waiting_calls(batcher, retriever, ASKED[:6])
    assert (batcher.batches, batcher.queries) == (1, 6)
    for question, outcome in zip(ASKED[:6], outcomes, strict=True):
        result = outcome["result"]
        assert isinstance(result, Retrieval) and result.milliseconds > 0
        same(retriever.search(question, k=5, mode="ppr"), result)
    alone = batcher.search(retriever, ASKED[1], k=5, mode="ppr")  # nobody else asking: a batch of one
    same(retriever.search(ASKED[1], k=5, mode="ppr"), alone)
    assert (batcher.batches, batcher.queries) == (2, 7)


def test_one_bad_query_fails_alone_and_the_batch_cap_holds(retriever: Retriever) -> None:
    batcher = QueryBatcher(max_batch=4, max_parallel=1)
    asked: list[object] = [ASKED[0], None, ASKED[2], ASKED[3], ASKED[4], ASKED[5]]
    outcomes = waiting_calls(batcher, retriever, asked)
    assert "error" in outcomes[1] and "result" not in outcomes[1]
    for i in (0, 2, 3, 4, 5):
        assert "error" not in outcomes[i]
        same(retriever.search(asked[i], k=5, mode="ppr"), outcomes[i]["result"])  # type: ignore[arg-type]
    assert batcher.queries == 6 and batcher.batches >= 2  # at most 4 per batch


def test_other_modes_are_not_batched(retriever: Retriever) -> None:
    batcher = QueryBatcher()
    for mode in ("dense", "bm25"):
        same(retriever.search(ASKED[2], k=5, mode=mode), batcher.search(retriever, ASKED[2], k=5, mode=mode))
    with pytest.raises(ValueError, match="unknown mode"):
        batcher.search(retriever, ASKED[2], mode="psychic")
    assert batcher.batches == 0


def test_batches_of_several_run_on_the_batchers_thread_which_close_stops(retriever: Retriever) -> None:
    def batch_threads() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name.startswith("graphmem-batch")]

    batcher = QueryBatcher(max_batch=8, max_parallel=1)
    before = len(batch_threads())
    seen: list[str] = []
    search = retriever.search

    def noting(*args: object, **kwargs: object) -> Retrieval:
        seen.append(threading.current_thread().name)
        return search(*args, **kwargs)  # type: ignore[arg-type]

    retriever.search = noting  # type: ignore[method-assign]  # used by the one-query path only
    try:
        waiting_calls(batcher, retriever, ASKED[:3])
        batcher.search(retriever, ASKED[3], k=5, mode="ppr")  # alone: answered on the caller's thread
    finally:
        del retriever.search
    assert seen == [threading.current_thread().name]
    assert len(batch_threads()) == before + 1
    batcher.close()
    assert len(batch_threads()) == before
    outcomes = waiting_calls(batcher, retriever, ASKED[:2])  # started again
    assert all("result" in o for o in outcomes) and (batcher.batches, batcher.queries) == (3, 6)
    batcher.close()


def test_a_batch_split_in_two_halves_answers_as_each_query_alone(retriever: Retriever) -> None:
    asked = ASKED[:5]  # 3 on the helper's thread, 2 on this one
    with ThreadPoolExecutor(1, thread_name_prefix="helper") as helper:
        halves = search_many(retriever, asked, k=5, mode="ppr", helper=helper)
    whole = search_many(retriever, asked, k=5, mode="ppr")
    assert [r.query for r in halves] == asked
    for question, half, together in zip(asked, halves, whole, strict=True):
        same(retriever.search(question, k=5, mode="ppr"), half)
        same(together, half)
