"""Hostile input: random and adversarial text, JSON and dialogues through ingestion, and as Cypher parameters.

Nothing may crash other than with the project's documented errors (pydantic's ValidationError for a bad record
given in Python, graphmem's StoreError family), a bad file's records are quarantined, other records are never
lost, and what a Cypher parameter holds is stored and read back as data.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from graphmem.embed import CachedEmbedder
from graphmem.extract.spacy_extractor import SpacyExtractor
from graphmem.graph_digest import graph_lines
from graphmem.memory import Memory
from graphmem.store import EmbeddedStore, GraphStore, Node, StoreError
from graphmem.store.neo4j import Neo4jStore

NASTY = [
    "'", '"', "`", "\\", "}) DETACH DELETE n //", "') MATCH (n) DETACH DELETE n //", "`}) DETACH DELETE n RETURN `",
    "$namespace", "{namespace: 'other'}", "\x00", "a\x00b", "\u202e\u0644\u0627", "Zoë Ünal", "名前", "🦜🦜",
    "\ud7ff", "\r\n\t", " ", "", "Robert'); DROP TABLE nodes;--", "%s %d {0} {name}", "x" * 600, "é" * 3000,
    "CALL apoc.do.it()", "/* */ MATCH (n) RETURN n", "<script>alert(1)</script>", "null", "true", "1e309",
]
nasty = st.sampled_from(NASTY)
text = st.one_of(nasty, st.text(max_size=200), st.lists(nasty, max_size=5).map(" ".join))
name = st.one_of(nasty, st.text(min_size=1, max_size=60))
DOCUMENTED = (ValidationError, StoreError)
CANARY = {"id": "canary", "title": "Brill", "text": "Brill is a town in Vellmark. Ana Lind runs the ferry of Brill."}


def _with_canary(store: GraphStore, namespace: str, extractor: SpacyExtractor, embedder: CachedEmbedder) -> Memory:
    """A Memory whose namespace holds the canary document, as does another namespace beside it."""
    memory = Memory(store, namespace, extractor=extractor, embedder=embedder)  # not closed: shared embedder
    memory.add_documents([CANARY])
    Memory(store, namespace + "-other", extract=False).add_documents([CANARY])
    return memory


@pytest.fixture(scope="module")
def memory(tmp_path_factory: pytest.TempPathFactory, spacy_extractor: SpacyExtractor,
           embedder: CachedEmbedder) -> Iterator[Memory]:  # fmt: skip
    store = EmbeddedStore(tmp_path_factory.mktemp("hostile") / "graph.sqlite3")
    yield _with_canary(store, "ns", spacy_extractor, embedder)
    store.close()


@pytest.fixture(scope="module")
def neo4j_memory(private_store: Neo4jStore, spacy_extractor: SpacyExtractor,
                 embedder: CachedEmbedder) -> Iterator[Memory]:  # fmt: skip
    namespace = f"f{uuid.uuid4().hex[:12]}"
    yield _with_canary(private_store, namespace, spacy_extractor, embedder)
    for name in (namespace, namespace + "-other"):
        private_store.delete_namespace(name)


def _canary_rows(store: GraphStore, namespace: str) -> set[str]:
    """The canary's own records (document, passages, facts): hostile input may add to the graph, not take these."""
    return {line for line in graph_lines(store, namespace) if '"canary' in line and '"label":"Entity"' not in line}


def _untouched(memory: Memory, before: tuple[set[str], list[str]]) -> None:
    assert _canary_rows(memory.store, memory.namespace) >= before[0]
    assert graph_lines(memory.store, memory.namespace + "-other") == before[1]


def _before(memory: Memory) -> tuple[set[str], list[str]]:
    return _canary_rows(memory.store, memory.namespace), graph_lines(memory.store, memory.namespace + "-other")


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                        HealthCheck.too_slow])  # fmt: skip


documents_strategy = st.lists(st.fixed_dictionaries({"id": name, "text": text},
                                                    optional={"title": name, "date": text, "source": text}),
                              min_size=1, max_size=3)  # fmt: skip


@FUZZ
@given(documents=documents_strategy)
def test_hostile_documents(memory: Memory, documents: list[dict[str, str]]) -> None:
    _ingest_hostile_documents(memory, documents)


@pytest.mark.neo4j
@settings(FUZZ, max_examples=20)
@given(documents=documents_strategy)
def test_hostile_documents_neo4j(neo4j_memory: Memory, documents: list[dict[str, str]]) -> None:
    _ingest_hostile_documents(neo4j_memory, documents)


