"""Fixtures of the pipeline tests: a Dagster instance per test, a graph store per backend, a shared embedding cache.

pytest puts ``tests/`` on sys.path (tests/conftest.py has no package), where ``tests/pipelines`` would shadow
the real ``pipelines`` package as a namespace package; the repository goes first so the code location wins.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) in sys.path:
    sys.path.remove(str(REPO))
sys.path.insert(0, str(REPO))
if "pipelines" in sys.modules and getattr(sys.modules["pipelines"], "__file__", None) is None:
    del sys.modules["pipelines"]

import dagster as dg  # noqa: E402

from graphmem.store import GraphStore  # noqa: E402
from graphmem.store.neo4j import Neo4jSettings  # noqa: E402
from pipelines.resources import GraphStoreResource  # noqa: E402


@pytest.fixture(scope="session")
def embed_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedding cache for every pipeline test: the sample's texts are embedded once per session."""
    return tmp_path_factory.mktemp("pipeline-embed") / "embeddings.sqlite3"


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as test_instance:
        yield test_instance


@pytest.fixture(params=["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def graph_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphStoreResource]:
    """The pipelines' store resource on each backend, in a namespace of its own (deleted afterwards)."""
    namespace = f"p{uuid.uuid4().hex[:12]}"
    if request.param == "embedded":
        yield GraphStoreResource(store=str(tmp_path / "graph.sqlite3"), namespace=namespace)
        return
    settings: Neo4jSettings = request.getfixturevalue("neo4j_settings")
    store: GraphStore = request.getfixturevalue("neo4j_store")
    yield GraphStoreResource(store="neo4j", namespace=namespace, neo4j_uri=settings.uri, neo4j_user=settings.user,
                             neo4j_password=settings.password, neo4j_database=settings.database)  # fmt: skip
    for name in store.namespaces():
        if name.startswith(namespace):
            store.delete_namespace(name)
