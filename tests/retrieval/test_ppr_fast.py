"""The fast PPR (conjugate gradients on the symmetric form, loose stopping rule) against an exact
sparse linear solve, and the latency benchmark at a tiny size."""

from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from graphmem.bench import ppr_latency
from graphmem.embed import CachedEmbedder
from graphmem.retrieve.ppr import PageRankSolver, TransitionMatrix, personalized_pagerank, transition_matrix


def random_graph(n: int, edges: int, isolated: int, seed: int) -> sp.csr_matrix:
    """A symmetric graph with heavy-tailed positive weights; its last ``isolated`` nodes have no edges."""
    rng = np.random.default_rng(seed)
    linked = n - isolated
    a, b = rng.integers(0, linked, edges), rng.integers(0, linked, edges)
    keep = a != b
    a, b = a[keep], b[keep]
    weights = rng.pareto(2.0, len(a)) + 0.1
    graph = sp.csr_matrix((np.concatenate([weights, weights]), (np.concatenate([a, b]), np.concatenate([b, a]))),
                          shape=(n, n))  # fmt: skip
    graph.sum_duplicates()
    return graph


def exact(graph: sp.csr_matrix, reset: np.ndarray, damping: float, bias: np.ndarray | None = None) -> np.ndarray:
    """Solve (I − d·T)·x = (1 − d)·r directly; the walk's lost mass only rescales x, so normalise.
    T_ij = b_i·w_ij / (W·b)_j, which is W·D⁻¹ without a bias."""
    b = np.ones(graph.shape[0]) if bias is None else bias
    spread = graph.T @ b  # what each node spreads over: Σ_i w_ij·b_i
    inverse = np.divide(1.0, spread, out=np.zeros_like(spread), where=spread > 0)
    transition = sp.diags(b) @ graph @ sp.diags(inverse)
    system = sp.identity(graph.shape[0], format="csc") - damping * transition.tocsc()
    solution = spla.spsolve(system, (1.0 - damping) * reset / reset.sum())
    return solution / solution.sum()


def top(scores: np.ndarray, k: int = 10) -> list[int]:
    return [int(i) for i in np.argsort(-scores, kind="stable")[:k]]


