"""``set_props``: some properties of existing nodes set in one batch, the same on both stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from graphmem.store import Edge, GraphStore, InvalidRecordError, MissingNodeError, Node
from graphmem.store.base import PropsWriter


def _seed(store: GraphStore, ns: str) -> None:
    when = datetime(2020, 5, 1, tzinfo=UTC)
    store.upsert_nodes([
        Node("Fact", "f1", ns, {"name": "one", "when": when, "ids": ["p1", "p2"], "score": 0.5}, ("d1", "d2")),
        Node("Fact", "f2", ns, {"name": "two"}, ("d1",)),
    ])  # fmt: skip
    store.upsert_edges([Edge("LINKS", "f1", "f2", ns, {"weight": 1.0})])


def test_both_stores_can_set_props(store: GraphStore) -> None:
    assert isinstance(store, PropsWriter)


def test_sets_and_removes_some_props_and_keeps_the_rest(store: GraphStore, ns: str) -> None:
    _seed(store, ns)
    before = store.revision(ns)
    later = datetime(2021, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    written = store.set_props(ns, [("f1", {"when": later, "score": None, "ids": ["p3"], "new": "x"}),
                                   ("f2", {"flag": True, "absent": None})])  # type: ignore[attr-defined]  # fmt: skip
    assert written == 2
    assert store.revision(ns) > before
    one, two = store.get_nodes(ns, ["f1", "f2"])
    assert one == Node("Fact", "f1", ns, {"name": "one", "when": later.astimezone(UTC), "ids": ["p3"], "new": "x"},
                       ("d1", "d2"))  # fmt: skip
    assert two == Node("Fact", "f2", ns, {"name": "two", "flag": True}, ("d1",))
    assert store.neighbours(ns, ["f1"]) == [Edge("LINKS", "f1", "f2", ns, {"weight": 1.0})]
    assert store.counts(ns).nodes == {"Fact": 2}


def test_a_repeated_id_takes_its_updates_in_order(store: GraphStore, ns: str) -> None:
    _seed(store, ns)
    store.set_props(ns, [("f2", {"v": 1, "w": 1}), ("f2", {"v": 2})])  # type: ignore[attr-defined]
    assert store.get_nodes(ns, ["f2"])[0].props == {"name": "two", "v": 2, "w": 1}


def test_a_missing_node_fails_the_batch_and_writes_nothing(store: GraphStore, ns: str) -> None:
    _seed(store, ns)
    before = store.get_nodes(ns, ["f1", "f2"])
    with pytest.raises(MissingNodeError, match="ghost"):
        store.set_props(ns, [("f1", {"name": "changed"}), ("ghost", {"name": "boo"})])  # type: ignore[attr-defined]
    assert store.get_nodes(ns, ["f1", "f2"]) == before
    assert store.get_nodes(ns, ["ghost"]) == []


@pytest.mark.parametrize("props", [{"id": "x"}, {"docs": ["d9"]}, {"bad key": 1}, {"v": object()}, {"v": [1, "a"]}])
def test_invalid_props_are_refused(store: GraphStore, ns: str, props: dict[str, object]) -> None:
    _seed(store, ns)
    with pytest.raises(InvalidRecordError):
        store.set_props(ns, [("f1", props)])  # type: ignore[attr-defined]
    assert store.get_nodes(ns, ["f1"])[0].props["name"] == "one"


def test_nothing_to_set_writes_nothing(store: GraphStore, ns: str) -> None:
    _seed(store, ns)
    before = store.revision(ns)
    assert store.set_props(ns, []) == 0  # type: ignore[attr-defined]
    assert store.revision(ns) == before
