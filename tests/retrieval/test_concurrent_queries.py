"""Many threads asking one Memory at once get what they would get one at a time (their questions' embeddings
are batched together), on both stores; the load benchmark's client loop runs without errors."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from graphmem.bench.load import questions, run_clients
from graphmem.cli import SAMPLE_PATHS
from graphmem.embed import CachedEmbedder
from graphmem.embed_batching import BatchingEmbedder
from graphmem.extract.spacy_extractor import SpacyExtractor
from graphmem.memory import Memory
from graphmem.store import GraphStore

ASKED = [
    "What does the man who restored the Lunnock tide mill collect?", "Who is the mayor of Kessaby?",
    "Where was Casimir Lovatt born?", "What did Oskar say about the honey?", "Who runs the Tarnel ferry?",
    "When did Rhoswen Aldane die?", "What does Orrin Shipworks build?", "Where does Idris Calloway work?",
]


def test_concurrent_queries_answer_as_serial_ones(store: GraphStore, ns: str, spacy_extractor: SpacyExtractor,
                                                  embedder: CachedEmbedder) -> None:  # fmt: skip
    memory = Memory(store, ns, extractor=spacy_extractor, embedder=embedder)
    memory.add_paths(SAMPLE_PATHS)
    jobs = [(question, mode) for question in ASKED for mode in ("ppr", "hybrid", "dense", "bm25")]
    serial = [memory.retrieve(question, k=5, mode=mode) for question, mode in jobs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(lambda job: memory.retrieve(job[0], k=5, mode=job[1]), jobs * 2))
    for (question, mode), alone, together in zip(jobs * 2, serial * 2, concurrent, strict=True):
        assert [h.unit.id for h in together.hits] == [h.unit.id for h in alone.hits], (question, mode)
        assert np.allclose([h.score for h in together.hits], [h.score for h in alone.hits], atol=1e-4)
    batching = memory._questions()
    assert isinstance(batching, BatchingEmbedder) and batching.texts >= 2 * len(ASKED)


def test_the_load_benchmark_clients_run_without_errors(embedded_store: GraphStore, spacy_extractor: SpacyExtractor,
                                                       embedder: CachedEmbedder) -> None:  # fmt: skip
    memory = Memory(embedded_store, "load", extractor=spacy_extractor, embedder=embedder)
    memory.add_paths(SAMPLE_PATHS)
    asked = questions(memory, 50)
    assert len(asked) == 50 and all("?" in q for q in asked)
    row = run_clients(memory, asked, clients=4, seconds=2.0, mode="ppr")
    assert row["clients"] == 4 and row["queries"] >= 4 and row["errors"] == 0 and row["p95"] >= row["p50"] > 0