def _ingest_hostile_documents(memory: Memory, documents: list[dict[str, str]]) -> None:
    before = _before(memory)
    for document in documents:
        document["id"] = "h-" + document["id"]  # the canary's own id would legitimately replace it
    try:
        memory.add_documents(documents)
    except DOCUMENTED:
        pass  # refused whole, saying why
    else:  # taken: then every document is stored under its own id, byte for byte
        ids = {d["id"] for d in documents}
        assert {n.id for n in memory.store.get_nodes(memory.namespace, ids)} == ids
    _untouched(memory, before)


turn = st.fixed_dictionaries({"speaker": name, "text": text})
valid_date = st.sampled_from(["2024-03-02T10:00:00Z", "2023-01-01", "1999-12-31T23:59:59+05:30"])
# mostly valid dates: a record refused for its date would not reach the stages behind validation
session = st.fixed_dictionaries({"date": st.one_of(valid_date, valid_date, valid_date, text),
                                 "turns": st.lists(turn, max_size=3)})  # fmt: skip


@FUZZ
@given(dialogue=st.fixed_dictionaries({"id": name, "sessions": st.lists(session, min_size=1, max_size=2)},
                                      optional={"title": name, "participants": st.lists(name, max_size=3)}))
def test_hostile_dialogues(memory: Memory, dialogue: dict[str, object]) -> None:
    before = _before(memory)
    dialogue["id"] = f"h-{dialogue['id']}"
    try:
        memory.add_dialogue(dialogue)
    except DOCUMENTED:
        pass  # refused whole, saying why
    else:
        assert memory.store.get_nodes(memory.namespace, [dialogue["id"]])
    _untouched(memory, before)


json_value = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | text,
                          lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
                          max_leaves=8)  # fmt: skip
line = st.one_of(json_value.map(json.dumps), text, st.binary(max_size=40).map(lambda b: b.decode("latin-1")))


@FUZZ
@given(lines=st.lists(line, max_size=4), dialogue_file=st.one_of(json_value.map(json.dumps), text))
def test_hostile_files_are_quarantined_not_raised(memory: Memory, tmp_path_factory: pytest.TempPathFactory,
                                                  lines: list[str], dialogue_file: str) -> None:  # fmt: skip
    folder = tmp_path_factory.mktemp("files")
    (folder / "docs.jsonl").write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
    (folder / "dialogue.json").write_text(dialogue_file, encoding="utf-8", errors="surrogatepass")
    before = _before(memory)
    report = memory.add_paths([folder])  # a bad record or file is reported, never raised
    assert report.files + len(report.errors) == 2  # each file was read, or named as unreadable
    _untouched(memory, before)


# ---------------------------------------------------------------- as Cypher parameters (Neo4j)

props = st.dictionaries(st.sampled_from(["name", "text", "aliases", "note"]),
                        st.one_of(text, st.lists(name, max_size=3)), max_size=3)  # fmt: skip


@pytest.mark.neo4j
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(node_id=name, values=props, probe=name)
def test_hostile_values_are_data_in_cypher(private_store: Neo4jStore, node_id: str, values: dict[str, object],
                                           probe: str) -> None:  # fmt: skip
    namespace = f"f{uuid.uuid4().hex[:12]}"
    bystander = Node("Probe", "bystander", namespace + "-b", {"name": "Bystander"})
    private_store.upsert_nodes([bystander])
    node = Node("Probe", node_id, namespace, values, (node_id,) if node_id else ())  # not a record: no Memory reads it
    try:
        private_store.upsert_nodes([node])
    except StoreError:  # an empty or too long id is refused before anything is sent
        assert not node_id or len(node_id) > 512
    else:
        stored = private_store.get_nodes(namespace, [node_id, probe])
        assert stored[0].id == node_id and stored[0].props == {k: v for k, v in values.items() if v is not None}
        assert private_store.neighbours(namespace, [probe]) == []
        assert private_store.delete_document(namespace, probe).nodes_deleted == int(probe == node_id)
    memory = Memory(private_store, namespace, extract=False)
    assert memory.facts(subject=probe) == []
    assert memory.cypher("entity_neighbourhood", {"name": probe}) == []
    assert [n.id for n in private_store.iter_nodes(namespace + "-b")] == ["bystander"]
    private_store.delete_namespace(namespace)
    private_store.delete_namespace(namespace + "-b")
