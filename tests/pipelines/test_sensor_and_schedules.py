"""The inbox sensor and the schedules: a new or changed file starts a run of its own partition and nothing else."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
from pipeline_kit import SAMPLE, definitions, ingest, materialised

from graphmem.store import GraphStore
from pipelines.assets import SOURCE_FILES
from pipelines.automation import INGEST_CRON, RECONSOLIDATE_CRON, inbox_sensor, incremental_ingestion, nightly_memory
from pipelines.resources import GraphStoreResource, InboxResource

NEW_FILE = "notes/harbour-pilot.md"
NEW_TEXT = "# Maren Ostry\n\nMaren Ostry is the harbour pilot of Kessaby. She was born in Lunnock in 1983.\n"


def _evaluate(defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None) -> dg.SensorResult:
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"inbox": defs.resources["inbox"]})
    result = inbox_sensor(context)
    assert isinstance(result, dg.SensorResult)
    for request in result.dynamic_partitions_requests or []:  # what the daemon does with them
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys or []))
    return result


def _documents(store: GraphStore, namespace: str) -> set[str]:
    return {n.id for n in store.iter_nodes(namespace, "Document")}


def test_a_new_file_in_the_inbox_runs_just_its_partition(instance: dg.DagsterInstance, tmp_path: Path,
                                                          embed_cache: Path) -> None:  # fmt: skip
    inbox = tmp_path / "inbox"
    (inbox / "documents").mkdir(parents=True)
    for name in ("kessaby.md", "lunnock-tide-mill.txt"):
        (inbox / "documents" / name).write_text((SAMPLE / "documents" / name).read_text())
    graph_store = GraphStoreResource(store=str(tmp_path / "graph.sqlite3"), namespace="sensor")
    defs = definitions(graph_store, inbox, embed_cache)

    first = _evaluate(defs, instance, None)
    assert sorted(r.partition_key for r in first.run_requests) == ["documents/kessaby.md",
                                                                   "documents/lunnock-tide-mill.txt"]  # fmt: skip
    assert set(instance.get_dynamic_partitions(SOURCE_FILES.name)) == {"documents/kessaby.md",
                                                                       "documents/lunnock-tide-mill.txt"}  # fmt: skip
    assert all(run.success for run in ingest(defs, instance, [r.partition_key for r in first.run_requests]))
    quiet = _evaluate(defs, instance, first.cursor)
    assert quiet.run_requests == [] and not quiet.dynamic_partitions_requests

    store = graph_store.open()
    before = {d: store.get_nodes("sensor", [d])[0].props for d in _documents(store, "sensor")}
    (inbox / NEW_FILE).parent.mkdir()
    (inbox / NEW_FILE).write_text(NEW_TEXT)
    result = _evaluate(defs, instance, quiet.cursor)
    assert [r.partition_key for r in result.run_requests] == [NEW_FILE]
    assert NEW_FILE in instance.get_dynamic_partitions(SOURCE_FILES.name)

    [run] = ingest(defs, instance, [NEW_FILE])
    assert run.success
    assert {e.partition for e in run.get_asset_materialization_events()} == {NEW_FILE}
    meta = materialised(run)
    assert meta["graph"]["documents"] == 1 and meta["graph"]["unchanged"] == 0 and meta["graph"]["facts"] > 0
    after = _documents(store, "sensor")
    assert after - set(before) == {"inbox/notes/harbour-pilot.md"}
    # the other documents were not touched: same nodes, same content hash, no run of theirs
    assert {d: store.get_nodes("sensor", [d])[0].props for d in before} == before
    # one run per file: the new file's run was the only one after the first two
    runs = sorted(r.tags.get("dagster/partition", "") for r in instance.get_runs())
    assert runs == ["documents/kessaby.md", "documents/lunnock-tide-mill.txt", NEW_FILE]
    pilot = [n for n in store.iter_nodes("sensor", "Entity") if n.props.get("name") == "Maren Ostry"]
    assert pilot and "inbox/notes/harbour-pilot.md" in pilot[0].docs

    # Changing a file's content requests its partition again; touching it without a change does not.
    cursor = json.loads(result.cursor or "{}")
    (inbox / "documents" / "kessaby.md").touch()
    assert _evaluate(defs, instance, json.dumps(cursor)).run_requests == []
    with (inbox / "documents" / "kessaby.md").open("a") as handle:
        handle.write("\nKessaby has a lifeboat station.\n")
    changed = _evaluate(defs, instance, json.dumps(cursor))
    assert [r.partition_key for r in changed.run_requests] == ["documents/kessaby.md"]
    [rerun] = ingest(defs, instance, ["documents/kessaby.md"])
    assert materialised(rerun)["graph"]["replaced"] == 1
    graph_store.close()


def test_incremental_schedule_requests_only_files_the_store_lacks(instance: dg.DagsterInstance, tmp_path: Path,
                                                                   embed_cache: Path) -> None:  # fmt: skip
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "kessaby.md").write_text((SAMPLE / "documents" / "kessaby.md").read_text())
    (inbox / "broken.txt").write_bytes(b"\x00\x01 not text")
    graph_store = GraphStoreResource(store=str(tmp_path / "graph.sqlite3"), namespace="schedule")
    defs = definitions(graph_store, inbox, embed_cache)
    resources = {"inbox": InboxResource(path=str(inbox)), "graph_store": graph_store}

    def tick() -> list[str]:
        with dg.build_schedule_context(instance=instance, resources=resources) as context:
            result = incremental_ingestion(context)
        return [] if isinstance(result, dg.SkipReason) else [r.partition_key for r in result]  # type: ignore[union-attr]

    assert tick() == ["kessaby.md"]  # the unreadable file is left to its own (failing) run
    runs = ingest(defs, instance, ["kessaby.md", "broken.txt"])
    assert [r.success for r in runs] == [True, False]  # one bad file fails only its own partition
    failed = [e for e in runs[1].all_events if e.is_step_failure]
    assert [e.step_key for e in failed] == ["source_file"] and "binary file" in str(failed[0].event_specific_data)
    assert tick() == []
    (inbox / "ysolde-marrick.md").write_text((SAMPLE / "documents" / "ysolde-marrick.md").read_text())
    assert tick() == ["ysolde-marrick.md"]
    assert "ysolde-marrick.md" in instance.get_dynamic_partitions(SOURCE_FILES.name)


def test_schedules_use_the_configured_cron_strings(instance: dg.DagsterInstance) -> None:
    assert incremental_ingestion.cron_schedule == INGEST_CRON == "*/15 * * * *"
    assert nightly_memory.cron_schedule == RECONSOLIDATE_CRON == "0 3 * * *"
    with dg.build_schedule_context(instance=instance) as context:
        request = nightly_memory(context)
    assert isinstance(request, dg.RunRequest)
    assert nightly_memory.job_name == "refresh_memory" and inbox_sensor.job_name == "ingest_files"


def test_quarantined_records_are_reported_and_the_rest_ingested(instance: dg.DagsterInstance, tmp_path: Path,
                                                                  embed_cache: Path) -> None:  # fmt: skip
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    good = {"id": "doc-harbour", "title": "Kessaby harbour", "text": "The harbour of Kessaby was dredged in 2019."}
    (inbox / "mixed.jsonl").write_text(json.dumps(good) + "\n" + '{"title": "no id or text"}\n')
    graph_store = GraphStoreResource(store=str(tmp_path / "graph.sqlite3"), namespace="quarantine")
    [run] = ingest(definitions(graph_store, inbox, embed_cache), instance, ["mixed.jsonl"])
    assert run.success
    meta = materialised(run)
    assert meta["source_file"]["documents"] == 1 and meta["source_file"]["quarantined"] == 1
    assert "mixed.jsonl | 2 |" in str(meta["source_file"]["quarantined_records"])
    assert meta["graph"]["documents"] == 1
    assert [n.id for n in graph_store.open().iter_nodes("quarantine", "Document")] == ["doc-harbour"]
    graph_store.close()
