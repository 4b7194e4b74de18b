"""The narrow graph-store interface every backend implements, and the checks they share.

A store holds labelled nodes and typed, directed edges, each scoped to a namespace.
Node ids are unique within a namespace; an edge is identified by (source, type, target).
Nodes may list the documents that support them (``docs``): deleting a document removes
what only it supported. Algorithms never talk to a store directly: they work on the
in-memory projection built from ``iter_nodes``/``iter_edges``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

PropValue = str | int | float | bool | datetime | list[str] | list[int] | list[float] | list[bool] | None
Props = dict[str, PropValue]

LABEL_PATTERN = re.compile(r"^[A-Z][A-Za-z0-9]{0,63}$")
EDGE_TYPE_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
PROP_KEY_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
NAMESPACE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
RESERVED_KEYS = frozenset({"id", "namespace", "docs", "label"})
MAX_ID_CHARS = 512
MAX_STRING_CHARS = 1_000_000
MAX_LIST_ITEMS = 100_000
INT64 = (-(2**63), 2**63 - 1)
# The property in which nodes list the node ids they were derived from; deleting a
# document prunes the ids of deleted nodes from it on the nodes that survive.
PROVENANCE_KEY = "provenance"


class StoreError(Exception):
    """Base of every error a store raises on purpose."""


class InvalidRecordError(StoreError, ValueError):
    """A node or edge that no store may hold; the message names the record and the reason."""


class MissingNodeError(StoreError, LookupError):
    """An edge points at a node that does not exist in its namespace."""


class StoreUnavailableError(StoreError, ConnectionError):
    """The backend cannot be reached or opened."""


class StoreWriteError(StoreError, OSError):
    """The backend refused a write (disk full, read-only file); the batch was rolled back, earlier writes stay."""


@dataclass(frozen=True, slots=True)
class Node:
    label: str
    id: str
    namespace: str
    props: Props = field(default_factory=dict)
    docs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Edge:
    type: str
    source: str
    target: str
    namespace: str
    props: Props = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.source, self.type, self.target)


@dataclass(frozen=True, slots=True)
class Counts:
    nodes: dict[str, int]
    edges: dict[str, int]

    @property
    def total_nodes(self) -> int:
        return sum(self.nodes.values())

    @property
    def total_edges(self) -> int:
        return sum(self.edges.values())


@dataclass(frozen=True, slots=True)
class DeleteResult:
    nodes_deleted: int
    edges_deleted: int
    nodes_updated: int
    # Which nodes: those deleted, and those that lost the document but kept other support.
    deleted_ids: tuple[str, ...] = ()
    updated_ids: tuple[str, ...] = ()


@runtime_checkable
class GraphStore(Protocol):
    """What every backend provides; all writes are batches and bump the namespace revision."""

    def upsert_nodes(self, nodes: Sequence[Node]) -> int:
        """Insert or replace nodes (props replaced, ``docs`` unioned). Returns how many were written."""
        ...

    def upsert_edges(self, edges: Sequence[Edge]) -> int:
        """Insert or replace edges; raises MissingNodeError if an endpoint does not exist."""
        ...

    def get_nodes(self, namespace: str, ids: Iterable[str]) -> list[Node]:
        """The nodes with these ids that exist, in the order asked."""
        ...

    def neighbours(self, namespace: str, ids: Iterable[str], edge_types: Iterable[str] | None = None) -> list[Edge]:
        """Every edge touching one of these nodes (either direction), optionally of some types."""
        ...

    def iter_nodes(self, namespace: str, label: str | None = None) -> Iterator[Node]: ...

    def iter_edges(self, namespace: str, edge_type: str | None = None) -> Iterator[Edge]: ...

    def delete_document(self, namespace: str, document_id: str) -> DeleteResult:
        """Drop ``document_id`` from every node's docs; delete nodes left with none (and their edges)."""
        ...

    def delete_namespace(self, namespace: str) -> int:
        """Delete every node and edge of a namespace; returns the number of nodes deleted."""
        ...

    def counts(self, namespace: str) -> Counts: ...

    def revision(self, namespace: str) -> int:
        """A number that grows with every write to the namespace (0 before the first)."""
        ...

    def namespaces(self) -> list[str]: ...

    def close(self) -> None: ...


