"""Records to store nodes and edges, and back: the one mapping both stores share.

A record becomes one node (its fields as properties) plus the edges that tie it to the
records it names: a passage is PART_OF its document, a fact has a SUBJECT and an OBJECT
and is SUPPORTED_BY the passages it came from, a hyperedge has PARTICIPANTs, and so on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from graphmem.records import (
    RECORD_BY_LABEL,
    Community,
    Dialogue,
    Document,
    Entity,
    Fact,
    Hyperedge,
    Mention,
    Participant,
    Passage,
    Record,
    Session,
    Supersession,
    Synonym,
    Turn,
)
from graphmem.store.base import Edge, GraphStore, InvalidRecordError, Node

GraphRecord = Record | Mention | Synonym | Supersession

# Fields kept outside the node's properties: the id and namespace are the node's identity,
# document_ids are the node's supporting docs.
_IDENTITY = {"id", "namespace", "document_ids"}


def _supporting_docs(record: Record) -> tuple[str, ...]:
    match record:
        case Document() | Dialogue():
            return (record.id,)
        case Passage():
            return (record.document_id,)
        case Session() | Turn():
            return (record.dialogue_id,)
        case Entity() | Fact() | Hyperedge():
            return tuple(record.document_ids)
    return ()


def _properties(record: Record) -> dict[str, Any]:
    props = {k: v for k, v in record.model_dump().items() if k not in _IDENTITY}
    if isinstance(record, Document):
        props["metadata"] = json.dumps(record.metadata, sort_keys=True) if record.metadata else None
    if isinstance(record, Hyperedge):
        del props["participants"]
        props["participant_ids"] = [p.entity_id for p in record.participants]
        props["participant_roles"] = [p.role for p in record.participants]
    return props


def _edges(record: Record) -> list[Edge]:
    ns = record.namespace

    def edge(kind: str, source: str, target: str, **props: Any) -> Edge:
        return Edge(kind, source, target, ns, props)

    match record:
        case Passage():
            return [edge("PART_OF", record.id, record.document_id)]
        case Session():
            return [edge("PART_OF", record.id, record.dialogue_id)]
        case Turn():
            return [edge("PART_OF", record.id, record.session_id)]
        case Fact():
            out = [edge("SUBJECT", record.id, record.subject_id), edge("OBJECT", record.id, record.object_id)]
            return out + [edge("SUPPORTED_BY", record.id, p) for p in record.provenance]
        case Hyperedge():
            out = [edge("PARTICIPANT", record.id, p.entity_id, role=p.role) for p in record.participants]
            return out + [edge("SUPPORTED_BY", record.id, p) for p in record.provenance]
        case Community():
            out = [edge("IN_COMMUNITY", member, record.id) for member in record.member_ids]
            return out + ([edge("CHILD_OF", record.id, record.parent_id)] if record.parent_id else [])
    return []


def to_node(record: Record) -> Node:
    return Node(record.LABEL, record.id, record.namespace, _properties(record), _supporting_docs(record))


def to_graph(records: Iterable[GraphRecord]) -> tuple[list[Node], list[Edge]]:
    """Nodes and edges for a batch of records (write the nodes first: edges need both ends)."""
    nodes: list[Node] = []
    edges: list[Edge] = []
    for record in records:
        if isinstance(record, Mention):
            edges.append(
                Edge(Mention.TYPE, record.passage_id, record.entity_id, record.namespace, {"count": record.count})
            )
        elif isinstance(record, Synonym):
            edges.append(
                Edge(Synonym.TYPE, record.entity_id, record.other_id, record.namespace, {"score": record.score})
            )
        elif isinstance(record, Supersession):
            edges.append(supersession_edge(record))
        elif isinstance(record, Record):
            nodes.append(to_node(record))
            edges.extend(_edges(record))
        else:
            raise InvalidRecordError(f"not a graphmem record: {type(record).__name__}")
    return nodes, edges


def supersession_edge(record: Supersession) -> Edge:
    props = record.model_dump(exclude={"namespace", "fact_id", "by_id"})
    return Edge(Supersession.TYPE, record.fact_id, record.by_id, record.namespace, props)


def supersession_from_edge(edge: Edge) -> Supersession:
    """The Supersession a SUPERSEDED_BY edge was written from."""
    return Supersession.model_validate({**edge.props, "namespace": edge.namespace, "fact_id": edge.source,
                                        "by_id": edge.target})  # fmt: skip


def from_node(node: Node) -> Record:
    """Rebuild the record a node was written from."""
    cls = RECORD_BY_LABEL.get(node.label)
    if cls is None:
        raise InvalidRecordError(f"node {node.id!r} has label {node.label!r}, which no graphmem record uses")
    data: dict[str, Any] = dict(node.props)
    data["id"], data["namespace"] = node.id, node.namespace
    if cls is Document:
        data["metadata"] = json.loads(data["metadata"]) if data.get("metadata") else {}
    if cls is Hyperedge:
        ids, roles = data.pop("participant_ids", []), data.pop("participant_roles", [])
        data["participants"] = [Participant(entity_id=i, role=r) for i, r in zip(ids, roles, strict=True)]
    if "document_ids" in cls.model_fields:
        data["document_ids"] = list(node.docs)
    return cls.model_validate(data)


def write_records(store: GraphStore, records: Sequence[GraphRecord]) -> tuple[int, int]:
    """Upsert records into a store, nodes before edges. Returns (nodes, edges) written."""
    nodes, edges = to_graph(records)
    return store.upsert_nodes(nodes), store.upsert_edges(edges)


def read_records(store: GraphStore, namespace: str, ids: Iterable[str]) -> list[Record]:
    return [from_node(node) for node in store.get_nodes(namespace, ids)]


# ---------------------------------------------------------------- facts read and rewritten in bulk (reconsolidation)

_FACT_PROPS = tuple(name for name in Fact.model_fields if name not in _IDENTITY)
_FACT_KEYS = frozenset(_FACT_PROPS)
_FACT_TEMPLATE: dict[str, Any] = dict.fromkeys(Fact.model_fields)  # field order, as model_construct fills __dict__
# Properties a fact always has as graphmem writes it: absent ones are then the fields whose default is None.
_FACT_ALWAYS = frozenset(
    name
    for name, field in Fact.model_fields.items()
    if name not in _IDENTITY and (field.is_required() or field.default_factory is not None or field.default is not None)
)
_FAST_FACTS = not Fact.__pydantic_post_init__ and all(
    f.alias is None and f.validation_alias is None for f in Fact.model_fields.values()
)
_set_attribute = object.__setattr__


def fact_from_node(node: Node) -> Fact:
    """The Fact a node stores, without validation (graphmem wrote it): what ``Fact.model_construct`` gives, a
    few times faster, since reconsolidation reads every fact. Nodes it cannot vouch for take model_construct."""
    props = node.props
    identity = {"id": node.id, "namespace": node.namespace, "document_ids": list(node.docs)}
    if not (_FAST_FACTS and _FACT_ALWAYS <= props.keys() <= _FACT_KEYS):
        return Fact.model_construct(**{**props, **identity})
    fact = Fact.__new__(Fact)
    _set_attribute(fact, "__dict__", {**_FACT_TEMPLATE, **props, **identity})
    _set_attribute(fact, "__pydantic_fields_set__", {*props, *identity})
    _set_attribute(fact, "__pydantic_extra__", None)
    _set_attribute(fact, "__pydantic_private__", None)
    return fact


def fact_patch(node: Node, fact: Fact) -> dict[str, Any] | None:
    """The properties to set on ``node`` (None: to remove) so that it stores ``fact``, as ``to_node(fact)``
    would; None when only a whole write will do (other documents, or properties a Fact does not have)."""
    props = node.props
    values = fact.__dict__
    if (fact.id, fact.namespace) != (node.id, node.namespace) or not props.keys() <= _FACT_KEYS:
        return None
    if not set(values["document_ids"]) <= set(node.docs):
        return None
    patch = {}
    for key in _FACT_PROPS:  # most values are the very objects read (fact_from_node shares them)
        value, stored = values.get(key), props.get(key)
        if value is not stored and (type(value) is not type(stored) or value != stored):
            patch[key] = value
    return patch


def fact_marked(fact: Fact, mark: str | None) -> Fact:
    """A copy of ``fact`` with another reconsolidation mark: what ``model_copy(update=...)`` gives, without its
    cost (reconsolidation marks every fact it checks, and most facts change in nothing else)."""
    copy = Fact.__new__(Fact)
    _set_attribute(copy, "__dict__", {**fact.__dict__, "reconsolidated": mark})
    _set_attribute(copy, "__pydantic_fields_set__", {*fact.__pydantic_fields_set__, "reconsolidated"})
    _set_attribute(copy, "__pydantic_extra__", fact.__pydantic_extra__)
    _set_attribute(copy, "__pydantic_private__", fact.__pydantic_private__)
    return copy
