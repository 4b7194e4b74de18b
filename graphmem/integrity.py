"""Invariants of a stored graph, each a function that lists what breaks it (empty: the invariant holds).

Read-only, over any GraphStore; the Dagster asset checks (pipelines/checks.py) report them. Each problem is a
short string naming the records involved, so a failing check shows where to look.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from itertools import combinations

import numpy as np

from graphmem.index import RetrievalIndex
from graphmem.resolve import normalise_key
from graphmem.store import GraphStore
from graphmem.temporal.rules import ReconsolidationConfig, Rules, same_referent, value_class

STATEMENT_LABELS = ("Fact", "Hyperedge")
# Properties that name another node of the namespace by id.
REFERENCE_PROPS = {"Fact": ("subject_id", "object_id"), "Hyperedge": ("participant_ids",)}


def statements_without_provenance(store: GraphStore, namespace: str) -> list[str]:
    """Facts and hyperedges that name no passage or turn stating them."""
    return [f"{label} {node.id}" for label in STATEMENT_LABELS for node in store.iter_nodes(namespace, label)
            if not node.props.get("provenance")]  # fmt: skip


def dangling_references(store: GraphStore, namespace: str) -> list[str]:
    """Edges whose end is not a node of the namespace, and ids in facts, hyperedges or provenance that name none.

    Neo4j cannot hold a relationship without its nodes, but both stores can hold an id that names nothing."""
    ids = {node.id for node in store.iter_nodes(namespace)}
    problems = [f"edge {e.source} -{e.type}-> {e.target}" for e in store.iter_edges(namespace)
                if e.source not in ids or e.target not in ids]  # fmt: skip
    for label in STATEMENT_LABELS:
        for node in store.iter_nodes(namespace, label):
            for key in (*REFERENCE_PROPS[label], "provenance"):
                for ref in _ids(node.props.get(key)):
                    if ref not in ids:
                        problems.append(f"{label} {node.id}: {key} names missing node {ref}")
    return problems


def _ids(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        yield from (v for v in value if isinstance(v, str))


def duplicate_entity_keys(store: GraphStore, namespace: str) -> list[str]:
    """Normalised keys that more than one entity has (resolution should have made them one entity)."""
    by_key: dict[str, list[str]] = defaultdict(list)
    for node in store.iter_nodes(namespace, "Entity"):
        by_key[normalise_key(str(node.props.get("key") or node.props.get("name") or ""))].append(node.id)
    return [f"key {key!r}: entities {', '.join(sorted(ids))}" for key, ids in sorted(by_key.items()) if len(ids) > 1]


def embedding_dimension_mismatches(index: RetrievalIndex, dimension: int) -> list[str]:
    """The index's embedding matrices whose width is not the model's dimension."""
    matrices = {"passages and turns": index.unit_vectors, "entities": index.entity_vectors,
                "facts": index.fact_vectors}  # fmt: skip
    return [f"{what}: {np.shape(m)[1]} dimensions, the model has {dimension}" for what, m in matrices.items()
            if np.ndim(m) != 2 or (np.shape(m)[0] > 0 and np.shape(m)[1] != dimension)]  # fmt: skip


def overlapping_single_valued(store: GraphStore, namespace: str,
                              config: ReconsolidationConfig | None = None) -> list[str]:  # fmt: skip
    """What reconsolidation should have settled: a fact still valid past the start of the fact that superseded
    it, and two live facts in one single-valued slot (a person's employer, a company's chief executive) with
    different values whose validity overlaps.

    Only pairs reconsolidation can order count, as in its rules: slots of the curated families of ``config``,
    named values of different referents ("institute" may be "Brindlemoss Institute"), both dated, on
    different dates, and said in different passages or turns (one sentence may name a town and its region)."""
    rules = Rules(config or ReconsolidationConfig())
    facts = {node.id: node.props for node in store.iter_nodes(namespace, "Fact")}
    entities = {node.id: node.props for node in store.iter_nodes(namespace, "Entity")}
    problems = []
    for edge in store.iter_edges(namespace, "SUPERSEDED_BY"):
        old, new = facts.get(edge.source), facts.get(edge.target)
        if old is None or new is None or edge.props.get("retracted_at") is not None:
            continue
        end, start = old.get("valid_to"), new.get("valid_from")
        if old.get("expired_at") is None or (isinstance(start, datetime) and (end is None or end > start)):
            problems.append(f"fact {edge.source} is still valid after {edge.target} superseded it")
    slots: dict[tuple[str, str], list[tuple[str, str, datetime, datetime | None, set[str]]]] = defaultdict(list)
    for fact_id, props in facts.items():
        slot = rules.slot(str(props.get("predicate", "")))
        valid_from = props.get("valid_from")
        if props.get("expired_at") or slot is None or not slot[1].startswith("single_valued:"):
            continue
        if not isinstance(valid_from, datetime):
            continue
        side, family, _ = slot
        value_id = str(props.get("object_id" if side == "subject" else "subject_id"))
        entity = entities.get(value_id, {})
        name = str(props.get("object_name" if side == "subject" else "subject_name") or "")
        if value_class(name, entity.get("type")) != "named":  # type: ignore[arg-type]
            continue
        valid_to = props.get("valid_to")
        key = str(entity.get("key") or normalise_key(name))
        slots[(str(props.get(f"{side}_id")), family)].append(
            (fact_id, key, valid_from, valid_to if isinstance(valid_to, datetime) else None,
             set(_ids(props.get("provenance")))))  # fmt: skip
    for (holder, family), group in sorted(slots.items()):
        for a, b in combinations(group, 2):
            if same_referent(a[1], b[1]) or a[2] == b[2] or a[4] & b[4] or not _overlap(a[2], a[3], b[2], b[3]):
                continue
            problems.append(f"{family} of {holder}: facts {a[0]} ({a[1]}) and {b[0]} ({b[1]}) both hold")
    return problems


def _overlap(start_a: datetime | None, end_a: datetime | None, start_b: datetime | None,
             end_b: datetime | None) -> bool:  # fmt: skip
    """Whether [start, end) intervals meet; an open end is unbounded."""
    if end_a is not None and start_b is not None and end_a <= start_b:
        return False
    return not (end_b is not None and start_a is not None and end_b <= start_a)
