"""Forgetting a document (or dialogue) with everything only it supported.

The store deletes the nodes only the document supported (its passages or turns, the facts, hyperedges and
entities no other document states) and drops it from the others: its id leaves their supporting documents
and its passages their provenance. What survives may still carry what the document contributed, though:
a fact's sentence, earliest date and confidence, an entity's aliases and name. ``rederive`` works those out
again from the passages and turns that still support them, by extracting them again, so that the graph ends
as a run that never saw the document would have left it. Two choices of ingestion depend on the order
documents came in, and are made here by a rule instead: a fact keeps its sentence when a remaining passage
holds it (else it takes the one extraction gives now), and an entity whose name only the forgotten document
used takes the first, in sorted order, of the names the remaining passages use. An entity's type is left
as it is.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from graphmem.extract.types import Extractor
from graphmem.graph import from_node, read_records
from graphmem.ingest import passage_inputs, passage_meta
from graphmem.records import Dialogue, Entity, Fact, Hyperedge, Passage, Record, Statement, Turn
from graphmem.resolve import EntityIndex, ResolutionConfig, Resolved, resolve_batch
from graphmem.store import GraphStore
from graphmem.store.base import Node, Props, PropsWriter, check_namespace


@dataclass
class ForgetReport:
    """What forgetting removed and repaired."""

    namespace: str
    document_id: str | None  # None: the whole namespace
    nodes_deleted: int
    edges_deleted: int = 0
    nodes_updated: int = 0  # nodes that lost the document but had other support
    rederived: int = 0  # of those, the ones whose derived properties changed
    communities_changed: int = 0  # communities built again, created or deleted (Memory.forget)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def forget_document(store: GraphStore, namespace: str, document_id: str, extractor: Extractor | None,
                    resolution: ResolutionConfig | None = None) -> ForgetReport:  # fmt: skip
    """Delete ``document_id`` from ``namespace``; with an extractor, derive the survivors' properties again."""
    started = time.perf_counter()
    result = store.delete_document(check_namespace(namespace), document_id)
    changed = 0
    if extractor is not None and result.updated_ids:
        survivors = read_records(store, namespace, result.updated_ids)
        updates = rederive(store, namespace, survivors, extractor, resolution)
        write_props(store, namespace, updates)
        changed = len(updates)
    return ForgetReport(namespace, document_id, result.nodes_deleted, result.edges_deleted, result.nodes_updated,
                        changed, time.perf_counter() - started)  # fmt: skip


def forget_namespace(store: GraphStore, namespace: str) -> ForgetReport:
    started = time.perf_counter()
    deleted = store.delete_namespace(check_namespace(namespace))
    return ForgetReport(namespace, None, deleted, seconds=time.perf_counter() - started)


def write_props(store: GraphStore, namespace: str, updates: Sequence[tuple[str, Props]]) -> None:
    """Set these properties; a store without set_props gets whole nodes (other properties read back first)."""
    if not updates:
        return
    if isinstance(store, PropsWriter):
        store.set_props(namespace, updates)
        return
    changes = dict(updates)
    nodes = store.get_nodes(namespace, changes)
    store.upsert_nodes([Node(n.label, n.id, n.namespace, {**n.props, **changes[n.id]}, n.docs) for n in nodes])


def _supporting_units(store: GraphStore, namespace: str, survivors: Sequence[Record]) -> list[Passage | Turn]:
    """The passages and turns that still state a surviving statement or name a surviving entity."""
    ids = {p for r in survivors if isinstance(r, Statement) for p in r.provenance}
    entity_ids = [r.id for r in survivors if isinstance(r, Entity)]
    if entity_ids:
        ids |= {e.source for e in store.neighbours(namespace, entity_ids, ["MENTIONS"]) if e.target in entity_ids}
    return [r for r in read_records(store, namespace, sorted(ids)) if isinstance(r, Passage | Turn)]


