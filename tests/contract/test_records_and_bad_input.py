"""Every record type round-trips through both stores; bad input is refused, hostile text kept verbatim."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from graphmem.graph import from_node, read_records, to_graph, write_records
from graphmem.records import (
    Community,
    Dialogue,
    Document,
    Entity,
    Fact,
    Hyperedge,
    Mention,
    Participant,
    Passage,
    Session,
    Synonym,
    Turn,
)
from graphmem.store import Edge, GraphStore, InvalidRecordError, Node

T0 = datetime(2021, 5, 4, 10, 30, tzinfo=UTC)
T1 = datetime(2023, 1, 1, tzinfo=UTC)

HOSTILE = [
    "O'Brien \"the\" `Builder`",
    "'}) MATCH (n) DETACH DELETE n //",
    "`) CREATE (x:Pwned) //",
    "MERGE CALL { CREATE } RETURN $param ${injected}",
    "Zoë 北京 \u202eevil\u202c 🦜",
    "line\nbreak\ttab\\backslash",
    "x" * 990,
]


def sample_records(ns: str) -> list:
    return [
        Document(id="doc1", namespace=ns, title="Corrin Point", source="data/a.md", date=T0,
                 content_hash="abc", char_count=120, metadata={"lang": "en", "pages": 2, "ok": True}),
        Passage(id="p1", namespace=ns, document_id="doc1", text="The lighthouse was built in 1901.", start=0,
                end=33, position=0, title="Corrin Point", date=T0),
        Dialogue(id="dlg", namespace=ns, title="Chat", participants=["Ana", "Ben"]),
        Session(id="s1", namespace=ns, dialogue_id="dlg", timestamp=T1, position=0),
        Turn(id="t1", namespace=ns, dialogue_id="dlg", session_id="s1", speaker="Ana", text="I moved to Brill.",
             timestamp=T1, position=0, turn_ref="D1:1"),
        Entity(id="e1", namespace=ns, name="Corrin Point", key="corrin point", type="GPE",
               aliases=["Corrin Pt."], document_ids=["doc1", "dlg"]),
        Entity(id="e2", namespace=ns, name="1901", key="1901", type="DATE", document_ids=["doc1"]),
        Entity(id="e3", namespace=ns, name="Ana", key="ana", type="PERSON", document_ids=["dlg"]),
        Fact(id="f1", namespace=ns, subject_id="e1", predicate="built_in", object_id="e2", subject_name="Corrin Point",
             object_name="1901", sentence="The lighthouse was built in 1901.", valid_from=T0, valid_to=T1,
             recorded_at=T1, expired_at=None, provenance=["p1", "t1"], confidence=0.75, document_ids=["dlg", "doc1"]),
        Hyperedge(id="h1", namespace=ns, predicate="move", sentence="I moved to Brill.", recorded_at=T1,
                  participants=[Participant(entity_id="e3", role="agent"), Participant(entity_id="e1", role="to")],
                  provenance=["t1"], document_ids=["dlg"]),
        Community(id="c0", namespace=ns, level=0, member_ids=["e1", "e2"], title="Lighthouse", summary="About it."),
        Community(id="c1", namespace=ns, level=1, parent_id="c0", member_ids=["e1"]),
        Mention(namespace=ns, passage_id="p1", entity_id="e1", count=2),
        Synonym(namespace=ns, entity_id="e1", other_id="e2", score=0.9),
    ]


def test_every_record_type_round_trips(store: GraphStore, ns: str) -> None:
    records = sample_records(ns)
    nodes, edges = write_records(store, records)
    assert (nodes, edges) == (12, 16)
    stored = [r for r in records if hasattr(r, "LABEL")]
    got = read_records(store, ns, [r.id for r in stored])
    expected = [r.model_copy(update={"document_ids": sorted(r.document_ids)}) if hasattr(r, "document_ids") else r
                for r in stored]
    assert got == expected
    counts = store.counts(ns)
    assert counts.edges == {"PART_OF": 3, "SUBJECT": 1, "OBJECT": 1, "SUPPORTED_BY": 3, "PARTICIPANT": 2,
                            "IN_COMMUNITY": 3, "CHILD_OF": 1, "MENTIONS": 1, "SYNONYM": 1}
    roles = {e.target: e.props["role"] for e in store.neighbours(ns, ["h1"], edge_types=["PARTICIPANT"])}
    assert roles == {"e3": "agent", "e1": "to"}
    # writing the same records again changes nothing
    write_records(store, records)
    assert store.counts(ns) == counts


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_strings_are_stored_verbatim(store: GraphStore, ns: str, name: str) -> None:
    entity = Entity(id=name[:500], namespace=ns, name=name, key=name.lower(), aliases=[name, "plain"])
    write_records(store, [entity])
    assert read_records(store, ns, [entity.id]) == [entity]
    store.upsert_nodes([Node("Entity", "other", ns)])
    store.upsert_edges([Edge("SYNONYM", entity.id, "other", ns, {"why": name})])
    assert store.neighbours(ns, ["other"])[0].props == {"why": name}
    assert store.counts(ns).nodes == {"Entity": 2}  # nothing else was created or deleted


BAD_NODES = [
    (Node("Entity", "", "ns"), "id must be a non-empty string"),
    (Node("Entity", None, "ns"), "id must be a non-empty string"),  # type: ignore[arg-type]
    (Node("Entity", "x" * 600, "ns"), "exceeds 512"),
    (Node("Entity", "a", "bad namespace!"), "namespace"),
    (Node("entity lower", "a", "ns"), "label"),
    (Node("Entity`) DELETE n //", "a", "ns"), "label"),
    (Node("Entity", "a", "ns", {"nested": {"a": 1}}), "unsupported type dict"),
    (Node("Entity", "a", "ns", {"set": {1, 2}}), "unsupported type set"),
    (Node("Entity", "a", "ns", {"obj": object()}), "unsupported type object"),
    (Node("Entity", "a", "ns", {"big": "x" * 1_000_001}), "exceeds 1,000,000"),
    (Node("Entity", "a", "ns", {"huge": 2**64}), "64 bits"),
    (Node("Entity", "a", "ns", {"nan": float("nan")}), "finite"),
    (Node("Entity", "a", "ns", {"mixed": ["a", 1]}), "mixes types"),
    (Node("Entity", "a", "ns", {"nulls": ["a", None]}), "lists may hold"),
    (Node("Entity", "a", "ns", {"naive": datetime(2020, 1, 1)}), "naive datetime"),
    (Node("Entity", "a", "ns", {"bad key`": 1}), "property name"),
    (Node("Entity", "a", "ns", {"id": "other"}), "reserved"),
    (Node("Entity", "a", "ns", {}, ("",)), "document id"),
]


@pytest.mark.parametrize(("node", "message"), BAD_NODES, ids=[m for _, m in BAD_NODES])
def test_bad_nodes_are_refused_before_anything_is_written(
    store: GraphStore, ns: str, node: Node, message: str
) -> None:
    good = Node("Entity", "good", ns)
    bad = Node(node.label, node.id, ns if node.namespace == "ns" else node.namespace, node.props, node.docs)
    with pytest.raises(InvalidRecordError, match=message) as info:
        store.upsert_nodes([good, bad])
    assert "node #1" in str(info.value)
    assert store.counts(ns).total_nodes == 0
    assert store.revision(ns) == 0


def test_bad_edges_are_refused(store: GraphStore, ns: str) -> None:
    store.upsert_nodes([Node("Entity", "a", ns), Node("Entity", "b", ns)])
    for edge, message in [
        (Edge("knows", "a", "b", ns), "type"),
        (Edge("KNOWS]->() DELETE n", "a", "b", ns), "type"),
        (Edge("KNOWS", "", "b", ns), "source id"),
        (Edge("KNOWS", "a", "b", ns, {"m": {"x": 1}}), "unsupported type"),
    ]:
        with pytest.raises(InvalidRecordError, match=message):
            store.upsert_edges([edge])
    assert store.counts(ns).total_edges == 0


def test_records_validate_their_fields() -> None:
    with pytest.raises(ValidationError, match="name"):
        Entity(id="e", key="k")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="at least 1 character"):
        Entity(id="", name="x", key="x")
    with pytest.raises(ValidationError, match="at most 1000 characters"):
        Entity(id="e", name="x" * 1001, key="x")
    with pytest.raises(ValidationError, match="end offset"):
        Passage(id="p", document_id="d", text="abc", start=5, end=2)
    with pytest.raises(ValidationError, match="valid_to is before valid_from"):
        Fact(id="f", subject_id="a", predicate="p", object_id="b", valid_from=T1, valid_to=T0)
    with pytest.raises(ValidationError, match="confidence"):
        Fact(id="f", subject_id="a", predicate="p", object_id="b", confidence=1.5)
    with pytest.raises(ValidationError, match="participants"):
        Hyperedge(id="h", predicate="p", participants=[Participant(entity_id="a", role="x")])
    with pytest.raises(ValidationError, match="namespace"):
        Entity(id="e", name="x", key="x", namespace="../../etc")
    with pytest.raises(ValidationError, match="Extra inputs"):
        Entity(id="e", name="x", key="x", colour="red")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="valid datetime"):
        Session(id="s", dialogue_id="d", timestamp="not a date")  # type: ignore[arg-type]


def test_naive_datetimes_in_records_are_taken_as_utc() -> None:
    session = Session(id="s", dialogue_id="d", timestamp=datetime(2024, 3, 2, 18, 30))
    assert session.timestamp == datetime(2024, 3, 2, 18, 30, tzinfo=UTC)


def test_unknown_labels_are_not_records() -> None:
    with pytest.raises(InvalidRecordError, match="no graphmem record"):
        from_node(Node("Mystery", "m", "default"))
    with pytest.raises(InvalidRecordError, match="not a graphmem record"):
        to_graph([object()])  # type: ignore[list-item]
