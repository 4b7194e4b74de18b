"""Ingesting the sample corpus: same results on both stores, idempotent, changed documents replaced."""

from __future__ import annotations

from pathlib import Path

from graphmem.memory import Memory
from graphmem.records import Passage, Turn
from graphmem.store import GraphStore

REPO = Path(__file__).resolve().parents[2]
SAMPLE = [REPO / "data/sample/documents", REPO / "data/sample/documents.jsonl", REPO / "data/sample/dialogues"]


def test_sample_corpus_ingests_idempotently(store: GraphStore, ns: str) -> None:
    memory = Memory(store, ns)
    first = memory.add_paths(SAMPLE)
    assert (first.documents, first.dialogues, first.quarantined, first.errors) == (12, 2, [], [])
    counts = store.counts(ns)
    assert counts.nodes["Document"] == 12 and counts.nodes["Dialogue"] == 2
    assert counts.nodes["Turn"] == first.turns == 80
    assert counts.nodes["Passage"] == first.passages
    assert counts.edges == {"PART_OF": first.passages + first.turns + counts.nodes["Session"]}
    revision = store.revision(ns)
    again = memory.add_paths(SAMPLE)
    assert again.unchanged == 14 and again.nodes_written == 0
    assert store.counts(ns) == counts
    assert store.revision(ns) == revision


def test_passages_point_back_into_their_document(store: GraphStore, ns: str) -> None:
    memory = Memory(store, ns)
    memory.add_documents([{"id": "d1", "title": "Brill", "text": "Brill is a town.\n\nIt has a harbour."}])
    passages = memory.records("Passage")
    assert passages and all(isinstance(p, Passage) and p.document_id == "d1" for p in passages)
    text = "Brill is a town.\n\nIt has a harbour."
    assert all(text[p.start : p.end] == p.text for p in passages if isinstance(p, Passage))


def test_a_changed_document_replaces_its_old_passages(store: GraphStore, ns: str) -> None:
    memory = Memory(store, ns)
    memory.add_documents([{"id": "d1", "text": "Old words about Brill."}, {"id": "d2", "text": "Other."}])
    report = memory.add_documents([{"id": "d1", "text": "New words about Kessaby."}])
    assert report.replaced == 1
    texts = sorted(p.text for p in memory.records("Passage") if isinstance(p, Passage))
    assert texts == ["New words about Kessaby.", "Other."]


def test_dialogue_turns_carry_speaker_and_session_time(store: GraphStore, ns: str) -> None:
    memory = Memory(store, ns)
    memory.add_dialogue({
        "id": "chat",
        "participants": ["Ana", "Ben"],
        "sessions": [
            {"id": "s1", "date": "2023-05-01T09:00:00Z", "turns": [{"speaker": "Ana", "text": "I moved to Brill."}]},
            {"date": "2024-01-10", "turns": [{"id": "x", "speaker": "Ben", "text": "Still in Brill?"}]},
        ],
    })
    turns = sorted((t for t in memory.records("Turn") if isinstance(t, Turn)), key=lambda t: t.timestamp)
    assert [(t.id, t.speaker, t.timestamp.isoformat()) for t in turns] == [
        ("chat/s1-t1", "Ana", "2023-05-01T09:00:00+00:00"),
        ("chat/x", "Ben", "2024-01-10T00:00:00+00:00"),
    ]
    memory.forget_document("chat")
    assert store.counts(ns).total_nodes == 0
