"""Asset checks: the graph's invariants (graphmem.integrity), each on the asset whose writes it guards.

Each check reads the whole namespace, so it holds for the graph as a whole, whatever partition ran.
"""

from collections.abc import Callable, Sequence

import dagster as dg

from graphmem import integrity
from pipelines.assets import graph, reconsolidated_facts, retrieval_index, synonym_edges
from pipelines.resources import EmbedderResource, GraphStoreResource, memory
from pipelines.retries import is_transient

SHOWN = 20  # problems listed in the check's metadata; the count covers all of them


def _result(problems: Sequence[str], what: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=not problems, severity=dg.AssetCheckSeverity.ERROR,
        description=f"{len(problems)} {what}" if problems else None,
        metadata={"problems": len(problems), "examples": dg.MetadataValue.md(
            "\n".join(f"- {p}" for p in problems[:SHOWN]) or "none")})  # fmt: skip


def _guarded(find: Callable[[], list[str]], what: str) -> dg.AssetCheckResult:
    try:
        return _result(find(), what)
    except Exception as exc:  # a store that cannot be read is not a failed invariant
        if is_transient(exc):
            return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN,
                                       metadata={"error": str(exc)})  # fmt: skip
        raise


@dg.asset_check(asset=graph, description="Every fact and hyperedge names a passage or turn that states it.")
def facts_have_provenance(graph_store: GraphStoreResource) -> dg.AssetCheckResult:
    return _guarded(lambda: integrity.statements_without_provenance(graph_store.open(), graph_store.namespace),
                    "facts or hyperedges without provenance")  # fmt: skip


@dg.asset_check(asset=graph, description="No two entities share a normalised key.")
def entity_keys_unique(graph_store: GraphStoreResource) -> dg.AssetCheckResult:
    return _guarded(lambda: integrity.duplicate_entity_keys(graph_store.open(), graph_store.namespace),
                    "normalised keys shared by several entities")  # fmt: skip


@dg.asset_check(asset=synonym_edges, description="No edge, fact end or provenance id names a missing node.")
def no_dangling_edges(graph_store: GraphStoreResource) -> dg.AssetCheckResult:
    return _guarded(lambda: integrity.dangling_references(graph_store.open(), graph_store.namespace),
                    "references to missing nodes")  # fmt: skip


@dg.asset_check(asset=retrieval_index, description="The index's embeddings have the model's dimension.")
def embedding_dimension(graph_store: GraphStoreResource, embedder: EmbedderResource) -> dg.AssetCheckResult:
    def find() -> list[str]:
        mem = memory(graph_store, embedder)
        # the model's own dimension, not the one the embedding cache recorded for its name
        model = getattr(mem.embedder, "inner", mem.embedder)
        return integrity.embedding_dimension_mismatches(mem.index(), model.dimension)

    return _guarded(find, "embedding matrices of the wrong dimension")


@dg.asset_check(asset=reconsolidated_facts,
                description="No two facts of a single-valued slot hold at once after reconsolidation.")  # fmt: skip
def single_valued_facts_do_not_overlap(graph_store: GraphStoreResource) -> dg.AssetCheckResult:
    return _guarded(lambda: integrity.overlapping_single_valued(graph_store.open(), graph_store.namespace),
                    "overlapping facts in single-valued slots")  # fmt: skip


ALL_CHECKS = (facts_have_provenance, entity_keys_unique, no_dangling_edges, embedding_dimension,
              single_valued_facts_do_not_overlap)  # fmt: skip