@runtime_checkable
class PropsWriter(Protocol):
    """A store that also sets some properties of existing nodes in one batch (both backends do; a wrapper such
    as the index's recording store may not, and callers then upsert whole nodes)."""

    def set_props(self, namespace: str, updates: Sequence[tuple[str, Props]]) -> int:
        """Set these properties of existing nodes, keeping the others; a None value removes one. Labels and
        docs stay. Raises MissingNodeError if a node does not exist. Returns how many nodes were updated."""
        ...


# ---------------------------------------------------------------- validation shared by backends


def to_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise InvalidRecordError("naive datetime: give a timezone (UTC is assumed nowhere in the store)")
    return value.astimezone(UTC)


def _check_value(key: str, value: object) -> PropValue:
    if value is None or isinstance(value, bool | float | str):
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidRecordError(f"property {key!r}: {value} is not a finite number")
        if isinstance(value, str) and len(value) > MAX_STRING_CHARS:
            raise InvalidRecordError(f"property {key!r}: string of {len(value):,} chars exceeds {MAX_STRING_CHARS:,}")
        return value  # type: ignore[return-value]
    if isinstance(value, int):
        if not INT64[0] <= value <= INT64[1]:
            raise InvalidRecordError(f"property {key!r}: integer {value} does not fit in 64 bits")
        return value
    if isinstance(value, datetime):
        return to_utc(value)
    if isinstance(value, list | tuple):
        if len(value) > MAX_LIST_ITEMS:
            raise InvalidRecordError(f"property {key!r}: list of {len(value):,} items exceeds {MAX_LIST_ITEMS:,}")
        items = [_check_value(key, item) for item in value]
        kinds = {type(item) for item in items}
        if type(None) in kinds or datetime in kinds:
            raise InvalidRecordError(f"property {key!r}: lists may hold strings, numbers or booleans only")
        if len(kinds - {int, float}) > 1 or (kinds & {int, float} and kinds - {int, float}):
            raise InvalidRecordError(f"property {key!r}: list mixes types {sorted(k.__name__ for k in kinds)}")
        if kinds == {int, float}:
            items = [float(item) for item in items]  # type: ignore[arg-type]
        return items  # type: ignore[return-value]
    raise InvalidRecordError(f"property {key!r}: unsupported type {type(value).__name__}")


def check_props(props: object, where: str, *, removals: bool = False) -> Props:
    """Valid properties; None values are dropped (absent and None mean the same), or kept with ``removals``."""
    if not isinstance(props, dict):
        raise InvalidRecordError(f"{where}: props must be a dict, got {type(props).__name__}")
    clean: Props = {}
    for key, value in props.items():
        if not isinstance(key, str) or not PROP_KEY_PATTERN.match(key):
            raise InvalidRecordError(f"{where}: property name {key!r} must match {PROP_KEY_PATTERN.pattern}")
        if key in RESERVED_KEYS:
            raise InvalidRecordError(f"{where}: property name {key!r} is reserved")
        try:
            checked = _check_value(key, value)
        except InvalidRecordError as exc:
            raise InvalidRecordError(f"{where}: {exc}") from None
        if checked is not None or removals:  # absent and None mean the same in every store
            clean[key] = checked
    return clean


