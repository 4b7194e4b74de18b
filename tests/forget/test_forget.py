"""Memory.forget on both stores: after forgetting a document, the namespace's graph is the one a run that never
saw the document builds (same content digest), retrieval never returns it again, and other namespaces (one
holding a document of the same id) are untouched. Forgetting a namespace leaves nothing of it."""

from __future__ import annotations

import difflib
from datetime import UTC, datetime

import pytest

from graphmem.embed import CachedEmbedder
from graphmem.extract.spacy_extractor import SpacyExtractor
from graphmem.graph_digest import graph_digest, graph_lines
from graphmem.memory import Memory
from graphmem.records import Entity, Fact
from graphmem.retrieve import MODES
from graphmem.store import GraphStore

FIRST = {"id": "quill", "title": "Ada Quill", "date": "2019-06-01",
         "text": "Ada Quill was born in Brill. Ada Quill repaired the Lunnock tide mill in 1962."}  # fmt: skip
# The document to forget: it restates a fact of FIRST (earlier, in another sentence), names Ada Quill another
# way, and states facts of its own.
FORGOTTEN = {"id": "secret", "title": "Dr Ada Quill", "date": "2001-03-04",
             "text": "Dr Ada Quill was born in Brill, the records say. Dr Ada Quill founded the Orrin Shipworks "
                     "in Harlow. Casimir Vell sold the Orrin Shipworks to Ada Quill in 1971."}  # fmt: skip
LAST = {"id": "ferry", "title": "Tarnel Ferry", "date": "2020-01-01",
        "text": "The Tarnel ferry crosses the Ostra river. Ada Quill ran the Tarnel ferry in 1950."}  # fmt: skip


def _memory(store: GraphStore, namespace: str, extractor: SpacyExtractor, embedder: CachedEmbedder) -> Memory:
    return Memory(store, namespace, extractor=extractor, embedder=embedder)  # not closed: the store is the fixture's


def _ingest(memory: Memory, *documents: dict[str, str]) -> None:
    for document in documents:  # one call each: later documents meet what earlier ones stored
        memory.add_documents([document])


def _diff(store: GraphStore, left: str, right: str) -> str:
    lines = difflib.unified_diff(graph_lines(store, left), graph_lines(store, right), lineterm="", n=0)
    return "\n".join(list(lines)[:40])


def test_forgetting_a_document_leaves_the_graph_a_run_without_it_builds(
    store: GraphStore, ns: str, spacy_extractor: SpacyExtractor, embedder: CachedEmbedder
) -> None:
    kept, never, other = ns + "-kept", ns + "-never", ns + "-other"
    memory = _memory(store, kept, spacy_extractor, embedder)
    _ingest(memory, FIRST, FORGOTTEN, LAST)
    _ingest(_memory(store, never, spacy_extractor, embedder), FIRST, LAST)
    _ingest(_memory(store, other, spacy_extractor, embedder), FORGOTTEN, FIRST)
    other_before = graph_digest(store, other)
    assert graph_digest(store, kept) != graph_digest(store, never)
    born = [f for f in memory.records("Fact") if isinstance(f, Fact) and f.predicate == "born_in"]
    assert len(born) == 1 and len(born[0].provenance) == 2, "both documents state that Ada Quill was born in Brill"
    quill = next(e for e in memory.records("Entity") if isinstance(e, Entity) and e.name == "Ada Quill")
    assert "Dr Ada Quill" in quill.aliases and "secret" in quill.document_ids
    memory.index()  # an index in memory and on disk, which must not keep the document either
    assert memory._indexes.path(kept).is_file()

    report = memory.forget("secret")

    assert report.nodes_deleted > 0 and report.nodes_updated > 0 and report.rederived > 0, report
    assert graph_digest(store, kept) == graph_digest(store, never), _diff(store, never, kept)
    assert graph_digest(store, other) == other_before  # the same document id in another namespace stays
    assert not memory._indexes.path(kept).is_file()
    assert memory.index().origin == "rebuild"
    for mode in MODES:
        result = memory.retrieve("Who founded the Orrin Shipworks in Harlow? Casimir Vell sold it.", k=10, mode=mode)
        assert result.hits and all(hit.unit.source_id != "secret" for hit in result.hits), mode
        assert all("Orrin" not in hit.unit.text for hit in result.hits)


