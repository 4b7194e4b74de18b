"""graphmem's Dagster code location: assets over the library's stages, resources from GRAPHMEM_* variables,
an inbox sensor, schedules and asset checks. See the README's Pipelines section."""

from pipelines.definitions import build, defs

__all__ = ["build", "defs"]
