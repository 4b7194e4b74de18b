"""The assets: each calls one stage of the library (graphmem.stages, graphmem.memory) and records what it did.

Per source file (a dynamic partition of ``source_files``, keyed by the path under the inbox):
source_file → passages → extractions → graph → synonym_edges. Over the whole namespace: retrieval_index →
reconsolidated_facts → communities. A bad file fails only its own partition; a changed file re-runs only its own.
"""

import hashlib
import time
from collections.abc import Sequence
from pathlib import Path

import dagster as dg

from graphmem import stages
from graphmem.extract.types import PassageExtraction
from graphmem.ingest import IngestReport
from graphmem.sources import SourceBatch
from graphmem.stages import SourceRecords
from pipelines.resources import EmbedderResource, ExtractorResource, GraphStoreResource, InboxResource, memory
from pipelines.retries import transient_retries

SOURCE_FILES = dg.DynamicPartitionsDefinition(name="source_files")
GROUP = "graphmem"  # one group: the asset graph page shows the whole pipeline
# Writers of one store take turns: the pool's limit is set in the instance (docker/dagster.yaml).
STORE_POOL = "graphmem_store"


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _quarantine_table(batch: SourceBatch) -> str:
    rows = [f"| {q.source} | {q.line or ''} | {q.reason} |" for q in batch.quarantined[:50]]
    return "\n".join(["| source | line | reason |", "|---|---|---|", *rows]) if rows else "none"


def _ingest_metadata(report: IngestReport, revision: int, started: float) -> dict[str, object]:
    return {"documents": report.documents, "dialogues": report.dialogues, "unchanged": report.unchanged,
            "replaced": report.replaced, "entities": report.entities, "facts": report.facts,
            "hyperedges": report.hyperedges, "synonyms": report.synonyms, "nodes_written": report.nodes_written,
            "edges_written": report.edges_written, "store_revision": revision,
            "stage_seconds": {k: round(v, 3) for k, v in report.stage_seconds.items()},
            "seconds": round(time.perf_counter() - started, 3)}  # fmt: skip


@dg.asset(partitions_def=SOURCE_FILES, group_name=GROUP, kinds={"file"})
def source_file(context: dg.AssetExecutionContext, inbox: InboxResource) -> dg.Output[SourceBatch]:
    """One file of the inbox, read into documents or dialogues; malformed records are quarantined."""
    started = time.perf_counter()
    files = stages.source_files(inbox.folder)
    if context.partition_key not in files:
        raise dg.Failure(f"{context.partition_key} is not in the inbox {inbox.folder} (deleted or renamed?)")
    path, doc_id = files[context.partition_key]
    batch = stages.read_source(path, doc_id)  # an unreadable file fails this partition only
    return dg.Output(batch, metadata={
        "file": str(path), "sha256": file_digest(path), "documents": len(batch.documents),
        "dialogues": len(batch.dialogues), "quarantined": len(batch.quarantined),
        "quarantined_records": dg.MetadataValue.md(_quarantine_table(batch)),
        "seconds": round(time.perf_counter() - started, 3)})  # fmt: skip


@dg.asset(partitions_def=SOURCE_FILES, group_name=GROUP, kinds={"python"})
def passages(context: dg.AssetExecutionContext, source_file: SourceBatch,
             graph_store: GraphStoreResource) -> dg.Output[list[SourceRecords]]:  # fmt: skip
    """Passages and turns of the file's new or changed documents and dialogues (unchanged ones are skipped)."""
    started = time.perf_counter()
    with transient_retries(context):
        records, unchanged = stages.pending_records(graph_store.open(), graph_store.namespace, source_file)
    units = [u for s in records for u in s.units]
    return dg.Output(records, metadata={
        "sources": len(records), "unchanged": unchanged, "units": len(units),
        "passages": sum(u.LABEL == "Passage" for u in units), "turns": sum(u.LABEL == "Turn" for u in units),
        "seconds": round(time.perf_counter() - started, 3)})  # fmt: skip


@dg.asset(partitions_def=SOURCE_FILES, group_name=GROUP, kinds={"spacy"})
def extractions(context: dg.AssetExecutionContext, passages: list[SourceRecords],
                extractor: ExtractorResource) -> dg.Output[list[PassageExtraction]]:  # fmt: skip
    """Entities, triples and hyperedges of every passage and turn (spaCy, or the LLM endpoint when configured)."""
    started = time.perf_counter()
    chosen = extractor.get()
    result = stages.extract_records(chosen, passages)
    return dg.Output(result, metadata={
        "extractor": chosen.name, "units": len(result), "entities": sum(len(e.entities) for e in result),
        "triples": sum(len(e.triples) for e in result), "hyperedges": sum(len(e.hyperedges) for e in result),
        "seconds": round(time.perf_counter() - started, 3)})  # fmt: skip


