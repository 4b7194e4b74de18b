"""Ingestion on both stores: idempotent, changed documents replaced, provenance kept, same graph on each."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphmem.embed import CachedEmbedder
from graphmem.extract.spacy_extractor import SpacyExtractor
from graphmem.graph_digest import graph_digest
from graphmem.memory import Memory
from graphmem.records import Entity, Fact, Passage, Turn
from graphmem.resolve import normalise_key
from graphmem.store import GraphStore

REPO = Path(__file__).resolve().parents[2]
SAMPLE = [REPO / "data/sample/documents", REPO / "data/sample/documents.jsonl", REPO / "data/sample/dialogues"]


@pytest.fixture
def memory(store: GraphStore, ns: str, spacy_extractor: SpacyExtractor, embedder: CachedEmbedder) -> Memory:
    return Memory(store, ns, extractor=spacy_extractor, embedder=embedder)


def test_sample_corpus_ingests_idempotently(memory: Memory, store: GraphStore, ns: str) -> None:
    first = memory.add_paths(SAMPLE)
    assert (first.documents, first.dialogues, first.quarantined, first.errors) == (14, 2, [], [])
    counts = store.counts(ns)
    assert counts.nodes["Document"] == 14 and counts.nodes["Dialogue"] == 2
    assert counts.nodes["Turn"] == first.turns == 80
    assert counts.nodes["Passage"] == first.passages
    assert counts.nodes["Entity"] >= 150 and counts.nodes["Fact"] >= 150 and counts.nodes["Hyperedge"] >= 20
    assert counts.edges["MENTIONS"] > counts.nodes["Passage"] + counts.nodes["Turn"]
    revision = store.revision(ns)
    digest = graph_digest(store, ns)
    again = memory.add_paths(SAMPLE)
    assert again.unchanged == 16 and again.nodes_written == 0 and again.edges_written == 0
    assert store.counts(ns) == counts
    assert store.revision(ns) == revision
    assert graph_digest(store, ns) == digest


def test_graph_is_clean_after_ingestion(memory: Memory, store: GraphStore, ns: str) -> None:
    memory.add_paths(SAMPLE)
    entities = [e for e in memory.records("Entity") if isinstance(e, Entity)]
    keys = [e.key for e in entities]
    assert len(keys) == len(set(keys)), "two entities share a normalised key"
    assert all(normalise_key(e.name) == e.key or e.key in {normalise_key(a) for a in e.aliases} for e in entities)
    units = {r.id for r in memory.records() if isinstance(r, Passage | Turn)}
    facts = [f for f in memory.records("Fact") if isinstance(f, Fact)]
    assert facts and all(f.provenance and set(f.provenance) <= units for f in facts)
    ids = {e.id for e in entities}
    assert all(f.subject_id in ids and f.object_id in ids for f in facts)
    # the planted pronoun case: "His daughter ..." in the article on Teodric Vansell
    vansell = [f for f in facts if f.subject_name == "Teodric Vansell"]
    assert any(f.predicate == "daughter" for f in vansell), [(f.predicate, f.object_name) for f in vansell]


def test_a_changed_document_replaces_what_only_it_supported(memory: Memory, store: GraphStore, ns: str) -> None:
    memory.add_documents([
        {"id": "d1", "title": "Ana Brill", "text": "Ana Brill moved to Kessaby in 2019. She works at Orrin Shipworks."},
        {"id": "d2", "title": "Orrin Shipworks", "text": "Orrin Shipworks builds ferries in Kessaby."},
    ])
    names = {f.object_name for f in memory.records("Fact") if isinstance(f, Fact)}
    assert {"Kessaby", "Orrin Shipworks"} <= names
    report = memory.add_documents([{"id": "d1", "title": "Ana Brill", "text": "Ana Brill moved to Dunmaren in 2021."}])
    assert report.replaced == 1
    facts = {(f.subject_name, f.predicate, f.object_name) for f in memory.records("Fact") if isinstance(f, Fact)}
    assert ("Ana Brill", "move_to", "Dunmaren") in facts
    assert not any(s == "Ana Brill" and o in ("Kessaby", "Orrin Shipworks") for s, _, o in facts)
    entity_names = {e.name for e in memory.records("Entity") if isinstance(e, Entity)}
    assert {"Kessaby", "Orrin Shipworks", "Dunmaren"} <= entity_names  # still supported by d2 or the new d1
    passages = [p.text for p in memory.records("Passage") if isinstance(p, Passage)]
    assert not any("2019" in text for text in passages)


def test_dialogue_turns_carry_speaker_and_session_time(memory: Memory, ns: str, store: GraphStore) -> None:
    memory.add_dialogue({
        "id": "chat",
        "participants": ["Ana Brill", "Ben Sollis"],
        "sessions": [
            {"id": "s1", "date": "2023-05-01T09:00:00Z",
             "turns": [{"speaker": "Ana Brill", "text": "I moved to Kessaby last year."}]},
            {"date": "2024-01-10", "turns": [{"id": "x", "speaker": "Ben Sollis", "text": "Do you like Kessaby?"}]},
        ],
    })  # fmt: skip
    turns = sorted((t for t in memory.records("Turn") if isinstance(t, Turn)), key=lambda t: t.timestamp)
    assert [(t.id, t.speaker, t.timestamp.isoformat()) for t in turns] == [
        ("chat/s1-t1", "Ana Brill", "2023-05-01T09:00:00+00:00"),
        ("chat/x", "Ben Sollis", "2024-01-10T00:00:00+00:00"),
    ]
    [move] = [f for f in memory.records("Fact") if isinstance(f, Fact) and f.predicate == "move_to"]
    assert (move.subject_name, move.object_name, move.provenance) == ("Ana Brill", "Kessaby", ["chat/s1-t1"])
    assert move.valid_from is not None and move.valid_from.year == 2022
    memory.forget_document("chat")
    assert store.counts(ns).total_nodes == 0


def test_both_stores_build_the_same_graph(
    embedded_store: GraphStore, neo4j_store: GraphStore, ns: str, spacy_extractor: SpacyExtractor,
    embedder: CachedEmbedder,
) -> None:
    digests = []
    for backend in (embedded_store, neo4j_store):
        Memory(backend, ns, extractor=spacy_extractor, embedder=embedder).add_paths(SAMPLE)
        digests.append(graph_digest(backend, ns))
    neo4j_store.delete_namespace(ns)
    assert digests[0] == digests[1]
