"""Fixtures of the fault tests: a Neo4j server of their own, which they may stop and restart.

The server runs from the project's script (docker/neo4j-local/neo4j-local.sh) on free loopback ports,
with its state in a temporary folder and a small heap; the main server (GRAPHMEM_NEO4J_URI, 7687) is
never touched. Its jars are hard-linked from a checkout's .neo4j/lib when one matches the pom, else
the script copies them from Maven's cache.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from faults_support import REPO, PrivateNeo4j, free_port

from graphmem.store.neo4j import Neo4jStore


def _seed_jars(folder: Path) -> None:
    """Hard-link the jars of a checkout's server when its pom is ours: a copy from Maven's cache takes longer."""
    for source in [Path(os.environ.get("GRAPHMEM_NEO4J_DIR", REPO / ".neo4j")), REPO / ".neo4j"]:
        stamp = source / "lib.stamp"
        if stamp.is_file() and (source / "lib").is_dir():
            try:
                shutil.copytree(source / "lib", folder / "lib", copy_function=os.link)
            except OSError:
                shutil.rmtree(folder / "lib", ignore_errors=True)
                return
            shutil.copy(stamp, folder / "lib.stamp")  # the script fetches again if it does not match the pom
            return


@pytest.fixture(scope="session")
def private_neo4j(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateNeo4j]:
    """A Neo4j server of the fault tests' own, started for the session and stopped after it."""
    if os.environ.get("GRAPHMEM_SKIP_NEO4J") == "1":
        pytest.skip("GRAPHMEM_SKIP_NEO4J=1 was set by hand: the fault tests against Neo4j did not run")
    folder = tmp_path_factory.mktemp("neo4j-faults")
    _seed_jars(folder)
    server = PrivateNeo4j(folder, free_port(), free_port())
    try:
        server.script("start")
    except RuntimeError as exc:
        server.script("stop")
        pytest.fail(f"could not start the fault tests' own Neo4j server: {exc}", pytrace=False)
    yield server
    server.script("stop")


@pytest.fixture(scope="session")
def private_store(private_neo4j: PrivateNeo4j) -> Iterator[Neo4jStore]:
    store = private_neo4j.store()
    yield store
    store.close()


@pytest.fixture
def fresh_ns() -> str:
    return f"f{uuid.uuid4().hex[:12]}"
