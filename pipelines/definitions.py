"""The code location: ``dagster dev -m pipelines`` (or ``dagster-webserver``/``dagster-daemon run -m pipelines``)."""

import dagster as dg

from pipelines.assets import ALL_ASSETS
from pipelines.automation import inbox_sensor, incremental_ingestion, ingest_job, memory_job, nightly_memory
from pipelines.checks import ALL_CHECKS
from pipelines.resources import from_env


def build(resources: dict[str, dg.ConfigurableResource] | None = None) -> dg.Definitions:
    """The definitions, with resources from GRAPHMEM_* variables unless others are given (tests give their own)."""
    return dg.Definitions(
        assets=list(ALL_ASSETS),
        asset_checks=list(ALL_CHECKS),
        jobs=[ingest_job, memory_job],
        sensors=[inbox_sensor],
        schedules=[incremental_ingestion, nightly_memory],
        resources=resources if resources is not None else from_env(),
    )


defs = build()
