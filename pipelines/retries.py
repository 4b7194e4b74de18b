"""Retries with exponential backoff, for transient store errors only: a bad record fails at once, a lost
connection or a locked database file is tried again (the writes are idempotent, so a retry converges)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
from neo4j.exceptions import ServiceUnavailable, SessionExpired, TransientError

from graphmem.store import StoreUnavailableError

MAX_RETRIES = 4
BASE_SECONDS = 2.0  # GRAPHMEM_RETRY_SECONDS overrides it
MAX_SECONDS = 60.0


def is_transient(exc: BaseException) -> bool:
    """A store error that may pass by itself: unreachable server, expired session, deadlock, busy SQLite file."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, StoreUnavailableError | ServiceUnavailable | SessionExpired | TransientError):
            return True
        if isinstance(current, sqlite3.OperationalError) and any(
            word in str(current).lower() for word in ("locked", "busy")
        ):
            return True
        current = current.__cause__ or current.__context__
    return False


def backoff_seconds(retry_number: int, base: float | None = None) -> float:
    """2, 4, 8, 16 ... seconds (from GRAPHMEM_RETRY_SECONDS, default 2), capped at a minute."""
    if base is None:
        base = float(os.environ.get("GRAPHMEM_RETRY_SECONDS", BASE_SECONDS))
    return min(MAX_SECONDS, base * 2**retry_number)


@contextmanager
def transient_retries(context: dg.AssetExecutionContext, max_retries: int = MAX_RETRIES) -> Iterator[None]:
    """Turn a transient store error into a retry of the step after a growing wait; other errors propagate."""
    try:
        yield
    except Exception as exc:
        if not is_transient(exc):
            raise
        wait = backoff_seconds(context.retry_number)
        context.log.warning(f"transient store error, retry {context.retry_number + 1} in {wait:.0f} s: {exc}")
        raise dg.RetryRequested(max_retries=max_retries, seconds_to_wait=wait) from exc
