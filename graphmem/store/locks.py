"""One ingestion at a time per namespace (per file for the embedded store), across threads and processes.

Two ingestions that interleave could each write an entity or fact without seeing the other's
version of it (aliases, provenance), and which one names a shared entity first would vary. Taking
turns makes concurrent ingestions end in the graph of some serial order of them.

- embedded store: an exclusive ``flock`` on ``<store file>.lock``, released by the kernel when
  the holder exits, even by SIGKILL. One per file, for every namespace in it: SQLite lets one
  writer at a time into a file anyway;
- Neo4j: a lease node per namespace (``cypher/store/take_lease.cypher``) renewed by a thread
  while held. A holder that dies stops renewing: its lease expires after ``LEASE_SECONDS``, or at
  once when the holder was a process of this host that no longer exists.
"""

from __future__ import annotations

import fcntl
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from graphmem.store.base import GraphStore, StoreWriteError
from graphmem.store.embedded import EmbeddedStore

if TYPE_CHECKING:
    from graphmem.store.neo4j import Neo4jStore

LEASE_SECONDS = 30.0
POLL_SECONDS = 0.25


@contextmanager
def ingestion_lock(store: GraphStore, namespace: str) -> Iterator[None]:
    """Hold the store's ingestion lock of ``namespace`` (waiting for it); stores without one need none."""
    if isinstance(store, EmbeddedStore):
        with _file_lock(store):
            yield
        return
    from graphmem.store.neo4j import Neo4jStore

    if isinstance(store, Neo4jStore):
        with _lease(store, namespace):
            yield
        return
    yield


@contextmanager
def _file_lock(store: EmbeddedStore) -> Iterator[None]:
    path = store.path.with_name(store.path.name + ".lock")
    try:
        handle = open(path, "a+b")  # noqa: SIM115 - held open for the lock's life
    except OSError as exc:
        raise StoreWriteError(f"cannot create the ingestion lock {path}: {exc}") from exc
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        handle.close()  # closing releases the lock


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _dead_local_holder(holder: str) -> bool:
    """Whether ``holder`` was a process of this host that has exited (then its lease can be taken at once)."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # exists, owned by another user
        return False
    return False


@contextmanager
def _lease(store: Neo4jStore, namespace: str) -> Iterator[None]:
    owner = _owner()
    while True:
        holder = store.take_lease(namespace, owner, LEASE_SECONDS)
        if holder is not None and holder != owner and _dead_local_holder(holder):
            holder = store.take_lease(namespace, owner, LEASE_SECONDS, stale=holder)
        if holder == owner:
            break
        time.sleep(POLL_SECONDS)
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(LEASE_SECONDS / 3):
            store.take_lease(namespace, owner, LEASE_SECONDS)

    renewer = threading.Thread(target=renew, name=f"graphmem-lease-{namespace}", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join()
        store.release_lease(namespace, owner)
