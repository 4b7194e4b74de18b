"""Retrieval by trust (graphmem.trust.TrustPolicy): which units may be returned, and with what weight.

An excluded unit (by default: flagged, of a source short of "trusted") is dropped from every mode's
ranking. It also takes no part in the graph walk: its edges leave the walk graph, it gets no share of
the reset vector, and facts stated only by excluded units neither seed the walk nor join entities in it,
so an injected passage cannot steer what is found either.
"""

from __future__ import annotations

import numpy as np

from graphmem.index import RetrievalIndex
from graphmem.trust import TrustPolicy


class TrustGate:
    """One index under one policy; masks are computed once, per Retriever."""

    def __init__(self, index: RetrievalIndex, policy: TrustPolicy) -> None:
        excluded = np.array([policy.excludes(u.trust, bool(u.flags)) for u in index.units], dtype=bool)
        self.excluded: np.ndarray | None = excluded if excluded.any() else None
        self.weights: np.ndarray | None = None
        if any(w != 1.0 for _, w in policy.weights):  # type: ignore[misc]
            self.weights = np.array([policy.weight(u.trust) for u in index.units], dtype=np.float64)
        self._supported = self._facts_supported(index)

    def _facts_supported(self, index: RetrievalIndex) -> np.ndarray | None:
        """Per fact: not stated by excluded units alone (None when nothing is excluded)."""
        if self.excluded is None:
            return None
        dropped = {u.id for u, out in zip(index.units, self.excluded, strict=True) if out}
        return np.array([not provenance or any(p not in dropped for p in provenance)
                         for provenance in index.fact_provenance], dtype=bool)  # fmt: skip

    def facts(self, valid: np.ndarray | None) -> np.ndarray | None:
        """A fact mask narrowed to the facts some admitted unit states."""
        if self._supported is None:
            return valid
        return self._supported if valid is None else valid & self._supported

    def first_stage(self, scores: np.ndarray) -> np.ndarray:
        """First-stage relevance with excluded units at the lowest score: no prior, no bias towards them."""
        if self.excluded is None or not len(scores):
            return scores
        return np.where(self.excluded, scores.min(), scores)

    def clear(self, reset: np.ndarray) -> None:
        """No reset mass (a title's seed, the prior) on excluded units; ``reset`` covers units first."""
        if self.excluded is not None:
            reset[: len(self.excluded)][self.excluded] = 0.0

    def final(self, scores: np.ndarray) -> np.ndarray:
        """Final scores weighed by trust level, excluded units at -inf (never returned)."""
        if self.weights is not None:
            scores = np.where(scores >= 0, scores * self.weights, scores / self.weights)
        if self.excluded is not None:
            scores = np.where(self.excluded, -np.inf, scores)
        return scores
