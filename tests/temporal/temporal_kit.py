"""Helpers for the temporal tests: sources to ingest, facts by name, the active SUPERSEDED_BY links."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from graphmem.graph import supersession_from_edge
from graphmem.memory import Memory
from graphmem.records import Fact, Supersession

NOW = datetime(2025, 1, 1, tzinfo=UTC)  # the runs' time: expired_at of what they retire
ME, YOU = "Ana Lund", "Ben Okafor"  # the two speakers of the scenario dialogues ("I" is the speaker)

Triple = tuple[str, str, str]  # subject name, predicate, object name


def day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def doc(doc_id: str, date: str, text: str) -> dict[str, Any]:
    return {"id": doc_id, "date": date, "text": text}


def chat(chat_id: str, *sessions: tuple[str, str]) -> dict[str, Any]:
    """A dialogue of ``ME`` (each session: its date and what ME says) with ``YOU`` listening."""
    return {"id": chat_id, "participants": [ME, YOU],
            "sessions": [{"id": f"s{i}", "date": date, "turns": [{"speaker": ME, "text": text}]}
                         for i, (date, text) in enumerate(sessions, 1)]}  # fmt: skip


@dataclass
class Step:
    """Ingest some sources (documents and dialogues), then reconsolidate unless told not to."""

    sources: list[dict[str, Any]]
    reconsolidate: bool = True


@dataclass
class Scenario:
    """Sources ingested in steps, and what must hold after: ``facts`` maps a triple to its exact
    (valid_from, valid_to, retired), and ``links`` is the exact set of active SUPERSEDED_BY links."""

    name: str
    steps: list[Step]
    facts: dict[Triple, tuple[str | None, str | None, bool]]
    links: set[tuple[Triple, Triple, str]] = field(default_factory=set)
    retracted: set[tuple[Triple, Triple]] = field(default_factory=set)
    note: str = ""  # which predicate the extractor emits, where it matters


def ingest(memory: Memory, sources: list[dict[str, Any]]) -> None:
    for source in sources:
        if "sessions" in source:
            memory.add_dialogue(source)
        else:
            memory.add_documents([source])


def all_facts(memory: Memory) -> list[Fact]:
    return [f for f in memory.records("Fact") if isinstance(f, Fact)]


def triple(fact: Fact) -> Triple:
    return (str(fact.subject_name), fact.predicate, str(fact.object_name))


def find(memory: Memory, wanted: Triple) -> Fact:
    found = [f for f in all_facts(memory) if triple(f) == wanted]
    assert len(found) == 1, (wanted, sorted(triple(f) for f in all_facts(memory)))
    return found[0]


def links(memory: Memory, active: bool = True) -> set[tuple[Triple, Triple, str]]:
    """The namespace's SUPERSEDED_BY links as (old, new, rule): the active ones, or the retracted ones."""
    by_id = {f.id: triple(f) for f in all_facts(memory)}
    out = set()
    for edge in memory.store.iter_edges(memory.namespace, Supersession.TYPE):
        link = supersession_from_edge(edge)
        if (link.retracted_at is None) == active:
            out.add((by_id[link.fact_id], by_id[link.by_id], link.rule))
    return out


def state(memory: Memory) -> tuple[list[tuple[object, ...]], list[tuple[str, str, str, object]]]:
    """What must not depend on ingestion order: the current facts (by ids) with their validity, and the links."""
    current = sorted((f.subject_id, f.predicate, f.object_id, f.valid_from, f.valid_to) for f in memory.facts())
    edges = sorted(
        (s.fact_id, s.by_id, s.rule, s.valid_to)
        for s in map(supersession_from_edge, memory.store.iter_edges(memory.namespace, Supersession.TYPE))
        if s.retracted_at is None
    )
    return current, edges