def resets(n: int, isolated: int, seed: int) -> dict[str, np.ndarray]:
    """Like the retriever's: a dense prior over many nodes plus a few heavier seeds; and the extremes."""
    rng = np.random.default_rng(seed + 100)
    prior = np.zeros(n)
    prior[: n // 2] = rng.random(n // 2) * 0.2
    prior[rng.integers(0, n - isolated, 3)] += rng.random(3)
    one = np.zeros(n)
    one[int(rng.integers(0, n - isolated))] = 1.0
    with_isolated = rng.random(n) ** 4
    with_isolated[n - 1] = 2.0  # the heaviest reset on a node without edges
    return {"prior and seeds": prior, "one node": one, "isolated heaviest": with_isolated}


CASES = [(200, 600, 0, 1), (400, 1500, 20, 2), (1000, 2500, 50, 3), (1500, 12000, 5, 4), (300, 320, 30, 5)]


@pytest.mark.parametrize(("n", "edges", "isolated", "seed"), CASES)
def test_fast_ppr_ranks_like_an_exact_solve(n: int, edges: int, isolated: int, seed: int) -> None:
    graph = random_graph(n, edges, isolated, seed)
    transition = transition_matrix(graph)
    assert isinstance(transition, TransitionMatrix) and transition.solver is not None
    for name, reset in resets(n, isolated, seed).items():
        reference = exact(graph, reset, 0.5)
        scores = personalized_pagerank(transition, reset, damping=0.5)
        assert scores.sum() == pytest.approx(1.0, abs=1e-9), name
        assert scores.min() >= 0.0, name
        assert np.abs(scores - reference).sum() <= 1e-5, name  # the default tol bounds the L1 error
        assert top(scores) == top(reference), name


@pytest.mark.parametrize("damping", [0.3, 0.5, 0.85])
def test_other_dampings_and_a_tight_tolerance(damping: float) -> None:
    graph = random_graph(800, 3000, 10, seed=9)
    transition = transition_matrix(graph)
    reset = resets(800, 10, seed=9)["prior and seeds"]
    reference = exact(graph, reset, damping)
    assert top(personalized_pagerank(transition, reset, damping), 20) == top(reference, 20)
    precise = personalized_pagerank(transition, reset, damping, tol=1e-10)  # float64 solve
    assert np.abs(precise - reference).sum() <= 1e-10


def test_a_plain_transition_takes_the_step_by_step_walk() -> None:
    graph = random_graph(500, 2000, 10, seed=6)
    reset = resets(500, 10, seed=6)["prior and seeds"]
    reference = exact(graph, reset, 0.5)
    plain = sp.csr_matrix(transition_matrix(graph))
    assert not isinstance(plain, TransitionMatrix)
    walked = personalized_pagerank(plain, reset, 0.5)
    assert top(walked) == top(reference) and np.abs(walked - reference).sum() <= 1e-5


def directed_graph(n: int, seed: int) -> sp.csr_matrix:
    """Mostly symmetric, plus one-way edges like the retriever's topic edges; node 0 only receives (a sink)."""
    graph = random_graph(n, 4 * n, n // 20, seed).tolil()
    rng = np.random.default_rng(seed)
    for j, i in rng.integers(1, n - n // 20, (n // 5, 2)):
        graph[i, j] = graph[i, j] + 5.0  # the step j -> i, five times heavier one way
    graph[0, :] = 0.0
    graph[:, 0] = 0.0
    graph[0, 5] = 2.0  # 5 -> 0, and nothing leaves 0
    graph = graph.tocsr()
    graph.eliminate_zeros()
    return graph


BIASES = ["none", "relevance", "a zero"]


@pytest.mark.parametrize("directed", [False, True])
@pytest.mark.parametrize("bias_kind", BIASES)
def test_a_biased_walk_ranks_like_an_exact_solve(directed: bool, bias_kind: str) -> None:
    """As the retriever walks: units (the first half) biased by relevance plus a floor, entities by 1;
    also a zero bias on a node with edges, which then receives nothing."""
    n = 1200
    graph = directed_graph(n, seed=12) if directed else random_graph(n, 5000, 30, seed=12)
    solver = PageRankSolver(graph)
    assert solver.symmetric is not directed
    rng = np.random.default_rng(12)
    bias = None if bias_kind == "none" else np.concatenate([rng.random(n // 2) + 0.05, np.ones(n - n // 2)])
    if bias is not None and bias_kind == "a zero":
        bias[[3, 700]] = 0.0
    for name, reset in resets(n, 30 if not directed else n // 20, seed=12).items():
        reference = exact(graph, reset, 0.5, bias)
        scores = solver.solve(reset, 0.5, bias)
        assert scores.sum() == pytest.approx(1.0) and scores.min() >= 0.0, name
        assert np.abs(scores - reference).sum() <= 1e-5, name
        assert top(scores[: n // 2], 20) == top(reference[: n // 2], 20), name
        assert np.abs(solver.solve(reset, 0.5, bias, tol=1e-10) - reference).sum() <= 1e-10, name


def test_the_power_iteration_agrees_where_krylov_does_not_apply() -> None:
    graph = directed_graph(300, seed=3)
    reset = resets(300, 15, seed=3)["prior and seeds"]
    transition = transition_matrix(graph)
    assert transition.solver is not None
    walked = personalized_pagerank(sp.csr_matrix(transition), reset, 0.5, tol=1e-12)
    assert np.abs(walked - exact(graph, reset, 0.5)).sum() <= 1e-10
    assert personalized_pagerank(transition, reset, 1.0).sum() == pytest.approx(1.0)  # no jump back: walks only


def test_the_solver_refuses_negative_weights() -> None:
    graph = random_graph(50, 100, 0, seed=1)
    graph.data[0] = -1.0
    with pytest.raises(ValueError, match="non-negative"):
        PageRankSolver(graph)
    assert transition_matrix(graph).solver is None


def test_zero_reset_gives_zeros() -> None:
    transition = transition_matrix(random_graph(50, 100, 5, seed=1))
    for matrix in (transition, sp.csr_matrix(transition)):
        scores = personalized_pagerank(matrix, np.zeros(50))
        assert scores.shape == (50,) and not scores.any()
    assert transition.solver is not None and not transition.solver.solve(np.zeros(50), bias=np.ones(50)).any()


def test_a_graph_without_edges_returns_the_reset() -> None:
    reset = np.array([0.0, 3.0, 1.0])
    scores = personalized_pagerank(transition_matrix(sp.csr_matrix((3, 3))), reset)
    assert scores == pytest.approx([0.0, 0.75, 0.25])


def test_synthetic_index_has_the_asked_shape() -> None:
    index = ppr_latency.synthetic_index(n_entities=300, n_edges=2000, n_passages=100, mentions_per_passage=3)
    assert index.n_units == 100 and len(index.entity_ids) == 300
    assert index.graph.nnz == 2 * 2000 and abs(index.graph - index.graph.T).max() == 0
    assert len(index.facts) == index.graph.nnz // 2 - index.mentions.nnz == len(index.fact_vectors)
    assert index.entity_passage_counts().min() >= 1  # every entity is mentioned
    assert len(set(index.name_to_entity)) == 300
    assert np.allclose(np.linalg.norm(index.unit_vectors, axis=1), 1.0, atol=1e-5)


def test_benchmark_runs_end_to_end(embedder: CachedEmbedder, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--entities", "500", "--edges", "3000", "--passages", "200", "--queries", "6"]
    assert ppr_latency.main(argv, embedder=embedder) == 0
    out = capsys.readouterr().out
    for figure in ("200 passages + 500 entities", "Retriever build", "ppr    whole query", "dense  whole query",
                   *ppr_latency.PIECES):  # fmt: skip
        assert figure in out, out
    assert "p95" in out and "MB" in out
    solve = re.search(r"ppr solve\s+p50\s+([\d.]+)", out)
    assert solve is not None and float(solve.group(1)) > 0, out  # the solver's time was booked, not lost in "other"
