"""Hierarchical Leiden on the entity graph, as GraphRAG does it: plain arrays in, clusters out.

The entity graph joins entities by relations (weight: the number of facts joining the pair) and
synonyms (weight: the cosine, when higher). Each connected component is clustered on its own, with
its vertices ordered by entity id, so a component clusters the same way whatever else the graph
holds: that is what lets a later run re-cluster only the components that changed. A component of at
most ``max_size`` entities is one community. A larger one is split by Leiden (level 0), and every
community still larger than ``max_size`` is split again one level down, until all fit or ``max_levels``.
Isolated entities (no relation, no synonym) are listed apart, or made communities of one.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import igraph as ig
import leidenalg as la
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

QUALITIES = ("modularity", "rb", "cpm")
BACKENDS = ("leidenalg", "igraph")


@dataclass(frozen=True)
class ClusterConfig:
    """Every clustering parameter. ``resolution`` applies to "rb" (RBConfiguration) and "cpm"; "modularity"
    is RBConfiguration at resolution 1. ``backend`` "igraph" uses igraph's built-in Leiden (much faster
    on large graphs; seeded through igraph's random generator)."""

    max_size: int = 10
    quality: str = "modularity"
    resolution: float = 1.0
    seed: int = 42
    n_iterations: int = 2  # Leiden iterations per split (-1: until no improvement)
    max_levels: int = 8
    backend: str = "leidenalg"
    isolated: str = "skip"  # "skip": listed in Clustering.isolated, in no community; "singleton": one each
    forced_splits: int = 3  # a split that keeps everything together is retried at 2x, 4x, ... the resolution

    def __post_init__(self) -> None:
        if self.quality not in QUALITIES:
            raise ValueError(f"quality must be one of {', '.join(QUALITIES)}, got {self.quality!r}")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if self.isolated not in ("skip", "singleton"):
            raise ValueError(f"isolated must be 'skip' or 'singleton', got {self.isolated!r}")
        if self.max_size < 1 or self.resolution <= 0 or self.max_levels < 1:
            raise ValueError("max_size and max_levels must be at least 1, resolution positive")


@dataclass(frozen=True)
class Cluster:
    """One community: its entity rows (in the component's order), level, parent (an index into the list)."""

    level: int
    members: tuple[int, ...]
    parent: int | None
    component: int  # index into Clustering.components


@dataclass
class Clustering:
    clusters: list[Cluster]
    components: list[np.ndarray]  # entity rows of each clustered component, ordered by entity id
    isolated: list[int] = field(default_factory=list)  # rows with no edge, in no community when skipped
    seconds: float = 0.0


def symmetric(n: int, sources: np.ndarray, targets: np.ndarray, weights: np.ndarray) -> sp.csr_matrix:
    """A symmetric weighted adjacency without self-loops; repeated pairs add up."""
    keep = sources != targets
    a, b, w = sources[keep], targets[keep], weights[keep].astype(np.float64)
    matrix = sp.coo_matrix((np.concatenate([w, w]), (np.concatenate([a, b]), np.concatenate([b, a]))), shape=(n, n))
    out = matrix.tocsr()
    out.sum_duplicates()
    out.sort_indices()
    return out


def components(graph: sp.csr_matrix, keys: Sequence[str]) -> tuple[list[np.ndarray], list[int]]:
    """Connected components of two or more entities (rows ordered by key), largest first; and isolated rows."""
    count, labels = connected_components(graph, directed=False)
    order = np.argsort(np.asarray(keys, dtype=object), kind="stable")  # rows by entity id
    grouped = labels[order]
    by_label = np.argsort(grouped, kind="stable")
    bounds = np.flatnonzero(np.diff(grouped[by_label])) + 1
    groups = [order[chunk] for chunk in np.split(by_label, bounds)] if count else []
    multi = [g for g in groups if len(g) > 1]
    isolated = sorted((int(g[0]) for g in groups if len(g) == 1), key=lambda r: keys[r])
    multi.sort(key=lambda g: (-len(g), keys[int(g[0])]))
    return multi, isolated


