"""Neo4jStore: the GraphStore interface over a Neo4j 5 server through the official driver.

Every query is a parameterised file under ``cypher/store/``; writes go in ``UNWIND``
batches inside managed transactions, which the driver retries on transient errors. A server
that goes away (a restart, a lost connection) is waited for with the driver's backoff for up
to ``retry_seconds``: writes are retried whole, and streamed reads resume where they stopped.
After that, and when connecting fails, StoreUnavailableError names the URI.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import neo4j
from neo4j.exceptions import (
    AuthError,
    ClientError,
    ConfigurationError,
    DatabaseUnavailable,
    ServiceUnavailable,
    SessionExpired,
)
from neo4j.time import DateTime as Neo4jDateTime

from graphmem.store import cypher
from graphmem.store.base import (
    Counts,
    DeleteResult,
    Edge,
    InvalidRecordError,
    MissingNodeError,
    Node,
    Props,
    StoreUnavailableError,
    check_namespace,
    checked_edges,
    checked_nodes,
    checked_updates,
    missing_message,
)

BATCH_SIZE = 2_000
# embedding: a vector for Neo4j's vector indexes (graphmem.cypher_run.store_embeddings), not a record field
_INTERNAL_PROPS = ("namespace", "id", "docs", "embedding")
T = TypeVar("T")
# What a restarted or unreachable server raises (DatabaseUnavailable: the server is up, its database is still
# starting); anything else is a real error and is not waited out.
_CONNECTION_ERRORS = (ServiceUnavailable, SessionExpired, DatabaseUnavailable)
_SCHEMA_RULE_EXISTS = frozenset({
    "Neo.ClientError.Schema.EquivalentSchemaRuleAlreadyExists",
    "Neo.ClientError.Schema.IndexAlreadyExists",
    "Neo.ClientError.Schema.ConstraintAlreadyExists",
})  # fmt: skip


@dataclass(frozen=True)
class Neo4jSettings:
    uri: str = "bolt://127.0.0.1:7687"
    user: str = "neo4j"
    password: str = "graphmem-dev"
    database: str = "neo4j"

    @classmethod
    def from_env(cls) -> Neo4jSettings:
        """Read ``GRAPHMEM_NEO4J_URI``, ``_USER``, ``_PASSWORD`` and ``_DATABASE``."""
        env = os.environ
        return cls(
            uri=env.get("GRAPHMEM_NEO4J_URI", cls.uri),
            user=env.get("GRAPHMEM_NEO4J_USER", cls.user),
            password=env.get("GRAPHMEM_NEO4J_PASSWORD", cls.password),
            database=env.get("GRAPHMEM_NEO4J_DATABASE", cls.database),
        )


def _from_neo4j(value: Any) -> Any:
    if isinstance(value, Neo4jDateTime):
        return value.to_native()
    return value


def _props(raw: dict[str, Any]) -> Props:
    return {k: _from_neo4j(v) for k, v in raw.items() if k not in _INTERNAL_PROPS}


def _batches(items: Sequence[T], size: int = BATCH_SIZE) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Neo4jStore:
    """GraphStore over Neo4j; applies ``cypher/schema.cypher`` on connect."""

    def __init__(self, settings: Neo4jSettings | None = None, *, connection_timeout: float = 4.0,
                 retry_seconds: float = 60.0) -> None:  # fmt: skip
        """``connection_timeout`` bounds one attempt to connect (a silent server fails the constructor after it);
        ``retry_seconds`` bounds how long a query waits for a server that went away (a restart takes ~25 s)."""
        self.settings = settings or Neo4jSettings.from_env()
        self.retry_seconds = retry_seconds
        uri = self.settings.uri
        try:
            self._driver = neo4j.GraphDatabase.driver(
                uri,
                auth=(self.settings.user, self.settings.password),
                connection_timeout=connection_timeout,
                # the acquisition deadline also bounds the Bolt handshake: a port that accepts but never answers
                connection_acquisition_timeout=connection_timeout,
                max_transaction_retry_time=retry_seconds,
                # The store's queries are fixed; the server's hints about them (such as "property key does
                # not exist" on an empty namespace) would only be noise in a user's log.
                notifications_min_severity="OFF",
            )
            self._driver.verify_connectivity()
        except (ServiceUnavailable, OSError) as exc:
            raise StoreUnavailableError(
                f"Neo4j at {uri} is unreachable ({exc}). Start the local server with `make neo4j-start`, "
                "or set GRAPHMEM_NEO4J_URI to a running one."
            ) from exc
        except AuthError as exc:
            raise StoreUnavailableError(
                f"Neo4j at {uri} refused user {self.settings.user!r}: check GRAPHMEM_NEO4J_USER/PASSWORD"
            ) from exc
        except (ConfigurationError, ValueError) as exc:
            raise StoreUnavailableError(f"bad Neo4j URI {uri!r}: {exc}") from exc
        self.ensure_schema()

    def __repr__(self) -> str:
        return f"Neo4jStore({self.settings.uri!r}, database={self.settings.database!r})"

    def __enter__(self) -> Neo4jStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _session(self, read: bool = False) -> neo4j.Session:
        mode = neo4j.READ_ACCESS if read else neo4j.WRITE_ACCESS
        return self._driver.session(database=self.settings.database, default_access_mode=mode)

    def _write(self, work: Callable[[neo4j.ManagedTransaction], T], namespaces: Iterable[str]) -> T:
        """Run ``work`` and bump the revisions it touched, in one retried transaction."""
        touched = sorted(set(namespaces))

        def unit(tx: neo4j.ManagedTransaction) -> T:
            result = work(tx)
            for namespace in touched:
                tx.run(cypher.load("store/bump_revision"), namespace=namespace).consume()
            return result

        try:
            with self._session() as session:
                return session.execute_write(unit)
        except _CONNECTION_ERRORS as exc:
            raise self._gone(exc) from exc

    def _read(self, name: str, **params: Any) -> list[neo4j.Record]:
        try:
            with self._session(read=True) as session:
                return session.execute_read(lambda tx: list(tx.run(cypher.load(name), **params)))
        except _CONNECTION_ERRORS as exc:
            raise self._gone(exc) from exc

    def _gone(self, exc: Exception) -> StoreUnavailableError:
        return StoreUnavailableError(
            f"Neo4j at {self.settings.uri} stopped answering and did not come back within {self.retry_seconds:g} s "
            f"({exc})"
        )

    def ensure_schema(self) -> None:
        """Each statement in a managed transaction: two processes connecting at once to a fresh server deadlock
        on the schema locks, and the driver retries the loser. ``IF NOT EXISTS`` is not atomic either: the loser
        of a race may be told that the rule exists, which is what it wanted."""
        with self._session() as session:
            for statement in cypher.statements("schema"):
                try:
                    session.execute_write(lambda tx, s=statement: tx.run(s).consume())
                except ClientError as exc:
                    if exc.code not in _SCHEMA_RULE_EXISTS:
                        raise

    # ------------------------------------------------------------------ writes

    def upsert_nodes(self, nodes: Sequence[Node]) -> int:
        batch = checked_nodes(nodes)
        by_label: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for n in batch:
            by_label[n.label].append({"namespace": n.namespace, "id": n.id, "props": n.props, "docs": list(n.docs)})
        for label, rows in by_label.items():
            for chunk in _batches(rows):
                self._write(
                    lambda tx, c=chunk, lb=label: self._upsert_node_chunk(tx, lb, c), {r["namespace"] for r in chunk}
                )
        return len(batch)

    @staticmethod
    def _upsert_node_chunk(tx: neo4j.ManagedTransaction, label: str, rows: Sequence[dict[str, Any]]) -> None:
        conflicts = list(tx.run(cypher.load("store/upsert_nodes"), label=label, rows=list(rows)))
        if conflicts:
            first = conflicts[0]
            raise InvalidRecordError(
                f"node {first['id']!r} already exists as {first['other_labels'][0]}, not {label}: "
                "ids are unique within a namespace across labels"
            )

    def upsert_edges(self, edges: Sequence[Edge]) -> int:
        batch = checked_edges(edges)
        groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for e in batch:
            groups[(e.namespace, e.type)].append({"source": e.source, "target": e.target, "props": e.props})
        for (namespace, edge_type), rows in groups.items():
            for chunk in _batches(rows):
                self._write(
                    lambda tx, c=chunk, ns=namespace, t=edge_type: self._upsert_edge_chunk(tx, ns, t, c), [namespace]
                )
        return len(batch)

    @staticmethod
    def _upsert_edge_chunk(
        tx: neo4j.ManagedTransaction, namespace: str, edge_type: str, rows: Sequence[dict[str, Any]]
    ) -> None:
        ids = sorted({r["source"] for r in rows} | {r["target"] for r in rows})
        missing = tx.run(cypher.load("store/missing_nodes"), namespace=namespace, ids=ids).single()
        if missing and missing["missing"]:
            raise MissingNodeError(missing_message(namespace, sorted(missing["missing"])))
        tx.run(cypher.load("store/upsert_edges"), namespace=namespace, type=edge_type, rows=list(rows)).consume()

    def set_props(self, namespace: str, updates: Sequence[tuple[str, Props]]) -> int:
        batch = checked_updates(namespace, updates)
        for chunk in _batches(batch):
            rows = [{"id": node_id, "props": props} for node_id, props in chunk]
            self._write(lambda tx, r=rows: self._set_props_chunk(tx, namespace, r), [namespace])
        return len(batch)

    @staticmethod
    def _set_props_chunk(tx: neo4j.ManagedTransaction, namespace: str, rows: list[dict[str, Any]]) -> None:
        missing = tx.run(cypher.load("store/missing_nodes"), namespace=namespace, ids=[r["id"] for r in rows]).single()
        if missing and missing["missing"]:
            raise MissingNodeError(f"no such nodes in namespace {namespace!r}: {sorted(missing['missing'])[:10]}")
        tx.run(cypher.load("store/set_props"), namespace=namespace, rows=rows).consume()

    def delete_document(self, namespace: str, document_id: str) -> DeleteResult:
        check_namespace(namespace)

        def work(tx: neo4j.ManagedTransaction) -> DeleteResult:
            touched = list(tx.run(cypher.load("store/release_document"), namespace=namespace, document_id=document_id))
            gone = [r["id"] for r in touched if r["orphan"]]
            survivors = [r["id"] for r in touched if not r["orphan"]]
            edges_deleted = 0
            if gone:
                edges_deleted = tx.run(cypher.load("store/count_edges_of"), namespace=namespace, ids=gone).single(
                    strict=True
                )["count"]
                tx.run(cypher.load("store/delete_nodes"), namespace=namespace, ids=gone).consume()
                tx.run(cypher.load("store/prune_provenance"), namespace=namespace, ids=survivors, gone=gone).consume()
            return DeleteResult(nodes_deleted=len(gone), edges_deleted=edges_deleted, nodes_updated=len(survivors),
                                deleted_ids=tuple(gone), updated_ids=tuple(survivors))  # fmt: skip

        return self._write(work, [namespace])

    def delete_namespace(self, namespace: str) -> int:
        check_namespace(namespace)
        total = 0
        while True:
            deleted = self._write(
                lambda tx: tx.run(
                    cypher.load("store/delete_namespace_batch"), namespace=namespace, batch=10_000
                ).single(strict=True)["deleted"],
                [namespace],
            )
            total += deleted
            if deleted == 0:
                return total

    def take_lease(self, namespace: str, owner: str, seconds: float, stale: str | None = None) -> str | None:
        """Take or renew the ingestion lease of a namespace (graphmem.store.locks); returns who holds it
        (None: nobody, as when a release deleted the node meanwhile: try again)."""
        check_namespace(namespace)
        params = {"namespace": namespace, "owner": owner, "seconds": seconds, "stale": stale}
        query = cypher.load("store/take_lease")
        return self._write(lambda tx: tx.run(query, **params).single(strict=True)["owner"], [])

    def release_lease(self, namespace: str, owner: str) -> None:
        query = cypher.load("store/release_lease")
        self._write(lambda tx: tx.run(query, namespace=namespace, owner=owner).consume(), [])

    # ------------------------------------------------------------------ reads

    @staticmethod
    def _node(namespace: str, record: neo4j.Record) -> Node:
        raw = record["props"]
        return Node(record["label"], record["id"], namespace, _props(raw), tuple(sorted(raw.get("docs") or ())))

    def get_nodes(self, namespace: str, ids: Iterable[str]) -> list[Node]:
        wanted = list(dict.fromkeys(ids))
        found: dict[str, Node] = {}
        for chunk in _batches(wanted, 10_000):
            for record in self._read("store/get_nodes", namespace=namespace, ids=list(chunk)):
                found[record["id"]] = self._node(namespace, record)
        return [found[i] for i in wanted if i in found]

    def neighbours(self, namespace: str, ids: Iterable[str], edge_types: Iterable[str] | None = None) -> list[Edge]:
        types = sorted(set(edge_types)) if edge_types is not None else None
        seen: dict[tuple[str, str, str], Edge] = {}
        for chunk in _batches(list(dict.fromkeys(ids)), 5_000):
            for r in self._read("store/neighbours", namespace=namespace, ids=list(chunk), types=types):
                edge = Edge(r["type"], r["source"], r["target"], namespace, _props(r["props"]))
                seen[edge.key] = edge
        return sorted(seen.values(), key=lambda e: e.key)

    def _stream(self, name: str, **params: Any) -> Iterator[neo4j.Record]:
        """An ordered query's records, streamed by an auto-commit query as they are consumed (fetch_size rows at a
        time). The driver does not retry those: when the server goes away, the query runs again once it is back
        and skips the records already given (the store's streams are ordered by key, so the order is the same)."""
        given, deadline, pause = 0, time.monotonic() + self.retry_seconds, 0.5
        while True:
            try:
                with self._session(read=True) as session:
                    for position, record in enumerate(session.run(cypher.load(name), **params)):
                        if position >= given:
                            given += 1
                            yield record
                return
            except _CONNECTION_ERRORS as exc:
                if time.monotonic() + pause > deadline:
                    raise self._gone(exc) from exc
                time.sleep(pause)
                pause = min(pause * 2, 5.0)

    def iter_nodes(self, namespace: str, label: str | None = None) -> Iterator[Node]:
        for record in self._stream("store/iter_nodes", namespace=namespace, label=label):
            yield self._node(namespace, record)

    def iter_edges(self, namespace: str, edge_type: str | None = None) -> Iterator[Edge]:
        for r in self._stream("store/iter_edges", namespace=namespace, type=edge_type):
            yield Edge(r["type"], r["source"], r["target"], namespace, _props(r["props"]))

    def counts(self, namespace: str) -> Counts:
        nodes = {r["label"]: r["count"] for r in self._read("store/count_nodes", namespace=namespace)}
        edges = {r["type"]: r["count"] for r in self._read("store/count_edges", namespace=namespace)}
        return Counts(nodes=nodes, edges=edges)

    def revision(self, namespace: str) -> int:
        return int(self._read("store/revision", namespace=namespace)[0]["revision"])

    def namespaces(self) -> list[str]:
        return [r["namespace"] for r in self._read("store/namespaces")]

    def run_query(self, query: str, params: Mapping[str, Any] | None = None, *,
                  read_only: bool = True) -> tuple[list[str], list[neo4j.Record], neo4j.ResultSummary]:  # fmt: skip
        """Run one query as given (a user's, see graphmem.cypher_run) in a READ or WRITE access-mode session.

        Auto-commit, so ``CALL { ... } IN TRANSACTIONS`` works; the driver logs no server notifications.
        Returns the column names, the records and the summary (``query_type``: "r", "rw", "w" or "s").
        """
        mode = neo4j.READ_ACCESS if read_only else neo4j.WRITE_ACCESS
        with self._driver.session(database=self.settings.database, default_access_mode=mode) as session:
            result = session.run(query, dict(params or {}))  # type: ignore[arg-type]
            records = list(result)
            return list(result.keys()), records, result.consume()

    def close(self) -> None:
        self._driver.close()
