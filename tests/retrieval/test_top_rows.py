"""top_rows: the k best rows by partition, in exactly the order a full stable sort gives."""

from __future__ import annotations

import numpy as np

from graphmem.retrieve.core import top_rows


def test_top_rows_matches_a_stable_full_sort_with_ties_and_minus_infinity() -> None:
    rng = np.random.default_rng(7)
    for _ in range(500):
        n = int(rng.integers(1, 40))
        scores = rng.integers(0, 4, n).astype(float)  # many ties
        scores[rng.random(n) < 0.2] = -np.inf
        k = int(rng.integers(0, 50))
        assert top_rows(scores, k).tolist() == np.argsort(-scores, kind="stable")[:k].tolist()


def test_top_rows_of_nothing_is_empty() -> None:
    assert top_rows(np.zeros(0), 3).tolist() == [] and top_rows(np.ones(3), 0).tolist() == []
