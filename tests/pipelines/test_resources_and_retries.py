"""Resources come from GRAPHMEM_* variables as EnvVars (no secret in the definitions); transient store errors
are retried with a growing wait, other errors are not."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from pipeline_kit import REPO, definitions, ingest

from graphmem.store import InvalidRecordError, StoreUnavailableError
from pipelines.resources import ExtractorResource, GraphStoreResource, from_env
from pipelines.retries import MAX_RETRIES, backoff_seconds, is_transient


def test_resources_read_the_environment_as_env_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [k for k in os.environ if k.startswith("GRAPHMEM_")]:
        monkeypatch.delenv(name)
    defaults = from_env()
    assert defaults["graph_store"].store == ".graphmem/graph.sqlite3"  # type: ignore[attr-defined]
    assert defaults["graph_store"].neo4j_password is None  # type: ignore[attr-defined]
    assert defaults["extractor"].llm_base_url is None  # type: ignore[attr-defined]
    assert defaults["inbox"].path == "data/inbox"  # type: ignore[attr-defined]

    monkeypatch.setenv("GRAPHMEM_STORE", "neo4j")
    monkeypatch.setenv("GRAPHMEM_NEO4J_PASSWORD", "s3cret-value")
    monkeypatch.setenv("GRAPHMEM_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("GRAPHMEM_INBOX", "/srv/inbox")
    configured = from_env()
    store = configured["graph_store"]
    assert store.store == dg.EnvVar("GRAPHMEM_STORE")  # type: ignore[attr-defined]
    assert store.neo4j_password == dg.EnvVar("GRAPHMEM_NEO4J_PASSWORD")  # type: ignore[attr-defined]
    assert configured["extractor"].llm_base_url == dg.EnvVar("GRAPHMEM_LLM_BASE_URL")  # type: ignore[attr-defined]
    assert "s3cret-value" not in repr(configured)
    # resolved when a run starts
    with dg.build_resources({"graph_store": store}) as built:
        assert built.graph_store.neo4j_password == "s3cret-value" and built.graph_store.is_neo4j


def test_cron_strings_and_sensor_interval_come_from_the_environment() -> None:
    env = {**os.environ, "GRAPHMEM_INGEST_CRON": "*/5 * * * *", "GRAPHMEM_RECONSOLIDATE_CRON": "30 1 * * *",
           "GRAPHMEM_SENSOR_SECONDS": "120"}  # fmt: skip
    code = ("from pipelines import defs; d = defs;"
            "print(d.resolve_schedule_def('incremental_ingestion').cron_schedule);"
            "print(d.resolve_schedule_def('nightly_memory').cron_schedule);"
            "print(d.resolve_sensor_def('inbox_sensor').minimum_interval_seconds)")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["*/5", "*", "*", "*", "*", "30", "1", "*", "*", "*", "120"]


def test_the_code_location_loads_with_the_dagster_cli() -> None:
    """What ``dagster dev -m pipelines`` loads."""
    dagster = Path(sys.executable).parent / "dagster"
    done = subprocess.run([str(dagster), "definitions", "validate", "-m", "pipelines"], cwd=REPO,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def test_which_errors_are_transient() -> None:
    assert is_transient(StoreUnavailableError("no server"))
    assert is_transient(sqlite3.OperationalError("database is locked"))
    wrapped = RuntimeError("write failed")
    wrapped.__cause__ = sqlite3.OperationalError("database is busy")
    assert is_transient(wrapped)
    assert not is_transient(InvalidRecordError("bad record"))
    assert not is_transient(sqlite3.OperationalError("no such table: nodes"))
    assert not is_transient(ValueError("bad value"))
    assert [backoff_seconds(n, 2.0) for n in range(5)] == [2, 4, 8, 16, 32] and backoff_seconds(10, 2.0) == 60


def test_an_unreachable_store_is_retried_with_backoff(
    instance: dg.DagsterInstance, tmp_path: Path, embed_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRAPHMEM_RETRY_SECONDS", "0.01")
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "note.txt").write_text("Harbour\n\nThe harbour of Kessaby opens at dawn.\n")
    unreachable = GraphStoreResource(store=f"bolt://127.0.0.1:{port}", namespace="retry", neo4j_password="x")
    [run] = ingest(definitions(unreachable, inbox, embed_cache), instance, ["note.txt"])
    assert not run.success
    retries = [e for e in run.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert len(retries) == MAX_RETRIES and {e.step_key for e in retries} == {"passages"}
    failure = next(e for e in run.all_events if e.is_step_failure)
    assert "StoreUnavailableError" in str(failure.event_specific_data)


def test_the_extractor_is_spacy_or_the_llm_endpoint_with_spacy_behind_it() -> None:
    from graphmem.extract.llm import LLMExtractor

    spacy = ExtractorResource().get()
    assert spacy.name == "spacy"
    llm = ExtractorResource(llm_base_url="http://127.0.0.1:9/v1", llm_model="m", llm_api_key="secret-key").get()
    assert isinstance(llm, LLMExtractor) and llm.fallback is spacy
    assert llm.settings.endpoint == "http://127.0.0.1:9/v1/chat/completions" and "secret-key" not in repr(llm.settings)
    with pytest.raises(ValueError, match="GRAPHMEM_LLM_MODEL"):
        ExtractorResource(llm_base_url="http://127.0.0.1:9/v1").get()
