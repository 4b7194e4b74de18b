"""Jobs, the inbox sensor and the schedules.

- ``inbox_sensor``: new or changed files in the inbox (GRAPHMEM_INBOX) each start a run of their own partition.
- ``incremental_ingestion`` (GRAPHMEM_INGEST_CRON, every 15 minutes): the same for every file whose documents
  the store lacks or holds in another version, whatever the sensor saw (it may have been off).
- ``nightly_memory`` (GRAPHMEM_RECONSOLIDATE_CRON, 03:00): the retrieval index, reconsolidation, communities.
"""

import json
import os
from pathlib import Path

import dagster as dg

from graphmem import stages
from graphmem.sources import SourceError
from pipelines.assets import INGESTION_ASSETS, MEMORY_ASSETS, SOURCE_FILES, file_digest
from pipelines.resources import GraphStoreResource, InboxResource

INGEST_CRON = os.environ.get("GRAPHMEM_INGEST_CRON", "*/15 * * * *")
RECONSOLIDATE_CRON = os.environ.get("GRAPHMEM_RECONSOLIDATE_CRON", "0 3 * * *")
SCHEDULE_TIMEZONE = os.environ.get("GRAPHMEM_SCHEDULE_TIMEZONE", "UTC")
SENSOR_SECONDS = int(os.environ.get("GRAPHMEM_SENSOR_SECONDS", "30"))

ingest_job = dg.define_asset_job("ingest_files", selection=dg.AssetSelection.assets(*INGESTION_ASSETS),
                                 description="Ingest one source file of the inbox (a partition).")  # fmt: skip
memory_job = dg.define_asset_job("refresh_memory", selection=dg.AssetSelection.assets(*MEMORY_ASSETS),
                                 description="Update the index, reconsolidate facts, build communities.")  # fmt: skip

Fingerprint = list[int | str]  # [mtime_ns, size, sha256]


def fingerprints(folder: Path, previous: dict[str, Fingerprint]) -> dict[str, Fingerprint]:
    """Each inbox file's fingerprint; a file is hashed again only when its time or size moved."""
    if not folder.is_dir():
        return {}
    out: dict[str, Fingerprint] = {}
    for key, (path, _doc_id) in stages.source_files(folder).items():
        stat = path.stat()
        old = previous.get(key)
        same = old is not None and old[0] == stat.st_mtime_ns and old[1] == stat.st_size
        out[key] = old if same and old is not None else [stat.st_mtime_ns, stat.st_size, file_digest(path)]
    return out


def _request(key: str, digest: str) -> dg.RunRequest:
    # The run key names the content: one run per version of a file, however often it is seen.
    return dg.RunRequest(partition_key=key, run_key=f"{key}@{digest}", tags={"graphmem/file": key})


@dg.sensor(job=ingest_job, minimum_interval_seconds=SENSOR_SECONDS, default_status=dg.DefaultSensorStatus.RUNNING)
def inbox_sensor(context: dg.SensorEvaluationContext, inbox: InboxResource) -> dg.SensorResult:
    """New or changed inbox files (by content) start an ingestion run of just their partitions."""
    previous: dict[str, Fingerprint] = json.loads(context.cursor) if context.cursor else {}
    current = fingerprints(inbox.folder, previous)
    changed = sorted(k for k, v in current.items() if previous.get(k, [None, None, None])[2] != v[2])
    known = set(context.instance.get_dynamic_partitions(SOURCE_FILES.name))
    new = [k for k in changed if k not in known]
    return dg.SensorResult(
        run_requests=[_request(k, str(current[k][2])) for k in changed],
        dynamic_partitions_requests=[SOURCE_FILES.build_add_request(new)] if new else [],
        cursor=json.dumps(current, sort_keys=True),
    )


@dg.schedule(job=ingest_job, cron_schedule=INGEST_CRON, execution_timezone=SCHEDULE_TIMEZONE,
             default_status=dg.DefaultScheduleStatus.RUNNING)  # fmt: skip
def incremental_ingestion(context: dg.ScheduleEvaluationContext, inbox: InboxResource,
                          graph_store: GraphStoreResource) -> list[dg.RunRequest] | dg.SkipReason:  # fmt: skip
    """Every file whose documents or dialogues are missing from the store, or stored in another version."""
    files = stages.source_files(inbox.folder) if inbox.folder.is_dir() else {}
    due: list[tuple[str, Path]] = []
    try:
        store = graph_store.open()
        for key, (path, doc_id) in files.items():
            try:
                batch = stages.read_source(path, doc_id)
            except SourceError:
                continue  # reported by the file's own run, which the sensor started when it appeared
            if stages.stale_sources(store, graph_store.namespace, batch):
                due.append((key, path))
    finally:
        graph_store.close()
    if not due:
        return dg.SkipReason(f"the store holds every file of {inbox.folder} as it is")
    known = set(context.instance.get_dynamic_partitions(SOURCE_FILES.name))
    context.instance.add_dynamic_partitions(SOURCE_FILES.name, [k for k, _ in due if k not in known])
    return [_request(key, file_digest(path)) for key, path in due]


@dg.schedule(job=memory_job, cron_schedule=RECONSOLIDATE_CRON, execution_timezone=SCHEDULE_TIMEZONE,
             default_status=dg.DefaultScheduleStatus.RUNNING)  # fmt: skip
def nightly_memory(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    """The index brought up to date, the facts reconsolidated and the communities rebuilt, once a night."""
    return dg.RunRequest(run_key=None, tags={"graphmem/schedule": "nightly"})
