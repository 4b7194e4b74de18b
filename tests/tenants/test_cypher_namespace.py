"""Every .cypher file of the project reads and merges only nodes of ``$namespace`` (the tenant).

The reader in cypher_scope.py finds node patterns without a namespace condition; the exceptions below are
the only files allowed to have them, each for a stated reason, and each must still need its exception.
On Neo4j, an edge written across two namespaces by hand is followed by none of the store's reads.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cypher_scope import unscoped

from graphmem.cypher_library import query_params
from graphmem.memory import Memory
from graphmem.store import Edge, Node
from graphmem.store.neo4j import Neo4jStore

CYPHER = Path(__file__).resolve().parents[2] / "cypher"
FILES = sorted(CYPHER.rglob("*.cypher"))
EXCEPTIONS = {
    "store/namespaces": "lists the namespaces themselves, so it reads every node's namespace",
    "store/upsert_nodes": "a batch may span namespaces: each row merges on its own (row.namespace, id)",
}


def _name(path: Path) -> str:
    return path.relative_to(CYPHER).with_suffix("").as_posix()


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_every_node_a_query_matches_is_of_its_namespace(path: Path) -> None:
    problems = unscoped(path.read_text(encoding="utf-8"))
    if _name(path) in EXCEPTIONS:
        assert problems, f"{_name(path)} no longer needs its exception: remove it from EXCEPTIONS"
    else:
        assert problems == []


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_every_query_with_a_pattern_takes_the_namespace(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    if _name(path) in EXCEPTIONS or _name(path) == "schema":
        return
    assert "namespace" in query_params(text), f"{_name(path)} does not take $namespace"


def test_the_lists_name_existing_files() -> None:
    names = {_name(p) for p in FILES}
    assert set(EXCEPTIONS) <= names
    assert len(FILES) >= 30  # the reader saw the whole tree (store, library, temporal)


@pytest.mark.parametrize(
    ("query", "flagged"),
    [
        ("MATCH (a:Node {namespace: $namespace})-[:X]->(b) RETURN b", "(b)"),
        ("MATCH (a:Node {namespace: $namespace})-[:X]->(:Fact) RETURN a", "(:Fact)"),
        ("MATCH (a:Node {namespace: $namespace}) RETURN COUNT { (a)<-[:M]-() } AS n", "()"),
        ("MATCH (a:Node {namespace: $namespace}) WHERE EXISTS { MATCH (a)--(b:Entity) } RETURN a", "(b:Entity)"),
        ("MATCH (a:Entity {namespace: 'x'}) RETURN a", "(a:Entity {namespace: ''})"),
        ("MATCH (a:Entity {id: $namespace}) RETURN a", "(a:Entity {id: $namespace})"),
        ("MATCH (a) WHERE a.namespace = $namespace RETURN a", "(a)"),
        ("MERGE (n:Node {id: $id}) RETURN n", "(n:Node {id: $id})"),
        (
            "MATCH (a:E {namespace: $namespace}), (b:E {namespace: $namespace}) "
            "MATCH p = shortestPath((a)-[*..4]-(b)) RETURN p",
            "variable-length path",
        ),
        ("CALL db.index.vector.queryNodes('i', 5, $v) YIELD node, score RETURN node.id", "YIELD node"),
    ],
)
def test_the_reader_finds_unscoped_nodes(query: str, flagged: str) -> None:
    problems = unscoped(query)
    assert problems and any(flagged in p for p in problems), problems


@pytest.mark.parametrize(
    "query",
    [
        "MATCH (a:Node {namespace: $namespace})-[:X]->(b:Node {namespace: $namespace}) RETURN b",
        "MATCH (a:Node {id: $id, namespace: $namespace}) MATCH (a)-[:X]->(c:Fact {namespace: $namespace}) RETURN c",
        "MATCH (a:E {namespace: $namespace}) RETURN COUNT { (a)<-[:M]-(:Node {namespace: $namespace}) } AS n",
        "MATCH (a:E {namespace: $namespace}), (b:E {namespace: $namespace}) MATCH p = shortestPath((a)-[*..4]-(b)) "
        "WHERE all(x IN nodes(p) WHERE x.namespace = $namespace) RETURN p",
        "CALL db.index.vector.queryNodes('i', 5, $v) YIELD node, score WHERE node.namespace = $namespace "
        "RETURN node.id, score",
        "// MATCH (x) in a comment\nMATCH (a:E {namespace: $namespace}) WHERE a.name = '(b)' RETURN a",
    ],
)
def test_the_reader_accepts_scoped_queries(query: str) -> None:
    assert unscoped(query) == []


@pytest.mark.neo4j
def test_an_edge_across_namespaces_is_invisible_to_the_store(neo4j_store: Neo4jStore, ns: str) -> None:
    """Edges never cross namespaces through graphmem; one written by hand must not leak either way."""
    other = ns + "-b"
    neo4j_store.upsert_nodes([Node("Entity", "e1", ns, {"name": "Ada"}), Node("Entity", "e2", ns, {"name": "Bo"}),
                              Node("Entity", "x1", other, {"name": "Secret"})])  # fmt: skip
    neo4j_store.upsert_edges([Edge("SYNONYM", "e1", "e2", ns, {"score": 0.9})])
    neo4j_store.run_query("MATCH (a:Node {namespace: $a, id: 'e1'}), (b:Node {namespace: $b, id: 'x1'}) "
                          "CREATE (a)-[:SYNONYM {score: 1.0}]->(b), (b)-[:SYNONYM {score: 1.0}]->(a)",
                          {"a": ns, "b": other}, read_only=False)  # fmt: skip
    assert [e.key for e in neo4j_store.iter_edges(ns)] == [("e1", "SYNONYM", "e2")]
    assert [e.key for e in neo4j_store.neighbours(ns, ["e1"])] == [("e1", "SYNONYM", "e2")]
    assert neo4j_store.counts(ns).edges == {"SYNONYM": 1}
    assert list(neo4j_store.iter_edges(other)) == [] and neo4j_store.neighbours(other, ["x1"]) == []
    assert neo4j_store.counts(other).edges == {}


@pytest.mark.neo4j
def test_memory_cypher_passes_its_namespace_unless_told_another(neo4j_store: Neo4jStore, ns: str) -> None:
    other = ns + "-b"
    for namespace, names in ((ns, ["Ada", "Bo"]), (other, ["Secret"])):
        neo4j_store.upsert_nodes([Node("Entity", f"e{i}", namespace, {"name": n, "key": n.lower(), "type": "PERSON"})
                                  for i, n in enumerate(names)])  # fmt: skip
    memory = Memory(neo4j_store, ns, extract=False)  # not closed: the store is the session's
    assert sorted(r["entity"] for r in memory.cypher("most_connected")) == ["Ada", "Bo"]
    assert [r["entity"] for r in memory.cypher("most_connected", {"namespace": other})] == ["Secret"]
    text = "MATCH (e:Entity {namespace: $namespace}) RETURN e.name AS name ORDER BY name"
    assert [r["name"] for r in memory.cypher(text)] == ["Ada", "Bo"]
    assert [r["name"] for r in Memory(neo4j_store, other, extract=False).cypher(text)] == ["Secret"]
