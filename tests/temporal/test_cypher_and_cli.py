"""The temporal Cypher files (run on the real Neo4j server) answer as Memory.facts and Memory.history do;
the CLI's reconsolidate, facts and history commands."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import neo4j
import pytest
from temporal_kit import NOW, chat, day, doc, ingest

from graphmem.cli import main
from graphmem.embed import CachedEmbedder
from graphmem.extract.spacy_extractor import SpacyExtractor
from graphmem.memory import Memory
from graphmem.store import EmbeddedStore
from graphmem.store.cypher import load
from graphmem.store.neo4j import Neo4jSettings, Neo4jStore

SOURCES = [
    doc("d1", "2019-03-01", "Ana Lund lives in Brill."), doc("d2", "2021-06-01", "Ana Lund moved to Oslo."),
    doc("d3", "2019-02-01", "Ana Lund works at Tidewater Labs."),
    doc("d4", "2020-05-01", "Ana Lund works for Tidewater Labs."),
    doc("d5", "2020-01-01", "Ivy Chen worked at Orrin Shipworks from 2010 to 2015."),
    doc("d6", "2015-04-01", "Ana Lund is the CEO of Tidewater Labs."),
    doc("d7", "2020-06-01", "Ben Okafor became CEO of Tidewater Labs in 2020."),
    chat("c1", ("2021-01-10", "I play for Kessaby Rovers."), ("2022-01-01", "I left Kessaby Rovers.")),
]  # fmt: skip


@pytest.fixture(scope="module")
def neo4j_memory(neo4j_store: Neo4jStore, spacy_extractor: SpacyExtractor,
                 embedder: CachedEmbedder) -> Iterator[Memory]:  # fmt: skip
    """One ingestion for the module's Neo4j tests (they only read)."""
    namespace = f"t{uuid.uuid4().hex[:12]}"
    memory = Memory(neo4j_store, namespace, extractor=spacy_extractor, embedder=embedder)
    ingest(memory, SOURCES)
    memory.reconsolidate(now=NOW)
    yield memory
    neo4j_store.delete_namespace(namespace)


@pytest.fixture(scope="module")
def cypher(neo4j_settings: Neo4jSettings) -> Iterator[Any]:
    s = neo4j_settings
    with neo4j.GraphDatabase.driver(s.uri, auth=(s.user, s.password)) as driver:

        def run(name: str, **params: object) -> list[dict[str, Any]]:
            records, _, _ = driver.execute_query(load(name), params, database_=s.database)
            return [r.data() for r in records]

        yield run


def _native(value: object) -> object:
    return value.to_native() if hasattr(value, "to_native") else value


@pytest.mark.neo4j
@pytest.mark.parametrize(("subject", "predicate", "as_of", "include_expired"), [
    (None, None, None, False), (None, None, None, True), ("Ana Lund", None, None, False),
    ("Ana Lund", None, "2020-01-01", False), ("Ana Lund", None, "2020-06-01", True),
    ("Ana Lund", "live_in", None, True),
    (None, "ceo_of", "2019-12-31", False), (None, "work_at", "2012-06-01", False), (None, None, "2022-06-01", False),
])  # fmt: skip
def test_facts_as_of_cypher_answers_as_memory_facts(neo4j_memory: Memory, cypher: Any, subject: str | None,
                                                    predicate: str | None, as_of: str | None,
                                                    include_expired: bool) -> None:  # fmt: skip
    subject_id = neo4j_memory.history(subject).entity_ids[0] if subject else None
    when = day(as_of) if as_of else None
    expected = neo4j_memory.facts(subject_id, predicate, as_of=when, include_expired=include_expired)
    rows = cypher("temporal/facts_as_of", namespace=neo4j_memory.namespace, subject_id=subject_id,
                  predicate=predicate, as_of=when, include_expired=include_expired, now=None)  # fmt: skip
    assert [r["id"] for r in rows] == [f.id for f in expected] and expected
    assert [_native(r["valid_to"]) for r in rows] == [f.valid_to for f in expected]


@pytest.mark.neo4j
@pytest.mark.parametrize("entity", ["Ana Lund", "Tidewater Labs", "Ivy Chen"])
def test_entity_history_cypher_answers_as_memory_history(neo4j_memory: Memory, cypher: Any, entity: str) -> None:
    timeline = neo4j_memory.history(entity)
    rows = cypher("temporal/entity_history", namespace=neo4j_memory.namespace, entity_id=timeline.entity_ids[0])
    assert [r["id"] for r in rows] == [e.fact.id for e in timeline.entries]
    for row, entry in zip(rows, timeline.entries, strict=True):
        assert sorted((s["fact_id"], s["rule"], _native(s["valid_to"])) for s in row["superseded_by"]) == sorted(
            (s.by_id, s.rule, s.valid_to) for s in entry.superseded_by)  # fmt: skip
        assert sorted(s["fact_id"] for s in row["supersedes"]) == sorted(s.fact_id for s in entry.supersedes)
    assert any(row["superseded_by"] for row in rows) or entity == "Ivy Chen"


def test_cli_reconsolidate_facts_and_history(tmp_path: Path, spacy_extractor: SpacyExtractor, embedder: CachedEmbedder,
                                             capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    path = tmp_path / "graph.sqlite3"
    store = EmbeddedStore(path)
    ingest(Memory(store, "cli", extractor=spacy_extractor, embedder=embedder), SOURCES[:2])
    store.close()
    where = ["--store", str(path), "--namespace", "cli"]
    assert main(["reconsolidate", *where, "--now", "2025-01-01"]) == 0
    assert "0 merged, 1 superseded" in capsys.readouterr().out
    assert main(["reconsolidate", *where, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["superseded"], report["facts_written"], report["dirty"]) == (0, 0, 0)
    assert main(["history", "Ana Lund", *where]) == 0
    out = capsys.readouterr().out
    assert "2019-03-01 .. 2021-06-01  Ana Lund —live_in→ Brill" in out
    assert "superseded by Ana Lund —move_to→ Oslo (single_valued:residence; evidence p:" in out
    assert main(["facts", "Ana Lund", "--as-of", "2020-01-01", *where]) == 0
    assert capsys.readouterr().out.strip() == "2019-03-01 .. 2021-06-01  Ana Lund —live_in→ Brill [retired 2025-01-01]"
    assert main(["facts", "Ana Lund", *where, "--json"]) == 0
    assert [f["predicate"] for f in json.loads(capsys.readouterr().out)] == ["move_to"]
    assert main(["history", "Ana Lund", *where, "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["facts"]) == 2
    assert main(["history", "Nobody Here", *where]) == 1


@pytest.mark.neo4j
def test_times_in_cypher_params_are_utc(neo4j_memory: Memory, cypher: Any) -> None:
    """A naive as_of means UTC in Memory.facts; Cypher needs it zoned: the same instant gives the same rows."""
    naive = datetime(2020, 1, 1)
    rows = cypher("temporal/facts_as_of", namespace=neo4j_memory.namespace, subject_id=None, predicate=None,
                  as_of=day("2020-01-01"), include_expired=False, now=None)  # fmt: skip
    assert [r["id"] for r in rows] == [f.id for f in neo4j_memory.facts(as_of=naive)]
