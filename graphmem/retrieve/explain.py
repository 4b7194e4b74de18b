"""Why graph retrieval returned a unit: the path that links it to a seed entity of the query.

A pure module: a ``RetrievalIndex``, the seed weights and the retrieved unit rows go in, plain
frozen dataclasses come out. No store, no model.

``seed_paths`` runs one breadth-first search from all seeds at once, level by level, and keeps
for every node it settles the best way to reach it. "Best" is, in this order:

1. fewest hops;
2. the larger weight of the seed the path starts from;
3. the stronger path, where a path is as strong as its weakest edge (the minimum edge weight:
   a mention weighs 1, a relation the number of facts joining the two entities, a synonym
   edge its cosine, so a chain through a weak synonym loses to an equally short chain without);
4. the lower graph node as predecessor, only so that the answer is deterministic.

Rules 2 and 3 are monotone under extension of a path, so keeping one label per node is exact.

The search only touches what it needs: it stops once every requested unit is reached or
``max_hops`` levels are done, and it is direction-optimising. Before each level it compares the
cost of expanding the frontier (the sum of its degrees) with the cost of working backwards from
the units still unreached: the nodes within the remaining hop budget of those units, each of
which pulls its best predecessor from the level before. Once pulling is cheaper (always near
the end, since retrieved units have few neighbours), it finishes by pulling, so a hub entity
of degree thousands near a seed is never expanded blindly into the whole graph.

Steps between two entities are labelled "relation" (with the facts' predicates) when a fact of
``index.facts`` joins them, else "synonym". The pair → facts lookup is built once per index
object, on first use, and kept in a module cache that forgets the index when it is garbage
collected (``relation_facts(index)`` returns it).
"""

from __future__ import annotations

import itertools
import math
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphmem.index import FactTuple, RetrievalIndex

MENTIONS, RELATION, SYNONYM = "mentions", "relation", "synonym"
_SHOWN_PREDICATES = 3  # per step in the one-line form; the data keeps all of them


class PairFacts:
    """(low entity row, high entity row) → the facts joining them, in index order. One sorted array of pair keys
    rather than a dict of lists: built in 0.3 s for a million facts, where the dict took seconds."""

    def __init__(self, facts: Sequence[FactTuple], n_entities: int) -> None:
        self._facts = facts
        self._n = max(n_entities, 1)
        subjects = np.fromiter((f[0] for f in facts), dtype=np.int64, count=len(facts))
        objects = np.fromiter((f[2] for f in facts), dtype=np.int64, count=len(facts))
        keys = np.minimum(subjects, objects) * self._n + np.maximum(subjects, objects)
        self._order = np.argsort(keys, kind="stable")
        self._keys = keys[self._order]

    def get(self, pair: tuple[int, int]) -> list[FactTuple] | None:
        key = pair[0] * self._n + pair[1]
        start, end = np.searchsorted(self._keys, [key, key + 1])
        return [self._facts[i] for i in self._order[start:end].tolist()] if end > start else None


@dataclass(frozen=True)
class Step:
    """One hop: the kind of edge taken and the node it leads to."""

    kind: str  # "mentions" (unit–entity), "relation" (facts join the two entities) or "synonym"
    weight: float  # the edge's weight in the graph
    node: str  # "entity", "passage" or "turn"
    row: int  # entity row, or unit row
    name: str  # the entity's name, or the unit's id
    entity_type: str | None = None  # None for a unit
    predicates: tuple[str, ...] = ()  # facts read along the walk: the previous entity is their subject
    reverse_predicates: tuple[str, ...] = ()  # facts read against the walk: this entity is their subject
    fact_ids: tuple[str, ...] = ()

    @property
    def is_unit(self) -> bool:
        return self.entity_type is None

    def label(self) -> str:
        return f"{self.node} {self.name}" if self.is_unit else self.name

    def arrow(self) -> str:
        """The edge as it reads from the previous node to this one."""
        if self.kind == MENTIONS:
            return "—mentioned in→" if self.is_unit else "—mentions→"
        if self.kind == SYNONYM:
            return f"—synonym {self.weight:.2f}→"
        parts = []
        if self.predicates:
            parts.append(f"—{_shorten(self.predicates)}→")
        if self.reverse_predicates:
            parts.append(f"←{_shorten(self.reverse_predicates)}—")
        return " ".join(parts) or "—related→"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "weight": round(self.weight, 4), "node": self.node, "row": self.row}
        if self.is_unit:
            out["id"] = self.name
        else:
            out.update(name=self.name, type=self.entity_type)
        if self.kind == RELATION:
            out.update(predicates=list(self.predicates), reverse_predicates=list(self.reverse_predicates),
                       fact_ids=list(self.fact_ids))  # fmt: skip
        return out


