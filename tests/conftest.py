"""Shared fixtures: the embedded store on a temp file and the real Neo4j server.

Neo4j: ``GRAPHMEM_NEO4J_URI`` (with ``_USER``/``_PASSWORD``) points the tests at a running
server; otherwise the project's script (docker/neo4j-local/neo4j-local.sh) fetches and starts
one on loopback for the test session. The Neo4j tests fail when no server can be had. They are
skipped only when a person sets GRAPHMEM_SKIP_NEO4J=1, and the run then says so.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from graphmem.embed import CachedEmbedder, SentenceTransformerEmbedder
from graphmem.extract.spacy_extractor import SpacyExtractor
from graphmem.store import EmbeddedStore, GraphStore
from graphmem.store.neo4j import Neo4jSettings, Neo4jStore

REPO = Path(__file__).resolve().parents[1]
NEO4J_SCRIPT = REPO / "docker" / "neo4j-local" / "neo4j-local.sh"
SKIP_NEO4J = os.environ.get("GRAPHMEM_SKIP_NEO4J") == "1"
SKIP_REASON = "GRAPHMEM_SKIP_NEO4J=1 was set by hand: the tests against the real Neo4j server did not run"


def pytest_report_header(config: pytest.Config) -> list[str]:
    if SKIP_NEO4J:
        return [f"WARNING: {SKIP_REASON}"]
    where = os.environ.get("GRAPHMEM_NEO4J_URI") or "local server started by docker/neo4j-local/neo4j-local.sh"
    return [f"neo4j: {where}"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SKIP_NEO4J:
        terminalreporter.write_line(f"WARNING: {SKIP_REASON}", yellow=True, bold=True)


def _script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(NEO4J_SCRIPT), *args], capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="session")
def neo4j_settings() -> Iterator[Neo4jSettings]:
    """Settings of a running Neo4j server, started here if none was given."""
    if SKIP_NEO4J:
        pytest.skip(SKIP_REASON)
    if os.environ.get("GRAPHMEM_NEO4J_URI"):
        yield Neo4jSettings.from_env()
        return
    was_running = _script("status").returncode == 0
    if not was_running:
        started = _script("start")
        if started.returncode != 0:
            pytest.fail(
                "could not start the local Neo4j server (set GRAPHMEM_NEO4J_URI to use another one):\n"
                f"{started.stdout}\n{started.stderr}",
                pytrace=False,
            )
    yield Neo4jSettings.from_env()
    if not was_running:
        _script("stop")


@pytest.fixture(scope="session", autouse=True)
def index_cache_outside_the_checkout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Indexes of Neo4j namespaces would otherwise be cached under the checkout's .graphmem/."""
    previous = os.environ.get("GRAPHMEM_INDEX_CACHE")
    os.environ["GRAPHMEM_INDEX_CACHE"] = str(tmp_path_factory.mktemp("index-cache"))
    yield
    if previous is None:
        os.environ.pop("GRAPHMEM_INDEX_CACHE", None)
    else:
        os.environ["GRAPHMEM_INDEX_CACHE"] = previous


@pytest.fixture(scope="session")
def neo4j_store(neo4j_settings: Neo4jSettings) -> Iterator[Neo4jStore]:
    store = Neo4jStore(neo4j_settings)
    yield store
    store.close()


@pytest.fixture(scope="session")
def spacy_extractor() -> SpacyExtractor:
    """One spaCy pipeline for the whole session (loading it takes seconds)."""
    return SpacyExtractor()


@pytest.fixture(scope="session")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CachedEmbedder]:
    """all-MiniLM-L6-v2 from its PyPI package, behind a cache shared by the session's tests."""
    cached = CachedEmbedder(SentenceTransformerEmbedder(), tmp_path_factory.mktemp("embed") / "cache.sqlite3")
    yield cached
    cached.close()


@pytest.fixture
def embedded_store(tmp_path: Path) -> Iterator[EmbeddedStore]:
    store = EmbeddedStore(tmp_path / "graph.sqlite3")
    yield store
    store.close()


@pytest.fixture(params=["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def store(request: pytest.FixtureRequest) -> Iterator[GraphStore]:
    """Each contract test runs once per backend."""
    if request.param == "embedded":
        yield request.getfixturevalue("embedded_store")
    else:
        yield request.getfixturevalue("neo4j_store")


@pytest.fixture
def ns(store: GraphStore) -> Iterator[str]:
    """A fresh namespace prefix per test, so tests never see each other's data (nor a user's).

    Tests make namespaces ``ns``, ``ns + "-b"`` and so on; all are deleted afterwards.
    """
    prefix = f"t{uuid.uuid4().hex[:12]}"
    yield prefix
    for namespace in store.namespaces():
        if namespace.startswith(prefix):
            store.delete_namespace(namespace)
