"""The block solve of several PPR rows at once against ``PageRankSolver.solve`` of each row, on graphs with the
cases the single solver handles apart: one-way edges, isolated nodes, nodes with zero bias, sinks, zero resets."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from graphmem.retrieve.ppr import PageRankSolver
from graphmem.retrieve.ppr_many import solve_many
from tests.retrieval.test_ppr_fast import random_graph, top


def one_way(graph: sp.csr_matrix, seed: int, extra: int = 60) -> sp.csr_matrix:
    """The graph plus one-way edges (entry [i, j] only), like the retriever's topic edges."""
    rng = np.random.default_rng(seed)
    n = graph.shape[0]
    a, b = rng.integers(0, n - 5, extra), rng.integers(0, n - 5, extra)
    return (graph + sp.csr_matrix((np.full(extra, 3.0), (a, b)), shape=(n, n))).tocsr()


def rows(n: int, m: int, isolated: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """m resets (a prior plus seeds; one all-zero row) and m biases (some nodes at zero: they receive nothing)."""
    rng = np.random.default_rng(seed)
    resets = np.zeros((m, n))
    resets[:, : n // 2] = rng.random((m, n // 2)) * 0.2
    for row in resets:
        row[rng.integers(0, n - isolated, 3)] += rng.random(3)
    resets[1] = 0.0
    biases = rng.random((m, n)) + 0.05
    biases[:, rng.integers(0, n, 20)] = 0.0
    return resets, biases


@pytest.mark.parametrize("directed", [False, True])
@pytest.mark.parametrize("biased", [False, True])
@pytest.mark.parametrize("reorder", [False, True])
def test_every_row_solves_as_it_would_alone(directed: bool, biased: bool, reorder: bool) -> None:
    n, isolated = 6_000, 40
    graph = random_graph(n, 30_000, isolated, seed=5)
    if directed:
        graph = one_way(graph, seed=6)
    solver = PageRankSolver(graph, reorder=reorder)
    assert solver.symmetric is not directed
    assert (solver.order is not None) is reorder
    resets, biases = rows(n, 7, isolated, seed=9)
    together = solve_many(solver, resets, 0.5, biases if biased else None)
    assert together.shape == resets.shape
    for i in range(len(resets)):
        alone = solver.solve(resets[i], 0.5, biases[i] if biased else None)
        if not resets[i].any():
            assert not together[i].any()
            continue
        assert together[i].sum() == pytest.approx(1.0)
        # both stop at an L1 error of 1e-5 from the exact solution
        assert np.abs(together[i] - alone).sum() < 2e-5
        assert top(together[i], 20) == top(alone, 20)


def test_one_row_and_float64_are_solved_alone_exactly_as_solve() -> None:
    graph = random_graph(800, 4_000, 10, seed=2)
    solver = PageRankSolver(graph)
    resets, biases = rows(800, 3, 10, seed=3)
    one = solve_many(solver, resets[:1], 0.5, biases[:1])
    assert np.array_equal(one[0], solver.solve(resets[0], 0.5, biases[0]))
    precise = solve_many(solver, resets, 0.5, biases, tol=1e-9)
    for i in (0, 2):
        assert np.array_equal(precise[i], solver.solve(resets[i], 0.5, biases[i], tol=1e-9))


def test_a_block_of_the_wrong_shape_is_refused() -> None:
    solver = PageRankSolver(random_graph(100, 300, 0, seed=1))
    with pytest.raises(ValueError, match="100 nodes"):
        solve_many(solver, np.ones((2, 99)))
