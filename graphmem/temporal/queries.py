"""Point-in-time reads over any GraphStore: the facts valid at a time, and an entity's timeline.

``facts_at`` and ``entity_history``; ``cypher/temporal/facts_as_of.cypher`` and ``entity_history.cypher`` are the
same queries for Neo4j users.

Which facts count:
- ``as_of=None``: the facts current now: not retired (``expired_at`` unset) and not ended (``valid_to``
  unset or later). ``include_expired=True``: every fact.
- ``as_of=t``: the facts that held at ``t``: ``valid_from <= t < valid_to`` (an unknown bound is open).
  A superseded fact held until it was superseded, so it counts before then. A fact merged into its
  duplicate is left out (the duplicate speaks for it) unless ``include_expired``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from graphmem.graph import from_node, supersession_from_edge
from graphmem.records import Entity, Fact, Supersession, utc_now
from graphmem.resolve import entity_id, normalise_key
from graphmem.store import GraphStore


def find_entities(store: GraphStore, namespace: str, name: str) -> list[Entity]:
    """The entities a name or id stands for: by id, by normalised key, else by key or alias."""
    direct = [n for n in store.get_nodes(namespace, [name, entity_id(normalise_key(name))]) if n.label == "Entity"]
    if direct:
        return [e for e in map(from_node, direct[:1]) if isinstance(e, Entity)]
    key = normalise_key(name)
    found = []
    for node in store.iter_nodes(namespace, "Entity"):
        entity = from_node(node)
        if isinstance(entity, Entity) and (entity.key == key or key in {normalise_key(a) for a in entity.aliases}):
            found.append(entity)
    return found


def _facts_of(store: GraphStore, namespace: str, entity_ids: Sequence[str], roles: Iterable[str]) -> list[Fact]:
    edges = store.neighbours(namespace, entity_ids, roles)
    ids = sorted({e.source for e in edges if e.target in set(entity_ids)})
    return [f for f in map(from_node, store.get_nodes(namespace, ids)) if isinstance(f, Fact)]


def _links(store: GraphStore, namespace: str, fact_ids: Sequence[str] | None) -> list[Supersession]:
    if fact_ids is None:
        edges = store.iter_edges(namespace, Supersession.TYPE)
    else:
        edges = iter(store.neighbours(namespace, fact_ids, [Supersession.TYPE]))
    return [supersession_from_edge(e) for e in edges]


def holds(fact: Fact, as_of: datetime | None, now: datetime) -> bool:
    """Whether a fact held at ``as_of`` (by its validity), or, with None, whether it is current at ``now``."""
    if as_of is None:
        return fact.expired_at is None and (fact.valid_to is None or fact.valid_to > now)
    return (fact.valid_from is None or fact.valid_from <= as_of) and (fact.valid_to is None or as_of < fact.valid_to)


def _last_if_none(value: str | None) -> tuple[bool, str]:
    return (value is None, value or "")  # as Cypher's ORDER BY puts nulls last


def _order(fact: Fact) -> tuple[object, ...]:
    start = fact.valid_from.isoformat() if fact.valid_from else None
    return (_last_if_none(fact.subject_name), fact.predicate, _last_if_none(start),
            _last_if_none(fact.object_name), fact.id)  # fmt: skip


def facts_at(store: GraphStore, namespace: str, subject: str | None = None, predicate: str | None = None,
             as_of: datetime | None = None, include_expired: bool = False,
             now: datetime | None = None) -> list[Fact]:  # fmt: skip
    """The facts about ``subject`` (a name or an entity id; None for all) with ``predicate`` (None for all)
    that hold ``as_of`` a time or now (see the module's docstring), by subject, predicate and start."""
    now = now or utc_now()
    if as_of is not None and as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=UTC)  # naive times are UTC, as in the records
    if subject is not None:
        ids = [e.id for e in find_entities(store, namespace, subject)]
        found = _facts_of(store, namespace, ids, ["SUBJECT"]) if ids else []
    else:
        found = [f for f in map(from_node, store.iter_nodes(namespace, "Fact")) if isinstance(f, Fact)]
    found = [f for f in found if predicate is None or f.predicate == predicate]
    if as_of is None and include_expired:
        return sorted(found, key=_order)
    merged: set[str] = set()
    if as_of is not None and not include_expired and found:
        links = _links(store, namespace, [f.id for f in found] if subject is not None else None)
        merged = {s.fact_id for s in links if s.rule == "duplicate" and s.retracted_at is None}
    return sorted((f for f in found if f.id not in merged and holds(f, as_of, now)), key=_order)


@dataclass
class HistoryEntry:
    """One fact in a timeline, with the links that retired it and those it retired."""

    fact: Fact
    superseded_by: list[Supersession] = field(default_factory=list)
    supersedes: list[Supersession] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        f = self.fact
        return {
            "id": f.id, "subject": f.subject_name, "predicate": f.predicate, "object": f.object_name,
            "valid_from": f.valid_from, "valid_to": f.valid_to, "recorded_at": f.recorded_at,
            "expired_at": f.expired_at, "provenance": f.provenance, "statements": len(f.provenance),
            "superseded_by": [s.model_dump(exclude={"namespace"}) for s in self.superseded_by],
            "supersedes": [s.model_dump(exclude={"namespace"}) for s in self.supersedes],
        }  # fmt: skip


@dataclass
class History:
    """An entity's timeline: the facts it is the subject or object of, oldest first."""

    entity: str
    entity_ids: list[str]
    entries: list[HistoryEntry]

    def to_dict(self) -> dict[str, object]:
        return {"entity": self.entity, "entity_ids": self.entity_ids, "facts": [e.to_dict() for e in self.entries]}

    def lines(self) -> list[str]:
        """The timeline as text: one line per fact, then what retired it and why."""
        names = {e.fact.id: f"{e.fact.subject_name} —{e.fact.predicate}→ {e.fact.object_name}" for e in self.entries}
        out = []
        for entry in self.entries:
            f = entry.fact
            start = f"{f.valid_from:%Y-%m-%d}" if f.valid_from else "?"
            end = f"{f.valid_to:%Y-%m-%d}" if f.valid_to else ("now" if f.expired_at is None else "?")
            state = "" if f.expired_at is None else f"  [retired {f.expired_at:%Y-%m-%d}]"
            out.append(f"{start} .. {end}  {names[f.id]}  ({len(f.provenance)}x){state}")
            for link in entry.superseded_by:
                if link.retracted_at is None:
                    by = names.get(link.by_id, link.by_id)
                    out.append(f"    superseded by {by} ({link.rule}; evidence {', '.join(link.evidence)})")
        return out


def entity_history(store: GraphStore, namespace: str, entity: str) -> History:
    """The timeline of ``entity`` (a name or an entity id): its facts by start, with what superseded what."""
    ids = [e.id for e in find_entities(store, namespace, entity)]
    found = _facts_of(store, namespace, ids, ["SUBJECT", "OBJECT"]) if ids else []
    links = _links(store, namespace, [f.id for f in found]) if found else []
    entries = {f.id: HistoryEntry(f) for f in found}
    for link in sorted(links, key=lambda s: (s.fact_id, s.by_id)):
        if link.fact_id in entries:
            entries[link.fact_id].superseded_by.append(link)
        if link.by_id in entries:
            entries[link.by_id].supersedes.append(link)

    def when(entry: HistoryEntry) -> tuple[object, ...]:
        f = entry.fact
        return (_last_if_none(f.valid_from.isoformat() if f.valid_from else None), f.predicate, f.id)

    return History(entity, ids, sorted(entries.values(), key=when))
