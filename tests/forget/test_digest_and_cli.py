"""graph_digest is a function of content only (not of write order, store or volatile properties), and
``graphmem forget`` deletes only when confirmed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_forget import FIRST, FORGOTTEN, LAST

from graphmem.cli import main
from graphmem.embed import CachedEmbedder
from graphmem.extract.spacy_extractor import SpacyExtractor
from graphmem.graph_digest import graph_digest
from graphmem.memory import Memory
from graphmem.store import Edge, EmbeddedStore, GraphStore, Node
from graphmem.store.neo4j import Neo4jStore

WHEN = datetime(2020, 5, 1, tzinfo=UTC)


def _nodes(namespace: str, recorded: datetime = WHEN, weight: float = 0.5) -> list[Node]:
    return [
        Node("Entity", "a", namespace, {"name": "Ada", "aliases": ["Ada", "A."]}, ("d1",)),
        Node("Fact", "f", namespace, {"predicate": "knows", "recorded_at": recorded, "valid_from": WHEN}, ("d1", "d2")),
        Node("Entity", "b", namespace, {"name": "Bo", "weight": weight}, ("d2",)),
    ]


def test_the_digest_follows_content_not_order_or_volatile_properties(store: GraphStore, ns: str) -> None:
    first, second = ns + "-1", ns + "-2"
    store.upsert_nodes(_nodes(first))
    store.upsert_edges([Edge("SUBJECT", "f", "a", first), Edge("OBJECT", "f", "b", first, {"score": 1.0})])
    store.upsert_nodes(list(reversed(_nodes(second, recorded=datetime(2024, 1, 1, tzinfo=UTC)))))
    store.upsert_edges([Edge("OBJECT", "f", "b", second, {"score": 1.0}), Edge("SUBJECT", "f", "a", second)])
    assert graph_digest(store, first) == graph_digest(store, second)
    assert len(graph_digest(store, first)) == 64
    store.upsert_nodes([_nodes(second, weight=0.75)[2]])
    changed = graph_digest(store, second)
    assert changed != graph_digest(store, first)
    store.upsert_edges([Edge("SUBJECT", "f", "b", second)])
    assert graph_digest(store, second) != changed
    assert graph_digest(store, first, ignore=()) != graph_digest(store, second, ignore=())


@pytest.mark.neo4j
def test_the_same_ingestion_has_the_same_digest_on_both_stores(
    embedded_store: EmbeddedStore, neo4j_store: Neo4jStore, spacy_extractor: SpacyExtractor, embedder: CachedEmbedder
) -> None:
    namespace = f"t{uuid.uuid4().hex[:12]}"
    try:
        for store in (embedded_store, neo4j_store):
            memory = Memory(store, namespace, extractor=spacy_extractor, embedder=embedder)
            for document in (FIRST, FORGOTTEN, LAST):
                memory.add_documents([document])
        assert graph_digest(embedded_store, namespace) == graph_digest(neo4j_store, namespace)
    finally:
        neo4j_store.delete_namespace(namespace)


def test_the_forget_command_deletes_only_when_confirmed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "graph.sqlite3"
    with Memory(path, "team", extract=False) as memory:
        memory.add_documents([FIRST, LAST])
        memory.add_documents([{**FIRST, "id": "kept-elsewhere"}])
    with Memory(path, "other", extract=False) as memory:
        memory.add_documents([FIRST])
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    base = ["forget", "--store", str(path)]

    assert main([*base, "--namespace", "team", "--document", "quill"]) == 1
    assert "nothing was deleted" in capsys.readouterr().err
    assert main([*base, "--namespace", "team", "--document", "nope", "--yes"]) == 1
    assert main([*base, "--namespace", "team", "--document", "quill", "--yes"]) == 0
    assert "forgot document 'quill'" in capsys.readouterr().out
    with EmbeddedStore(path) as store:
        assert {n.id for n in store.iter_nodes("team", "Document")} == {"ferry", "kept-elsewhere"}
        assert {n.id for n in store.iter_nodes("other", "Document")} == {"quill"}
    assert main(["forget", "--store", str(path)]) == 2  # neither a document nor a namespace named
    assert main([*base, "--namespace", "team"]) == 1  # a whole namespace, unconfirmed
    assert main([*base, "--namespace", "team", "--yes", "--json"]) == 0
    with EmbeddedStore(path) as store:
        assert store.namespaces() == ["other"]
