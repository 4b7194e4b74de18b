"""The ingestion lock: holders of one store and namespace take turns; a killed holder does not block the next."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from faults_support import REPO, PrivateNeo4j

from graphmem.memory import Memory
from graphmem.store import EmbeddedStore, GraphStore
from graphmem.store.locks import LEASE_SECONDS, ingestion_lock
from graphmem.store.neo4j import Neo4jStore

HOLD = 0.6


def _turns(open_store: Callable[[], GraphStore], namespace: str) -> list[tuple[str, float]]:
    """Two threads, each with its own connection, hold the lock for HOLD seconds; returns the events in order."""
    events: list[tuple[str, float]] = []
    first_in = threading.Event()

    def hold(name: str) -> None:
        with open_store() as store:
            if name == "second":
                first_in.wait(30)
            with ingestion_lock(store, namespace):
                events.append((f"{name} in", time.monotonic()))
                first_in.set()
                time.sleep(HOLD)
                events.append((f"{name} out", time.monotonic()))

    threads = [threading.Thread(target=hold, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return events


def _assert_one_at_a_time(events: list[tuple[str, float]]) -> None:
    assert [name for name, _ in events] == ["first in", "first out", "second in", "second out"]
    assert events[2][1] >= events[1][1]


def test_embedded_holders_take_turns(tmp_path: Path) -> None:
    _assert_one_at_a_time(_turns(lambda: EmbeddedStore(tmp_path / "graph.sqlite3"), "ns"))


def test_other_files_do_not_wait(tmp_path: Path) -> None:
    with EmbeddedStore(tmp_path / "a.sqlite3") as a, EmbeddedStore(tmp_path / "b.sqlite3") as b:
        started = time.monotonic()
        with ingestion_lock(a, "ns"), ingestion_lock(b, "ns"):
            pass
        assert time.monotonic() - started < 1.0


@pytest.mark.neo4j
def test_neo4j_holders_take_turns(private_neo4j: PrivateNeo4j, fresh_ns: str) -> None:
    _assert_one_at_a_time(_turns(private_neo4j.store, fresh_ns))


HOLDER = """
import sys, time
from graphmem.store.locks import ingestion_lock
from graphmem.store.neo4j import Neo4jSettings, Neo4jStore
store = Neo4jStore(Neo4jSettings(uri=sys.argv[1], password=sys.argv[2]))
with ingestion_lock(store, sys.argv[3]):
    print("held", flush=True)
    time.sleep(600)
"""


@pytest.mark.neo4j
def test_a_killed_neo4j_holder_does_not_block_the_next_ingestion(
    private_neo4j: PrivateNeo4j, private_store: Neo4jStore, fresh_ns: str
) -> None:
    settings = private_neo4j.settings
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, settings.uri, settings.password, fresh_ns],
                              stdout=subprocess.PIPE, text=True, env=env)  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(30)
    finally:
        if holder.poll() is None:
            holder.kill()
    started = time.monotonic()
    with ingestion_lock(private_store, fresh_ns):
        waited = time.monotonic() - started
    assert waited < LEASE_SECONDS / 3, f"waited {waited:.1f} s for a dead holder's lease"


@pytest.mark.neo4j
def test_neo4j_lease_changes_hands_many_times_without_overlap(private_neo4j: PrivateNeo4j, fresh_ns: str) -> None:
    """Four holders take the lease briefly, again and again: a release racing a waiting taker must neither
    let two in at once nor fail the taker (a deleted lease node once made it read no owner at all)."""
    inside: list[str] = []
    overlaps: list[list[str]] = []
    errors: list[BaseException] = []
    turns = {name: 0 for name in ("a", "b", "c", "d")}

    def take_turns(name: str) -> None:
        try:
            with private_neo4j.store() as store:
                for _ in range(6):
                    with ingestion_lock(store, fresh_ns):
                        inside.append(name)
                        if len(inside) > 1:
                            overlaps.append(list(inside))
                        time.sleep(0.01)
                        inside.remove(name)
                        turns[name] += 1
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=take_turns, args=(name,)) for name in turns]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert not overlaps
    assert turns == {name: 6 for name in turns}


@pytest.mark.parametrize("step", ["reconsolidate", "forget"])
def test_reconsolidation_and_forgetting_wait_for_a_running_ingestion(tmp_path: Path, step: str) -> None:
    """They write facts too: a fact restated between a reconsolidation's read and its write would take the run's
    mark unchecked, so they take the ingestion lock as ingestions do (the Dagster stages' writes take it too)."""
    path = tmp_path / "graph.sqlite3"
    released: list[float] = []
    holding = threading.Event()

    def ingest() -> None:
        with EmbeddedStore(path) as other, ingestion_lock(other, "ns"):
            holding.set()
            time.sleep(HOLD)
            released.append(time.monotonic())

    with EmbeddedStore(path) as store:
        memory = Memory(store, "ns")
        holder = threading.Thread(target=ingest)
        holder.start()
        assert holding.wait(30)
        if step == "reconsolidate":
            memory.reconsolidate(adjudicator=False)
        else:
            memory.forget(namespace="ns")
        finished = time.monotonic()
        holder.join(30)
    assert released and finished >= released[0]
