"""Incremental index updates: the nodes and edges just written, applied to a RetrievalIndex.

Two halves. ``RecordingStore`` is the I/O hook: a GraphStore that passes every call to the
real store and, for the namespaces it watches, notes the nodes and edges it upserted and the
revision before and after each write. What it notes is a ``Delta``. ``apply_delta`` is pure:
index + delta -> a new index (the input is left as it was), embedding only new or changed texts.

New units, entities and facts are appended at the end, so an updated index has the same rows
as a fresh build, in another order (a fresh build sorts by id). What cannot be applied marks
the delta broken and the caller rebuilds: a deletion, a write by someone else in between (the
revision before a write is not the one the delta ended at), a write that failed half-way, or a
fact whose entity the index does not hold.

A write by another process that commits between one of our writes and the revision read right
after it is not detected: the store returns no revision from a write, so a short window remains.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from graphmem.index import (
    SUPERSEDED_BY,
    UNIT_LABELS,
    EntityRow,
    FactRow,
    FactTuple,
    RetrievalIndex,
    Unit,
    as_pairs,
    assemble,
    half_precision,
    name_index,
    supersession_pairs,
    unit_from_node,
)
from graphmem.store import Counts, DeleteResult, Edge, GraphStore, Node
from graphmem.store.base import checked_edges, checked_nodes

Encode = Callable[[Sequence[str]], np.ndarray]


class DeltaError(Exception):
    """A delta the index cannot absorb; rebuild instead."""


@dataclass
class Delta:
    """What was written to one namespace between two revisions (the last write of a node or edge wins)."""

    namespace: str
    base_revision: int
    revision: int
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: dict[tuple[str, str, str], Edge] = field(default_factory=dict)
    broken: str | None = None  # why the delta cannot be applied

    def wrote(self, before: int, after: int) -> None:
        if before != self.revision and self.broken is None:
            self.broken = f"the namespace changed from revision {self.revision} to {before} between our writes"
        self.revision = after

    @property
    def empty(self) -> bool:
        return self.broken is None and self.revision == self.base_revision and not self.nodes and not self.edges


# ---------------------------------------------------------------- the pure part


def _grow(old: np.ndarray, total: int, rows: Sequence[int], fresh: np.ndarray) -> np.ndarray:
    """``old`` with rows replaced or appended (up to ``total`` rows) from ``fresh``; no copy when nothing changed."""
    if not rows:
        return old
    width = fresh.shape[1] if len(fresh) else old.shape[1]
    out = np.zeros((total, width), dtype=np.float32)
    if len(old):
        if old.shape[1] != width:
            raise DeltaError(f"vectors of dimension {width} do not fit an index of dimension {old.shape[1]}")
        out[: len(old)] = old
    out[list(rows)] = fresh
    return out


@dataclass
class _Rows:
    """Mutable copies of an index's row-aligned lists, and which rows need (re)embedding."""

    units: list[Unit]
    entity_ids: list[str]
    entities: list[EntityRow]
    facts: list[FactTuple]
    fact_texts: list[str]
    times: list[list[float]]  # valid_from, valid_to, expired_at per fact
    provenance: list[list[str]]
    embed_units: list[int] = field(default_factory=list)
    embed_entities: list[int] = field(default_factory=list)
    embed_facts: list[int] = field(default_factory=list)
    added_keys: list[tuple[str, int]] = field(default_factory=list)
    lost_keys: list[tuple[str, int]] = field(default_factory=list)


def _copy_rows(index: RetrievalIndex) -> _Rows:
    entities = [EntityRow(n, t, list(a)) for n, t, a in
                zip(index.entity_names, index.entity_types, index.entity_aliases, strict=True)]  # fmt: skip
    times = [index.fact_valid_from.tolist(), index.fact_valid_to.tolist(), index.fact_expired_at.tolist()]
    return _Rows(list(index.units), list(index.entity_ids), entities, list(index.facts), list(index.fact_texts),
                 times, list(index.fact_provenance))  # fmt: skip


def _apply_unit(rows: _Rows, unit_row: dict[str, int], unit: Unit) -> None:
    row = unit_row.get(unit.id)
    if row is None:
        unit_row[unit.id] = row = len(rows.units)
        rows.units.append(unit)
        rows.embed_units.append(row)
    elif rows.units[row] != unit:
        if rows.units[row].embed_text != unit.embed_text:
            rows.embed_units.append(row)
        rows.units[row] = unit


def _apply_entity(rows: _Rows, entity_row: dict[str, int], entity_id: str, entity: EntityRow) -> None:
    row = entity_row.get(entity_id)
    if row is None:
        entity_row[entity_id] = row = len(rows.entity_ids)
        rows.entity_ids.append(entity_id)
        rows.entities.append(entity)
        rows.embed_entities.append(row)
        rows.added_keys += [(key, row) for key in entity.name_keys()]
        return
    old = rows.entities[row]
    if old == entity:
        return
    if old.name != entity.name:
        rows.embed_entities.append(row)
    old_keys, new_keys = old.name_keys(), entity.name_keys()
    rows.added_keys += [(key, row) for key in new_keys - old_keys]
    rows.lost_keys += [(key, row) for key in old_keys - new_keys]
    rows.entities[row] = entity


