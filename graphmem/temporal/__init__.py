"""Temporal memory: reconsolidation of facts over time (merges, supersessions) and point-in-time queries."""

from graphmem.temporal.rules import ReconsolidationConfig
from graphmem.temporal.storage import ReconsolidationReport, reconsolidate

__all__ = ["ReconsolidationConfig", "ReconsolidationReport", "reconsolidate"]
