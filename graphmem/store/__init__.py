"""Graph stores: the narrow interface (``base``), the embedded SQLite file and Neo4j."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from graphmem.store.base import (
    Counts,
    DeleteResult,
    Edge,
    GraphStore,
    InvalidRecordError,
    MissingNodeError,
    Node,
    StoreError,
    StoreUnavailableError,
    StoreWriteError,
)
from graphmem.store.embedded import EmbeddedStore

NEO4J_SCHEMES = ("bolt://", "bolt+s://", "bolt+ssc://", "neo4j://", "neo4j+s://", "neo4j+ssc://")

__all__ = [
    "Counts",
    "DeleteResult",
    "Edge",
    "EmbeddedStore",
    "GraphStore",
    "InvalidRecordError",
    "MissingNodeError",
    "Node",
    "StoreError",
    "StoreUnavailableError",
    "StoreWriteError",
    "open_store",
]


def open_store(target: str | Path | None = None) -> GraphStore:
    """Open a store: a file path (embedded), a Neo4j URI, or ``"neo4j"`` for GRAPHMEM_NEO4J_* settings.

    With no target, GRAPHMEM_STORE decides (default: the embedded file ``.graphmem/graph.sqlite3``).
    """
    from graphmem.config import Settings

    spec = str(target) if target is not None else Settings.from_env().store
    if spec == "neo4j" or spec.startswith(NEO4J_SCHEMES):
        from graphmem.store.neo4j import Neo4jSettings, Neo4jStore

        settings = Neo4jSettings.from_env()
        return Neo4jStore(settings if spec == "neo4j" else replace(settings, uri=spec))
    return EmbeddedStore(spec)
