"""Facts read and rewritten in bulk by reconsolidation: the fast paths give what the plain ones give."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from graphmem.graph import fact_from_node, fact_patch, to_node
from graphmem.records import Fact
from graphmem.store import EmbeddedStore, Node
from graphmem.temporal.learn import learn_single_valued
from graphmem.temporal.rules import ReconsolidationConfig

WHEN = datetime(2021, 3, 4, tzinfo=UTC)


def _fact(**changes: object) -> Fact:
    fields: dict[str, object] = {
        "id": "f1", "namespace": "ns", "subject_id": "e:ana", "predicate": "live_in", "object_id": "e:oslo",
        "subject_name": "Ana", "object_name": "Oslo", "sentence": "Ana lives in Oslo.", "valid_from": WHEN,
        "recorded_at": WHEN, "provenance": ["p1", "p2"], "document_ids": ["d1"],
    }  # fmt: skip
    return Fact(**{**fields, **changes})  # type: ignore[arg-type]


def _stored(fact: Fact, tmp_path: object) -> Node:
    """The node as a store gives it back (None properties dropped, datetimes in UTC)."""
    with EmbeddedStore(f"{tmp_path}/g.sqlite3") as store:
        store.upsert_nodes([to_node(fact)])
        return store.get_nodes(fact.namespace, [fact.id])[0]


def _construct(node: Node) -> Fact:
    return Fact.model_construct(**{**node.props, "id": node.id, "namespace": node.namespace,
                                   "document_ids": list(node.docs)})  # fmt: skip


@pytest.mark.parametrize("changes", [{}, {"valid_to": WHEN, "expired_at": WHEN, "reconsolidated": "r1:x"},
                                     {"sentence": "", "provenance": [], "subject_name": None}])  # fmt: skip
def test_fact_from_node_is_model_construct(tmp_path: object, changes: dict[str, object]) -> None:
    node = _stored(_fact(**changes), tmp_path)
    fast, plain = fact_from_node(node), _construct(node)
    assert fast.__dict__ == plain.__dict__
    assert list(fast.__dict__) == list(plain.__dict__)
    assert fast.model_fields_set == plain.model_fields_set
    assert fast == plain
    assert to_node(fast) == to_node(plain)
    assert fast.model_copy(update={"valid_to": WHEN}) == plain.model_copy(update={"valid_to": WHEN})


def test_unusual_nodes_take_model_construct() -> None:
    props = {"predicate": "p", "subject_id": "a", "object_id": "b", "recorded_at": WHEN, "unknown": 1}
    node = Node("Fact", "f1", "ns", props)  # type: ignore[arg-type]
    assert fact_from_node(node).__dict__ == _construct(node).__dict__


def test_a_patch_makes_the_node_a_whole_write_would(tmp_path: object) -> None:
    node = _stored(_fact(valid_to=WHEN, reconsolidated="r1:old"), tmp_path)
    new = fact_from_node(node).model_copy(update={"valid_to": None, "expired_at": WHEN, "reconsolidated": "r1:new"})
    patch = fact_patch(node, new)
    assert patch == {"valid_to": None, "expired_at": WHEN, "reconsolidated": "r1:new"}
    with EmbeddedStore(f"{tmp_path}/g.sqlite3") as store:
        store.set_props("ns", [("f1", patch)])
        patched = store.get_nodes("ns", ["f1"])[0]
        store.upsert_nodes([to_node(new)])
        assert patched == store.get_nodes("ns", ["f1"])[0]


def test_no_patch_for_new_documents_or_unknown_properties(tmp_path: object) -> None:
    node = _stored(_fact(), tmp_path)
    assert fact_patch(node, fact_from_node(node)) == {}
    assert fact_patch(node, fact_from_node(node).model_copy(update={"document_ids": ["d1", "d2"]})) is None
    odd = Node(node.label, node.id, node.namespace, {**node.props, "extra": 1}, node.docs)
    assert fact_patch(odd, fact_from_node(node)) is None


def test_learning_asks_each_object_once_and_learns_the_same() -> None:
    asked: list[str] = []

    def kind(object_id: str) -> str | None:
        asked.append(object_id)
        return None if object_id.startswith("date") else "named"

    rows = [(f"s{i}", "captain_at", f"ship{i % 7}", WHEN) for i in range(40)]
    rows += [(f"s{i}", "captain_at", f"ship{i % 5 + 7}", datetime(2022, 1, 1, tzinfo=UTC)) for i in range(0, 40, 8)]
    rows += [(f"s{i}", "born_on", "date1", WHEN) for i in range(40)]
    learned = learn_single_valued(rows, kind, ReconsolidationConfig())
    assert learned == frozenset({"captain_at"})
    assert sorted(asked) == sorted(set(asked))
