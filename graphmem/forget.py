"""Forgetting a document (or dialogue) with everything only it supported.

The store deletes the nodes only the document supported (its passages or turns, the facts, hyperedges and
entities no other document states) and drops it from the others: its id leaves their supporting documents
and its passages their provenance. What survives may still carry what the document contributed, though:
a fact's sentence, earliest date and confidence, an entity's aliases and name. So before the deletion the
document's passages are extracted again (``trace_document``: which names it used for which entity, what it
stated of which fact), and after it, ``rederive`` works out again only what the document may have set, by
extracting the remaining passages that bear on it: those stating such a fact, and those naming such an
entity that hold one of the document's names for it. The graph then ends as a run that never saw the
document would have left it. Two choices of ingestion depend on the order documents came in, and are made
here by a rule instead: a fact keeps its sentence when a remaining passage holds it (else it takes the one
extraction gives now), and an entity whose name only the forgotten document used takes the first, in sorted
order, of its remaining aliases. An entity's type is left as it is.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

from graphmem.extract.types import Extractor
from graphmem.graph import from_node, read_records
from graphmem.ingest import passage_inputs, passage_meta
from graphmem.records import (
    Dialogue,
    Entity,
    Fact,
    Hyperedge,
    Passage,
    Record,
    Session,
    Statement,
    Supersession,
    Turn,
)
from graphmem.resolve import EntityIndex, ResolutionConfig, Resolved, resolve_batch
from graphmem.store import GraphStore
from graphmem.store.base import Edge, Node, Props, PropsWriter, check_namespace

Unit = Passage | Turn


@dataclass
class ForgetReport:
    """What forgetting removed and repaired."""

    namespace: str
    document_id: str | None  # None: the whole namespace
    nodes_deleted: int
    edges_deleted: int = 0
    nodes_updated: int = 0  # nodes that lost the document but had other support
    rederived: int = 0  # of those, the ones whose derived properties changed
    units_extracted: int = 0  # passages and turns extracted again (the document's, then the remaining ones)
    facts_to_recheck: int = 0  # reconsolidated facts that lost support, marked to be checked again
    reconsolidated: bool = False  # whether Memory.forget ran reconsolidation for them
    communities_changed: int = 0  # communities built again, created or deleted (Memory.forget)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class DocumentTrace:
    """What a document contributed, as extraction reads it now: kept from before its deletion."""

    names: dict[str, set[str]] = field(default_factory=dict)  # entity id -> the names it used for the entity
    statements: dict[str, Statement] = field(default_factory=dict)  # fact or hyperedge id -> as it alone states it
    units: int = 0


def forget_document(store: GraphStore, namespace: str, document_id: str, extractor: Extractor | None,
                    resolution: ResolutionConfig | None = None) -> ForgetReport:  # fmt: skip
    """Delete ``document_id`` from ``namespace``; with an extractor, derive the survivors' properties again."""
    started = time.perf_counter()
    check_namespace(namespace)
    trace = trace_document(store, namespace, document_id, extractor, resolution) if extractor else None
    result = store.delete_document(namespace, document_id)
    report = ForgetReport(namespace, document_id, result.nodes_deleted, result.edges_deleted, result.nodes_updated)
    prune_evidence(store, namespace, result.updated_ids, set(result.deleted_ids))
    survivors = read_records(store, namespace, result.updated_ids)
    updates: dict[str, Props] = {}
    if extractor is not None and trace is not None and survivors:
        derived, extracted = rederive(store, namespace, survivors, trace, extractor, resolution)
        updates = dict(derived)
        report.rederived, report.units_extracted = len(derived), trace.units + extracted
    # A reconsolidated fact that lost support is checked again by the next run: the document may have been
    # the evidence that retired another fact, or that dated its end.
    recheck = [r.id for r in survivors if isinstance(r, Fact) and r.reconsolidated]
    for fact_id in recheck:
        updates[fact_id] = {**updates.get(fact_id, {}), "reconsolidated": None}
    write_props(store, namespace, sorted(updates.items()))
    report.facts_to_recheck = len(recheck)
    report.seconds = time.perf_counter() - started
    return report


def forget_namespace(store: GraphStore, namespace: str) -> ForgetReport:
    started = time.perf_counter()
    deleted = store.delete_namespace(check_namespace(namespace))
    return ForgetReport(namespace, None, deleted, seconds=time.perf_counter() - started)


def prune_evidence(store: GraphStore, namespace: str, ids: Sequence[str], gone: set[str]) -> int:
    """Drop deleted passages from the evidence of the reconsolidation links (SUPERSEDED_BY) of these facts,
    as the store drops them from provenance. Returns how many links changed."""
    if not ids or not gone:
        return 0
    changed = []
    for link in store.neighbours(namespace, ids, [Supersession.TYPE]):
        evidence = link.props.get("evidence")
        if isinstance(evidence, list) and gone.intersection(evidence):
            kept = [p for p in evidence if p not in gone]
            changed.append(Edge(link.type, link.source, link.target, namespace, {**link.props, "evidence": kept}))
    if changed:
        store.upsert_edges(changed)
    return len(changed)


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


