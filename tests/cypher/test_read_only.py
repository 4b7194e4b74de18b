"""Memory.cypher refuses writes unless read_only=False, before they run; the embedded store says Cypher needs Neo4j."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from neo4j.exceptions import ClientError

from graphmem.cypher_library import UnknownQueryError
from graphmem.cypher_run import CypherNeedsNeo4jError, CypherQueryError, CypherWriteRefused
from graphmem.memory import Memory
from graphmem.store import EmbeddedStore
from graphmem.store.neo4j import Neo4jStore

COUNT = "MATCH (n:Node {namespace: $namespace}) RETURN count(n) AS nodes, sum(coalesce(n.touched, 0)) AS touched"
WRITES = {
    "create": "CREATE (:Node:Probe {namespace: $namespace, id: 'probe'})",
    "merge": "MERGE (n:Node {namespace: $namespace, id: 'probe'}) RETURN n",
    "delete": "MATCH (n:Node {namespace: $namespace}) DETACH DELETE n",
    "set": "MATCH (n:Node {namespace: $namespace}) SET n.touched = 1",
    "call_subquery": "CALL () { CREATE (:Node {namespace: $namespace, id: 'probe'}) } RETURN 1 AS one",
    "old_call_subquery": "MATCH (n:Node {namespace: $namespace}) CALL { WITH n DETACH DELETE n } RETURN 1 AS one",
    "in_transactions": "MATCH (n:Node {namespace: $namespace}) CALL (n) { SET n.touched = 1 } IN TRANSACTIONS",
    "profile": "PROFILE CREATE (:Node {namespace: $namespace, id: 'probe'})",
    "commented": "// only a read, honest\nMATCH (n:Node {namespace: $namespace}) SET n.touched = 1 RETURN n",
    "schema": "CREATE INDEX graphmem_probe_index IF NOT EXISTS FOR (n:Probe) ON (n.id)",
}


@pytest.fixture
def memory(neo4j_store: Neo4jStore) -> Iterator[Memory]:
    namespace = f"t{uuid.uuid4().hex[:12]}"
    memory = Memory(neo4j_store, namespace, extract=False)
    memory.add_documents([{"id": "d1", "title": "Ada", "text": "Ada lived in London."}])
    yield memory
    neo4j_store.delete_namespace(namespace)


@pytest.mark.neo4j
@pytest.mark.parametrize("kind", sorted(WRITES))
def test_writes_are_refused_before_they_run(memory: Memory, kind: str) -> None:
    before = memory.cypher(COUNT)
    revision = memory.store.revision(memory.namespace)
    with pytest.raises(CypherWriteRefused, match="read_only=False"):
        memory.cypher(WRITES[kind])
    assert memory.cypher(COUNT) == before and before[0]["nodes"] > 0
    assert memory.store.revision(memory.namespace) == revision
    assert memory.cypher("SHOW INDEXES YIELD name WHERE name = 'graphmem_probe_index' RETURN name") == []


@pytest.mark.neo4j
def test_a_write_through_a_library_name_or_a_file_is_refused(memory: Memory, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from graphmem.store.cypher import cypher_dir

    shadow = tmp_path / "cypher"
    (shadow / "library").mkdir(parents=True)
    sneaky = "// Looks like a read.\n// Params: $namespace\nMATCH (n:Node {namespace: $namespace}) DETACH DELETE n\n"
    (shadow / "library" / "sneaky.cypher").write_text(sneaky)
    (shadow / "temporal").symlink_to(cypher_dir() / "temporal")
    monkeypatch.setenv("GRAPHMEM_CYPHER_DIR", str(shadow))
    before = memory.cypher(COUNT)
    with pytest.raises(CypherWriteRefused, match="sneaky is a write"):
        memory.cypher("sneaky")
    with pytest.raises(CypherWriteRefused):
        memory.cypher(str(shadow / "library" / "sneaky.cypher"))
    assert memory.cypher(COUNT) == before


@pytest.mark.neo4j
def test_the_read_session_itself_refuses_writes(neo4j_store: Neo4jStore) -> None:
    """The second guard: even past the EXPLAIN check, a READ access-mode session cannot write."""
    label = f"Probe{uuid.uuid4().hex[:8]}"
    with pytest.raises(ClientError, match="read access mode"):
        neo4j_store.run_query(f"CREATE (:{label})", read_only=True)
    _, records, _ = neo4j_store.run_query(f"MATCH (n:{label}) RETURN count(n) AS c")
    assert records[0]["c"] == 0


@pytest.mark.neo4j
def test_read_only_false_writes_and_bumps_the_revision(memory: Memory) -> None:
    before = memory.cypher(COUNT)[0]
    revision = memory.store.revision(memory.namespace)
    rows = memory.cypher("MATCH (n:Node {namespace: $namespace}) SET n.touched = 1 RETURN count(n) AS n",
                         read_only=False)  # fmt: skip
    assert rows == [{"n": before["nodes"]}]
    assert memory.cypher(COUNT)[0] == {"nodes": before["nodes"], "touched": before["nodes"]}
    assert memory.store.revision(memory.namespace) > revision
    memory.cypher(WRITES["create"], read_only=False)
    assert memory.cypher(COUNT)[0]["nodes"] == before["nodes"] + 1


@pytest.mark.neo4j
def test_namespace_defaults_to_the_memorys_and_errors_are_clear(memory: Memory) -> None:
    assert memory.cypher("RETURN $namespace AS ns") == [{"ns": memory.namespace}]
    assert memory.cypher("RETURN $namespace AS ns", {"namespace": "other"}) == [{"ns": "other"}]
    with pytest.raises(CypherQueryError, match="Neo4j rejected"):
        memory.cypher("MATCH (n) RETURN $missing AS m")
    with pytest.raises(CypherQueryError):
        memory.cypher("MATCH (n RETURN n")
    with pytest.raises(UnknownQueryError, match="entity_neighbourhood"):
        memory.cypher("no_such_query")


def test_embedded_store_says_cypher_needs_neo4j(embedded_store: EmbeddedStore) -> None:
    memory = Memory(embedded_store, "t-embedded", extract=False)
    with pytest.raises(CypherNeedsNeo4jError) as caught:
        memory.cypher("entity_neighbourhood", {"name": "Ada"})
    message = str(caught.value)
    assert "need the Neo4j store" in message and "make neo4j-start" in message
    assert "neo4j-local.sh start" in message and "GRAPHMEM_NEO4J_URI" in message and "Memory('neo4j'" in message
