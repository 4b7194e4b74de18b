"""Reconsolidation over time, on both stores: idempotent, order-free, incremental, never deleting; and the
point-in-time queries and timelines built on it."""

from __future__ import annotations

import random
from typing import Any

import pytest
from temporal_kit import ME, NOW, chat, day, doc, find, ingest, links, state

from graphmem.embed import CachedEmbedder
from graphmem.extract.spacy_extractor import SpacyExtractor
from graphmem.graph_digest import graph_digest
from graphmem.index import epoch_seconds
from graphmem.memory import Memory
from graphmem.store import GraphStore

A = "Ana Lund"
LIFE = [  # ME's sessions, one dialogue each, as a user's chats arrive
    ("2020-01-10", "I live in Brill. I work at Orrin Shipworks. I drive a Volvo."),
    ("2020-08-02", "My boyfriend is Tom."),
    ("2021-03-15", "I moved to Oslo last month."),
    ("2021-11-20", "I quit Orrin Shipworks. I now drive a Tesla."),
    ("2022-06-01", "Tom and I broke up in May."),
    ("2023-02-14", "I work at Tidewater Labs. My boyfriend is Sam."),
    ("2023-09-09", "I no longer work at Tidewater Labs."),
]


MOVE = [doc("d1", "2019-03-01", "Ana Lund lives in Brill."), doc("d2", "2021-06-01", "Ana Lund moved to Oslo.")]


def life(order: list[int]) -> list[dict[str, Any]]:
    return [chat(f"life-{i}", LIFE[i]) for i in order]


def test_reconsolidating_twice_changes_nothing(memory: Memory, store: GraphStore, ns: str) -> None:
    ingest(memory, [*life(list(range(len(LIFE)))), doc("d1", "2019-03-01", "Ana Lund lives in Brill."),
                    doc("d2", "2021-06-01", "Ana Lund works for Orrin Shipworks."),
                    doc("d3", "2015-04-01", "Ana Lund is the CEO of Tidewater Labs.")])  # fmt: skip
    first = memory.reconsolidate(now=NOW)
    assert first.superseded == 5 and first.merged == 1 and first.facts_written == first.checked
    digest, revision = graph_digest(store, ns), store.revision(ns)
    for full in (False, True):
        again = memory.reconsolidate(now=day("2030-01-01"), full=full)
        assert (again.merged, again.superseded, again.reinstated, again.retracted) == (0, 0, 0, 0)
        assert (again.facts_written, again.edges_written) == (0, 0)
        assert graph_digest(store, ns) == digest and store.revision(ns) == revision


def test_sessions_in_any_order_end_in_the_same_current_facts(
    store: GraphStore, ns: str, spacy_extractor: SpacyExtractor, embedder: CachedEmbedder
) -> None:
    def run(namespace: str, order: list[int], each: bool) -> Memory:
        memory = Memory(store, namespace, extractor=spacy_extractor, embedder=embedder)
        for i in order:
            ingest(memory, life([i]))
            if each:
                memory.reconsolidate(now=NOW)
        memory.reconsolidate(now=NOW)
        return memory

    chronological = run(ns, list(range(len(LIFE))), each=False)
    shuffled = list(range(len(LIFE)))
    random.Random(7).shuffle(shuffled)
    expected = state(chronological)
    assert state(run(f"{ns}-b", shuffled, each=True)) == expected
    assert state(run(f"{ns}-c", shuffled[::-1], each=False)) == expected
    current = {(f.predicate, f.object_name) for f in chronological.facts(ME)}
    assert {("move_to", "Oslo"), ("drive", "Tesla"), ("boyfriend", "Sam")} <= current
    gone = {("live_in", "Brill"), ("work_at", "Orrin Shipworks"), ("drive", "Volvo"), ("boyfriend", "Tom"),
            ("work_at", "Tidewater Labs")}  # fmt: skip
    assert not gone & current


def test_only_subjects_touched_since_the_last_run_are_checked(memory: Memory) -> None:
    ingest(memory, [doc("d1", "2019-01-01", "Ana Lund lives in Brill."),
                    doc("d2", "2019-01-01", "Bo Ek lives in Oslo.")])  # fmt: skip
    assert memory.reconsolidate(now=NOW).subjects == 2
    ingest(memory, [doc("d3", "2022-01-01", "Bo Ek moved to Bergen.")])
    report = memory.reconsolidate(now=NOW)
    assert (report.subjects, report.dirty, report.checked, report.superseded) == (1, 1, 2, 1)
    assert links(memory) == {(("Bo Ek", "live_in", "Oslo"), ("Bo Ek", "move_to", "Bergen"), "single_valued:residence")}


def test_forgetting_the_newer_source_reinstates_the_older_fact(memory: Memory) -> None:
    ingest(memory, MOVE)
    memory.reconsolidate(now=NOW)
    memory.forget_document("d2")
    report = memory.reconsolidate(now=day("2025-02-01"))
    brill = find(memory, (A, "live_in", "Brill"))
    assert (brill.valid_to, brill.expired_at, report.reinstated) == (None, None, 1)
    assert links(memory) == set()