def _document_units(store: GraphStore, namespace: str, document_id: str) -> list[Unit]:
    """A document's passages, or a dialogue's turns (through its sessions)."""
    part_ids = {e.source for e in store.neighbours(namespace, [document_id], ["PART_OF"]) if e.target == document_id}
    parts = read_records(store, namespace, sorted(part_ids))
    sessions = [r.id for r in parts if isinstance(r, Session)]
    if sessions:
        turns = {e.source for e in store.neighbours(namespace, sessions, ["PART_OF"]) if e.target in sessions}
        parts += read_records(store, namespace, sorted(turns))
    return [r for r in parts if isinstance(r, Passage | Turn)]


class _Reader:
    """Extraction of units and their resolution against the namespace's entities (loaded once), collecting
    the names the units read so far use for each entity."""

    def __init__(self, store: GraphStore, namespace: str, extractor: Extractor,
                 resolution: ResolutionConfig | None) -> None:  # fmt: skip
        self.store, self.namespace, self.extractor = store, namespace, extractor
        self.index = EntityIndex(resolution)
        for node in store.iter_nodes(namespace, "Entity"):
            entity = from_node(node)
            assert isinstance(entity, Entity)
            self.index.add_known(entity.model_copy(update={"aliases": []}))  # resolving collects the names read
        self.units = 0

    def read(self, units: Sequence[Unit]) -> Resolved:
        dialogue_ids = sorted({u.dialogue_id for u in units if isinstance(u, Turn)})
        roots = [r for r in read_records(self.store, self.namespace, dialogue_ids) if isinstance(r, Dialogue)]
        self.units += len(units)
        extractions = self.extractor.extract(passage_inputs(units, roots))
        return resolve_batch(self.index, extractions, passage_meta(units), self.namespace)

    def names(self) -> dict[str, set[str]]:
        return {k.id: set(k.aliases) for k in self.index.by_key.values() if k.aliases}


def trace_document(store: GraphStore, namespace: str, document_id: str, extractor: Extractor,
                   resolution: ResolutionConfig | None = None) -> DocumentTrace:  # fmt: skip
    units = _document_units(store, namespace, document_id)
    if not units:
        return DocumentTrace()
    reader = _Reader(store, namespace, extractor, resolution)
    resolved = reader.read(units)
    return DocumentTrace(reader.names(), {s.id: s for s in [*resolved.facts, *resolved.hyperedges]}, len(units))


def _holds_sentence(statement: Statement, texts: dict[str, str]) -> bool:
    return any(statement.sentence in texts.get(p, "") for p in statement.provenance)


def _may_carry(statement: Statement, stated: Statement | None, texts: dict[str, str]) -> bool:
    """Whether the document may have set the statement's date, confidence or sentence (else it is kept)."""
    if stated is None:
        return True  # extraction reads the document otherwise now: work it out again to be sure
    earliest = stated.valid_from is not None and stated.valid_from == statement.valid_from
    return earliest or stated.confidence >= statement.confidence or not _holds_sentence(statement, texts)


def _naming_units(store: GraphStore, namespace: str, pending: set[tuple[str, str]],
                  units: dict[str, Unit]) -> dict[str, set[tuple[str, str]]]:  # fmt: skip
    """Per remaining unit naming an entity of ``pending`` (entity id, name): the pairs it may confirm, those
    whose name it holds. ``units`` is a cache of unit records, filled here."""
    entity_ids = sorted({entity_id for entity_id, _ in pending})
    edges = [e for e in store.neighbours(namespace, entity_ids, ["MENTIONS"]) if e.target in entity_ids]
    missing = sorted({e.source for e in edges} - set(units))
    units.update((r.id, r) for r in read_records(store, namespace, missing) if isinstance(r, Passage | Turn))
    dialogue_ids = sorted({u.dialogue_id for u in units.values() if isinstance(u, Turn)})
    participants = {d.id: d.participants for d in read_records(store, namespace, dialogue_ids)
                    if isinstance(d, Dialogue)}  # fmt: skip
    out: dict[str, set[tuple[str, str]]] = {}
    for edge in edges:
        unit = units.get(edge.source)
        if unit is None:
            continue
        # A name may be resolved rather than written: a pronoun to the title, "I" and "you" to the speakers.
        if isinstance(unit, Passage):
            said = [unit.text, unit.title or ""]
        else:
            said = [unit.text, unit.speaker, *participants.get(unit.dialogue_id, [])]
        pairs = {(entity_id, name) for entity_id, name in pending
                 if entity_id == edge.target and any(name in text for text in said)}  # fmt: skip
        if pairs:
            out.setdefault(unit.id, set()).update(pairs)
    return out


