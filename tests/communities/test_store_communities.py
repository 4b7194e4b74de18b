"""Communities built, stored and searched through Memory, identically on the embedded store and Neo4j.

The corpus is planted: six themed groups of six entities, one document each, every pair in a group joined
by a fact, and a few facts across groups, so the whole is one connected component that Leiden must split.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from graphmem.communities.storage import read_communities
from graphmem.embed import CachedEmbedder
from graphmem.graph import write_records
from graphmem.memory import Memory
from graphmem.records import Community, Document, Entity, Fact, Mention, Passage, content_id
from graphmem.store import EmbeddedStore, GraphStore

THEMES = {
    "harbour": ["Captain Orla", "Ferry Maris", "Pier Nine", "Tide Office", "Harbour Guild", "Dock Crane"],
    "orchard": ["Farmer Idris", "Cider Press", "Apple Barn", "Orchard Lane", "Pear Grove", "Bee Keeper"],
    "observatory": ["Astronomer Vell", "Great Telescope", "Comet Lira", "Star Chart", "Dome Hall", "Night Log"],
    "foundry": ["Smith Corvin", "Iron Furnace", "Bell Mould", "Ore Cart", "Anvil Works", "Slag Heap"],
    "library": ["Archivist Nell", "Map Room", "Rare Codex", "Reading Hall", "Index Cards", "Book Binder"],
    "vineyard": ["Vintner Sal", "Grape Terrace", "Wine Cellar", "Oak Barrel", "Harvest Fair", "Cork Mill"],
}
BRIDGES = [("Pier Nine", "Farmer Idris"), ("Pear Grove", "Comet Lira"), ("Night Log", "Ore Cart"),
           ("Slag Heap", "Map Room"), ("Book Binder", "Wine Cellar")]  # fmt: skip


def eid(name: str) -> str:
    return content_id("entity", name)


def document(ns: str, doc_id: str, names: list[str], pairs: list[tuple[str, str]]) -> list:
    """A document with one passage stating a fact per pair, its entities, facts and mentions."""
    text = " ".join(f"{a} works with {b}." for a, b in pairs)
    passage = Passage(id=f"{doc_id}/p0", namespace=ns, document_id=doc_id, text=text, start=0, end=len(text),
                      title=doc_id)  # fmt: skip
    records: list = [Document(id=doc_id, namespace=ns, title=doc_id), passage]
    records += [Entity(id=eid(n), namespace=ns, name=n, key=n.lower(), document_ids=[doc_id]) for n in names]
    records += [Fact(id=content_id("fact", a, b), namespace=ns, subject_id=eid(a), predicate="work_with",
                     object_id=eid(b), subject_name=a, object_name=b, sentence=f"{a} works with {b}.",
                     provenance=[passage.id], document_ids=[doc_id]) for a, b in pairs]  # fmt: skip
    records += [Mention(namespace=ns, passage_id=passage.id, entity_id=eid(n)) for n in names]
    return records


def corpus(ns: str) -> list:
    records: list = []
    for theme, names in THEMES.items():
        pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
        records += document(ns, theme, names, pairs)
    every = [n for names in THEMES.values() for n in names]
    records += document(ns, "bridges", every, BRIDGES)
    records += document(ns, "pair", ["Lone Heron", "Reed Bed"], [("Lone Heron", "Reed Bed")])
    records += document(ns, "alone", ["Hermit Ash"], [])
    return records


def groups(communities: list[Community]) -> dict[frozenset[str], str]:
    return {frozenset(c.member_ids): c.id for c in communities}


def build(store: GraphStore, ns: str, embedder: CachedEmbedder, records: list) -> Memory:
    write_records(store, records)
    return Memory(store, ns, extract=False, embedder=embedder)


def test_planted_groups_become_communities_with_stable_ids(store: GraphStore, ns: str,
                                                            embedder: CachedEmbedder) -> None:  # fmt: skip
    memory = build(store, ns, embedder, corpus(ns))
    report = memory.build_communities()
    found = memory.communities()
    expected = {frozenset(eid(n) for n in names) for names in THEMES.values()}
    assert expected <= set(groups(found))
    assert frozenset({eid("Lone Heron"), eid("Reed Bed")}) in groups(found)
    assert report["isolated"] == 1 and all(eid("Hermit Ash") not in c.member_ids for c in found)
    harbour = next(c for c in found if eid("Captain Orla") in c.member_ids)
    assert harbour.size == 6 and harbour.level == 0 and harbour.passage_ids == ["harbour/p0"]
    assert "Facts:" in harbour.summary and harbour.title and len(harbour.fact_ids) == 8
    # members are tied by IN_COMMUNITY edges in the store
    edges = store.neighbours(ns, [harbour.id], ["IN_COMMUNITY"])
    assert sorted(e.source for e in edges) == sorted(harbour.member_ids)

    again = memory.build_communities()  # unchanged graph: nothing is clustered or written again
    assert (again["reclustered"], again["created"], again["updated"], again["deleted"]) == (0, [], [], [])
    full = memory.build_communities(full=True)  # a full re-run clusters everything and keeps every id
    assert full["reclustered"] == report["components"] and (full["created"], full["deleted"]) == ([], [])
    assert memory.communities() == found


def test_one_new_document_changes_only_the_communities_it_touches(store: GraphStore, ns: str,
                                                                   embedder: CachedEmbedder) -> None:  # fmt: skip
    memory = build(store, ns, embedder, corpus(ns))
    memory.build_communities()
    before = {c.id: c for c in memory.communities()}
    write_records(store, document(ns, "newcomer", ["Deckhand Tove", "Captain Orla"],
                                  [("Deckhand Tove", "Captain Orla"), ("Deckhand Tove", "Ferry Maris")]))  # fmt: skip
    report = memory.build_communities()
    after = {c.id: c for c in memory.communities()}
    harbour = next(c for c in after.values() if eid("Captain Orla") in c.member_ids)
    assert harbour.id in before and eid("Deckhand Tove") in harbour.member_ids  # same id, one member more
    touched = {*report["created"], *report["updated"], *report["deleted"]}
    assert touched == {harbour.id}
    assert {i: c.member_ids for i, c in after.items() if i != harbour.id} == {
        i: c.member_ids for i, c in before.items() if i != harbour.id}  # fmt: skip
    assert sorted(e.source for e in store.neighbours(ns, [harbour.id], ["IN_COMMUNITY"])) == harbour.member_ids


def test_global_retrieval_ranks_community_summaries(store: GraphStore, ns: str, embedder: CachedEmbedder) -> None:
    memory = build(store, ns, embedder, corpus(ns))
    empty = memory.retrieve("What happens at the observatory?", mode="global")
    assert empty.hits == [] and empty.fallback
    memory.build_communities()
    result = memory.retrieve("What are the main themes about the telescope, comets and star charts?", k=2,
                             mode="global")  # fmt: skip
    best = result.communities[0]["id"]
    assert eid("Comet Lira") in next(c for c in memory.communities() if c.id == best).member_ids
    assert result.hits[0].unit.id == "observatory/p0" and result.hits[0].path["community"] == best
    assert result.to_dict()["communities"][0]["title"]


def test_the_same_communities_on_every_store(store: GraphStore, ns: str, embedder: CachedEmbedder,
                                             tmp_path: Path) -> None:  # fmt: skip
    memory = build(store, ns, embedder, corpus(ns))
    memory.build_communities()
    with EmbeddedStore(tmp_path / "reference.sqlite3") as reference:
        write_records(reference, corpus(ns))
        Memory(reference, ns, extract=False, embedder=embedder).build_communities()
        expected = sorted(read_communities(reference, ns), key=lambda c: c.id)
    assert sorted(read_communities(store, ns), key=lambda c: c.id) == expected


@pytest.mark.parametrize("flag", ["--rebuild", "--full"])
def test_cli_builds_and_prints_the_hierarchy(tmp_path: Path, embedder: CachedEmbedder, flag: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    from graphmem import cli

    path = tmp_path / "cli.sqlite3"
    with EmbeddedStore(path) as store:
        write_records(store, corpus("default"))
    original = Memory.__init__

    def with_test_embedder(self: Memory, *args: object, **kwargs: object) -> None:
        original(self, *args, **{**kwargs, "embedder": embedder})  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:  # the session's embedder, not a second model load
        patch.setattr(Memory, "__init__", with_test_embedder)
        patch.setattr(Memory, "close", lambda self: self.store.close())  # the session's embedder stays open
        assert cli.main(["communities", flag, "--store", str(path)]) == 0
        assert cli.main(["communities", "--level", "0", "--store", str(path)]) == 0
    out = capsys.readouterr().out
    assert "built: 7 communities (7 created" in out and "2 of 2 components clustered, 1 isolated entities" in out
    assert "levels: 0: 7" in out and out.count("[0]     6  ") == 12 and out.count("[0]     2  ") == 2
