"""The whole asset graph, materialised in-process on the sample corpus, on the embedded store and on Neo4j.

One ingestion run per source file (as the sensor starts them), then the index and reconsolidation. The graph
must be the one the library's own ingestion gives, and it must hold what the sample says."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pipeline_kit import INGESTION_KEYS, MEMORY_KEYS, checks, definitions, ingest, materialised, refresh, sample_inbox

from graphmem.memory import Memory
from graphmem.stages import source_files
from pipelines.resources import GraphStoreResource

SAMPLE_FILES = 13  # 10 text files, one documents JSONL (4 documents), 2 dialogues


def test_whole_asset_graph_on_the_sample(graph_store: GraphStoreResource, instance: dg.DagsterInstance,
                                          tmp_path: Path, embed_cache: Path) -> None:  # fmt: skip
    inbox = sample_inbox(tmp_path / "inbox")
    defs = definitions(graph_store, inbox, embed_cache)
    keys = sorted(source_files(inbox))
    assert len(keys) == SAMPLE_FILES

    runs = ingest(defs, instance, keys)
    assert all(run.success for run in runs)
    for key, run in zip(keys, runs, strict=True):
        assert set(materialised(run)) == set(INGESTION_KEYS)
        assert {e.partition for e in run.get_asset_materialization_events()} == {key}
        assert checks(run) == {"facts_have_provenance": True, "entity_keys_unique": True, "no_dangling_edges": True}
    jsonl = materialised(runs[keys.index("documents.jsonl")])
    assert jsonl["source_file"]["documents"] == 4 and jsonl["source_file"]["quarantined"] == 0
    assert jsonl["passages"]["sources"] == 4 and jsonl["passages"]["unchanged"] == 0
    assert jsonl["extractions"]["extractor"] == "spacy" and jsonl["extractions"]["triples"] > 0
    dialogue = materialised(runs[keys.index("dialogues/wrenna-idris.json")])
    assert dialogue["passages"]["turns"] == dialogue["extractions"]["units"] > 0
    assert dialogue["graph"]["dialogues"] == 1 and dialogue["graph"]["facts"] > 0

    final = refresh(defs, instance)
    assert final.success
    memory_meta = materialised(final)
    assert set(memory_meta) == set(MEMORY_KEYS)
    assert checks(final) == {"embedding_dimension": True, "single_valued_facts_do_not_overlap": True}
    index = memory_meta["retrieval_index"]
    assert index["units"] == 24 + 80  # the sample's passages and turns
    reconsolidation = memory_meta["reconsolidated_facts"]
    assert reconsolidation["superseded"] > 0 and reconsolidation["links_written"] > 0
    communities = memory_meta["communities"]
    assert communities["communities"] > 0 and communities["created"] == communities["communities"]

    store = graph_store.open()
    try:
        ns = graph_store.namespace
        # The same graph as the library's ingestion of the same folder, in a namespace beside it.
        with_library = Memory(store, f"{ns}-lib", embedder=defs.resources["embedder"].get(store))  # type: ignore[attr-defined]
        with_library.add_paths([inbox])
        with_library.reconsolidate()
        with_library.build_communities()
        piped, direct = store.counts(ns), store.counts(f"{ns}-lib")
        # Synonym edges link each new entity to those already stored, so they follow the order of the files,
        # and communities cluster over them; all the rest is the same.
        order_bound = {"SYNONYM", "Community", "IN_COMMUNITY", "CHILD_OF"}
        for piped_counts, direct_counts in ((piped.nodes, direct.nodes), (piped.edges, direct.edges)):
            assert {k: v for k, v in piped_counts.items() if k not in order_bound} == {
                k: v for k, v in direct_counts.items() if k not in order_bound}  # fmt: skip
        for kind in ("SYNONYM", "IN_COMMUNITY"):
            assert abs(piped.edges[kind] - direct.edges[kind]) <= 0.2 * direct.edges[kind]
        assert piped.nodes["Document"] == 14 and piped.nodes["Dialogue"] == 2
        assert piped.nodes["Passage"] == 24 and piped.nodes["Turn"] == 80
        assert piped.edges.get("SYNONYM", 0) > 0 and piped.edges.get("SUPERSEDED_BY", 0) > 0
        assert index["entities"] == piped.nodes["Entity"] and index["facts"] == piped.nodes["Fact"]
        assert piped.nodes["Community"] == communities["communities"] and piped.edges["IN_COMMUNITY"] > 0
        documents = {n.id for n in store.iter_nodes(ns, "Document")}
        assert f"{inbox.name}/documents/kessaby.md" in documents and "doc-lovatt-2019" in documents

        memory = Memory(store, ns, embedder=with_library.embedder)
        # Wrenna Tallis moved from the Brindlemoss Institute to Orrin Shipworks (the sample's C6).
        now = {(f.predicate, f.object_name) for f in memory.facts("Wrenna Tallis")}
        retired = {(f.predicate, f.object_name) for f in memory.facts("Wrenna Tallis", include_expired=True)} - now
        assert ("work_at", "Brindlemoss Institute") in retired
        assert any(name == "Orrin Shipworks" for _, name in now)
        # Literal triples of the ground truth: who built the Skelda, where Casimir Lovatt was born.
        assert "Skelda" in {f.object_name for f in memory.facts("Orrin Shipworks")}
        assert ("born_in", "Ardloch") in {(f.predicate, f.object_name) for f in memory.facts("Casimir Lovatt")}
    finally:
        graph_store.close()