def test_a_restated_old_fact_keeps_when_it_was_retired(memory: Memory) -> None:
    ingest(memory, [doc("d1", "2015-01-01", "Ana Lund lives in Brill."),
                    doc("d2", "2018-01-01", "Ana Lund moved to Oslo.")])  # fmt: skip
    memory.reconsolidate(now=NOW)
    ingest(memory, [doc("d3", "2016-01-01", "Ana Lund lives in Brill.")])  # ingestion rewrites the fact
    report = memory.reconsolidate(now=day("2026-01-01"))
    brill = find(memory, (A, "live_in", "Brill"))
    assert (brill.valid_from, brill.valid_to, brill.expired_at) == (day("2015-01-01"), day("2018-01-01"), NOW)
    assert len(brill.provenance) == 2 and report.superseded == 0
    assert links(memory) == {((A, "live_in", "Brill"), (A, "move_to", "Oslo"), "single_valued:residence")}


def test_facts_now_and_as_of(memory: Memory) -> None:
    ingest(memory, [*MOVE, doc("d3", "2019-02-01", "Dev Patel works at Tidewater Labs."),
                    doc("d4", "2020-05-01", "Dev Patel works for Tidewater Labs.")])  # fmt: skip

    def names(**kwargs: Any) -> list[tuple[str, str]]:
        return [(f.predicate, str(f.object_name)) for f in memory.facts(**kwargs)]

    assert names(subject=A) == [("live_in", "Brill"), ("move_to", "Oslo")]  # nothing retired before a run
    memory.reconsolidate(now=NOW)
    assert names(subject=A) == [("move_to", "Oslo")]
    assert names(subject=A, as_of=day("2020-01-01")) == [("live_in", "Brill")]
    assert names(subject=A, as_of=day("2021-06-01")) == [("move_to", "Oslo")]  # valid_to is exclusive
    assert names(subject=A, as_of=day("2019-01-01")) == []
    assert names(subject=A, include_expired=True) == [("live_in", "Brill"), ("move_to", "Oslo")]
    assert names(subject=A, predicate="live_in", as_of=day("2020-01-01")) == [("live_in", "Brill")]
    assert names(subject="Dev Patel", as_of=day("2020-06-01")) == [("work_at", "Tidewater Labs")]
    assert names(subject="Dev Patel", as_of=day("2020-06-01"), include_expired=True) == [
        ("work_at", "Tidewater Labs"), ("work_for", "Tidewater Labs")]  # fmt: skip
    assert names(subject="nobody at all") == []
    assert ("move_to", "Oslo") in names() and ("live_in", "Brill") not in names()


def test_history_is_a_timeline_with_what_superseded_what(memory: Memory) -> None:
    ingest(memory, [chat("c1", ("2021-01-10", "I work at the Brindlemoss Institute."),
                         ("2022-03-20", "I no longer work at the institute."))])  # fmt: skip
    memory.reconsolidate(now=NOW)
    timeline = memory.history(ME)
    entries = [(e.fact.predicate, e.fact.object_name) for e in timeline.entries]
    assert entries.index(("work_at", "Brindlemoss Institute")) < entries.index(("not_work_at", "institute"))
    worked = next(e for e in timeline.entries if e.fact.predicate == "work_at")
    negated = next(e for e in timeline.entries if e.fact.predicate == "not_work_at")
    assert [(s.by_id, s.rule, s.evidence, s.valid_to) for s in worked.superseded_by] == [
        (negated.fact.id, "negation", ["c1/s2-t1"], day("2022-03-20"))]  # fmt: skip
    assert [s.fact_id for s in negated.supersedes] == [worked.fact.id]
    text = "\n".join(timeline.lines())
    assert "2021-01-10 .. 2022-03-20" in text and "superseded by Ana Lund —not_work_at→ institute (negation" in text
    assert timeline.to_dict()["facts"][0]["statements"] == 1
    assert memory.history("nobody at all").entries == []


def test_the_retrieval_index_follows_reconsolidation(memory: Memory) -> None:
    ingest(memory, MOVE)
    memory.index()
    memory.reconsolidate(now=NOW)
    index = memory.index()
    row = next(i for i, f in enumerate(index.facts) if f[3] == find(memory, (A, "live_in", "Brill")).id)
    assert index.origin == "incremental"
    assert index.fact_valid_to[row] == epoch_seconds(day("2021-06-01"))
    assert index.fact_expired_at[row] == epoch_seconds(NOW)


@pytest.mark.parametrize("full", [False, True])
def test_nothing_is_ever_deleted(memory: Memory, store: GraphStore, ns: str, full: bool) -> None:
    ingest(memory, life(list(range(len(LIFE)))))
    before = store.counts(ns)
    memory.reconsolidate(now=NOW, full=full)
    after = store.counts(ns)
    assert after.nodes == before.nodes
    assert {k: v for k, v in after.edges.items() if k != "SUPERSEDED_BY"} == before.edges
    assert after.edges["SUPERSEDED_BY"] >= 5