def _apply_fact(rows: _Rows, entity_row: dict[str, int], fact_row: dict[str, int], fact_id: str, fact: FactRow) -> None:
    s, o = entity_row.get(fact.subject_id), entity_row.get(fact.object_id)
    if s is None or o is None:
        raise DeltaError(f"fact {fact_id!r} joins an entity the index does not hold")
    row = fact_row.get(fact_id)
    if s == o:
        if row is not None:
            raise DeltaError(f"fact {fact_id!r} now joins an entity to itself")
        return  # a fresh build leaves it out too
    entry = (s, fact.predicate, o, fact_id)
    if row is None:
        fact_row[fact_id] = row = len(rows.facts)
        rows.facts.append(entry)
        rows.fact_texts.append(fact.text)
        for values, value in zip(rows.times, (fact.valid_from, fact.valid_to, fact.expired_at), strict=True):
            values.append(value)
        rows.provenance.append(fact.provenance)
        rows.embed_facts.append(row)
        return
    if rows.fact_texts[row] != fact.text:
        rows.embed_facts.append(row)
    rows.facts[row] = entry
    rows.fact_texts[row] = fact.text
    for values, value in zip(rows.times, (fact.valid_from, fact.valid_to, fact.expired_at), strict=True):
        values[row] = value
    rows.provenance[row] = fact.provenance


def _names(index: RetrievalIndex, rows: _Rows) -> dict[str, int]:
    """name_to_entity after the delta: the smallest entity id per key, as a fresh build gives it."""
    if any(index.name_to_entity.get(key) == row for key, row in rows.lost_keys):
        return name_index(rows.entity_ids, rows.entities)  # a key lost its entity: others may carry it
    out = dict(index.name_to_entity)
    for key, row in rows.added_keys:
        current = out.get(key)
        if current is None or rows.entity_ids[row] < rows.entity_ids[current]:
            out[key] = row
    return out


def apply_delta(index: RetrievalIndex, delta: Delta, encode: Encode) -> RetrievalIndex:
    """A new index: ``index`` with the delta's nodes and edges applied; raises DeltaError when it cannot be."""
    started = time.perf_counter()
    if delta.broken is not None:
        raise DeltaError(delta.broken)
    if delta.namespace != index.namespace or delta.base_revision != index.revision:
        raise DeltaError(f"delta from revision {delta.base_revision} does not start at the index's {index.revision}")
    rows = _copy_rows(index)
    unit_row = {u.id: i for i, u in enumerate(rows.units)}
    entity_row = {e: i for i, e in enumerate(rows.entity_ids)}
    facts: list[Node] = []
    for node in delta.nodes.values():
        if node.label in UNIT_LABELS:
            _apply_unit(rows, unit_row, unit_from_node(node.label, node.id, node.props))
        elif node.label == "Entity":
            _apply_entity(rows, entity_row, node.id, EntityRow.from_props(node.props))
        elif node.label == "Fact":
            facts.append(node)  # after the entities: a fact's ends may be new in this delta
    fact_row = {f[3]: i for i, f in enumerate(rows.facts)}
    for node in facts:
        _apply_fact(rows, entity_row, fact_row, node.id, FactRow.from_props(node.props))
    new_mentions: set[tuple[int, int]] = set()
    synonyms = {(int(a), int(b)): float(s) for (a, b), s in zip(index.synonym_pairs, index.synonym_scores, strict=True)}
    for edge in delta.edges.values():
        if edge.type == "MENTIONS":
            u, e = unit_row.get(edge.source), entity_row.get(edge.target)
            if u is not None and e is not None:
                new_mentions.add((e, u))
        elif edge.type == "SYNONYM":
            a, b = entity_row.get(edge.source), entity_row.get(edge.target)
            if a is not None and b is not None and a != b:
                synonyms[(a, b)] = float(edge.props.get("score", 0.8))  # type: ignore[arg-type]
    synonym_pairs = as_pairs(synonyms)
    superseded = {(int(a), int(b)) for a, b in index.supersessions}
    supersessions = supersession_pairs((e for e in delta.edges.values() if e.type == SUPERSEDED_BY), fact_row,
                                       superseded)  # fmt: skip
    synonym_scores = np.array([synonyms[(int(a), int(b))] for a, b in synonym_pairs], dtype=np.float64)
    old = index.mentions.tocoo()
    mention_pairs = np.unique(np.vstack([np.column_stack([old.row, old.col]), as_pairs(new_mentions)]), axis=0)
    graph, mention_matrix = assemble(len(rows.units), len(rows.entity_ids), mention_pairs, rows.facts,
                                     synonym_pairs, synonym_scores)  # fmt: skip

    def vectors(old: np.ndarray, total: int, changed: list[int], texts: Callable[[int], str],
                rounded: bool = False) -> np.ndarray:  # fmt: skip
        changed = sorted(set(changed))
        fresh = np.asarray(encode([texts(row) for row in changed]) if changed else old[:0], dtype=np.float32)
        return _grow(old, total, changed, half_precision(fresh) if rounded else fresh)

    return replace(
        index,
        revision=delta.revision,
        units=rows.units,
        entity_ids=rows.entity_ids,
        entity_names=[e.name for e in rows.entities],
        entity_types=[e.type for e in rows.entities],
        entity_aliases=[e.aliases for e in rows.entities],
        graph=graph,
        mentions=mention_matrix,
        unit_vectors=vectors(index.unit_vectors, len(rows.units), rows.embed_units, lambda r: rows.units[r].embed_text),
        entity_vectors=vectors(
            index.entity_vectors, len(rows.entities), rows.embed_entities, lambda r: rows.entities[r].name
        ),
        fact_vectors=vectors(index.fact_vectors, len(rows.facts), rows.embed_facts, rows.fact_texts.__getitem__,
                             rounded=True),
        name_to_entity=_names(index, rows),
        facts=rows.facts,
        fact_texts=rows.fact_texts,
        fact_valid_from=np.array(rows.times[0], dtype=np.float64),
        fact_valid_to=np.array(rows.times[1], dtype=np.float64),
        fact_expired_at=np.array(rows.times[2], dtype=np.float64),
        fact_provenance=rows.provenance,
        synonym_pairs=synonym_pairs,
        synonym_scores=synonym_scores,
        supersessions=as_pairs(supersessions),
        build_seconds=time.perf_counter() - started,
        origin="incremental",
    )


