"""Opening the embedded store's file: openers racing on a new file all succeed (SQLite refuses the switch to WAL
at once, without waiting, while another connection opens the same new file)."""

from __future__ import annotations

import threading
from pathlib import Path

from graphmem.store import EmbeddedStore


def test_threads_opening_a_new_store_at_once_all_succeed(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    for trial in range(20):
        path = tmp_path / f"race-{trial}" / "graph.sqlite3"
        start = threading.Barrier(6)

        def open_and_close(path: Path = path, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                with EmbeddedStore(path) as store:
                    assert store.counts("default").total_nodes == 0
            except BaseException as exc:  # collected: an exception in a thread would not fail the test
                errors.append(exc)

        threads = [threading.Thread(target=open_and_close) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    with EmbeddedStore(tmp_path / "race-0" / "graph.sqlite3") as store:
        assert store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
