"""Fixtures of the temporal tests: a Memory on each store with the shared spaCy extractor and embedder."""

from __future__ import annotations

import pytest

from graphmem.embed import CachedEmbedder
from graphmem.extract.spacy_extractor import SpacyExtractor
from graphmem.memory import Memory
from graphmem.store import GraphStore


@pytest.fixture
def memory(store: GraphStore, ns: str, spacy_extractor: SpacyExtractor, embedder: CachedEmbedder) -> Memory:
    return Memory(store, ns, extractor=spacy_extractor, embedder=embedder)
