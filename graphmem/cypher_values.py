"""Cypher results as plain Python, and as an aligned text table. Pure: nothing here talks to a server.

Nodes become a dict of their properties plus ``_labels`` and ``_element_id``; relationships a dict of their
properties plus ``_type``, ``_element_id``, the endpoints' element ids (``_start``, ``_end``) and graphmem
ids (``_source``, ``_target``); paths a list alternating nodes and relationships; temporal values Python's
datetime, date and time; durations ISO 8601 strings. A node's ``embedding`` is left out (384 floats nobody
reads in a row; ``RETURN n.embedding`` gives it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from neo4j.graph import Node, Path, Relationship
from neo4j.spatial import Point
from neo4j.time import Date, DateTime, Duration, Time

HIDDEN_PROPS = frozenset({"embedding"})
HELPER_LABEL = "Node"  # every graphmem node carries it beside its own


def node_dict(node: Node) -> dict[str, Any]:
    props = {k: to_python(v) for k, v in node.items() if k not in HIDDEN_PROPS}
    return {"_labels": sorted(node.labels), "_element_id": node.element_id, **props}


def relationship_dict(rel: Relationship) -> dict[str, Any]:
    start, end = rel.start_node, rel.end_node
    return {
        "_type": rel.type,
        "_element_id": rel.element_id,
        "_start": start.element_id if start is not None else None,
        "_end": end.element_id if end is not None else None,
        "_source": start.get("id") if start is not None else None,
        "_target": end.get("id") if end is not None else None,
        **{k: to_python(v) for k, v in rel.items()},
    }


def path_list(path: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [node_dict(path.start_node)]
    for rel, node in zip(path.relationships, path.nodes[1:], strict=True):
        out += [relationship_dict(rel), node_dict(node)]
    return out


def to_python(value: Any) -> Any:
    """A value the driver returned, as plain Python (see the module's docstring)."""
    match value:
        case Node():
            return node_dict(value)
        case Relationship():
            return relationship_dict(value)
        case Path():
            return path_list(value)
        case DateTime() | Date() | Time():
            return value.to_native()
        case Duration():  # a tuple subclass: before the sequences
            return value.iso_format()
        case Point():
            return {"srid": value.srid, "coordinates": list(value)}
        case Mapping():
            return {k: to_python(v) for k, v in value.items()}
        case list() | tuple():
            return [to_python(v) for v in value]
    return value


def record_dict(keys: Sequence[str], values: Sequence[Any]) -> dict[str, Any]:
    return {k: to_python(v) for k, v in zip(keys, values, strict=True)}


# ------------------------------------------------------------------ text table


def cell_text(value: Any) -> str:
    """One value as a short line: a node by label and name, a relationship by type, a list joined."""
    if value is None:
        return ""
    if isinstance(value, dict) and "_labels" in value:
        label = next((lb for lb in value["_labels"] if lb != HELPER_LABEL), HELPER_LABEL)
        caption = value.get("name") or value.get("title") or value.get("predicate") or value.get("id") or ""
        return f"({label} {caption})".replace(" )", ")")
    if isinstance(value, dict) and "_type" in value:
        return f"[:{value['_type']}]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {cell_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(cell_text(v) for v in value) + "]"
    if isinstance(value, datetime):
        return value.isoformat().replace("T00:00:00+00:00", "").replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.4g}"
    return " ".join(str(value).split())


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def format_table(rows: Sequence[Mapping[str, Any]], width: int = 40) -> str:
    """Rows as an aligned table with a header line; each cell cut to ``width`` characters."""
    if not rows:
        return "(no rows)"
    columns = list(dict.fromkeys(k for row in rows for k in row))
    cells = [[_cut(cell_text(row.get(c)), width) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]  # fmt: skip
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines)


def parse_param(text: str) -> tuple[str, Any]:
    """``k=v`` from the command line: ``v`` as JSON when it parses (numbers, lists, true, null), else a string."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"a parameter is written name=value, not {text!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip(), value


def to_json(rows: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps(list(rows), indent=2, default=str, ensure_ascii=False)