def check_id(value: object, what: str, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidRecordError(f"{where}: {what} must be a non-empty string, got {value!r}")
    if len(value) > MAX_ID_CHARS:
        raise InvalidRecordError(f"{where}: {what} of {len(value)} chars exceeds {MAX_ID_CHARS}")
    return value


def check_namespace(value: object, where: str = "namespace") -> str:
    if not isinstance(value, str) or not NAMESPACE_PATTERN.match(value):
        raise InvalidRecordError(f"{where}: namespace {value!r} must match {NAMESPACE_PATTERN.pattern}")
    return value


def checked_nodes(nodes: Sequence[Node]) -> list[Node]:
    """Validate a batch; the last write of a repeated id wins, as in a sequence of upserts."""
    out: dict[tuple[str, str], Node] = {}
    for i, node in enumerate(nodes):
        where = f"node #{i}"
        if not isinstance(node, Node):
            raise InvalidRecordError(f"{where}: expected a Node, got {type(node).__name__}")
        where = f"node #{i} ({node.id!r})"
        check_id(node.id, "id", where)
        check_namespace(node.namespace, where)
        if not isinstance(node.label, str) or not LABEL_PATTERN.match(node.label):
            raise InvalidRecordError(f"{where}: label {node.label!r} must match {LABEL_PATTERN.pattern}")
        docs = tuple(sorted({check_id(d, "document id", where) for d in node.docs}))
        clean = Node(node.label, node.id, node.namespace, check_props(node.props, where), docs)
        key = (node.namespace, node.id)
        previous = out.get(key)
        if previous is not None:
            clean = Node(clean.label, clean.id, clean.namespace, clean.props, tuple(sorted({*previous.docs, *docs})))
        out[key] = clean
    return list(out.values())


def checked_updates(namespace: str, updates: Sequence[tuple[str, Props]]) -> list[tuple[str, Props]]:
    """Validate a ``set_props`` batch (None values kept: they remove); a repeated id's updates apply in order."""
    check_namespace(namespace)
    out: dict[str, Props] = {}
    shared: dict[int, Props] = {}  # one props dict given for many nodes is checked once (and stays one object)
    for i, update in enumerate(updates):
        if not isinstance(update, tuple | list) or len(update) != 2:
            raise InvalidRecordError(f"update #{i}: expected a pair (node id, props), got {update!r}")
        node_id, props = update
        if not isinstance(node_id, str) or not 0 < len(node_id) <= MAX_ID_CHARS:
            check_id(node_id, "id", f"update #{i}")  # raises, saying why
        clean = shared.get(id(props))
        if clean is None:
            try:
                clean = shared[id(props)] = check_props(props, "", removals=True)
            except InvalidRecordError as exc:  # the update is named only when it fails: a batch may hold millions
                raise InvalidRecordError(f"update #{i} ({node_id!r}){exc}") from None
        previous = out.get(node_id)
        out[node_id] = clean if previous is None else {**previous, **clean}
    return list(out.items())


def checked_edges(edges: Sequence[Edge]) -> list[Edge]:
    out: dict[tuple[str, str, str, str], Edge] = {}
    for i, edge in enumerate(edges):
        where = f"edge #{i}"
        if not isinstance(edge, Edge):
            raise InvalidRecordError(f"{where}: expected an Edge, got {type(edge).__name__}")
        where = f"edge #{i} ({edge.source!r} -{edge.type}-> {edge.target!r})"
        check_id(edge.source, "source id", where)
        check_id(edge.target, "target id", where)
        check_namespace(edge.namespace, where)
        if not isinstance(edge.type, str) or not EDGE_TYPE_PATTERN.match(edge.type):
            raise InvalidRecordError(f"{where}: type {edge.type!r} must match {EDGE_TYPE_PATTERN.pattern}")
        clean = Edge(edge.type, edge.source, edge.target, edge.namespace, check_props(edge.props, where))
        out[(edge.namespace, *edge.key)] = clean
    return list(out.values())


def missing_message(namespace: str, missing: Sequence[str]) -> str:
    shown = ", ".join(repr(m) for m in list(missing)[:10])
    more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
    return f"edges point at nodes missing from namespace {namespace!r}: {shown}{more}; write the nodes first"