# ---------------------------------------------------------------- the I/O hook


class RecordingStore:
    """A GraphStore that forwards every call and records the writes to the namespaces it watches."""

    def __init__(self, inner: GraphStore) -> None:
        self.inner = inner
        self._deltas: dict[str, Delta] = {}

    def __repr__(self) -> str:
        return f"RecordingStore({self.inner!r})"

    def watch(self, namespace: str) -> None:
        """Start recording a namespace's writes from its current revision."""
        revision = self.inner.revision(namespace)
        self._deltas[namespace] = Delta(namespace, revision, revision)

    def take(self, namespace: str) -> Delta | None:
        """Stop recording a namespace; what was written since ``watch`` (None if it was not watched)."""
        return self._deltas.pop(namespace, None)

    def _record(self, namespaces: Iterable[str], write: Callable[[], int], note: Callable[[Delta], None]) -> int:
        watched = [self._deltas[ns] for ns in sorted(set(namespaces)) if ns in self._deltas]
        before = {d.namespace: self.inner.revision(d.namespace) for d in watched}
        try:
            written = write()
        except BaseException:
            for delta in watched:  # a store may have committed part of the batch
                delta.broken = delta.broken or "a write failed part-way"
            raise
        for delta in watched:
            delta.wrote(before[delta.namespace], self.inner.revision(delta.namespace))
            note(delta)
        return written

    def upsert_nodes(self, nodes: Sequence[Node]) -> int:
        def note(delta: Delta) -> None:
            delta.nodes.update((n.id, n) for n in checked_nodes(nodes) if n.namespace == delta.namespace)

        return self._record((n.namespace for n in nodes), lambda: self.inner.upsert_nodes(nodes), note)

    def upsert_edges(self, edges: Sequence[Edge]) -> int:
        def note(delta: Delta) -> None:
            delta.edges.update((e.key, e) for e in checked_edges(edges) if e.namespace == delta.namespace)

        return self._record((e.namespace for e in edges), lambda: self.inner.upsert_edges(edges), note)

    def delete_document(self, namespace: str, document_id: str) -> DeleteResult:
        if namespace in self._deltas:
            self._deltas[namespace].broken = f"document {document_id!r} was deleted"
        return self.inner.delete_document(namespace, document_id)

    def delete_namespace(self, namespace: str) -> int:
        if namespace in self._deltas:
            self._deltas[namespace].broken = "the namespace was deleted"
        return self.inner.delete_namespace(namespace)

    def get_nodes(self, namespace: str, ids: Iterable[str]) -> list[Node]:
        return self.inner.get_nodes(namespace, ids)

    def neighbours(self, namespace: str, ids: Iterable[str], edge_types: Iterable[str] | None = None) -> list[Edge]:
        return self.inner.neighbours(namespace, ids, edge_types)

    def iter_nodes(self, namespace: str, label: str | None = None) -> Iterator[Node]:
        return self.inner.iter_nodes(namespace, label)

    def iter_edges(self, namespace: str, edge_type: str | None = None) -> Iterator[Edge]:
        return self.inner.iter_edges(namespace, edge_type)

    def counts(self, namespace: str) -> Counts:
        return self.inner.counts(namespace)

    def revision(self, namespace: str) -> int:
        return self.inner.revision(namespace)

    def namespaces(self) -> list[str]:
        return self.inner.namespaces()

    def close(self) -> None:
        self.inner.close()
