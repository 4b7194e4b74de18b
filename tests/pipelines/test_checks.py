"""Asset checks pass on the graph the pipeline builds and fail, each for its own reason, on a corrupted one."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import dagster as dg
import numpy as np
from pipeline_kit import SAMPLE, checks, definitions, ingest, refresh

from graphmem import integrity
from graphmem.memory import Memory
from graphmem.store import Node
from pipelines.assets import ALL_ASSETS
from pipelines.checks import ALL_CHECKS
from pipelines.resources import GraphStoreResource

FILES = {"wrenna-idris.json": SAMPLE / "dialogues" / "wrenna-idris.json",
         "orrin-shipworks.md": SAMPLE / "documents" / "orrin-shipworks.md"}  # fmt: skip


def _run_checks(defs: dg.Definitions, instance: dg.DagsterInstance) -> dict[str, bool]:
    """Every asset check on its own, without materialising anything (as from the UI's "Execute checks")."""
    result = dg.materialize([*ALL_ASSETS, *ALL_CHECKS], selection=dg.AssetSelection.all_asset_checks(),
                            resources=defs.resources, instance=instance)  # fmt: skip
    assert not result.get_asset_materialization_events()
    return checks(result)


def test_checks_fail_on_a_corrupted_graph(graph_store: GraphStoreResource, instance: dg.DagsterInstance,
                                          tmp_path: Path, embed_cache: Path) -> None:  # fmt: skip
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name, source in FILES.items():
        (inbox / name).write_text(source.read_text())
    defs = definitions(graph_store, inbox, embed_cache)
    assert all(run.success for run in ingest(defs, instance, sorted(FILES)))
    assert refresh(defs, instance).success
    healthy = _run_checks(defs, instance)
    assert len(healthy) == len(ALL_CHECKS) and all(healthy.values())

    store, ns = graph_store.open(), graph_store.namespace
    facts = [n for n in store.iter_nodes(ns, "Fact")]
    superseded = [e.source for e in store.iter_edges(ns, "SUPERSEDED_BY")]
    assert superseded, "reconsolidation retired nothing in the dialogue"
    entity = next(store.iter_nodes(ns, "Entity"))
    store.set_props(ns, [(facts[0].id, {"provenance": None})])  # type: ignore[attr-defined]
    store.set_props(ns, [(facts[1].id, {"object_id": "e:no-such-entity"})])  # type: ignore[attr-defined]
    # a second entity under the first one's key, as a broken resolution would write it
    store.upsert_nodes([Node("Entity", "e:duplicate", ns, dict(entity.props), entity.docs)])
    # a retired fact brought back without its end, beside the fact that replaced it
    store.set_props(ns, [(superseded[0], {"expired_at": None, "valid_to": None})])  # type: ignore[attr-defined]

    corrupted = _run_checks(defs, instance)
    assert corrupted == {"facts_have_provenance": False, "no_dangling_edges": False, "entity_keys_unique": False,
                         "single_valued_facts_do_not_overlap": False, "embedding_dimension": True}  # fmt: skip
    assert integrity.statements_without_provenance(store, ns) == [f"Fact {facts[0].id}"]
    assert integrity.dangling_references(store, ns) == [
        f"Fact {facts[1].id}: object_id names missing node e:no-such-entity"]  # fmt: skip
    assert integrity.duplicate_entity_keys(store, ns) == [
        f"key {entity.props['key']!r}: entities {', '.join(sorted(['e:duplicate', entity.id]))}"]  # fmt: skip
    assert any(superseded[0] in p for p in integrity.overlapping_single_valued(store, ns))
    graph_store.close()


def test_embedding_dimension_check_compares_the_index_with_the_model(tmp_path: Path, embed_cache: Path) -> None:
    embedder = definitions(GraphStoreResource(store=str(tmp_path / "g.sqlite3")), tmp_path, embed_cache)
    with Memory(tmp_path / "g.sqlite3", "dims", extract=False) as memory:
        memory._embedder = embedder.resources["embedder"].get(memory.store)  # type: ignore[attr-defined]
        memory.add_documents([{"id": "d1", "title": "Kessaby", "text": "Kessaby is a harbour town."}])
        index = memory.index()
        dimension = memory.embedder.dimension
        assert integrity.embedding_dimension_mismatches(index, dimension) == []
        truncated = dataclasses.replace(index, unit_vectors=np.ascontiguousarray(index.unit_vectors[:, :16]))
        assert integrity.embedding_dimension_mismatches(truncated, dimension) == [
            f"passages and turns: 16 dimensions, the model has {dimension}"]  # fmt: skip
