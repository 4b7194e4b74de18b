"""What a retrieval returns (hits with provenance and paths, and why), and the steps' plain data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from graphmem.index import Unit
from graphmem.retrieve.linking import Link

Seeds = dict[int, tuple[float, str]]  # entity row -> (seed weight, how the query named it)


@dataclass
class Hit:
    unit: Unit
    score: float
    rank: int
    path: dict[str, Any] | None = None  # seed → unit chain (graph modes), see graphmem.retrieve.explain
    why: dict[str, Any] = field(default_factory=dict)  # the retrieval's explanation, on the first hit only


@dataclass
class Query:
    text: str
    vector: np.ndarray
    titles: dict[str, list[int]]  # quoted titles with no entity of their own -> their units
    links: dict[int, Link]  # entities named exactly (outside those titles)
    span_vectors: dict[str, np.ndarray]  # capitalised spans that matched no name exactly, embedded


@dataclass
class Walk:
    scores: np.ndarray  # per unit
    seeds: Seeds
    facts: list[dict[str, Any]]
    fallback: str | None  # why there was no walk
    flow: np.ndarray | None = None  # per graph node: visits over total edge weight, for the explanation


@dataclass
class Retrieval:
    """What one query returned, and why."""

    query: str
    mode: str
    hits: list[Hit]
    seeds: list[dict[str, Any]] = field(default_factory=list)  # entity, weight, how it was linked
    facts: list[dict[str, Any]] = field(default_factory=list)  # facts that seeded the walk
    fallback: str | None = None  # why a graph mode answered like dense
    as_of: datetime | None = None
    milliseconds: float = 0.0
    latest: list[dict[str, Any]] = field(default_factory=list)  # turns moved up as the newest on a topic

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data: the query, the explanation and every hit with its provenance and path."""
        hits = [{"rank": h.rank, "score": round(h.score, 6), "id": h.unit.id, "source": h.unit.source_id,
                 "title": h.unit.title, "start": h.unit.start, "end": h.unit.end, "speaker": h.unit.speaker,
                 "timestamp": h.unit.timestamp, "text": h.unit.text, "trust": h.unit.trust, "flags": list(h.unit.flags),
                 "path": h.path} for h in self.hits]  # fmt: skip
        return {"query": self.query, "mode": self.mode, "as_of": self.as_of, "seeds": self.seeds, "facts": self.facts,
                "fallback": self.fallback, "latest": self.latest, "milliseconds": round(self.milliseconds, 1),
                "hits": hits}  # fmt: skip

    def explanation(self) -> dict[str, Any]:
        return {"mode": self.mode, "seeds": self.seeds, "facts": self.facts, "fallback": self.fallback,
                "latest": self.latest, "paths": {h.unit.id: h.path for h in self.hits if h.path}}  # fmt: skip


@dataclass
class WalkStart:
    """A walk ready to run: its reset and bias vectors (graph nodes), seeds and the facts that seeded it."""

    reset: np.ndarray
    bias: np.ndarray | None
    seeds: Seeds
    facts: list[dict[str, Any]]