@dg.asset(partitions_def=SOURCE_FILES, group_name=GROUP, kinds={"neo4j", "sqlite"}, pool=STORE_POOL)
def graph(context: dg.AssetExecutionContext, passages: list[SourceRecords], extractions: list[PassageExtraction],
          graph_store: GraphStoreResource, embedder: EmbedderResource) -> dg.Output[list[str]]:  # fmt: skip
    """Entities, facts and hyperedges resolved and upserted with the passages (an older version is replaced).

    Its value is the ids of the entities it created, which ``synonym_edges`` links."""
    started = time.perf_counter()
    with transient_retries(context):
        store = graph_store.open()
        report = stages.write_extracted(store, graph_store.namespace, passages, extractions, embedder.get(store))
        revision = store.revision(graph_store.namespace)
    return dg.Output(report.entity_ids, metadata=_ingest_metadata(report, revision, started))


@dg.asset(partitions_def=SOURCE_FILES, group_name=GROUP, kinds={"neo4j", "sqlite"}, pool=STORE_POOL)
def synonym_edges(context: dg.AssetExecutionContext, graph: list[str], graph_store: GraphStoreResource,
                  embedder: EmbedderResource) -> dg.MaterializeResult:  # fmt: skip
    """SYNONYM edges from the file's new entities to every entity whose name embeds close to theirs."""
    started = time.perf_counter()
    with transient_retries(context):
        store = graph_store.open()
        report = stages.link_synonyms(store, graph_store.namespace, graph, embedder.get(store))
        revision = store.revision(graph_store.namespace)
    return dg.MaterializeResult(metadata={"new_entities": len(graph), "synonyms": report.synonyms,
                                          "store_revision": revision,
                                          "seconds": round(time.perf_counter() - started, 3)})  # fmt: skip


@dg.asset(deps=[synonym_edges], group_name=GROUP, kinds={"numpy"}, pool=STORE_POOL)
def retrieval_index(context: dg.AssetExecutionContext, graph_store: GraphStoreResource,
                    embedder: EmbedderResource) -> dg.MaterializeResult:  # fmt: skip
    """The namespace's retrieval index (sparse graph and embeddings), brought up to date and cached on disk."""
    started = time.perf_counter()
    with transient_retries(context):
        index = memory(graph_store, embedder).index()
    return dg.MaterializeResult(metadata={
        "units": len(index.units), "entities": len(index.entity_ids), "facts": len(index.facts),
        "origin": index.origin, "build_seconds": round(index.build_seconds, 3), "store_revision": index.revision,
        "seconds": round(time.perf_counter() - started, 3)})  # fmt: skip


@dg.asset(deps=[retrieval_index], group_name=GROUP, kinds={"neo4j", "sqlite"}, pool=STORE_POOL)
def reconsolidated_facts(context: dg.AssetExecutionContext, graph_store: GraphStoreResource,
                         embedder: EmbedderResource) -> dg.MaterializeResult:  # fmt: skip
    """Facts that newer ones replaced are retired (graphmem.temporal); the retrieval index follows."""
    with transient_retries(context):
        mem = memory(graph_store, embedder)
        report = mem.reconsolidate()
        revision = mem.store.revision(graph_store.namespace)
    return dg.MaterializeResult(metadata={
        "checked": report.checked, "subjects": report.subjects, "merged": report.merged,
        "superseded": report.superseded, "reinstated": report.reinstated, "retracted": report.retracted,
        "facts_written": report.facts_written, "links_written": report.edges_written,
        "learned_predicates": ", ".join(report.learned) or "none", "store_revision": revision,
        "seconds": round(report.seconds, 3)})  # fmt: skip


@dg.asset(deps=[reconsolidated_facts], group_name=GROUP, kinds={"neo4j", "sqlite"}, pool=STORE_POOL)
def communities(context: dg.AssetExecutionContext, graph_store: GraphStoreResource,
                embedder: EmbedderResource) -> dg.MaterializeResult:  # fmt: skip
    """Hierarchical Leiden communities of the entity graph with their summaries (graphmem.communities); only the
    components that changed are clustered again. After reconsolidation, so they group what holds now."""
    with transient_retries(context):
        mem = memory(graph_store, embedder)
        report = mem.build_communities()
        revision = mem.store.revision(graph_store.namespace)
    return dg.MaterializeResult(metadata={
        "communities": report["communities"], "levels": {str(k): v for k, v in report["levels"].items()},
        "components": report["components"], "reclustered": report["reclustered"], "isolated": report["isolated"],
        "created": len(report["created"]), "updated": len(report["updated"]), "deleted": len(report["deleted"]),
        "unchanged": report["unchanged"], "store_revision": revision,
        "stage_seconds": {k: round(v, 3) for k, v in report["seconds"].items()},
        "seconds": round(sum(report["seconds"].values()), 3)})  # fmt: skip


INGESTION_ASSETS: Sequence[dg.AssetsDefinition] = (source_file, passages, extractions, graph, synonym_edges)
MEMORY_ASSETS: Sequence[dg.AssetsDefinition] = (retrieval_index, reconsolidated_facts, communities)
ALL_ASSETS: Sequence[dg.AssetsDefinition] = (*INGESTION_ASSETS, *MEMORY_ASSETS)
