"""Helpers of the pipeline tests: a copy of the sample corpus as the inbox, resources, and whole-graph runs."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

import dagster as dg

from pipelines import build
from pipelines.assets import SOURCE_FILES
from pipelines.resources import EmbedderResource, ExtractorResource, GraphStoreResource, InboxResource

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample"
# The sample's sources; its README and ground truth are about the corpus, not part of it.
SAMPLE_SOURCES = ("documents", "dialogues", "documents.jsonl")
INGESTION_KEYS = ("source_file", "passages", "extractions", "graph", "synonym_edges")
MEMORY_KEYS = ("retrieval_index", "reconsolidated_facts", "communities")


def sample_inbox(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in SAMPLE_SOURCES:
        source = SAMPLE / name
        if source.is_dir():
            shutil.copytree(source, folder / name)
        else:
            shutil.copy(source, folder / name)
    return folder


def definitions(graph_store: GraphStoreResource, inbox: Path, embed_cache: Path) -> dg.Definitions:
    return build({"graph_store": graph_store, "embedder": EmbedderResource(cache_path=str(embed_cache)),
                  "extractor": ExtractorResource(), "inbox": InboxResource(path=str(inbox))})  # fmt: skip


def ingest(defs: dg.Definitions, instance: dg.DagsterInstance, keys: Iterable[str]) -> list[dg.ExecuteInProcessResult]:
    """One run of the ingestion job per partition, as the sensor would start them."""
    keys = list(keys)
    instance.add_dynamic_partitions(SOURCE_FILES.name, [k for k in keys if not instance.has_dynamic_partition(
        SOURCE_FILES.name, k)])  # fmt: skip
    job = defs.resolve_job_def("ingest_files")
    return [job.execute_in_process(partition_key=key, instance=instance, raise_on_error=False) for key in keys]


def refresh(defs: dg.Definitions, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def("refresh_memory").execute_in_process(instance=instance, raise_on_error=False)


def materialised(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, object]]:
    """Asset name → metadata of its materialisation in this run (values unwrapped)."""
    out = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        out[materialization.asset_key.to_user_string()] = {k: v.value for k, v in materialization.metadata.items()}
    return out


def checks(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
