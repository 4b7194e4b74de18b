"""Reconsolidation planned in batches of whole components, here and in a forked worker, writes what one plan does."""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import graphmem.temporal.parallel as parallel
import graphmem.temporal.storage as storage
from graphmem.bench.reconsolidate import NAMESPACE, synthetic
from graphmem.graph import to_node
from graphmem.graph_digest import graph_digest
from graphmem.records import Fact, Passage
from graphmem.store import EmbeddedStore, Node
from graphmem.temporal.storage import reconsolidate

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def _posts_and_shared_passages(subjects: int) -> list[Node]:
    """Posts held by one subject at a time (they join subjects into one component), and passages that state
    facts of two subjects with a date range (a unit one batch needs and another's fact also cites)."""
    nodes: list[Node] = []
    for k in range(60):
        a, b = (7 * k) % subjects, (11 * k + 3) % subjects
        when = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=5 * k)
        text = f"Person {a} was CEO of Company {k % 4} from 2019 to 2023, and Person {b} lives in City 7."
        unit = Passage(id=f"p:pair:{k}", namespace=NAMESPACE, document_id="d:pairs", text=text, start=0,
                       end=len(text), date=when)  # fmt: skip
        nodes.append(to_node(unit))
        for s, predicate, obj, name in ((a, "ceo_of", f"e:company{k % 4}", f"Company {k % 4}"),
                                        (b, "live_in", "e:city7", "City 7")):  # fmt: skip
            fact = Fact(id=f"f:pair:{k}:{predicate}", namespace=NAMESPACE, subject_id=f"e:person{s}",
                        predicate=predicate, object_id=obj, subject_name=f"Person {s}", object_name=name,
                        sentence=text, valid_from=when, recorded_at=when, provenance=[unit.id],
                        document_ids=["d:pairs"])  # fmt: skip
            nodes.append(to_node(fact))
    return nodes


@pytest.fixture
def make_store(tmp_path: Path) -> Iterator[Callable[[str], EmbeddedStore]]:
    stores: list[EmbeddedStore] = []

    def make(name: str) -> EmbeddedStore:
        store = EmbeddedStore(tmp_path / f"{name}.sqlite3")
        nodes = [node for batch in synthetic(3_000, 200, seed=11) for node in batch] + _posts_and_shared_passages(200)
        named = {str(n.props[k]) for n in nodes if n.label == "Fact" for k in ("subject_id", "object_id")}
        store.upsert_nodes([n for n in nodes if n.label != "Entity" or n.id in named])  # not the bench's pools
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.close()


def _runs(store: EmbeddedStore) -> list[tuple[str, str]]:
    """A full run, a run after new facts, and a rerun: each report and the graph it leaves."""
    out = []
    for step in ("full", "new facts", "rerun"):
        if step == "new facts":
            store.upsert_nodes(_posts_and_shared_passages(97)[:40])
        report = reconsolidate(store, NAMESPACE, now=NOW, full=step == "full")
        report.seconds = 0.0
        out.append((report.summary(), graph_digest(store, NAMESPACE)))
    return out


def test_batches_here_and_in_a_worker_write_what_one_plan_does(
    make_store: Callable[[str], EmbeddedStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRAPHMEM_RECONSOLIDATE_WORKERS", "0")
    whole = _runs(make_store("whole"))
    monkeypatch.setattr(storage, "_PLAN_BATCH", 250)
    batched = _runs(make_store("batched"))
    assert batched == whole
    if not sys.platform.startswith("linux"):
        pytest.skip("the forked worker runs on Linux only")
    # Other tests may have left threads running, which keeps a run from forking: this one forks regardless.
    monkeypatch.setattr(parallel, "can_fork", lambda: True)
    assert _runs(make_store("forked")) == whole


def test_no_worker_when_switched_off_or_threads_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel.threading, "active_count", lambda: 1)
    monkeypatch.setenv("GRAPHMEM_RECONSOLIDATE_WORKERS", "0")
    assert not parallel.can_fork()
    monkeypatch.delenv("GRAPHMEM_RECONSOLIDATE_WORKERS")
    monkeypatch.setattr(parallel.threading, "active_count", lambda: 2)
    assert not parallel.can_fork()


@pytest.mark.parametrize("where", ["here", "worker"])
def test_a_failing_plan_in_either_process_fails_the_run(
    make_store: Callable[[str], EmbeddedStore], monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    if where == "worker" and not sys.platform.startswith("linux"):
        pytest.skip("the forked worker runs on Linux only")
    monkeypatch.setattr(parallel, "can_fork", lambda: where == "worker")
    store = make_store("failing")
    monkeypatch.setattr(storage, "_PLAN_BATCH", 250)
    plan = storage.adjudicated_plan

    def broken(*args: Any, **kwargs: Any) -> Any:
        if where == "here" or multiprocessing.current_process().name == "graphmem-reconsolidate":
            raise ValueError("no plan today")
        return plan(*args, **kwargs)

    monkeypatch.setattr(storage, "adjudicated_plan", broken)
    with pytest.raises(ValueError if where == "here" else RuntimeError, match="no plan today"):
        reconsolidate(store, NAMESPACE, now=NOW, full=True)
    monkeypatch.setattr(storage, "adjudicated_plan", plan)
    assert reconsolidate(store, NAMESPACE, now=NOW).dirty > 0  # what was not written is checked by the next run
