"""Run a user's Cypher (text, a .cypher file or a library name) on the Neo4j store, read-only unless asked.

Read-only is enforced twice: the query is first planned with EXPLAIN and refused unless the server calls
it a read (``query_type`` "r"), so nothing runs; then it runs in a READ access-mode session, which the
server itself keeps from writing. A write (``read_only=False``) counts as a change of the namespace: its
revision is bumped, so cached retrieval indexes are rebuilt.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from neo4j.exceptions import Neo4jError

from graphmem.cypher_library import ResolvedQuery, resolve
from graphmem.cypher_values import record_dict
from graphmem.store import GraphStore, StoreError
from graphmem.store import cypher as store_cypher
from graphmem.store.neo4j import Neo4jStore

if TYPE_CHECKING:
    from graphmem.memory import Memory

_LEADING = re.compile(r"^(?:\s+|//[^\n]*(?:\n|$)|/\*.*?\*/)*", re.DOTALL)
_QUERY_KINDS = {"r": "a read", "rw": "a read and write", "w": "a write", "s": "a schema change"}
START_NEO4J = (
    "Start the local server with `make neo4j-start` (or `bash docker/neo4j-local/neo4j-local.sh start`), "
    "or set GRAPHMEM_NEO4J_URI to a running one; then open the Memory on it: Memory('neo4j', namespace=...) "
    "or Memory('bolt://127.0.0.1:7687'), and on the command line `--store neo4j` (or GRAPHMEM_STORE=neo4j)."
)


class CypherError(StoreError):
    """A Cypher query could not be run (base of the errors below)."""


class CypherNeedsNeo4jError(CypherError):
    """Cypher was asked of a store that is not Neo4j."""


class CypherWriteRefused(CypherError, PermissionError):
    """A query that writes, run read-only: refused before it ran."""


class CypherQueryError(CypherError):
    """The server rejected the query (syntax, a missing parameter, a failed procedure ...)."""


@dataclass
class CypherResult:
    columns: list[str]
    rows: list[dict[str, Any]]
    query_type: str
    wrote: bool = False
    namespaces_touched: list[str] = field(default_factory=list)


def neo4j_store(store: GraphStore) -> Neo4jStore:
    """The store as a Neo4jStore, or a clear error saying Cypher needs Neo4j and how to get it."""
    if isinstance(store, Neo4jStore):
        return store
    raise CypherNeedsNeo4jError(f"Cypher queries need the Neo4j store, and this one is {store!r}. {START_NEO4J}")


def explain_text(text: str) -> str:
    """The query prefixed with EXPLAIN (a PROFILE becomes an EXPLAIN: PROFILE would run it)."""
    body = text[_LEADING.match(text).end() :]  # type: ignore[union-attr]  # the pattern matches any string
    head = body[:8].upper()
    if head.startswith("EXPLAIN"):
        return body
    if head.startswith("PROFILE"):
        return "EXPLAIN" + body[len("PROFILE") :]
    return "EXPLAIN\n" + body


def prepared_params(query: ResolvedQuery, params: Mapping[str, Any] | None, namespace: str) -> dict[str, Any]:
    """The caller's params, plus $namespace when the query uses it and none was given. A library query or
    file also gets null for each other parameter it uses that was not given (each file says what null means)."""
    out = dict(params or {})
    used = query.params
    if "namespace" in used and "namespace" not in out:
        out["namespace"] = namespace
    if query.path is not None:
        for name in used:
            out.setdefault(name, None)
    return out


def run_cypher(store: GraphStore, namespace: str, query: str, params: Mapping[str, Any] | None = None, *,
               read_only: bool = True) -> CypherResult:  # fmt: skip
    """Resolve ``query`` (text, file or library name) and run it; see the module's docstring."""
    server = neo4j_store(store)
    resolved = resolve(query)
    values = prepared_params(resolved, params, namespace)
    text = resolved.text.strip().rstrip(";")
    label = resolved.name or (str(resolved.path) if resolved.path else "the query")
    try:
        if read_only:
            _, _, plan = server.run_query(explain_text(text), values, read_only=True)
            if plan.query_type != "r":
                kind = _QUERY_KINDS.get(plan.query_type or "", f"query type {plan.query_type!r}")
                raise CypherWriteRefused(f"{label} is {kind}, refused in read-only mode (nothing was run); "
                                         "pass read_only=False (`graphmem cypher --write`) to write")  # fmt: skip
        columns, records, summary = server.run_query(text, values, read_only=read_only)
    except Neo4jError as exc:
        raise CypherQueryError(f"Neo4j rejected {label}: {exc.message or exc}") from exc
    rows = [record_dict(columns, record.values()) for record in records]
    wrote = not read_only and summary.counters.contains_updates
    touched: list[str] = []
    if wrote:
        touched = sorted({namespace, *([values["namespace"]] if isinstance(values.get("namespace"), str) else [])})
        for name in touched:  # other writers' changes are seen by the revision: indexes rebuild
            server.run_query(store_cypher.load("store/bump_revision"), {"namespace": name}, read_only=False)
    return CypherResult(columns, rows, summary.query_type or "", wrote, touched)


def store_embeddings(memory: Memory, batch: int = 2_000) -> dict[str, int]:
    """Write the retrieval index's vectors onto the Neo4j nodes of the Memory's namespace (property
    ``embedding``): entity names, passages and turns, as graphmem embeds them. The vector indexes of
    ``cypher/schema.cypher`` then serve ``similar_entities`` and ``similar_passages``. Returns counts."""
    store = neo4j_store(memory.store)
    index = memory.index()
    entities = [(entity_id, {"embedding": vector.tolist()})
                for entity_id, vector in zip(index.entity_ids, index.entity_vectors, strict=True)]  # fmt: skip
    units = [(unit.id, {"embedding": vector.tolist()})
             for unit, vector in zip(index.units, index.unit_vectors, strict=True)]  # fmt: skip
    updates = entities + units
    for start in range(0, len(updates), batch):
        store.set_props(memory.namespace, updates[start : start + batch])
    return {"entities": len(entities), "units": len(units)}
