"""The real Neo4j server the project starts: Bolt answers with auth, the Browser is served."""

from __future__ import annotations

import os
import urllib.request

import neo4j
import pytest

from graphmem.store import StoreUnavailableError
from graphmem.store.neo4j import Neo4jSettings, Neo4jStore

pytestmark = pytest.mark.neo4j
HTTP = os.environ.get("GRAPHMEM_NEO4J_HTTP", "http://127.0.0.1:7474")


def test_browser_page_is_served(neo4j_settings: Neo4jSettings) -> None:
    with urllib.request.urlopen(f"{HTTP}/browser/", timeout=30) as response:
        assert response.status == 200
        assert "text/html" in response.headers.get("Content-Type", "")
        page = response.read().decode("utf-8", "replace")
    assert "<title>Neo4j Browser</title>" in page


def test_server_is_community_5_26_with_auth(neo4j_settings: Neo4jSettings) -> None:
    s = neo4j_settings
    with neo4j.GraphDatabase.driver(s.uri, auth=(s.user, s.password)) as driver:
        records, _, _ = driver.execute_query("CALL dbms.components() YIELD name, versions, edition "
                                             "RETURN name, versions[0] AS version, edition")  # fmt: skip
        if os.environ.get("GRAPHMEM_NEO4J_URI") is None:  # the server this project starts
            assert records[0]["version"].startswith("5.26.") and records[0]["edition"] == "community"
        with pytest.raises(neo4j.exceptions.AuthError):
            neo4j.GraphDatabase.driver(s.uri, auth=(s.user, "wrong-password")).verify_connectivity()


def test_schema_indexes_exist(neo4j_store: Neo4jStore, neo4j_settings: Neo4jSettings) -> None:
    s = neo4j_settings
    with neo4j.GraphDatabase.driver(s.uri, auth=(s.user, s.password)) as driver:
        records, _, _ = driver.execute_query("SHOW INDEXES YIELD name, type RETURN name, type")
    found = {r["name"]: r["type"] for r in records}
    assert found["graphmem_node_key"] == "RANGE"
    assert found["graphmem_entity_names"] == "FULLTEXT"
    assert found["graphmem_passage_embedding"] == "VECTOR"


def test_unreachable_server_fails_fast_naming_the_uri() -> None:
    with pytest.raises(StoreUnavailableError, match=r"bolt://127\.0\.0\.1:1"):
        Neo4jStore(Neo4jSettings(uri="bolt://127.0.0.1:1"))
