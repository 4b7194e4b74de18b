"""What extractors read and return: plain data, no store, no model objects.

See CONVENTIONS.md beside this file for how arguments and predicates are formed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class PassageInput:
    """A passage or dialogue turn to extract from, with what resolves its references."""

    id: str
    text: str
    title: str | None = None  # the topic entity of a titled document
    date: datetime | None = None  # document date or session time: anchors relative dates
    speaker: str | None = None  # dialogue turns: "I" resolves to the speaker
    listeners: tuple[str, ...] = ()  # dialogue turns: "you" resolves to the only listener


@dataclass(frozen=True, slots=True)
class EntitySpan:
    """An entity named in a passage; start/end are -1 when it was resolved, not written."""

    text: str
    type: str
    start: int = -1
    end: int = -1


@dataclass(frozen=True, slots=True)
class Triple:
    subject: str
    predicate: str
    object: str
    subject_type: str = "THING"
    object_type: str = "THING"
    sentence: str = ""
    date: str | None = None  # ISO date qualifying the relation (when it held or happened)
    date_precision: str | None = None  # "day", "month" or "year"
    negated: bool = False
    confidence: float = 1.0


@dataclass(frozen=True, slots=True)
class Role:
    role: str
    text: str
    type: str = "THING"


@dataclass(frozen=True, slots=True)
class NaryRelation:
    """A clause joining three or more participants, kept whole as one hyperedge."""

    predicate: str
    roles: tuple[Role, ...]
    sentence: str = ""
    date: str | None = None
    confidence: float = 1.0


@dataclass(slots=True)
class PassageExtraction:
    passage_id: str
    entities: list[EntitySpan] = field(default_factory=list)
    triples: list[Triple] = field(default_factory=list)
    hyperedges: list[NaryRelation] = field(default_factory=list)


class Extractor(Protocol):
    """Turns passages into entities, triples and hyperedges; one result per passage, in order."""

    name: str

    def extract(self, passages: Sequence[PassageInput]) -> list[PassageExtraction]: ...
