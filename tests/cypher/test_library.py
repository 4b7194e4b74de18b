"""Every query of cypher/library/ (and the temporal ones callable by name), run through Memory.cypher on the
real Neo4j server loaded with the sample corpus, returns the rows the corpus implies."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from graphmem.cypher_library import library, query_params
from graphmem.memory import Memory
from graphmem.records import Fact, Hyperedge

pytestmark = pytest.mark.neo4j


def _fact(memory: Memory, subject: str, predicate: str, obj: str) -> Fact:
    found = [f for f in memory.facts(subject, predicate, include_expired=True) if f.object_name == obj]
    assert found, f"the sample corpus should give {subject} {predicate} {obj}"
    return found[0]


def _entity_id(memory: Memory, name: str) -> str:
    rows = memory.cypher("MATCH (e:Entity {namespace: $namespace, name: $name}) RETURN e.id AS id", {"name": name})
    assert len(rows) == 1, rows
    return str(rows[0]["id"])


def check_entity_neighbourhood(memory: Memory) -> None:
    rows = memory.cypher("entity_neighbourhood", {"name": "casimir LOVATT", "limit": 100})
    assert {r["entity"] for r in rows} == {"Casimir Lovatt"}
    neighbours = {r["neighbour"] for r in rows}
    assert {"Ardloch", "Orrin Shipworks", "Tarnel Ferry Company"} <= neighbours
    born = next(r for r in rows if r["predicate"] == "born_in" and r["neighbour"] == "Ardloch")
    assert born["direction"] == "out" and born["subject"] == "Casimir Lovatt"
    # the graph elements Neo4j Browser draws: entity -[SUBJECT]- fact -[OBJECT]- neighbour, and the sources
    start, first, fact, second, end = born["path"]
    assert (start["name"], fact["predicate"], end["name"]) == ("Casimir Lovatt", "born_in", "Ardloch")
    assert "Entity" in start["_labels"] and "Fact" in fact["_labels"]
    assert {first["_type"], second["_type"]} == {"SUBJECT", "OBJECT"}
    assert born["source_ids"] == [s["id"] for s in born["sources"]] and born["source_ids"]
    assert any("born in Ardloch" in s["text"] for s in born["sources"])
    assert all(e["_type"] == "SUPPORTED_BY" and e["_source"] == fact["id"] for e in born["supported_by"])
    # most often stated first, and $limit caps the facts
    stated = [len(r["source_ids"]) for r in rows]
    assert stated == sorted(stated, reverse=True)
    assert len(memory.cypher("entity_neighbourhood", {"name": "Casimir Lovatt", "limit": 3})) == 3
    assert memory.cypher("entity_neighbourhood", {"name": "Nobody Atall"}) == []


def check_fact_provenance(memory: Memory) -> None:
    born = _fact(memory, "Casimir Lovatt", "born_in", "Ardloch")
    rows = memory.cypher("fact_provenance", {"fact_id": born.id})
    assert [r["unit_id"] for r in rows] == born.provenance
    assert rows[0]["kind"] == "Passage" and rows[0]["source_id"] == "doc-lovatt-2019"
    assert "born in Ardloch" in rows[0]["text"] and rows[0]["date"] == datetime(2019, 6, 1, tzinfo=UTC)
    worked = _fact(memory, "Wrenna Tallis", "work_at", "Brindlemoss Institute")
    turns = memory.cypher("fact_provenance", {"fact_id": worked.id})
    assert turns and all(r["kind"] == "Turn" and r["source_id"] == "dlg-wrenna-idris" for r in turns)
    assert any(r["speaker"] == "Wrenna Tallis" and "work at the Brindlemoss Institute" in r["text"] for r in turns)


def check_entity_timeline(memory: Memory) -> None:
    rows = memory.cypher("entity_timeline", {"name": "Wrenna Tallis"})
    assert {r["fact_id"] for r in rows} == {e.fact.id for e in memory.history("Wrenna Tallis").entries}
    dated = [r["valid_from"] for r in rows if r["valid_from"] is not None]
    assert dated == sorted(dated)
    old_job = next(r for r in rows if r["predicate"] == "work_at" and r["object"] == "Brindlemoss Institute")
    assert old_job["status"] == "superseded" and old_job["expired_at"] is not None
    assert old_job["superseded_by"] and all(link["rule"] for link in old_job["superseded_by"])
    assert {"valid", "superseded"} <= {r["status"] for r in rows}


def check_facts_valid_at(memory: Memory) -> None:
    for at in ("2021-06-01", "2023-01-01T12:00:00Z"):
        when = datetime.fromisoformat(at.replace("Z", "+00:00")).replace(tzinfo=UTC)
        rows = memory.cypher("facts_valid_at", {"at": at, "subject": "wrenna tallis"})
        assert {r["fact_id"] for r in rows} == {f.id for f in memory.facts("Wrenna Tallis", as_of=when)}
        assert {r["subject"] for r in rows} == {"Wrenna Tallis"}
        everyone = memory.cypher("facts_valid_at", {"at": at})
        assert {r["fact_id"] for r in everyone} == {f.id for f in memory.facts(as_of=when)}
    then = {(r["predicate"], r["object"]) for r in memory.cypher("facts_valid_at", {"at": "2021-06-01",
                                                                                      "subject": "Wrenna Tallis"})}
    later = {(r["predicate"], r["object"]) for r in memory.cypher("facts_valid_at", {"at": "2023-01-01",
                                                                                       "subject": "Wrenna Tallis"})}
    assert ("work_at", "Brindlemoss Institute") in then and ("work_at", "Brindlemoss Institute") not in later
    assert ("live_in", "Dunmaren") in then and ("live_in", "Dunmaren") not in later


def check_community(memory: Memory) -> None:
    largest = memory.communities(level=0)[0]
    rows = memory.cypher("community", {})  # no id: the largest top-level one
    assert {r["community_id"] for r in rows} == {largest.id}
    assert {r["member_node"]["id"] for r in rows} == set(largest.member_ids) and len(rows) == largest.size
    assert rows[0]["summary"] == largest.summary and rows[0]["title"] == largest.title
    assert [r["inner_facts"] for r in rows] == sorted((r["inner_facts"] for r in rows), reverse=True)
    child = next(c for c in memory.communities(level=1) if c.parent_id)
    rows = memory.cypher("community", {"community_id": child.id})
    assert {r["member_node"]["id"] for r in rows} == set(child.member_ids)
    assert {(r["level"], r["parent_id"]) for r in rows} == {(1, child.parent_id)}
    assert all(r["in_community"]["_type"] == "IN_COMMUNITY" for r in rows)


def check_shortest_paths(memory: Memory) -> None:
    rows = memory.cypher("shortest_paths", {"source": "Teodric Vansell", "target": "Kessaby Harbour Choir"})
    assert rows and {r["hops"] for r in rows} == {2}
    assert any("Amalind Vansell" in r["text"] for r in rows)
    path = rows[0]["path"]
    assert len(path) == 9 and path[0]["name"] == "Teodric Vansell" and path[-1]["name"] == "Kessaby Harbour Choir"
    assert memory.cypher("shortest_paths", {"source": "Teodric Vansell", "target": "Kessaby Harbour Choir",
                                            "max_hops": 1}) == []  # fmt: skip
    direct = memory.cypher("shortest_paths", {"source": "casimir lovatt", "target": "Ardloch", "max_hops": 3})
    assert [(r["hops"], r["text"]) for r in direct] == [(1, "Casimir Lovatt —born_in→ Ardloch")]
    back = memory.cypher("shortest_paths", {"source": "Ardloch", "target": "Casimir Lovatt"})
    assert [r["text"] for r in back] == ["Ardloch ←born_in— Casimir Lovatt"]


def check_most_connected(memory: Memory) -> None:
    rows = memory.cypher("most_connected", {"limit": 5})
    assert len(rows) == 5
    assert [r["neighbours"] for r in rows] == sorted((r["neighbours"] for r in rows), reverse=True)
    facts = [f for f in memory.records("Fact") if isinstance(f, Fact)]
    neighbours: dict[str, set[str]] = {}
    for f in facts:
        if f.subject_id != f.object_id:
            neighbours.setdefault(f.subject_id, set()).add(f.object_id)
            neighbours.setdefault(f.object_id, set()).add(f.subject_id)
    assert rows[0]["neighbours"] == max(len(v) for v in neighbours.values())
    assert all(r["neighbours"] == len(neighbours[r["entity_id"]]) for r in rows)
    assert "Wrenna Tallis" in {r["entity"] for r in memory.cypher("most_connected", {"limit": 10})}


def check_hyperedges(memory: Memory) -> None:
    skelda = _entity_id(memory, "Skelda")
    stored = {h.id for h in memory.records("Hyperedge") if isinstance(h, Hyperedge)
              and skelda in {p.entity_id for p in h.participants}}  # fmt: skip
    rows = memory.cypher("hyperedges", {"entity": "skelda", "limit": 100})
    assert stored and {r["hyperedge_id"] for r in rows} == stored
    for row in rows:
        assert "Skelda" in {p["entity"] for p in row["participants"]} and len(row["participants"]) >= 2
        assert len(row["participant_nodes"]) == len(row["participant_edges"]) == len(row["participants"])
        assert "Hyperedge" in row["hyperedge"]["_labels"]
    assert len(memory.cypher("hyperedges", {"limit": 4})) == 4


def check_similar_entities(memory: Memory) -> None:
    vector = memory.cypher("MATCH (e:Entity {namespace: $namespace, name: 'Orrin Shipworks'}) "
                           "RETURN e.embedding AS v")[0]["v"]  # fmt: skip
    rows = memory.cypher("similar_entities", {"embedding": vector, "k": 5})
    assert len(rows) == 5 and rows[0]["entity"] == "Orrin Shipworks" and rows[0]["score"] > 0.99
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    asked = memory.embedder.encode(["the Kessaby shipbuilder Orrin Shipworks"])[0].tolist()
    assert "Orrin Shipworks" in {r["entity"] for r in memory.cypher("similar_entities", {"embedding": asked, "k": 3})}


def check_similar_passages(memory: Memory) -> None:
    turn = "dlg-saoirse-oskar/s2-t8"  # "My brother Fintan keeps bees up in the Hollin Fells now."
    vector = memory.cypher("MATCH (t:Turn {namespace: $namespace, id: $id}) RETURN t.embedding AS v",
                           {"id": turn})[0]["v"]  # fmt: skip
    rows = memory.cypher("similar_passages", {"embedding": vector, "k": 3})
    assert rows[0]["unit_id"] == turn and rows[0]["kind"] == "Turn" and rows[0]["speaker"] == "Saoirse Dunleavy"
    asked = memory.embedder.encode(["Who restored the tide mill at Lunnock?"])[0].tolist()
    rows = memory.cypher("similar_passages", {"embedding": asked, "k": 3})
    assert rows[0]["kind"] == "Passage" and rows[0]["source_id"] == "documents/lunnock-tide-mill.txt"
    assert "Corvin Ashdale" in " ".join(r["text"] for r in rows)


def check_temporal_entity_history(memory: Memory) -> None:
    rows = memory.cypher("temporal/entity_history", {"entity_id": _entity_id(memory, "Wrenna Tallis")})
    assert [r["id"] for r in rows] == [e.fact.id for e in memory.history("Wrenna Tallis").entries]


def check_temporal_facts_as_of(memory: Memory) -> None:
    when = datetime(2022, 6, 1, tzinfo=UTC)
    rows = memory.cypher("temporal/facts_as_of", {"as_of": when, "include_expired": False})
    assert [r["id"] for r in rows] == [f.id for f in memory.facts(as_of=when)] and rows


CHECKS: dict[str, Callable[[Memory], None]] = {
    "entity_neighbourhood": check_entity_neighbourhood,
    "fact_provenance": check_fact_provenance,
    "entity_timeline": check_entity_timeline,
    "facts_valid_at": check_facts_valid_at,
    "community": check_community,
    "shortest_paths": check_shortest_paths,
    "most_connected": check_most_connected,
    "hyperedges": check_hyperedges,
    "similar_entities": check_similar_entities,
    "similar_passages": check_similar_passages,
    "temporal/entity_history": check_temporal_entity_history,
    "temporal/facts_as_of": check_temporal_facts_as_of,
}


def test_every_named_query_has_a_check() -> None:
    """A new file in cypher/library/ fails here until a check for it is added to CHECKS."""
    names = {q.name for q in library()}
    assert names == set(CHECKS), f"named queries without a check: {sorted(names - set(CHECKS))}"


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_named_query_returns_the_expected_rows(sample: Memory, name: str) -> None:
    CHECKS[name](sample)


def test_library_lists_headers_and_parameters() -> None:
    entries = {q.name: q for q in library()}
    assert set(entries) >= {"entity_neighbourhood", "fact_provenance", "entity_timeline", "facts_valid_at",
                            "community", "shortest_paths", "most_connected", "hyperedges", "similar_entities",
                            "similar_passages", "temporal/entity_history"}  # fmt: skip
    assert entries["entity_neighbourhood"].params == ("namespace", "name", "limit")
    assert entries["facts_valid_at"].params == ("at", "namespace", "subject")
    assert entries["similar_entities"].params == ("k", "embedding", "namespace")
    for entry in entries.values():
        assert entry.header and "namespace" in entry.params, entry.name
        assert "Params:" in entry.header, f"{entry.name}: the header says its parameters"
        declared = entry.header[entry.header.index("Params:") :]
        assert all(f"${p}" in declared for p in entry.params), f"{entry.name}: Params: names every parameter"
    assert query_params("// $not_this\nMATCH (n {id: $id}) WHERE n.x = $id RETURN $other") == ("id", "other")


def test_converter_gives_plain_python(sample: Memory) -> None:
    rows = sample.cypher("MATCH p = (f:Fact {namespace: $namespace})-[r:SUBJECT]->(e:Entity) "
                         "RETURN f, r, e, p, f.valid_from AS valid_from, duration('P1DT2H') AS d, "
                         "date('2024-02-29') AS day, [e, 1] AS mixed, {entity: e} AS wrapped LIMIT 1")  # fmt: skip
    row: dict[str, Any] = rows[0]
    assert row["f"]["_labels"] == ["Fact", "Node"] and "embedding" not in row["e"]
    assert row["r"]["_type"] == "SUBJECT" and row["r"]["_source"] == row["f"]["id"]
    assert row["r"]["_target"] == row["e"]["id"] and row["r"]["_end"] == row["e"]["_element_id"]
    assert row["p"] == [row["f"], row["r"], row["e"]]
    assert row["valid_from"] is None or isinstance(row["valid_from"], datetime)
    assert row["d"] == "P1DT2H" and row["day"].isoformat() == "2024-02-29"
    assert row["mixed"] == [row["e"], 1] and row["wrapped"] == {"entity": row["e"]}