def _unconfirmed(reader: _Reader, pending: set[tuple[str, str]], candidates: dict[str, set[tuple[str, str]]],
                 units: dict[str, Unit], batch: int = 16) -> set[tuple[str, str]]:  # fmt: skip
    """The (entity, name) pairs no remaining unit uses. Units are read a few at a time, and only while some
    pair they may confirm is open: one passage saying "London" is enough to keep the name of a hub entity."""

    def confirmed() -> set[tuple[str, str]]:
        names = reader.names()
        return {(entity_id, name) for entity_id, name in pending if name in names.get(entity_id, ())}

    pending = pending - confirmed()
    order = sorted(candidates)
    while pending and order:
        chosen = [u for u in order if candidates[u] & pending][:batch]
        if not chosen:
            break
        order = [u for u in order if u not in chosen]
        reader.read([units[u] for u in chosen])
        pending -= confirmed()
    return pending


def _entity_props(entity: Entity, dropped: set[str]) -> Props:
    if not dropped:
        return {}
    aliases = sorted(set(entity.aliases) - dropped)
    props: Props = {"aliases": aliases} if aliases != entity.aliases else {}
    if entity.name in dropped and aliases:
        props["name"] = aliases[0]
    return props


def _statement_props(statement: Statement, derived: Statement | None, texts: dict[str, str],
                     names: dict[str, str]) -> Props:  # fmt: skip
    props: Props = {}
    if derived is not None:
        if derived.valid_from != statement.valid_from:
            props["valid_from"] = derived.valid_from
        if derived.confidence != statement.confidence:
            props["confidence"] = derived.confidence
        if not _holds_sentence(statement, texts):
            props["sentence"] = derived.sentence  # the sentence came from the forgotten document
    if isinstance(statement, Fact):
        for key, entity_id in (("subject_name", statement.subject_id), ("object_name", statement.object_id)):
            if entity_id in names and getattr(statement, key) != names[entity_id]:
                props[key] = names[entity_id]
    return props


def _facts_naming(store: GraphStore, namespace: str, entity_ids: Iterable[str], skip: set[str]) -> list[Fact]:
    ids = {e.source for e in store.neighbours(namespace, list(entity_ids), ["SUBJECT", "OBJECT"])} - skip
    return [r for r in read_records(store, namespace, sorted(ids)) if isinstance(r, Fact)]


def rederive(store: GraphStore, namespace: str, survivors: Sequence[Record], trace: DocumentTrace,
             extractor: Extractor, resolution: ResolutionConfig | None = None,
             ) -> tuple[list[tuple[str, Props]], int]:  # fmt: skip
    """The property updates that make the survivors of a deletion what the remaining documents alone give,
    and how many units were extracted again to find them."""
    statements: list[Statement] = [r for r in survivors if isinstance(r, Fact | Hyperedge)]
    entities = [r for r in survivors if isinstance(r, Entity)]
    units = {r.id: r for r in read_records(store, namespace, sorted({p for s in statements for p in s.provenance}))
             if isinstance(r, Passage | Turn)}  # fmt: skip
    texts = {unit_id: unit.text for unit_id, unit in units.items()}
    doubtful = [s for s in statements if _may_carry(s, trace.statements.get(s.id), texts)]
    reader = _Reader(store, namespace, extractor, resolution)
    derived: dict[str, Statement] = {}
    stating = sorted({p for s in doubtful for p in s.provenance if p in units})
    if stating:
        resolved = reader.read([units[u] for u in stating])
        derived = {s.id: s for s in [*resolved.facts, *resolved.hyperedges]}
    # The names the document used for a surviving entity, kept only if a remaining unit uses them too.
    pending = {(e.id, name) for e in entities for name in trace.names.get(e.id, set()) & {*e.aliases, e.name}}
    dropped = _unconfirmed(reader, pending, _naming_units(store, namespace, pending, units), units)
    updates = {e.id: props for e in entities if (props := _entity_props(e, {n for i, n in dropped if i == e.id}))}
    names = {entity_id: str(props["name"]) for entity_id, props in updates.items() if "name" in props}
    if names:  # facts that name a renamed entity, whether or not the document supported them
        statements += _facts_naming(store, namespace, names, {s.id for s in statements})
    doubtful_ids = {s.id for s in doubtful}
    for statement in statements:
        found = derived.get(statement.id) if statement.id in doubtful_ids else None
        if props := _statement_props(statement, found, texts, names):
            updates[statement.id] = props
    return sorted(updates.items()), reader.units