def test_forgetting_a_namespace_leaves_nothing_of_it(
    store: GraphStore, ns: str, spacy_extractor: SpacyExtractor, embedder: CachedEmbedder
) -> None:
    doomed, kept = ns + "-doomed", ns + "-kept"
    memory = _memory(store, kept, spacy_extractor, embedder)
    _ingest(memory, FIRST)
    _ingest(_memory(store, doomed, spacy_extractor, embedder), FIRST, FORGOTTEN)
    kept_before = graph_digest(store, kept)
    assert store.counts(doomed).total_nodes > 0

    report = memory.forget(namespace=doomed)

    assert report.nodes_deleted > 0 and report.document_id is None
    assert doomed not in store.namespaces() and store.counts(doomed).total_nodes == 0
    assert list(store.iter_edges(doomed)) == []
    assert graph_digest(store, kept) == kept_before
    assert memory.retrieve("Where was Ada Quill born?", namespace=doomed).hits == []


def test_forget_document_still_works_and_forget_needs_a_target(
    store: GraphStore, ns: str, spacy_extractor: SpacyExtractor, embedder: CachedEmbedder
) -> None:
    memory = _memory(store, ns, spacy_extractor, embedder)
    _ingest(memory, FIRST, LAST)
    memory.forget_document("ferry")
    assert {n.id for n in store.iter_nodes(ns, "Document")} == {"quill"}
    with pytest.raises(ValueError, match="document_id or a namespace"):
        memory.forget()


CHAT = {"id": "chat", "participants": ["Ana", "Ben"], "sessions": [{"date": "1999-02-02T10:00:00Z", "turns": [
    {"speaker": "Ana", "text": "Ada Quill was born in Brill, my grandmother told me."},
    {"speaker": "Ben", "text": "I met Ada Quill at the Harlow shipyard."}]}]}  # fmt: skip


def test_forgetting_a_dialogue_leaves_the_graph_a_run_without_it_builds(
    store: GraphStore, ns: str, spacy_extractor: SpacyExtractor, embedder: CachedEmbedder
) -> None:
    kept, never = ns + "-kept", ns + "-never"
    memory = _memory(store, kept, spacy_extractor, embedder)
    _ingest(memory, FIRST)
    memory.add_dialogue(CHAT)
    _ingest(_memory(store, never, spacy_extractor, embedder), FIRST)
    assert store.counts(kept).nodes["Turn"] == 2
    assert graph_digest(store, kept) != graph_digest(store, never)

    report = memory.forget("chat")

    assert report.nodes_deleted >= 4 and report.nodes_updated > 0, report  # dialogue, session, turns and more
    assert graph_digest(store, kept) == graph_digest(store, never), _diff(store, never, kept)


def test_communities_keep_nothing_of_a_forgotten_document(
    store: GraphStore, ns: str, spacy_extractor: SpacyExtractor, embedder: CachedEmbedder
) -> None:
    memory = _memory(store, ns, spacy_extractor, embedder)
    _ingest(memory, FIRST, FORGOTTEN, LAST)
    memory.build_communities(llm=False)
    doomed = {n.id for n in store.iter_nodes(ns) if n.docs == ("secret",)}
    mentions = [c for c in memory.communities() if "Orrin" in c.summary or doomed & {*c.passage_ids, *c.fact_ids}]
    assert mentions, "some community should summarise the document before it is forgotten"

    report = memory.forget("secret")

    assert report.communities_changed > 0
    for community in memory.communities():
        assert "Orrin" not in community.summary and "Vell" not in community.summary, community
        assert not doomed & {*community.passage_ids, *community.fact_ids, *community.member_ids}, community
    unforgotten = _memory(store, ns + "-never", spacy_extractor, embedder)
    _ingest(unforgotten, FIRST, LAST)
    unforgotten.build_communities(llm=False)
    assert sorted(c.summary for c in memory.communities()) == sorted(c.summary for c in unforgotten.communities())


