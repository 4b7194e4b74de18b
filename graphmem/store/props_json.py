"""Node and edge properties as the embedded store keeps them: JSON text, datetimes tagged so they round-trip."""

from __future__ import annotations

import json
from datetime import datetime

import orjson

from graphmem.store.base import Props


def _tag(value: object) -> object:
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# Datetimes reach ``default`` (the C encoder's hook), so other values cost no Python call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_tag)


def encode_props(props: Props) -> str:
    return _ENCODER.encode(props)


def decode_props(text: str) -> Props:
    # orjson parses in a third of json's time: the store decodes every node a scan reads (a million for a
    # reconsolidation). json stays the fallback for anything orjson is stricter about.
    try:
        props = orjson.loads(text)
    except orjson.JSONDecodeError:
        props = json.loads(text)
    for key, value in props.items():
        if value.__class__ is dict and "$dt" in value:
            props[key] = datetime.fromisoformat(value["$dt"])
    return props


def docs_array(array: str) -> tuple[str, ...]:
    """The documents of a node, from the JSON array the store reads them as."""
    if array == "[]":
        return ()
    docs = orjson.loads(array)
    return (docs[0],) if len(docs) == 1 else tuple(sorted(docs))
