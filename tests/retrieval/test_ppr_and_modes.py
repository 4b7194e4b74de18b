"""Personalized PageRank and the retrieval modes on the sample corpus (embedded store)."""

from __future__ import annotations

import json
import subprocess
import sys
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
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample corpus ingested into an embedded store, its embeddings cached beside it."""
    from graphmem.embed import SentenceTransformerEmbedder

    path = tmp_path_factory.mktemp("sample") / "graph.sqlite3"
    embedder = CachedEmbedder(SentenceTransformerEmbedder(), path.with_name("graph.embeddings.sqlite3"))
    Memory(EmbeddedStore(path), "sample", extractor=SpacyExtractor(), embedder=embedder).add_paths(SAMPLE)
    embedder.close()
    return path


@pytest.fixture(scope="module")
def retriever(sample_store: Path) -> Retriever:
    memory = Memory(EmbeddedStore(sample_store), "sample")
    return Retriever(build_index(memory.store, "sample", memory.embedder), memory.embedder)


def test_cli_ask_prints_hits_as_json(sample_store: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "graphmem.cli", "ask", "Where was Casimir Lovatt born?", "--store",
                           str(sample_store), "--namespace", "sample", "--json", "--k", "2"], capture_output=True,
                          text=True, timeout=300, cwd=REPO)  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [h["rank"] for h in result["hits"]] == [1, 2]
    assert "Casimir Lovatt" in [seed["entity"] for seed in result["seeds"]]
    top = result["hits"][0]
    assert top["path"]["seed"]["name"] in [seed["entity"] for seed in result["seeds"]] and top["source"]


@pytest.mark.parametrize("mode", MODES)
def test_every_mode_ranks_the_stated_passage_first(retriever: Retriever, mode: str) -> None:
    hits = retriever.retrieve("Who designed the Skarrow Head lighthouse?", k=3, mode=mode)
    assert len(hits) == 3 and [h.rank for h in hits] == [1, 2, 3]
    assert "skarrow-head-lighthouse" in hits[0].unit.source_id or "Skarrow" in hits[0].unit.text


def test_ppr_explains_which_entities_seeded_it(retriever: Retriever) -> None:
    [top] = retriever.retrieve("Where was Casimir Lovatt born?", k=1, mode="ppr")
    assert "Casimir Lovatt" in [seed["entity"] for seed in top.why["seeds"]]
    assert "Ardloch" in top.unit.text


def test_unknown_mode_is_refused(retriever: Retriever) -> None:
    with pytest.raises(ValueError, match="unknown mode"):
        retriever.retrieve("anything", mode="magic")
