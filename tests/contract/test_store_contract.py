"""The GraphStore contract: the same tests against the embedded store and the real Neo4j server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from graphmem.store import Edge, GraphStore, InvalidRecordError, MissingNodeError, Node


def _nodes(ns: str, n: int, label: str = "Entity", docs: tuple[str, ...] = ("d1",)) -> list[Node]:
    return [Node(label, f"n{i:05d}", ns, {"name": f"node {i}", "rank": i}, docs) for i in range(n)]


def _chain(ns: str, n: int) -> list[Edge]:
    return [Edge("LINKS", f"n{i:05d}", f"n{i + 1:05d}", ns, {"weight": i / 2}) for i in range(n - 1)]


def test_revision_starts_at_zero_and_grows_with_every_write(store: GraphStore, ns: str) -> None:
    assert store.revision(ns) == 0
    store.upsert_nodes(_nodes(ns, 3))
    r1 = store.revision(ns)
    store.upsert_edges(_chain(ns, 3))
    r2 = store.revision(ns)
    store.upsert_nodes(_nodes(ns, 3))  # same content still counts as a write
    r3 = store.revision(ns)
    store.delete_document(ns, "d1")
    r4 = store.revision(ns)
    assert 0 < r1 < r2 < r3 < r4
    assert store.revision(ns + "-other") == 0


def test_upsert_is_idempotent(store: GraphStore, ns: str) -> None:
    nodes, edges = _nodes(ns, 50), _chain(ns, 50)
    for _ in range(2):
        assert store.upsert_nodes(nodes) == 50
        assert store.upsert_edges(edges) == 49
    counts = store.counts(ns)
    assert counts.nodes == {"Entity": 50}
    assert counts.edges == {"LINKS": 49}
    assert store.get_nodes(ns, ["n00007"]) == [Node("Entity", "n00007", ns, {"name": "node 7", "rank": 7}, ("d1",))]


def test_upsert_replaces_props_and_unions_docs(store: GraphStore, ns: str) -> None:
    store.upsert_nodes([Node("Entity", "a", ns, {"name": "Ada", "old": True}, ("d1",))])
    store.upsert_nodes([Node("Entity", "a", ns, {"name": "Ada L."}, ("d2",))])
    [node] = store.get_nodes(ns, ["a"])
    assert node.props == {"name": "Ada L."}
    assert node.docs == ("d1", "d2")
    store.upsert_nodes([Node("Entity", "b", ns), Node("Entity", "c", ns)])
    store.upsert_edges([Edge("KNOWS", "b", "c", ns, {"since": 1990, "note": "x"})])
    store.upsert_edges([Edge("KNOWS", "b", "c", ns, {"since": 1991})])
    assert store.neighbours(ns, ["b"]) == [Edge("KNOWS", "b", "c", ns, {"since": 1991})]


def test_repeated_id_within_a_batch_behaves_like_two_upserts(store: GraphStore, ns: str) -> None:
    store.upsert_nodes([Node("Entity", "a", ns, {"v": 1}, ("d1",)), Node("Entity", "a", ns, {"v": 2}, ("d2",))])
    assert store.get_nodes(ns, ["a"]) == [Node("Entity", "a", ns, {"v": 2}, ("d1", "d2"))]


def test_property_types_round_trip(store: GraphStore, ns: str) -> None:
    when = datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    props = {
        "text": "plain",
        "count": -(2**62),
        "ratio": 0.125,
        "flag": False,
        "when": when,
        "names": ["a", "b"],
        "numbers": [1, 2, 3],
        "vector": [0.5, -1.25, 3.0],
        "empty": [],
    }
    store.upsert_nodes([Node("Fact", "f", ns, {**props, "nothing": None})])
    [node] = store.get_nodes(ns, ["f"])
    assert node.props == {**props, "when": when.astimezone(UTC)}
    assert node.props["when"].tzinfo is not None
    assert "nothing" not in node.props


def test_get_nodes_keeps_requested_order_and_skips_unknown(store: GraphStore, ns: str) -> None:
    store.upsert_nodes(_nodes(ns, 5))
    got = store.get_nodes(ns, ["n00003", "nope", "n00001", "n00003"])
    assert [n.id for n in got] == ["n00003", "n00001"]


def test_neighbours_in_both_directions_and_by_type(store: GraphStore, ns: str) -> None:
    store.upsert_nodes([Node("Entity", x, ns) for x in "abcd"])
    store.upsert_edges([
        Edge("KNOWS", "a", "b", ns),
        Edge("KNOWS", "c", "a", ns),
        Edge("LIKES", "a", "d", ns),
        Edge("LIKES", "b", "c", ns),
    ])
    assert [e.key for e in store.neighbours(ns, ["a"])] == [
        ("a", "KNOWS", "b"),
        ("a", "LIKES", "d"),
        ("c", "KNOWS", "a"),
    ]
    assert [e.key for e in store.neighbours(ns, ["a", "b"], edge_types=["LIKES"])] == [
        ("a", "LIKES", "d"),
        ("b", "LIKES", "c"),
    ]
    assert store.neighbours(ns, ["a"], edge_types=[]) == []


def test_iteration_covers_everything_across_pages(store: GraphStore, ns: str) -> None:
    n = 4_500  # more than one page in every backend
    store.upsert_nodes(_nodes(ns, n) + [Node("Passage", f"p{i}", ns, {"text": "t"}) for i in range(10)])
    store.upsert_edges(_chain(ns, n))
    ids = [node.id for node in store.iter_nodes(ns)]
    assert len(ids) == n + 10 and len(set(ids)) == n + 10
    assert sorted(node.id for node in store.iter_nodes(ns, label="Passage")) == sorted(f"p{i}" for i in range(10))
    edges = list(store.iter_edges(ns))
    assert len(edges) == n - 1 and len({e.key for e in edges}) == n - 1
    assert list(store.iter_edges(ns, edge_type="NONE")) == []
    assert store.counts(ns).total_nodes == n + 10


def test_namespaces_are_isolated(store: GraphStore, ns: str) -> None:
    a, b = ns + "-a", ns + "-b"
    store.upsert_nodes([Node("Entity", "x", a, {"who": "a"}, ("d1",)), Node("Entity", "y", a, {}, ("d1",))])
    store.upsert_nodes([Node("Entity", "x", b, {"who": "b"}, ("d1",)), Node("Entity", "y", b, {}, ("d1",))])
    store.upsert_edges([Edge("KNOWS", "x", "y", a)])
    assert store.get_nodes(a, ["x"])[0].props == {"who": "a"}
    assert store.get_nodes(b, ["x"])[0].props == {"who": "b"}
    assert store.neighbours(b, ["x"]) == []
    assert {a, b} <= set(store.namespaces())
    store.delete_document(a, "d1")
    assert store.counts(a).total_nodes == 0
    assert store.counts(b).nodes == {"Entity": 2}
    with pytest.raises(MissingNodeError):
        store.upsert_edges([Edge("KNOWS", "x", "only-in-a", b)])
    assert store.delete_namespace(b) == 2
    assert b not in store.namespaces()


def test_delete_document_keeps_what_other_documents_support(store: GraphStore, ns: str) -> None:
    store.upsert_nodes([
        Node("Document", "d1", ns, {}, ("d1",)),
        Node("Document", "d2", ns, {}, ("d2",)),
        Node("Passage", "p1", ns, {"text": "one"}, ("d1",)),
        Node("Passage", "p2", ns, {"text": "two"}, ("d2",)),
        Node("Entity", "shared", ns, {"name": "Shared"}, ("d1", "d2")),
        Node("Entity", "only1", ns, {"name": "Only one"}, ("d1",)),
        Node("Fact", "f", ns, {"provenance": ["p1", "p2"]}, ("d1", "d2")),
        Node("Community", "c", ns, {"level": 0}),  # supported by no document: never deleted by one
    ])
    store.upsert_edges([
        Edge("PART_OF", "p1", "d1", ns),
        Edge("PART_OF", "p2", "d2", ns),
        Edge("MENTIONS", "p1", "shared", ns),
        Edge("MENTIONS", "p2", "shared", ns),
        Edge("MENTIONS", "p1", "only1", ns),
        Edge("SYNONYM", "shared", "only1", ns),
        Edge("IN_COMMUNITY", "shared", "c", ns),
    ])
    result = store.delete_document(ns, "d1")
    assert (result.nodes_deleted, result.edges_deleted, result.nodes_updated) == (3, 4, 2)
    assert sorted(n.id for n in store.iter_nodes(ns)) == ["c", "d2", "f", "p2", "shared"]
    assert [n.docs for n in store.get_nodes(ns, ["shared", "f"])] == [("d2",), ("d2",)]
    assert store.get_nodes(ns, ["f"])[0].props["provenance"] == ["p2"]
    assert sorted(e.key for e in store.iter_edges(ns)) == [
        ("p2", "MENTIONS", "shared"),
        ("p2", "PART_OF", "d2"),
        ("shared", "IN_COMMUNITY", "c"),
    ]
    again = store.delete_document(ns, "d1")
    assert (again.nodes_deleted, again.edges_deleted) == (0, 0)


def test_edges_need_both_endpoints_and_nothing_is_half_written(store: GraphStore, ns: str) -> None:
    store.upsert_nodes(_nodes(ns, 2))
    before = store.counts(ns)
    with pytest.raises(MissingNodeError, match="ghost"):
        store.upsert_edges([Edge("LINKS", "n00000", "n00001", ns), Edge("LINKS", "n00000", "ghost", ns)])
    assert store.counts(ns) == before


def test_an_id_keeps_its_label(store: GraphStore, ns: str) -> None:
    store.upsert_nodes([Node("Entity", "x", ns, {"v": 1})])
    with pytest.raises(InvalidRecordError, match="already exists as Entity"):
        store.upsert_nodes([Node("Passage", "x", ns, {"v": 2})])
    assert store.get_nodes(ns, ["x"]) == [Node("Entity", "x", ns, {"v": 1})]
