"""Memory.index() over real ingestion (spaCy, MiniLM) on both stores: incremental equals fresh, stores agree."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pytest
from test_index_contract import assert_equivalent

from graphmem.embed import CachedEmbedder
from graphmem.extract.spacy_extractor import SpacyExtractor
from graphmem.index import RetrievalIndex, build_index
from graphmem.index_cache import CACHE_ENV
from graphmem.memory import Memory
from graphmem.store import GraphStore

REPO = Path(__file__).resolve().parents[2]
DOCUMENTS = REPO / "data/sample/documents"
MORE = [REPO / "data/sample/documents.jsonl", REPO / "data/sample/dialogues"]


@pytest.fixture(autouse=True)
def cache_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "index-cache"))


def test_the_index_follows_ingestion_incrementally(store: GraphStore, ns: str, spacy_extractor: SpacyExtractor,
                                                   embedder: CachedEmbedder) -> None:  # fmt: skip
    memory = Memory(store, ns, extractor=spacy_extractor, embedder=embedder)
    memory.add_paths([DOCUMENTS])
    first = memory.index()
    assert first.origin == "rebuild" and first.n_units > 0
    report = memory.add_paths(MORE)
    assert "index" in report.stage_seconds
    updated = memory.index()
    assert updated.origin == "incremental" and updated.n_units > first.n_units
    assert memory.index().origin == "memory"
    assert updated.units[: first.n_units] == first.units  # appended, not re-sorted
    assert_equivalent(updated, build_index(store, ns, embedder))
    again = Memory(store, ns, extractor=spacy_extractor, embedder=embedder).index()
    assert again.origin == "disk"
    assert_equivalent(again, updated)
    unchanged = memory.add_paths(MORE)  # nothing written: the index stays as it is
    assert unchanged.unchanged > 0 and "index" not in unchanged.stage_seconds
    assert memory.index().origin == "memory"
    # One retriever (walk graph, solver, BM25 index) per index content, not one per query.
    memory.retrieve("Corvin Ashdale", mode="bm25")
    retriever = memory._retrievers[ns]
    assert memory.retrieve("Kessaby harbour", mode="bm25").hits and memory._retrievers[ns] is retriever


def test_forgetting_or_replacing_a_document_rebuilds(store: GraphStore, ns: str, spacy_extractor: SpacyExtractor,
                                                     embedder: CachedEmbedder) -> None:  # fmt: skip
    memory = Memory(store, ns, extractor=spacy_extractor, embedder=embedder)
    memory.add_documents([
        {"id": "d1", "title": "Ana Brill", "text": "Ana Brill moved to Kessaby in 2019. She works at Orrin Shipworks."},
        {"id": "d2", "title": "Orrin Shipworks", "text": "Orrin Shipworks builds ferries in Kessaby."},
    ])  # fmt: skip
    assert memory.index().origin == "rebuild"
    memory.forget_document("d2")
    index = memory.index()
    assert index.origin == "rebuild" and {u.source_id for u in index.units} == {"d1"}
    assert_equivalent(index, build_index(store, ns, embedder))
    memory.add_documents([{"id": "d1", "title": "Ana Brill", "text": "Ana Brill moved to Dunmaren in 2021."}])
    replaced = memory.index()
    assert replaced.origin == "rebuild"
    assert [u.text for u in replaced.units] == ["Ana Brill moved to Dunmaren in 2021."]
    assert not any("Kessaby" in text for text in replaced.fact_texts)


def assert_identical(a: RetrievalIndex, b: RetrievalIndex) -> None:
    """Equal row by row: the same order, not just the same content."""
    assert (a.units, a.entity_ids, a.entity_names, a.entity_types, a.entity_aliases) == (
        b.units, b.entity_ids, b.entity_names, b.entity_types, b.entity_aliases)  # fmt: skip
    assert (a.facts, a.fact_texts, a.fact_provenance, a.name_to_entity) == (
        b.facts, b.fact_texts, b.fact_provenance, b.name_to_entity)  # fmt: skip
    for name in ("graph", "mentions"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.shape == y.shape and (x != y).nnz == 0, name
    for name in ("fact_valid_from", "fact_valid_to", "fact_expired_at", "synonym_pairs", "synonym_scores"):
        assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True), name
    for name in ("unit_vectors", "entity_vectors", "fact_vectors"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), atol=1e-6, err_msg=name)


@pytest.mark.neo4j
def test_both_stores_build_identical_indexes(
    embedded_store: GraphStore, neo4j_store: GraphStore, spacy_extractor: SpacyExtractor, embedder: CachedEmbedder
) -> None:
    ns = f"t{uuid.uuid4().hex[:12]}"
    try:
        indexes = []
        for backend in (embedded_store, neo4j_store):
            Memory(backend, ns, extractor=spacy_extractor, embedder=embedder).add_paths([DOCUMENTS, *MORE])
            indexes.append(build_index(backend, ns, embedder))
    finally:
        neo4j_store.delete_namespace(ns)
    assert indexes[0].n_units > 50 and len(indexes[0].facts) > 100 and np.isfinite(indexes[0].fact_valid_from).any()
    assert_identical(*indexes)