def test_a_hub_entity_is_confirmed_by_a_few_passages_not_all(
    store: GraphStore, ns: str, spacy_extractor: SpacyExtractor, embedder: CachedEmbedder
) -> None:
    """Brill is named by many documents: one remaining passage that says "Brill" keeps the name, so forgetting
    a document that names it extracts a few passages again, not every passage about Brill."""
    people = ["Oren Tallis", "Mira Venn", "Joss Harrow", "Ilse Marrow", "Tam Orley", "Rue Calder", "Bex Lorne",
              "Nell Yarrow", "Cai Brenner", "Ossie Quint", "Wyn Ashdown", "Lark Pellow"]  # fmt: skip
    neighbours = [{"id": f"n{i}", "title": name, "text": f"{name} lived in Brill. {name} kept bees."}
                  for i, name in enumerate(people)]  # fmt: skip
    kept, never = ns + "-kept", ns + "-never"
    memory = _memory(store, kept, spacy_extractor, embedder)
    memory.add_documents([FIRST, *neighbours])
    _ingest(memory, FORGOTTEN, LAST)
    unforgotten = _memory(store, never, spacy_extractor, embedder)
    unforgotten.add_documents([FIRST, *neighbours])
    _ingest(unforgotten, LAST)
    brill = [e for e in memory.records("Entity") if isinstance(e, Entity) and e.name == "Brill"]
    assert len(brill[0].document_ids) >= 10

    report = memory.forget("secret")

    assert report.units_extracted < 8, report  # the document's passage, the few stating its facts, one naming Brill
    assert graph_digest(store, kept) == graph_digest(store, never), _diff(store, never, kept)


def _naming(store: GraphStore, namespace: str, ids: set[str]) -> list[str]:
    """Every property of a node or edge that names one of these ids."""

    def names(value: object) -> bool:
        return value in ids if isinstance(value, str) else isinstance(value, list) and bool(ids.intersection(value))

    found = [f"{n.id}.{k}" for n in store.iter_nodes(namespace) for k, v in n.props.items() if names(v)]
    return found + [f"{e.key}.{k}" for e in store.iter_edges(namespace) for k, v in e.props.items() if names(v)]


def test_reconsolidation_decides_again_without_the_forgotten_document(
    store: GraphStore, ns: str, spacy_extractor: SpacyExtractor, embedder: CachedEmbedder
) -> None:
    """The forgotten document was the earliest to say Ana moved: it dated the end of her living in Brill and
    was the link's evidence. After forgetting it, the next document decides both, as if it never was."""
    lived = {"id": "d1", "date": "2019-03-01", "text": "Ana Lund lives in Brill."}
    moved = {"id": "d2", "date": "2021-06-01", "text": "Ana Lund moved to Oslo."}
    secret = {"id": "secret", "date": "2021-05-01", "text": "Ana Lund moved to Oslo."}
    kept, never = ns + "-kept", ns + "-never"
    memory = _memory(store, kept, spacy_extractor, embedder)
    _ingest(memory, lived, moved, secret)
    memory.reconsolidate(now=datetime(2025, 1, 1, tzinfo=UTC))
    unforgotten = _memory(store, never, spacy_extractor, embedder)
    _ingest(unforgotten, lived, moved)
    unforgotten.reconsolidate(now=datetime(2025, 1, 1, tzinfo=UTC))
    doomed = {n.id for n in store.iter_nodes(kept) if n.docs == ("secret",)}
    [link] = store.iter_edges(kept, "SUPERSEDED_BY")
    assert doomed & set(link.props["evidence"]) and link.props["valid_to"] == datetime(2021, 5, 1, tzinfo=UTC)

    report = memory.forget("secret")

    assert report.facts_to_recheck > 0 and report.reconsolidated, report
    assert _naming(store, kept, doomed) == []
    [link] = store.iter_edges(kept, "SUPERSEDED_BY")
    assert link.props["valid_to"] == datetime(2021, 6, 1, tzinfo=UTC) and link.props["evidence"]
    steady = {"recorded_at", "expired_at"}  # the rerun's clock, not the document, sets expired_at
    assert graph_digest(store, kept, steady) == graph_digest(store, never, steady), _diff(store, never, kept)
