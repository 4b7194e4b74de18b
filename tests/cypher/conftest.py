"""The sample corpus on the real Neo4j server, once for the package's tests: ingested into a fresh
namespace, reconsolidated, clustered into communities and with its embeddings on the nodes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from graphmem.cli import SAMPLE_PATHS
from graphmem.cypher_run import store_embeddings
from graphmem.embed import CachedEmbedder
from graphmem.extract.spacy_extractor import SpacyExtractor
from graphmem.memory import Memory
from graphmem.store.neo4j import Neo4jStore


@pytest.fixture(scope="package")
def sample(neo4j_store: Neo4jStore, spacy_extractor: SpacyExtractor, embedder: CachedEmbedder) -> Iterator[Memory]:
    """A Memory on the sample corpus (the tests only read it). Not closed: the store is the session's."""
    namespace = f"t{uuid.uuid4().hex[:12]}"
    memory = Memory(neo4j_store, namespace, extractor=spacy_extractor, embedder=embedder)
    report = memory.add_paths(SAMPLE_PATHS)
    assert report.documents == 14 and report.dialogues == 2, report.summary()
    memory.reconsolidate()
    memory.build_communities(llm=False)
    store_embeddings(memory)
    yield memory
    neo4j_store.delete_namespace(namespace)
