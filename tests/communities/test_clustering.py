"""The pure core: planted communities are recovered, the hierarchy respects max_size, ids stay stable."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from graphmem.communities.clustering import ClusterConfig, cluster, level_membership, modularity, symmetric
from graphmem.communities.ids import fresh_id, match_ids


def adjusted_rand(a: np.ndarray, b: np.ndarray) -> float:
    """Hubert and Arabie's adjusted Rand index of two labelings."""

    def pairs(counts: np.ndarray) -> float:
        return float((counts * (counts - 1) / 2).sum())

    table = Counter(zip(a.tolist(), b.tolist(), strict=True))
    index = pairs(np.array(list(table.values())))
    rows, cols = pairs(np.unique(a, return_counts=True)[1]), pairs(np.unique(b, return_counts=True)[1])
    expected = rows * cols / pairs(np.array([len(a)]))
    return (index - expected) / ((rows + cols) / 2 - expected)


def planted(groups: int, size: int, p_in: float, p_out: float, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """A stochastic block model: (sources, targets) and each vertex's planted group."""
    rng = np.random.default_rng(seed)
    n = groups * size
    truth = np.repeat(np.arange(groups), size)
    a, b = np.triu_indices(n, k=1)
    same = truth[a] == truth[b]
    keep = rng.random(len(a)) < np.where(same, p_in, p_out)
    return np.column_stack([a[keep], b[keep]]), truth


def keys(n: int) -> list[str]:
    return [f"e{i:05d}" for i in range(n)]


@pytest.mark.parametrize("backend", ["leidenalg", "igraph"])
def test_planted_leaf_communities_are_recovered(backend: str) -> None:
    edges, truth = planted(groups=30, size=8, p_in=0.7, p_out=0.01)
    graph = symmetric(len(truth), edges[:, 0], edges[:, 1], np.ones(len(edges)))
    result = cluster(graph, keys(len(truth)), ClusterConfig(backend=backend))
    leaves = level_membership(result, len(truth), level=max(c.level for c in result.clusters))
    assert np.flatnonzero(leaves < 0).tolist() == result.isolated  # a vertex the sampling left without edges
    placed = leaves >= 0
    assert adjusted_rand(truth[placed], leaves[placed]) >= 0.9
    parents = {c.parent for c in result.clusters}
    assert all(len(c.members) <= 10 for i, c in enumerate(result.clusters) if i not in parents)


def test_large_planted_groups_are_level_zero_and_split_below() -> None:
    edges, truth = planted(groups=6, size=40, p_in=0.3, p_out=0.002)
    graph = symmetric(len(truth), edges[:, 0], edges[:, 1], np.ones(len(edges)))
    result = cluster(graph, keys(len(truth)), ClusterConfig(max_size=10))
    top = level_membership(result, len(truth), level=0)
    assert adjusted_rand(truth, top) >= 0.9
    parents = {c.parent for c in result.clusters if c.parent is not None}
    for index, item in enumerate(result.clusters):
        if index not in parents:  # a leaf: it fits, or Leiden would not split it
            assert len(item.members) <= 10 or item.level == ClusterConfig().max_levels - 1
        else:  # its children partition it
            children = [set(c.members) for c in result.clusters if c.parent == index]
            assert set().union(*children) == set(item.members) and sum(map(len, children)) == len(item.members)
    assert modularity(graph, top) > 0.6


def test_isolated_entities_are_listed_or_made_singletons() -> None:
    graph = symmetric(5, np.array([0, 1]), np.array([1, 2]), np.ones(2))  # 3 and 4 have no edge
    skipped = cluster(graph, keys(5))
    assert skipped.isolated == [3, 4]
    assert [c.members for c in skipped.clusters] == [(0, 1, 2)]
    singles = cluster(graph, keys(5), ClusterConfig(isolated="singleton"))
    assert singles.isolated == [] and sorted(c.members for c in singles.clusters) == [(0, 1, 2), (3,), (4,)]


def test_a_component_clusters_the_same_whatever_else_the_graph_holds() -> None:
    edges, truth = planted(groups=5, size=9, p_in=0.6, p_out=0.02)
    n = len(truth)
    alone = cluster(symmetric(n, edges[:, 0], edges[:, 1], np.ones(len(edges))), keys(n))
    # the same component, shifted behind a new one and with rows renumbered (as an incremental index appends)
    extra = np.array([[0, 1], [1, 2]])
    both = np.vstack([extra, edges + 3])
    shifted_keys = ["a0", "a1", "a2", *keys(n)]
    together = cluster(symmetric(n + 3, both[:, 0], both[:, 1], np.ones(len(both))), shifted_keys)
    as_ids = {(c.level, frozenset(keys(n)[m] for m in c.members)) for c in alone.clusters}
    shifted = {(c.level, frozenset(shifted_keys[m] for m in c.members)) for c in together.clusters}
    assert as_ids <= shifted
    assert cluster(symmetric(n, edges[:, 0], edges[:, 1], np.ones(len(edges))), keys(n)).clusters == alone.clusters


def test_ids_follow_member_overlap() -> None:
    old = {"c-a": (0, frozenset("abcd")), "c-b": (0, frozenset("efgh")), "c-x": (1, frozenset("ab"))}
    same = match_ids([(0, frozenset("abcd")), (0, frozenset("efgh")), (1, frozenset("ab"))], old)
    assert same == ["c-a", "c-b", "c-x"]
    drifted = match_ids([(0, frozenset("abcde")), (0, frozenset("fgh")), (1, frozenset("cd"))], old)
    assert drifted[:2] == ["c-a", "c-b"]  # a few members moved: the ids stay
    assert drifted[2] == fresh_id(1, ["c", "d"])  # no overlap at its level: a new id
    # a split in halves: one half keeps the id, whichever order the halves come in
    halves = [(0, frozenset("ab")), (0, frozenset("cd"))]
    split = dict(zip(halves, match_ids(halves, {"c-a": (0, frozenset("abcd"))}), strict=True))
    assert sorted(split.values()).count("c-a") == 1
    assert dict(zip(halves[::-1], match_ids(halves[::-1], {"c-a": (0, frozenset("abcd"))}), strict=True)) == split


def test_a_fresh_id_never_takes_one_in_use() -> None:
    used = fresh_id(0, ["c", "d"])  # a kept community minted from these members, whose members drifted since
    [salted] = match_ids([(0, frozenset("cd"))], {}, reserved={used})
    assert salted != used and salted.startswith("community:")
    assert match_ids([(0, frozenset("cd"))], {}, reserved={used}) == [salted]
