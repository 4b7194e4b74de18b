"""The embedded store's SQLite file: its tables, and opening it safely when several openers race."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

BUSY_SECONDS = 30.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS nodes (
    namespace TEXT NOT NULL, id TEXT NOT NULL, label TEXT NOT NULL, props TEXT NOT NULL,
    PRIMARY KEY (namespace, id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS nodes_by_label ON nodes (namespace, label, id);
CREATE TABLE IF NOT EXISTS node_docs (
    namespace TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL,
    PRIMARY KEY (namespace, id, doc)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS node_docs_by_doc ON node_docs (namespace, doc);
CREATE TABLE IF NOT EXISTS edges (
    namespace TEXT NOT NULL, source TEXT NOT NULL, type TEXT NOT NULL, target TEXT NOT NULL,
    props TEXT NOT NULL, PRIMARY KEY (namespace, source, type, target)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS edges_by_target ON edges (namespace, target, type);
CREATE TABLE IF NOT EXISTS revisions (namespace TEXT PRIMARY KEY, revision INTEGER NOT NULL) WITHOUT ROWID;
"""


def open_database(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode, usable from any thread (the store serialises), in WAL mode, with the tables."""
    conn = sqlite3.connect(path, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False)
    _wal_mode(conn)
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.executescript(SCHEMA)
    return conn


def _wal_mode(conn: sqlite3.Connection) -> None:
    # Switching a new file to WAL needs it alone, and SQLite answers "locked" at once rather than waiting
    # for another connection opening the same new file: try again for as long as the busy timeout.
    deadline = time.monotonic() + BUSY_SECONDS
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
