"""A read-only or full disk under the embedded store: a clear error, and the file keeps what it held."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from graphmem.graph_digest import namespace_digest
from graphmem.memory import Memory
from graphmem.store import EmbeddedStore, StoreError, StoreUnavailableError, StoreWriteError


def _mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30)


@pytest.fixture
def small_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs of its own (root only: skipped, saying why, where mounting is not allowed)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root; this run is not root")
    point = tmp_path / "small"
    point.mkdir()
    mounted = _mount("-t", "tmpfs", "-o", "size=2m", "tmpfs", str(point))
    if mounted.returncode != 0:
        pytest.skip(f"mount -t tmpfs is not permitted here: {mounted.stderr.strip()}")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], capture_output=True, timeout=30)


def _documents(prefix: str, count: int, words: int = 400) -> list[dict[str, str]]:
    return [{"id": f"{prefix}{i}", "title": f"Note {prefix}{i}",
             "text": " ".join(f"{prefix}{i}word{j}" for j in range(words))} for i in range(count)]  # fmt: skip


def _fill(path: Path, namespace: str) -> str:
    """Write three documents; returns the namespace's digest."""
    with Memory(EmbeddedStore(path), namespace, extract=False) as memory:
        memory.add_documents(_documents("a", 3))
        return namespace_digest(memory.store, namespace)


@pytest.fixture
def read_only_folder(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, Callable[[bool], None]]]:
    """A folder and a switch that makes it read-only for every user, or writable again: a remount of a small tmpfs
    as root (root ignores file modes), else the modes of the folder and its files."""
    if os.geteuid() == 0:
        folder = request.getfixturevalue("small_filesystem")

        def switch(read_only: bool) -> None:
            done = _mount("-o", "remount," + ("ro" if read_only else "rw"), str(folder))
            if done.returncode != 0:
                pytest.skip(f"cannot remount: {done.stderr.strip()}")
    else:
        folder = tmp_path / "folder"
        folder.mkdir()

        def switch(read_only: bool) -> None:
            for path in [*folder.iterdir(), folder]:
                path.chmod((0o555 if path.is_dir() else 0o444) if read_only else 0o755)

    yield folder, switch
    switch(False)


def test_a_store_on_a_read_only_disk_says_so_and_keeps_its_data(
    read_only_folder: tuple[Path, Callable[[bool], None]],
) -> None:
    folder, make_read_only = read_only_folder
    path = folder / "graph.sqlite3"
    before = _fill(path, "ns")
    make_read_only(True)
    # opening (SQLite's WAL wants its -shm file) or else the first write refuses
    with pytest.raises(StoreError) as caught, Memory(EmbeddedStore(path), "ns", extract=False) as memory:
        memory.add_documents(_documents("b", 1))
    assert isinstance(caught.value, StoreUnavailableError | StoreWriteError), repr(caught.value)
    assert str(path) in str(caught.value)
    make_read_only(False)
    with EmbeddedStore(path) as store:
        assert store.counts("ns").nodes["Document"] == 3
        assert namespace_digest(store, "ns") == before


def test_a_full_disk_fails_the_write_cleanly_and_the_file_keeps_earlier_data(small_filesystem: Path,
                                                                              tmp_path: Path) -> None:
    path = small_filesystem / "graph.sqlite3"
    before = _fill(path, "ns")
    with pytest.raises(StoreWriteError, match="full") as caught, Memory(path, "ns", extract=False) as memory:
        for batch in range(200):  # ~4 MiB of text in all: more than the 2 MiB the disk holds
            memory.add_documents(_documents(f"x{batch}-", 10))
    assert str(path) in str(caught.value)
    with EmbeddedStore(path) as store:  # it opens on the full disk, whole
        assert store._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert store.counts("ns").nodes["Document"] > 3  # some batches went in before the disk filled
    roomy = tmp_path / "copy.sqlite3"
    with sqlite3.connect(path) as source, sqlite3.connect(roomy) as target:
        source.backup(target)
    with EmbeddedStore(roomy) as store:  # deleting the failed run's documents gives back the graph from before
        for node in list(store.iter_nodes("ns", "Document")):
            if not node.id.startswith("a"):
                store.delete_document("ns", node.id)
        assert namespace_digest(store, "ns") == before
