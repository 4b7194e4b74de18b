"""Personalized PageRank and the retrieval modes on the sample corpus (embedded store)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from graphmem.embed import CachedEmbedder
from graphmem.extract.spacy_extractor import SpacyExtractor
from graphmem.index import build_index
from graphmem.memory import Memory
from graphmem.retrieve import MODES, Retriever
from graphmem.retrieve.ppr import personalized_pagerank, transition_matrix
from graphmem.store import EmbeddedStore

REPO = Path(__file__).resolve().parents[2]
SAMPLE = [REPO / "data/sample/documents", REPO / "data/sample/documents.jsonl", REPO / "data/sample/dialogues"]


def test_ppr_is_a_distribution_that_stays_near_its_seed() -> None:
    # a path 0-1-2-3-4 plus an isolated node 5
    edges = [(0, 1), (1, 2), (2, 3), (3, 4)]
    rows = [a for a, b in edges] + [b for a, b in edges]
    cols = [b for a, b in edges] + [a for a, b in edges]
    graph = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(6, 6))
    reset = np.zeros(6)
    reset[0] = 1.0
    scores = personalized_pagerank(transition_matrix(graph), reset, damping=0.5)
    assert scores.sum() == pytest.approx(1.0)
    assert list(np.argsort(-scores)[:5]) == [0, 1, 2, 3, 4]
    assert scores[5] == 0.0


@pytest.fixture(scope="module")
def retriever(tmp_path_factory: pytest.TempPathFactory) -> Retriever:
    from graphmem.embed import SentenceTransformerEmbedder

    path = tmp_path_factory.mktemp("sample")
    embedder = CachedEmbedder(SentenceTransformerEmbedder(), path / "cache.sqlite3")
    memory = Memory(EmbeddedStore(path / "graph.sqlite3"), "sample", extractor=SpacyExtractor(), embedder=embedder)
    memory.add_paths(SAMPLE)
    return Retriever(build_index(memory.store, "sample", embedder), embedder)


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_ranks_the_stated_passage_first(retriever: Retriever, mode: str) -> None:
    hits = retriever.retrieve("Who designed the Skarrow Head lighthouse?", k=3, mode=mode)
    assert len(hits) == 3 and [h.rank for h in hits] == [1, 2, 3]
    assert "skarrow-head-lighthouse" in hits[0].unit.source_id or "Skarrow" in hits[0].unit.text


def test_ppr_explains_which_entities_seeded_it(retriever: Retriever) -> None:
    [top] = retriever.retrieve("Where was Casimir Lovatt born?", k=1, mode="ppr")
    assert "Casimir Lovatt" in top.why["seeds"]
    assert "Ardloch" in top.unit.text


def test_unknown_mode_is_refused(retriever: Retriever) -> None:
    with pytest.raises(ValueError, match="unknown mode"):
        retriever.retrieve("anything", mode="magic")