def _shorten(predicates: tuple[str, ...]) -> str:
    shown = " / ".join(predicates[:_SHOWN_PREDICATES])
    more = len(predicates) - _SHOWN_PREDICATES
    return f"{shown} +{more}" if more > 0 else shown


@dataclass(frozen=True)
class Path:
    """A chain from a seed entity to a retrieved unit; ``steps`` ends at the unit."""

    seed: int  # entity row
    seed_name: str
    seed_type: str
    seed_weight: float
    steps: tuple[Step, ...]

    @property
    def hops(self) -> int:
        return len(self.steps)

    @property
    def unit_row(self) -> int:
        return self.steps[-1].row

    @property
    def unit_id(self) -> str:
        return self.steps[-1].name

    @property
    def strength(self) -> float:
        """The weakest edge's weight: the third criterion of the tie rule."""
        return min(step.weight for step in self.steps)

    @property
    def bridges(self) -> tuple[str, ...]:
        """Names of the entities strictly between the seed and the unit, in path order."""
        return tuple(step.name for step in self.steps[:-1] if not step.is_unit)

    @property
    def bridge_rows(self) -> tuple[int, ...]:
        return tuple(step.row for step in self.steps[:-1] if not step.is_unit)

    def __str__(self) -> str:
        return " ".join([self.seed_name, *(f"{step.arrow()} {step.label()}" for step in self.steps)])

    def to_dict(self) -> dict[str, Any]:
        return {
            "unit": self.unit_id,
            "hops": self.hops,
            "seed": {"row": self.seed, "name": self.seed_name, "type": self.seed_type,
                     "weight": round(self.seed_weight, 6)},
            "bridges": list(self.bridges),
            "strength": round(self.strength, 4),
            "steps": [step.to_dict() for step in self.steps],
            "text": str(self),
        }  # fmt: skip


# ---------------------------------------------------------------------- fact lookup, cached per index

_PAIR_FACTS: dict[int, tuple[weakref.ref[RetrievalIndex], int, int, PairFacts]] = {}


def relation_facts(index: RetrievalIndex) -> PairFacts:
    """(low entity row, high entity row) → the facts joining them, built once per index object."""
    key = id(index)
    cached = _PAIR_FACTS.get(key)
    if cached is not None and cached[0]() is index and cached[1] == id(index.facts) and cached[2] == len(index.facts):
        return cached[3]
    pairs = PairFacts(index.facts, len(index.entity_ids))
    if cached is None:
        weakref.finalize(index, _PAIR_FACTS.pop, key, None)
    _PAIR_FACTS[key] = (weakref.ref(index), id(index.facts), len(index.facts), pairs)
    return pairs


# ---------------------------------------------------------------------- search


