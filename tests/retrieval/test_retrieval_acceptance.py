"""Graph retrieval on the sample corpus: the two-hop question dense misses, its explanation, and the
same results whichever store holds the graph (the embedded file and the real Neo4j server)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from graphmem.embed import CachedEmbedder
from graphmem.extract.spacy_extractor import SpacyExtractor
from graphmem.memory import Memory
from graphmem.retrieve import MODES, Retriever
from graphmem.retrieve.linking import STOP
from graphmem.store import EmbeddedStore
from graphmem.store.neo4j import Neo4jStore

REPO = Path(__file__).resolve().parents[2]
SAMPLE = [REPO / "data/sample/documents", REPO / "data/sample/documents.jsonl", REPO / "data/sample/dialogues"]
TWO_HOP = "What does the man who restored the Lunnock tide mill collect?"  # M5 of data/sample/ground_truth.json
ANSWER = "antique barometers"
QUESTIONS = [TWO_HOP, "What singing group was set up by a child of the engineer behind the Skarrow Head light?",
             "Where was Casimir Lovatt born?", "Who runs the ferry on the River Tarnel?",
             "What does Saoirse's brother do?", "When did the Saltmere Festival start?"]  # fmt: skip


@pytest.fixture(scope="module")
def embedded_memory(tmp_path_factory: pytest.TempPathFactory, spacy_extractor: SpacyExtractor,
                    embedder: CachedEmbedder) -> Iterator[Memory]:  # fmt: skip
    store = EmbeddedStore(tmp_path_factory.mktemp("acceptance") / "graph.sqlite3")
    memory = Memory(store, "sample", extractor=spacy_extractor, embedder=embedder)
    memory.add_paths(SAMPLE)
    yield memory
    store.close()


def _documents(retriever: Retriever, question: str, mode: str, k: int) -> list[str]:
    """Sources in rank order, each once (a document split into passages counts at its best rank)."""
    seen: dict[str, None] = {}
    for hit in retriever.retrieve(question, k=4 * k, mode=mode):
        seen.setdefault(hit.unit.source_id, None)
    return list(seen)[:k]


def test_two_hop_answer_is_found_by_ppr_and_missed_by_dense(embedded_memory: Memory) -> None:
    retriever = Retriever(embedded_memory.index(), embedded_memory.embedder)
    [answer] = [u for u in retriever.index.units if ANSWER in u.text]
    words = {w.lower() for w in re.findall(r"\w+", TWO_HOP)} - STOP
    assert not words & {w.lower() for w in re.findall(r"\w+", answer.text)}, "the answer shares no word with it"
    assert answer.source_id in _documents(retriever, TWO_HOP, "ppr", 3)
    assert answer.source_id not in _documents(retriever, TWO_HOP, "dense", 3)


def test_explanation_names_the_bridging_entity(embedded_memory: Memory) -> None:
    retriever = Retriever(embedded_memory.index(), embedded_memory.embedder)
    result = retriever.search(TWO_HOP, k=3, mode="ppr")
    [hit] = [h for h in result.hits if ANSWER in h.unit.text]
    assert hit.path is not None
    assert hit.path["bridges"] == ["Corvin Ashdale"], hit.path["text"]
    assert "Corvin Ashdale" in hit.path["text"] and hit.path["seed"]["name"] in {s["entity"] for s in result.seeds}
    assert result.hits[0].why["paths"][hit.unit.id] == hit.path  # the retrieval's explanation holds every path


def test_as_of_keeps_only_what_was_known_then(embedded_memory: Memory) -> None:
    retriever = Retriever(embedded_memory.index(), embedded_memory.embedder)
    when = datetime(2020, 1, 1, tzinfo=UTC)
    now = retriever.search("Who is the chief executive of Orrin Shipworks?", k=20, mode="ppr")
    then = retriever.search("Who is the chief executive of Orrin Shipworks?", k=20, mode="ppr", as_of=when)
    later = [h.unit.id for h in now.hits if h.unit.timestamp and _utc(h.unit.timestamp) > when]
    assert later, "the sample has documents dated after 2020"
    assert not {h.unit.id for h in then.hits} & set(later)
    valid_then = {fact[3] for fact, start in zip(retriever.index.facts, retriever.index.fact_valid_from, strict=True)
                  if not start > when.timestamp()}  # fmt: skip
    assert {f["id"] for f in then.facts} <= valid_then


def _utc(value: object) -> datetime:
    stamp = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)


@pytest.mark.neo4j
def test_embedded_store_and_neo4j_give_identical_results(embedded_memory: Memory, neo4j_store: Neo4jStore,
                                                         spacy_extractor: SpacyExtractor,
                                                         embedder: CachedEmbedder) -> None:  # fmt: skip
    namespace = f"t{uuid.uuid4().hex[:12]}"
    try:
        neo4j_memory = Memory(neo4j_store, namespace, extractor=spacy_extractor, embedder=embedder)
        neo4j_memory.add_paths(SAMPLE)
        on_file = Retriever(embedded_memory.index(), embedder)
        on_neo4j = Retriever(neo4j_memory.index(), embedder)
        for question in QUESTIONS:
            for mode in MODES:
                a, b = on_file.search(question, k=5, mode=mode), on_neo4j.search(question, k=5, mode=mode)
                assert [h.unit.id for h in a.hits] == [h.unit.id for h in b.hits], (question, mode)
                assert [h.score for h in a.hits] == pytest.approx([h.score for h in b.hits], rel=1e-6)
                assert a.seeds == b.seeds and [h.path for h in a.hits] == [h.path for h in b.hits]
    finally:
        neo4j_store.delete_namespace(namespace)
