"""The embedded store: one SQLite file in WAL mode, no server, safe against a killed process.

Properties are kept as JSON (datetimes tagged so they round-trip). Which documents
support a node lives in its own table so that deleting a document is an indexed lookup.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from functools import cached_property
from pathlib import Path

from graphmem.store.base import (
    PROVENANCE_KEY,
    Counts,
    DeleteResult,
    Edge,
    InvalidRecordError,
    MissingNodeError,
    Node,
    Props,
    StoreUnavailableError,
    StoreWriteError,
    check_namespace,
    checked_edges,
    checked_nodes,
    checked_updates,
    missing_message,
)
from graphmem.store.props_json import decode_props, docs_array, encode_props
from graphmem.store.sqlite_file import open_database

SCHEMA_VERSION = 1
_PAGE = 2_000
_SQL_VARS = 500  # ids per IN (...) list, well under SQLite's limit

# A node's row and the documents that support it (a JSON array), in one statement: no second query per page.
_NODE_COLUMNS = (
    "n.id, n.label, n.props, "
    "(SELECT json_group_array(d.doc) FROM node_docs d WHERE d.namespace = n.namespace AND d.id = n.id)"
)
_BUMP_REVISION = "INSERT INTO revisions VALUES (?, 1) ON CONFLICT(namespace) DO UPDATE SET revision = revision + 1"


def _chunks(items: Sequence[str], size: int = _SQL_VARS) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class EmbeddedStore:
    """GraphStore over a local SQLite file (created on first use)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = open_database(self.path)
            self._check_schema_version()
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailableError(f"cannot open embedded store at {self.path}: {exc}") from exc
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"EmbeddedStore({str(self.path)!r})"

    def __enter__(self) -> EmbeddedStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_schema_version(self) -> None:
        row = self._conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is None:  # a new file: it gets its id now, before any writer can hold the lock file_id would wait on
            self._conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            self._conn.execute("INSERT OR IGNORE INTO meta VALUES ('file_id', ?)", (uuid.uuid4().hex,))
        elif int(row[0]) != SCHEMA_VERSION:
            raise StoreUnavailableError(
                f"{self.path} has schema version {row[0]}, this graphmem reads {SCHEMA_VERSION}"
            )

    @cached_property
    def file_id(self) -> str | None:
        """A random id the file gets when first opened for writing: a file deleted and made again at the same
        path has another one. None for an older file opened read-only."""
        select = "SELECT value FROM meta WHERE key='file_id'"
        with self._lock:
            row = self._conn.execute(select).fetchone()
            if row is None:  # a new file, or one older than file ids
                with suppress(sqlite3.OperationalError):  # read-only: no id can be given
                    self._conn.execute("INSERT OR IGNORE INTO meta VALUES ('file_id', ?)", (uuid.uuid4().hex,))
                row = self._conn.execute(select).fetchone()  # another opener's, if it was first
        return None if row is None else str(row[0])

    @contextmanager
    def _write(self, namespaces: Iterable[str]) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction that also bumps the revision of every namespace touched."""
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                    conn.executemany(_BUMP_REVISION, [(ns,) for ns in sorted(set(namespaces))])
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:  # SQLite may have rolled back already (a full disk does)
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.OperationalError as exc:  # a full disk, a read-only file, a lock held too long
                raise StoreWriteError(f"cannot write to the embedded store at {self.path}: {exc}") from exc

    # ------------------------------------------------------------------ writes

    def upsert_nodes(self, nodes: Sequence[Node]) -> int:
        batch = checked_nodes(nodes)
        if not batch:
            return 0
        with self._write(n.namespace for n in batch) as conn:
            self._refuse_label_changes(conn, batch)
            conn.executemany(
                "INSERT INTO nodes VALUES (?, ?, ?, ?) "
                "ON CONFLICT(namespace, id) DO UPDATE SET label = excluded.label, props = excluded.props",
                [(n.namespace, n.id, n.label, encode_props(n.props)) for n in batch],
            )
            conn.executemany(
                "INSERT OR IGNORE INTO node_docs VALUES (?, ?, ?)",
                [(n.namespace, n.id, doc) for n in batch for doc in n.docs],
            )
        return len(batch)

    @staticmethod
    def _refuse_label_changes(conn: sqlite3.Connection, batch: Sequence[Node]) -> None:
        by_namespace: dict[str, dict[str, str]] = {}
        for n in batch:
            by_namespace.setdefault(n.namespace, {})[n.id] = n.label
        for namespace, labels in by_namespace.items():
            for chunk in _chunks(list(labels)):
                marks = ",".join("?" * len(chunk))
                for node_id, label in conn.execute(
                    f"SELECT id, label FROM nodes WHERE namespace=? AND id IN ({marks})", (namespace, *chunk)
                ):
                    if label != labels[node_id]:
                        raise InvalidRecordError(
                            f"node {node_id!r} already exists as {label}, not {labels[node_id]}: "
                            "ids are unique within a namespace across labels"
                        )

    def upsert_edges(self, edges: Sequence[Edge]) -> int:
        batch = checked_edges(edges)
        if not batch:
            return 0
        with self._write(e.namespace for e in batch) as conn:
            by_namespace: dict[str, set[str]] = {}
            for e in batch:
                by_namespace.setdefault(e.namespace, set()).update((e.source, e.target))
            for namespace, ids in by_namespace.items():
                missing = sorted(ids - self._existing(conn, namespace, sorted(ids)))
                if missing:
                    raise MissingNodeError(missing_message(namespace, missing))
            conn.executemany(
                "INSERT INTO edges VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(namespace, source, type, target) DO UPDATE SET props = excluded.props",
                [(e.namespace, e.source, e.type, e.target, encode_props(e.props)) for e in batch],
            )
        return len(batch)

    def set_props(self, namespace: str, updates: Sequence[tuple[str, Props]]) -> int:
        batch = checked_updates(namespace, updates)
        if not batch:
            return 0
        # One string (reconsolidation's mark, mostly): json_set, a quarter cheaper than json_patch. Keys match
        # PROP_KEY_PATTERN: "$." + key is a plain path.
        one: list[tuple[str, str, str, str]] = []
        rest: list[tuple[str, Props]] = []
        for node_id, props in batch:
            if len(props) == 1 and type(value := next(iter(props.values()))) is str:
                one.append((next(iter(props)), value, namespace, node_id))
            else:
                rest.append((node_id, props))
        with self._write([namespace]) as conn:
            before = conn.total_changes
            conn.executemany("UPDATE nodes SET props = json_set(props, '$.' || ?, ?) WHERE namespace=? AND id=?", one)
            # SQLite merges the JSON (RFC 7396: a null removes a key): the rest is neither read nor re-encoded.
            encoded: dict[int, str] = {}  # props shared by many nodes are encoded once
            conn.executemany(
                "UPDATE nodes SET props = json_patch(props, ?) WHERE namespace=? AND id=?",
                [(encoded.get(id(p)) or encoded.setdefault(id(p), encode_props(p)), namespace, i) for i, p in rest],
            )
            if conn.total_changes - before != len(batch):
                ids = [node_id for node_id, _ in batch]
                missing = sorted(set(ids) - self._existing(conn, namespace, ids))
                raise MissingNodeError(f"no such nodes in namespace {namespace!r}: {missing[:10]}")
        return len(batch)

    @staticmethod
    def _existing(conn: sqlite3.Connection, namespace: str, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(f"SELECT id FROM nodes WHERE namespace=? AND id IN ({marks})", (namespace, *chunk))
            found.update(r[0] for r in rows)
        return found

    def delete_document(self, namespace: str, document_id: str) -> DeleteResult:
        check_namespace(namespace)
        with self._write([namespace]) as conn:
            touched = [
                r[0]
                for r in conn.execute("SELECT id FROM node_docs WHERE namespace=? AND doc=?", (namespace, document_id))
            ]
            conn.execute("DELETE FROM node_docs WHERE namespace=? AND doc=?", (namespace, document_id))
            orphans: list[str] = []
            for chunk in _chunks(touched):
                marks = ",".join("?" * len(chunk))
                orphans += [
                    r[0]
                    for r in conn.execute(
                        f"SELECT id FROM nodes WHERE namespace=? AND id IN ({marks}) AND NOT EXISTS "
                        f"(SELECT 1 FROM node_docs d WHERE d.namespace=nodes.namespace AND d.id=nodes.id)",
                        (namespace, *chunk),
                    )
                ]
            edges_deleted = self._delete_nodes(conn, namespace, orphans)
            gone = set(orphans)
            survivors = [i for i in touched if i not in gone]
            updated = self._prune_provenance(conn, namespace, survivors, gone)
        return DeleteResult(nodes_deleted=len(orphans), edges_deleted=edges_deleted, nodes_updated=updated,
                            deleted_ids=tuple(orphans), updated_ids=tuple(survivors))  # fmt: skip

    @staticmethod
    def _delete_nodes(conn: sqlite3.Connection, namespace: str, ids: Sequence[str]) -> int:
        edges_deleted = 0
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            args = (namespace, *chunk)
            edges_deleted += conn.execute(
                f"DELETE FROM edges WHERE namespace=? AND (source IN ({marks}) OR target IN ({marks}))",
                (namespace, *chunk, *chunk),
            ).rowcount
            conn.execute(f"DELETE FROM node_docs WHERE namespace=? AND id IN ({marks})", args)
            conn.execute(f"DELETE FROM nodes WHERE namespace=? AND id IN ({marks})", args)
        return edges_deleted

    @staticmethod
    def _prune_provenance(conn: sqlite3.Connection, namespace: str, ids: Sequence[str], gone: set[str]) -> int:
        if not gone:
            return len(ids)
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(
                f"SELECT id, props FROM nodes WHERE namespace=? AND id IN ({marks})", (namespace, *chunk)
            ).fetchall()
            updates = []
            for node_id, text in rows:
                props = decode_props(text)
                kept = props.get(PROVENANCE_KEY)
                if isinstance(kept, list) and any(p in gone for p in kept):
                    props[PROVENANCE_KEY] = [p for p in kept if p not in gone]
                    updates.append((encode_props(props), namespace, node_id))
            conn.executemany("UPDATE nodes SET props=? WHERE namespace=? AND id=?", updates)
        return len(ids)

    def delete_namespace(self, namespace: str) -> int:
        check_namespace(namespace)
        with self._write([namespace]) as conn:
            deleted = conn.execute("DELETE FROM nodes WHERE namespace=?", (namespace,)).rowcount
            conn.execute("DELETE FROM node_docs WHERE namespace=?", (namespace,))
            conn.execute("DELETE FROM edges WHERE namespace=?", (namespace,))
        return deleted

    # ------------------------------------------------------------------ reads

    @staticmethod
    def _nodes(namespace: str, rows: list[tuple[str, str, str, str]]) -> list[Node]:
        """Nodes from rows of ``_NODE_COLUMNS``."""
        return [
            Node(label, node_id, namespace, decode_props(props), docs_array(docs))
            for node_id, label, props, docs in rows
        ]

    def get_nodes(self, namespace: str, ids: Iterable[str]) -> list[Node]:
        wanted = list(dict.fromkeys(ids))
        found: dict[str, Node] = {}
        with self._lock:
            for chunk in _chunks(wanted):
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(
                    f"SELECT {_NODE_COLUMNS} FROM nodes n WHERE namespace=? AND id IN ({marks})", (namespace, *chunk)
                ).fetchall()
                found.update((n.id, n) for n in self._nodes(namespace, rows))
        return [found[i] for i in wanted if i in found]

    def neighbours(self, namespace: str, ids: Iterable[str], edge_types: Iterable[str] | None = None) -> list[Edge]:
        wanted = list(dict.fromkeys(ids))
        types = sorted(set(edge_types)) if edge_types is not None else None
        if types == []:
            return []
        seen: dict[tuple[str, str, str], Edge] = {}
        type_sql = f" AND type IN ({','.join('?' * len(types))})" if types else ""
        with self._lock:
            for chunk in _chunks(wanted, _SQL_VARS // 2):
                marks = ",".join("?" * len(chunk))
                rows = self._conn.execute(
                    f"SELECT source, type, target, props FROM edges WHERE namespace=? "
                    f"AND (source IN ({marks}) OR target IN ({marks})){type_sql}",
                    (namespace, *chunk, *chunk, *(types or ())),
                ).fetchall()
                for source, etype, target, props in rows:
                    seen[(source, etype, target)] = Edge(etype, source, target, namespace, decode_props(props))
        return sorted(seen.values(), key=lambda e: e.key)

    def iter_nodes(self, namespace: str, label: str | None = None) -> Iterator[Node]:
        after = ""
        while True:
            with self._lock:
                if label is None:
                    rows = self._conn.execute(
                        f"SELECT {_NODE_COLUMNS} FROM nodes n WHERE namespace=? AND id>? ORDER BY id LIMIT ?",
                        (namespace, after, _PAGE),
                    ).fetchall()
                else:
                    rows = self._conn.execute(
                        f"SELECT {_NODE_COLUMNS} FROM nodes n WHERE namespace=? AND label=? AND id>? "
                        "ORDER BY id LIMIT ?",
                        (namespace, label, after, _PAGE),
                    ).fetchall()
                page = self._nodes(namespace, rows)
            yield from page
            if len(rows) < _PAGE:
                return
            after = rows[-1][0]

    def iter_edges(self, namespace: str, edge_type: str | None = None) -> Iterator[Edge]:
        after = ("", "", "")
        type_sql = " AND type=?" if edge_type is not None else ""
        type_arg = (edge_type,) if edge_type is not None else ()
        while True:
            with self._lock:
                rows = self._conn.execute(
                    "SELECT source, type, target, props FROM edges WHERE namespace=? "
                    f"AND (source, type, target) > (?, ?, ?){type_sql} ORDER BY source, type, target LIMIT ?",
                    (namespace, *after, *type_arg, _PAGE),
                ).fetchall()
            for source, etype, target, props in rows:
                yield Edge(etype, source, target, namespace, decode_props(props))
            if len(rows) < _PAGE:
                return
            after = (rows[-1][0], rows[-1][1], rows[-1][2])

    def counts(self, namespace: str) -> Counts:
        with self._lock:
            nodes = dict(
                self._conn.execute(
                    "SELECT label, count(*) FROM nodes WHERE namespace=? GROUP BY label", (namespace,)
                ).fetchall()
            )
            edges = dict(
                self._conn.execute(
                    "SELECT type, count(*) FROM edges WHERE namespace=? GROUP BY type", (namespace,)
                ).fetchall()
            )
        return Counts(nodes=nodes, edges=edges)

    def revision(self, namespace: str) -> int:
        with self._lock:
            row = self._conn.execute("SELECT revision FROM revisions WHERE namespace=?", (namespace,)).fetchone()
        return int(row[0]) if row else 0

    def namespaces(self) -> list[str]:
        with self._lock:
            rows = self._conn.execute("SELECT DISTINCT namespace FROM nodes ORDER BY namespace").fetchall()
        return [r[0] for r in rows]

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def reopened(self) -> EmbeddedStore:
        """Another connection to the same file, for a forked process: a connection must not cross a fork."""
        return EmbeddedStore(self.path)