def _gather(indptr: np.ndarray, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every edge out of ``nodes``: its owner and its position in the CSR arrays."""
    starts = indptr[nodes].astype(np.int64)
    lengths = indptr[nodes + 1].astype(np.int64) - starts
    total = int(lengths.sum())
    if total == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(nodes, lengths), np.repeat(starts - offsets, lengths) + np.arange(total)


def _distinct(nodes: np.ndarray, size: int) -> np.ndarray:
    """The distinct values of ``nodes`` (all < size), sorted: by sorting when few, by a mask when many."""
    if nodes.size * 16 < size:
        return np.unique(nodes)
    mask = np.zeros(size, dtype=bool)
    mask[nodes] = True
    return np.flatnonzero(mask)


class _Search:
    """Multi-source BFS with one label per node: (seed weight, bottleneck, predecessor)."""

    def __init__(self, index: RetrievalIndex, seeds: Mapping[int, float], targets: np.ndarray, max_hops: int,
                 node_flow: np.ndarray | None = None) -> None:  # fmt: skip
        graph = index.graph if index.graph.format == "csr" else index.graph.tocsr()
        if not graph.has_canonical_format:  # one entry per edge, as build_index makes it
            graph = graph.copy()
            graph.sum_duplicates()
        self.indptr, self.indices, self.data = graph.indptr, graph.indices, graph.data
        self.node_flow = node_flow
        self.n_units, self.max_hops = index.n_units, max_hops
        size = graph.shape[0]
        self.dist = np.full(size, -1, dtype=np.int32)
        self.parent = np.empty(size, dtype=np.int64)
        self.seed_weight = np.empty(size, dtype=np.float64)
        self.bottleneck = np.empty(size, dtype=np.float64)
        self.edge = np.empty(size, dtype=np.float64)
        self.is_target = np.zeros(size, dtype=bool)
        self.is_target[targets] = True
        self.targets = targets
        nodes = np.array(sorted(index.n_units + row for row in seeds), dtype=np.int64)
        self.dist[nodes] = 0
        self.parent[nodes] = -1
        self.seed_weight[nodes] = [float(seeds[int(node) - index.n_units]) for node in nodes]
        self.bottleneck[nodes] = np.inf if node_flow is None else 1.0
        self.frontier = nodes
        self.rings: list[np.ndarray] = []  # rings[j]: nodes exactly j hops from a target (backward search)
        self.ring_degree: list[int] = []  # cumulative degree of rings[0..j]
        self.back_dist: np.ndarray | None = None

    def degree(self, nodes: np.ndarray) -> int:
        return int((self.indptr[nodes + 1] - self.indptr[nodes]).sum())

    def run(self) -> None:
        for level in range(1, self.max_hops + 1):
            if not self.frontier.size or bool((self.dist[self.targets] >= 0).all()):
                return
            push_cost = self.degree(self.frontier)
            depth = self.max_hops - level  # the backward ball needed to finish by pulling
            if self._grow_rings(depth, budget=push_cost) and self.ring_degree[depth] <= push_cost:
                self._pull(level)
                return
            self._push(level)

    def _settle(self, nodes: np.ndarray, parents: np.ndarray, weights: np.ndarray, level: int) -> np.ndarray:
        """Give each node its best candidate edge: larger seed weight, then larger bottleneck, then lowest
        parent. Three grouped reductions instead of a sort; ``nodes`` are unsettled, so their label slots
        serve as scratch space until they are written for good."""
        seed_weight = self.seed_weight[parents]
        self.seed_weight[nodes] = -np.inf
        np.maximum.at(self.seed_weight, nodes, seed_weight)
        keep = seed_weight == self.seed_weight[nodes]
        nodes, parents, weights = nodes[keep], parents[keep], weights[keep]
        if self.node_flow is None:
            bottleneck = np.minimum(self.bottleneck[parents], weights)
        else:  # what the walk carried along the whole path: a product, as path probabilities are
            bottleneck = self.bottleneck[parents] * weights * self.node_flow[parents]
        self.bottleneck[nodes] = -np.inf
        np.maximum.at(self.bottleneck, nodes, bottleneck)
        keep = bottleneck == self.bottleneck[nodes]
        nodes, parents, weights = nodes[keep], parents[keep], weights[keep]
        self.parent[nodes] = np.iinfo(np.int64).max
        np.minimum.at(self.parent, nodes, parents)
        keep = parents == self.parent[nodes]
        chosen = nodes[keep]
        self.dist[chosen] = level
        self.edge[chosen] = weights[keep]
        return chosen

    def _push(self, level: int) -> None:
        owners, positions = _gather(self.indptr, self.frontier)
        nodes, weights = self.indices[positions].astype(np.int64), self.data[positions]
        keep = (self.dist[nodes] < 0) & (weights > 0)
        if level == self.max_hops:
            keep &= self.is_target[nodes]
        elif level == self.max_hops - 1:  # a unit one hop short of the end only matters if it was asked for
            keep &= (nodes >= self.n_units) | self.is_target[nodes]
        self.frontier = self._settle(nodes[keep], owners[keep], weights[keep], level)

    def _grow_rings(self, depth: int, budget: int) -> bool:
        """Extend the backward rings to ``depth``; False when that would cost more than ``budget``."""
        if not self.rings:
            self.back_dist = np.full(self.dist.size, -1, dtype=np.int32)
            self.back_dist[self.targets] = 0
            self.rings.append(self.targets)
            self.ring_degree.append(self.degree(self.targets))
        assert self.back_dist is not None
        while len(self.rings) <= depth:
            if self.ring_degree[-1] > budget:  # pulling would cost at least this much: not worth growing
                return False
            _, positions = _gather(self.indptr, self.rings[-1])
            nodes = self.indices[positions[self.data[positions] > 0]].astype(np.int64)
            nodes = nodes[self.back_dist[nodes] < 0]
            self.back_dist[nodes] = len(self.rings)
            ring = _distinct(nodes, self.back_dist.size)
            self.rings.append(ring)
            self.ring_degree.append(self.ring_degree[-1] + self.degree(ring))
        return True

    def _pull(self, first_level: int) -> None:
        """Settle the remaining levels backwards: a node that can still reach a target within the hops
        left looks among its neighbours on the previous level for its best predecessor."""
        for level in range(first_level, self.max_hops + 1):
            depth = self.max_hops - level
            candidates = np.concatenate(self.rings[: depth + 1])
            candidates = candidates[self.dist[candidates] < 0]
            owners, positions = _gather(self.indptr, candidates)
            parents, weights = self.indices[positions].astype(np.int64), self.data[positions]
            keep = (self.dist[parents] == level - 1) & (weights > 0)
            self._settle(owners[keep], parents[keep], weights[keep], level)


# ---------------------------------------------------------------------- paths


def seed_paths(index: RetrievalIndex, seeds: Mapping[int, float], unit_rows: Sequence[int],
               max_hops: int = 4, node_flow: np.ndarray | None = None) -> dict[int, Path]:  # fmt: skip
    """The best path from a seed entity to each unit of ``unit_rows`` within ``max_hops`` edges.

    ``node_flow`` (one value per graph node, e.g. a walk's visits over the node's total edge weight)
    makes rule 3 compare what the walk carried along the whole path (the product over its steps of
    edge weight × the flow of the node each step leaves) instead of the weakest edge, so the path
    shown is the one the walk used most.

    ``seeds`` maps entity rows (not graph nodes) to their seed weights. The result maps unit
    rows to paths, in the order of ``unit_rows``; a unit no seed reaches within ``max_hops``
    has no entry. See the module docstring for which path wins a tie.
    """
    if max_hops < 0:
        raise ValueError(f"max_hops must be >= 0, got {max_hops}")
    n_entities = len(index.entity_ids)
    for row, weight in seeds.items():
        if not 0 <= row < n_entities:
            raise IndexError(f"seed entity row {row} is outside 0..{n_entities - 1}")
        if not math.isfinite(weight):
            raise ValueError(f"seed entity row {row} has weight {weight}; weights must be finite")
    wanted = list(dict.fromkeys(int(row) for row in unit_rows))
    for row in wanted:
        if not 0 <= row < index.n_units:
            raise IndexError(f"unit row {row} is outside 0..{index.n_units - 1}")
    if not seeds or not wanted or max_hops == 0:
        return {}
    search = _Search(index, seeds, np.array(sorted(wanted), dtype=np.int64), max_hops, node_flow)
    search.run()
    paths: dict[int, Path] = {}
    for row in wanted:
        if search.dist[row] > 0:
            paths[row] = _path(index, search, row)
    return paths


def _path(index: RetrievalIndex, search: _Search, unit_row: int) -> Path:
    chain = [unit_row]
    while search.parent[chain[-1]] >= 0:
        chain.append(int(search.parent[chain[-1]]))
    chain.reverse()
    n_units = index.n_units
    seed = chain[0] - n_units
    steps = tuple(_step(index, before, node, float(search.edge[node])) for before, node in itertools.pairwise(chain))
    return Path(seed=seed, seed_name=index.entity_names[seed], seed_type=index.entity_types[seed],
                seed_weight=float(search.seed_weight[chain[0]]), steps=steps)  # fmt: skip


def _step(index: RetrievalIndex, before: int, node: int, weight: float) -> Step:
    n_units = index.n_units
    if node < n_units:
        unit = index.units[node]
        return Step(MENTIONS, weight, "turn" if unit.speaker else "passage", node, unit.id)
    entity = node - n_units
    name, entity_type = index.entity_names[entity], index.entity_types[entity]
    if before < n_units:
        return Step(MENTIONS, weight, "entity", entity, name, entity_type)
    previous = before - n_units
    facts = relation_facts(index).get((min(previous, entity), max(previous, entity)))
    if not facts:
        return Step(SYNONYM, weight, "entity", entity, name, entity_type)
    forward = tuple(dict.fromkeys(p for s, p, _, _ in facts if s == previous))
    backward = tuple(dict.fromkeys(p for s, p, _, _ in facts if s != previous))
    return Step(RELATION, weight, "entity", entity, name, entity_type, forward, backward,
                tuple(fact_id for *_, fact_id in facts))  # fmt: skip
