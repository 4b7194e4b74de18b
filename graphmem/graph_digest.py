"""A content digest of one namespace: SHA-256 over its nodes and edges with their properties.

Two graphs with the same digest hold the same nodes (label, id, supporting documents, properties) and the
same edges (type, ends, properties), whichever store holds them and in whatever order they were written.
Volatile properties, which differ between two runs over the same input, are left out: by default
``recorded_at`` (when graphmem first learned a fact). Used to prove that forgetting a document leaves the
graph a run without it would have built, and that work in one namespace leaves the others as they were.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from datetime import datetime

from graphmem.store.base import Edge, GraphStore, Node, Props

VOLATILE_PROPS = frozenset({"recorded_at"})


def _value(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)  # 1.0 and 1 are one value (a store may give back either)
    if isinstance(value, list | tuple):
        return [_value(v) for v in value]
    return value


def _props(props: Props, ignore: Iterable[str]) -> dict[str, object]:
    skipped = set(ignore)
    return {k: _value(v) for k, v in sorted(props.items()) if k not in skipped and v is not None}


def node_line(node: Node, ignore: Iterable[str] = VOLATILE_PROPS) -> str:
    """One node as canonical JSON (sorted keys, no namespace: the digest is of one namespace)."""
    record = {"label": node.label, "id": node.id, "docs": sorted(node.docs), "props": _props(node.props, ignore)}
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def edge_line(edge: Edge, ignore: Iterable[str] = VOLATILE_PROPS) -> str:
    record = {"type": edge.type, "source": edge.source, "target": edge.target, "props": _props(edge.props, ignore)}
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def graph_lines(store: GraphStore, namespace: str, ignore: Iterable[str] = VOLATILE_PROPS) -> list[str]:
    """Every node and edge of the namespace as canonical lines, sorted: what the digest hashes (and what a
    test prints to show where two graphs differ)."""
    skipped = frozenset(ignore)
    nodes = (f"N {node_line(n, skipped)}" for n in store.iter_nodes(namespace))
    edges = (f"E {edge_line(e, skipped)}" for e in store.iter_edges(namespace))
    return sorted([*nodes, *edges])


def digest_lines(lines: Iterator[str] | list[str]) -> str:
    hasher = hashlib.sha256()
    for line in lines:
        hasher.update(line.encode("utf-8"))
        hasher.update(b"\n")
    return hasher.hexdigest()


def graph_digest(store: GraphStore, namespace: str, ignore: Iterable[str] = VOLATILE_PROPS) -> str:
    """The SHA-256 (hex) of the namespace's sorted node and edge lines; see the module's docstring."""
    return digest_lines(graph_lines(store, namespace, ignore))


def namespace_digest(store: GraphStore, namespace: str) -> str:
    """``graph_digest`` with the default volatile properties: the name the fault tests use."""
    return graph_digest(store, namespace)
