"""Re-ingestion keeps what reconsolidation decided: a restated old fact does not look current until the next run.
And the SUPERSEDED_BY links a run stores conform to their JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from temporal_kit import NOW, day, doc, find, ingest, links

from graphmem.graph import supersession_from_edge
from graphmem.memory import Memory
from graphmem.records import Supersession

REPO = Path(__file__).resolve().parents[2]

A = "Ana Lund"
BRILL, OSLO = (A, "live_in", "Brill"), (A, "move_to", "Oslo")


def test_restating_a_retired_fact_keeps_it_retired_until_the_next_run(memory: Memory) -> None:
    ingest(memory, [doc("d1", "2015-01-01", "Ana Lund lives in Brill."),
                    doc("d2", "2018-01-01", "Ana Lund moved to Oslo.")])  # fmt: skip
    memory.reconsolidate(now=NOW)
    retired = find(memory, BRILL)
    assert (retired.valid_to, retired.expired_at) == (day("2018-01-01"), NOW)

    ingest(memory, [doc("d3", "2016-01-01", "Ana Lund lives in Brill.")])  # restated by an older source
    restated = find(memory, BRILL)
    assert len(restated.provenance) == 2
    assert (restated.valid_from, restated.valid_to, restated.expired_at) == (day("2015-01-01"), day("2018-01-01"), NOW)
    assert restated.reconsolidated is None  # unmarked, so the next run checks it again
    assert [(f.predicate, f.object_name) for f in memory.facts(A)] == [("move_to", "Oslo")]

    report = memory.reconsolidate(now=day("2026-01-01"))
    assert (report.dirty, report.superseded, report.reinstated) == (1, 0, 0)
    after = find(memory, BRILL)
    assert (after.valid_to, after.expired_at) == (day("2018-01-01"), NOW) and after.reconsolidated is not None
    assert links(memory) == {(BRILL, OSLO, "single_valued:residence")}


def test_a_retired_fact_restated_after_its_rival_is_reinstated_by_the_next_run(memory: Memory) -> None:
    ingest(memory, [doc("d1", "2015-01-01", "Ana Lund lives in Brill."),
                    doc("d2", "2018-01-01", "Ana Lund moved to Oslo.")])  # fmt: skip
    memory.reconsolidate(now=NOW)
    ingest(memory, [doc("d3", "2022-01-01", "Ana Lund lives in Brill.")])  # newer than the move
    assert find(memory, BRILL).expired_at == NOW  # still retired: only a run decides it holds again
    report = memory.reconsolidate(now=day("2026-01-01"))
    brill = find(memory, BRILL)
    assert report.reinstated == 1 and (brill.valid_to, brill.expired_at) == (None, None)
    assert ("live_in", "Brill") in {(f.predicate, f.object_name) for f in memory.facts(A)}


def test_stored_links_conform_to_the_supersession_schema(memory: Memory) -> None:
    schema = json.loads((REPO / "schemas" / "record.supersession.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    ingest(memory, [doc("d1", "2015-01-01", "Ana Lund lives in Brill."),
                    doc("d2", "2018-01-01", "Ana Lund moved to Oslo.")])  # fmt: skip
    memory.reconsolidate(now=NOW)
    edges = [supersession_from_edge(e) for e in memory.store.iter_edges(memory.namespace, Supersession.TYPE)]
    assert len(edges) == 1
    for edge in edges:
        validator.validate(edge.model_dump(mode="json"))
    assert not validator.is_valid({"fact_id": "f:1", "by_id": "f:2", "rule": ""})  # an empty rule, no expired_at