def _reresolve(store: GraphStore, namespace: str, survivors: Sequence[Record], extractor: Extractor,
               resolution: ResolutionConfig | None) -> tuple[Resolved, EntityIndex, dict[str, str]]:  # fmt: skip
    """Extract the supporting units again and resolve them against the stored entities, whose aliases are
    collected afresh for the survivors. Returns the resolution, the index and each unit's text."""
    units = _supporting_units(store, namespace, survivors)
    dialogue_ids = sorted({u.dialogue_id for u in units if isinstance(u, Turn)})
    roots = [r for r in read_records(store, namespace, dialogue_ids) if isinstance(r, Dialogue)]
    extractions = extractor.extract(passage_inputs(units, roots))
    fresh = {r.id for r in survivors if isinstance(r, Entity)}
    index = EntityIndex(resolution)
    for node in store.iter_nodes(namespace, "Entity"):
        entity = from_node(node)
        assert isinstance(entity, Entity)
        index.add_known(entity.model_copy(update={"aliases": []}) if entity.id in fresh else entity)
    resolved = resolve_batch(index, extractions, passage_meta(units), namespace)
    return resolved, index, {u.id: u.text for u in units}


def _entity_updates(survivors: Sequence[Record], index: EntityIndex) -> dict[str, Props]:
    known = {k.id: k for k in index.by_key.values()}
    out: dict[str, Props] = {}
    for entity in survivors:
        k = known.get(entity.id)
        if not isinstance(entity, Entity) or k is None or not k.aliases:
            continue  # no remaining unit names it as the extractor reads them now: left as the store has it
        props: Props = {}
        aliases = sorted(k.aliases)[:50]
        if aliases != entity.aliases:
            props["aliases"] = aliases
        if entity.name not in k.aliases:  # a name only the forgotten document used
            props["name"] = min(k.aliases)
        if props:
            out[entity.id] = props
    return out


def _statement_updates(statement: Statement, derived: Statement | None, texts: dict[str, str],
                       names: dict[str, str]) -> Props:  # fmt: skip
    props: Props = {}
    if derived is not None:
        if derived.valid_from != statement.valid_from:
            props["valid_from"] = derived.valid_from
        if derived.confidence != statement.confidence:
            props["confidence"] = derived.confidence
        if not any(statement.sentence in texts.get(p, "") for p in statement.provenance):
            props["sentence"] = derived.sentence  # the sentence came from the forgotten document
    if isinstance(statement, Fact):
        for field, entity_id in (("subject_name", statement.subject_id), ("object_name", statement.object_id)):
            if entity_id in names and getattr(statement, field) != names[entity_id]:
                props[field] = names[entity_id]
    return props


def rederive(store: GraphStore, namespace: str, survivors: Sequence[Record], extractor: Extractor,
             resolution: ResolutionConfig | None = None) -> list[tuple[str, Props]]:  # fmt: skip
    """The property updates that make the survivors of a deletion what the remaining documents alone give."""
    resolved, index, texts = _reresolve(store, namespace, survivors, extractor, resolution)
    derived: dict[str, Statement] = {s.id: s for s in [*resolved.facts, *resolved.hyperedges]}
    updates = _entity_updates(survivors, index)
    names = {entity_id: str(props["name"]) for entity_id, props in updates.items() if "name" in props}
    statements: list[Statement] = [r for r in survivors if isinstance(r, Fact | Hyperedge)]
    if names:  # facts that name a renamed entity, whether or not the document supported them
        naming = {e.source for e in store.neighbours(namespace, list(names), ["SUBJECT", "OBJECT"])}
        statements += [r for r in read_records(store, namespace, sorted(naming - {s.id for s in statements}))
                       if isinstance(r, Fact)]  # fmt: skip
    for statement in statements:
        props = _statement_updates(statement, derived.get(statement.id), texts, names)
        if props:
            updates[statement.id] = props
    return sorted(updates.items())
