"""Personalized PageRank by power iteration over a sparse, symmetric, weighted graph."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def transition_matrix(graph: sp.csr_matrix) -> sp.csr_matrix:
    """Column-stochastic W·D⁻¹: a walker at node j moves to i with probability w_ij / deg_j."""
    degree = np.asarray(graph.sum(axis=0)).ravel()
    inverse = np.divide(1.0, degree, out=np.zeros_like(degree), where=degree > 0)
    return (graph @ sp.diags(inverse)).tocsr()


def personalized_pagerank(transition: sp.csr_matrix, reset: np.ndarray, damping: float = 0.5,
                          max_iter: int = 60, tol: float = 1e-9) -> np.ndarray:  # fmt: skip
    """Stationary visit probabilities of a walk that follows an edge with probability ``damping``
    and jumps back to the reset distribution otherwise. Mass that reaches a node without edges
    returns to the reset distribution, so the result always sums to one."""
    total = reset.sum()
    if total <= 0:
        return np.zeros_like(reset)
    reset = reset / total
    scores = reset.copy()
    for _ in range(max_iter):
        walked = transition @ scores
        lost = 1.0 - walked.sum()
        updated = (1.0 - damping) * reset + damping * (walked + lost * reset)
        if np.abs(updated - scores).sum() < tol:
            return updated
        scores = updated
    return scores
