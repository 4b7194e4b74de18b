"""Embeddings: the real bundled MiniLM model, offline, and the SQLite cache in front of it."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from graphmem import embed
from graphmem.embed import CachedEmbedder, Embedder, EmbedderWrapper, SentenceTransformerEmbedder


class CountingEmbedder(EmbedderWrapper):
    """Passes through to the real model and records every batch that reached it."""

    def __init__(self, inner: Embedder) -> None:
        super().__init__(inner)
        self.batches: list[list[str]] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.batches.append(list(texts))
        return self.inner.encode(texts)


@pytest.fixture(scope="module")
def model() -> SentenceTransformerEmbedder:
    embedder = SentenceTransformerEmbedder()
    embedder.encode(["warm up"])
    return embedder


def test_loads_offline_and_lazily() -> None:
    embedder = SentenceTransformerEmbedder()
    assert embedder._model is None
    assert embedder.model_name == "all-MiniLM-L6-v2"


def test_shape_dtype_and_unit_rows(model: SentenceTransformerEmbedder) -> None:
    vectors = model.encode(["The ferry left Kessaby at dawn.", "Dagny Orrin was an engineer.", "x"])
    assert model.dimension == 384
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert os.environ.get("HF_HUB_OFFLINE") == "1"


def test_close_sentences_score_higher(model: SentenceTransformerEmbedder) -> None:
    anchor, close, far = model.encode(
        [
            "The harbour town built a new electric ferry.",
            "A battery-powered ferry was constructed for the port town.",
            "My favourite recipe for lemon cake uses three eggs.",
        ]
    )
    assert float(anchor @ close) > float(anchor @ far) + 0.2


def test_empty_input(model: SentenceTransformerEmbedder) -> None:
    empty = model.encode([])
    assert empty.shape == (0, 384)
    assert empty.dtype == np.float32


def test_cache_returns_identical_vectors_and_counts(model: SentenceTransformerEmbedder, tmp_path: Path) -> None:
    counting = CountingEmbedder(model)
    texts = ["Lovatt ordered the Skelda.", "She studied at Ellastra University.", "Kessaby is a town."]
    with CachedEmbedder(counting, tmp_path / "cache.sqlite3") as cache:
        first = cache.encode(texts)
        assert (cache.hits, cache.misses) == (0, 3)
        second = cache.encode(texts)
        assert (cache.hits, cache.misses) == (3, 3)
        assert len(counting.batches) == 1
        np.testing.assert_array_equal(first, second)
        np.testing.assert_allclose(first, model.encode(texts), atol=1e-6)
        # A mix of cached and new texts comes back in input order.
        mixed = cache.encode([texts[2], "A new sentence about lighthouses.", texts[0]])
        assert counting.batches[-1] == ["A new sentence about lighthouses."]
        np.testing.assert_array_equal(mixed[0], first[2])
        np.testing.assert_array_equal(mixed[2], first[0])
        assert cache.encode([]).shape == (0, 384)


def test_cache_persists_across_reopen(model: SentenceTransformerEmbedder, tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    texts = ["Teodric Vansell designed the lighthouse.", "The choir sang in March 2019."]
    with CachedEmbedder(model, path) as cache:
        first = cache.encode(texts)
    counting = CountingEmbedder(model)
    with CachedEmbedder(counting, path) as reopened:
        assert reopened.dimension == 384
        again = reopened.encode(texts)
        assert (reopened.hits, reopened.misses) == (2, 0)
    assert counting.batches == []
    np.testing.assert_array_equal(first, again)


def test_duplicates_in_one_call_are_encoded_once(model: SentenceTransformerEmbedder, tmp_path: Path) -> None:
    counting = CountingEmbedder(model)
    texts = ["same text", "other text", "same text", "same text"]
    with CachedEmbedder(counting, tmp_path / "cache.sqlite3") as cache:
        vectors = cache.encode(texts)
        assert counting.batches == [["same text", "other text"]]
        assert cache.misses == 2
        assert cache.hits + cache.misses == len(texts)
    np.testing.assert_array_equal(vectors[0], vectors[2])
    np.testing.assert_array_equal(vectors[0], vectors[3])
    assert vectors.shape == (4, 384)


def test_lookups_cross_the_in_chunk(
    model: SentenceTransformerEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embed, "_IN_CHUNK", 3)  # small chunks, so a few texts span several queries
    texts = [f"item number {i}" for i in range(10)]
    with CachedEmbedder(model, tmp_path / "cache.sqlite3") as cache:
        first = cache.encode(texts)
        second = cache.encode(list(reversed(texts)))
        assert (cache.hits, cache.misses) == (10, 10)
    np.testing.assert_array_equal(first[::-1], second)
