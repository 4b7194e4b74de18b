"""Settings read from GRAPHMEM_* environment variables; every default is documented here.

| variable | default | meaning |
|---|---|---|
| GRAPHMEM_STORE | .graphmem/graph.sqlite3 | embedded store file, a Neo4j URI (bolt://, neo4j+s:// ...) or ``neo4j`` |
| GRAPHMEM_NAMESPACE | default | the tenant every call uses unless told otherwise |
| GRAPHMEM_NEO4J_URI | bolt://127.0.0.1:7687 | Neo4j server used when the store is ``neo4j`` |
| GRAPHMEM_NEO4J_USER | neo4j | |
| GRAPHMEM_NEO4J_PASSWORD | graphmem-dev | the local development server's password |
| GRAPHMEM_NEO4J_DATABASE | neo4j | |
"""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_STORE = ".graphmem/graph.sqlite3"


@dataclass(frozen=True)
class Settings:
    store: str = DEFAULT_STORE
    namespace: str = "default"

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            store=os.environ.get("GRAPHMEM_STORE", cls.store),
            namespace=os.environ.get("GRAPHMEM_NAMESPACE", cls.namespace),
        )