def _leiden(matrix: sp.csr_matrix, config: ClusterConfig, resolution: float) -> np.ndarray:
    """Leiden membership of a small symmetric matrix's vertices, deterministic for a given matrix."""
    upper = sp.triu(matrix, k=1).tocoo()
    graph = ig.Graph(n=matrix.shape[0], edges=np.column_stack([upper.row, upper.col]).tolist())
    weights = upper.data.tolist()
    quality = "rb" if config.quality == "modularity" and resolution != 1.0 else config.quality
    if config.backend == "igraph":
        previous = random.getstate()  # python-igraph draws from the random module unless told otherwise
        random.seed(config.seed)
        try:
            found = graph.community_leiden(objective_function="CPM" if quality == "cpm" else "modularity",
                                           weights=weights, resolution=resolution,
                                           n_iterations=config.n_iterations)  # fmt: skip
        finally:
            random.setstate(previous)
        return np.asarray(found.membership, dtype=np.int64)
    kind = {"modularity": la.ModularityVertexPartition, "rb": la.RBConfigurationVertexPartition,
            "cpm": la.CPMVertexPartition}[quality]  # fmt: skip
    extra = {} if quality == "modularity" else {"resolution_parameter": resolution}
    partition = la.find_partition(graph, kind, weights=weights, n_iterations=config.n_iterations, seed=config.seed,
                                  **extra)  # fmt: skip
    return np.asarray(partition.membership, dtype=np.int64)


def split(matrix: sp.csr_matrix, config: ClusterConfig) -> list[np.ndarray]:
    """Local vertex indices of each part, largest first (ties by first vertex); one part when it will not split."""
    resolution = config.resolution
    for _ in range(config.forced_splits + 1):
        membership = _leiden(matrix, config, resolution)
        if membership.max(initial=0) > 0:
            break
        resolution *= 2.0
    parts = [np.flatnonzero(membership == label) for label in np.unique(membership)]
    return sorted(parts, key=lambda p: (-len(p), int(p[0])))


def cluster_component(graph: sp.csr_matrix, rows: np.ndarray, config: ClusterConfig, component: int,
                      out: list[Cluster]) -> None:  # fmt: skip
    """Append the hierarchy of one component (rows in entity-id order) to ``out``, parents before children."""
    if len(rows) <= config.max_size:
        out.append(Cluster(0, tuple(int(r) for r in rows), None, component))
        return
    # (local rows, local matrix, level, parent index)
    pending: list[tuple[np.ndarray, sp.csr_matrix, int, int | None]] = [(rows, graph[rows][:, rows].tocsr(), 0, None)]
    while pending:
        members, matrix, level, parent = pending.pop(0)
        parts = split(matrix, config)
        if len(parts) == 1 and parent is not None:
            continue  # Leiden keeps it whole even at a higher resolution: it stays an oversized leaf
        for part in parts:
            out.append(Cluster(level, tuple(int(members[i]) for i in part), parent, component))
            if len(part) > config.max_size and level + 1 < config.max_levels:
                pending.append((members[part], matrix[part][:, part].tocsr(), level + 1, len(out) - 1))


def cluster(graph: sp.csr_matrix, keys: Sequence[str], config: ClusterConfig | None = None,
            only: Sequence[int] | None = None) -> Clustering:  # fmt: skip
    """The hierarchical clustering of a symmetric entity graph whose rows are named by ``keys`` (entity ids).

    ``only``: cluster just these component indices (the others are listed in ``components`` but get no
    clusters), which is how an incremental run skips components that did not change.
    """
    config = config or ClusterConfig()
    started = time.perf_counter()
    multi, isolated = components(graph, keys)
    if config.isolated == "singleton":
        multi = multi + [np.array([row]) for row in isolated]
        isolated = []
    wanted = set(range(len(multi)) if only is None else only)
    clusters: list[Cluster] = []
    for index, rows in enumerate(multi):
        if index in wanted:
            cluster_component(graph, rows, config, index, clusters)
    return Clustering(clusters, multi, isolated, time.perf_counter() - started)


def level_membership(clustering: Clustering, n: int, level: int) -> np.ndarray:
    """Each row's community at ``level`` (its deepest one at or above it); -1 for rows in none."""
    membership = np.full(n, -1, dtype=np.int64)
    for index, item in enumerate(clustering.clusters):  # parents come before children: deeper ones overwrite
        if item.level <= level:
            membership[list(item.members)] = index
    return membership


def modularity(graph: sp.csr_matrix, membership: np.ndarray) -> float:
    """Weighted modularity of a membership over the rows that have one (isolated rows carry no weight)."""
    rows = np.flatnonzero(membership >= 0)
    if not len(rows):
        return 0.0
    sub = graph[rows][:, rows].tocsr()
    upper = sp.triu(sub, k=1).tocoo()
    g = ig.Graph(n=len(rows), edges=np.column_stack([upper.row, upper.col]).tolist())
    _, labels = np.unique(membership[rows], return_inverse=True)
    return float(g.modularity(labels.tolist(), weights=upper.data.tolist())) if g.ecount() else 0.0
