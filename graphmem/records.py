"""The graph model: pydantic records shared by every stage.

Each record knows its node label and how to become store nodes and edges
(see ``graphmem.graph``). Every record carries a ``namespace`` (the tenant).
Timestamps are timezone-aware UTC datetimes; naive ones are read as UTC.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

MAX_ID_CHARS = 512
MAX_NAME_CHARS = 1_000
MAX_TEXT_CHARS = 200_000
MAX_SENTENCE_CHARS = 20_000


def _utc(value: datetime) -> datetime:
    # Naive datetimes are taken as UTC so that both stores compare them the same way.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]
Namespace = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")]
RecordId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_CHARS)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_CHARS)]
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS)]
Sentence = Annotated[str, StringConstraints(max_length=MAX_SENTENCE_CHARS)]
Predicate = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Confidence = Annotated[float, Field(ge=0.0, le=1.0)]

DEFAULT_NAMESPACE = "default"

# How far a source is believed (graphmem.trust): flagged passages of sources short of "trusted" are not retrieved.
TrustLevel = Literal["trusted", "normal", "untrusted"]
TRUST_LEVELS: tuple[TrustLevel, ...] = ("trusted", "normal", "untrusted")  # most trusted first


def content_id(prefix: str, *parts: str) -> str:
    """A stable id from content: the same parts always give the same id."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:24]
    return f"{prefix}:{digest}"


def utc_now() -> datetime:
    return datetime.now(UTC)


class Record(BaseModel):
    """Base of every stored record: an id unique within its namespace."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    LABEL: ClassVar[str]

    id: RecordId
    namespace: Namespace = DEFAULT_NAMESPACE


class Document(Record):
    LABEL: ClassVar[str] = "Document"

    title: Name | None = None
    source: Annotated[str, StringConstraints(max_length=4_096)] | None = None
    trust: TrustLevel = "normal"
    date: UtcDatetime | None = None
    content_hash: Annotated[str, StringConstraints(max_length=128)] | None = None
    char_count: Annotated[int, Field(ge=0)] = 0
    metadata: dict[str, str | int | float | bool] = Field(default_factory=dict)


class Screened(Record):
    """A passage or turn, with its source's trust level and what in it reads as instructions to an agent
    (graphmem.extract.injection); ``flagged`` is true exactly when ``flags`` is not empty."""

    trust: TrustLevel = "normal"
    flags: list[Sentence] = Field(default_factory=list)
    flagged: bool = False

    @model_validator(mode="before")
    @classmethod
    def _flagged_when_flags(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = {**data, "flagged": bool(data.get("flags"))}
        return data


class Passage(Screened):
    """A chunk of a document; ``start``/``end`` are character offsets into the document text."""

    LABEL: ClassVar[str] = "Passage"

    document_id: RecordId
    text: Text
    start: Annotated[int, Field(ge=0)]
    end: Annotated[int, Field(ge=0)]
    position: Annotated[int, Field(ge=0)] = 0
    title: Name | None = None
    date: UtcDatetime | None = None

    @model_validator(mode="after")
    def _offsets_in_order(self) -> Passage:
        if self.end < self.start:
            raise ValueError(f"passage end offset {self.end} is before its start {self.start}")
        return self


class Dialogue(Record):
    LABEL: ClassVar[str] = "Dialogue"

    title: Name | None = None
    source: Annotated[str, StringConstraints(max_length=4_096)] | None = None
    trust: TrustLevel = "normal"
    content_hash: Annotated[str, StringConstraints(max_length=128)] | None = None
    participants: list[Name] = Field(default_factory=list)


class Session(Record):
    LABEL: ClassVar[str] = "Session"

    dialogue_id: RecordId
    timestamp: UtcDatetime
    position: Annotated[int, Field(ge=0)] = 0


class Turn(Screened):
    """One utterance: a passage of its own, tied to its session (time) and speaker."""

    LABEL: ClassVar[str] = "Turn"

    dialogue_id: RecordId
    session_id: RecordId
    speaker: Name
    text: Text
    timestamp: UtcDatetime
    position: Annotated[int, Field(ge=0)] = 0
    turn_ref: Annotated[str, StringConstraints(max_length=MAX_ID_CHARS)] | None = None


class Entity(Record):
    LABEL: ClassVar[str] = "Entity"

    name: Name
    key: Name
    type: Annotated[str, StringConstraints(max_length=64)] = "THING"
    aliases: list[Name] = Field(default_factory=list)
    document_ids: list[RecordId] = Field(default_factory=list)


class Statement(Record):
    """What facts and hyperedges share: the sentence, bi-temporal validity and provenance.

    ``valid_from``/``valid_to``: when it held in the world. ``recorded_at``/``expired_at``:
    when graphmem learned it and retired it. ``provenance``: the passages and turns stating it.
    """

    predicate: Predicate
    sentence: Sentence = ""
    valid_from: UtcDatetime | None = None
    valid_to: UtcDatetime | None = None
    recorded_at: UtcDatetime = Field(default_factory=utc_now)
    expired_at: UtcDatetime | None = None
    provenance: list[RecordId] = Field(default_factory=list)
    confidence: Confidence = 1.0
    document_ids: list[RecordId] = Field(default_factory=list)

    @model_validator(mode="after")
    def _validity_in_order(self) -> Statement:
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError("fact valid_to is before valid_from")
        return self


class Fact(Statement):
    """A subject–predicate–object triple."""

    LABEL: ClassVar[str] = "Fact"

    subject_id: RecordId
    object_id: RecordId
    subject_name: Name | None = None
    object_name: Name | None = None
    # The digest of the rules the last reconsolidation checked this fact under (graphmem.temporal).
    # Ingestion writes facts without it, so a fact written since the last run is known to need a look.
    reconsolidated: Annotated[str, StringConstraints(max_length=128)] | None = None


class Participant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entity_id: RecordId
    role: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class Hyperedge(Statement):
    """An n-ary fact: one node joined to all its participants, each in a role."""

    LABEL: ClassVar[str] = "Hyperedge"

    participants: Annotated[list[Participant], Field(min_length=2)]


class Community(Record):
    """A cluster of entities at one level of the hierarchy (graphmem.communities); level 0 is the coarsest.

    ``member_ids`` are its entities (each also has an IN_COMMUNITY edge to it), ``fact_ids`` the top facts
    joining them and ``passage_ids`` the passages and turns those facts come from. ``component`` digests the
    connected component it was clustered from, so that a later run re-clusters only components that changed.
    """

    LABEL: ClassVar[str] = "Community"

    level: Annotated[int, Field(ge=0)]
    parent_id: RecordId | None = None
    child_ids: list[RecordId] = Field(default_factory=list)
    size: Annotated[int, Field(ge=0)] = 0
    member_ids: list[RecordId] = Field(default_factory=list)
    fact_ids: list[RecordId] = Field(default_factory=list)
    passage_ids: list[RecordId] = Field(default_factory=list)
    title: Name | None = None
    summary: Text = ""
    summary_by: Annotated[str, StringConstraints(max_length=32)] = "extractive"
    component: Annotated[str, StringConstraints(max_length=128)] | None = None


class Mention(BaseModel):
    """Edge-only record: a passage or turn mentions an entity (HippoRAG's context edge)."""

    model_config = ConfigDict(extra="forbid")

    TYPE: ClassVar[str] = "MENTIONS"

    namespace: Namespace = DEFAULT_NAMESPACE
    passage_id: RecordId
    entity_id: RecordId
    count: Annotated[int, Field(ge=1)] = 1


class Synonym(BaseModel):
    """Edge-only record: two entities whose names are near-duplicates."""

    model_config = ConfigDict(extra="forbid")

    TYPE: ClassVar[str] = "SYNONYM"

    namespace: Namespace = DEFAULT_NAMESPACE
    entity_id: RecordId
    other_id: RecordId
    score: Confidence


class Supersession(BaseModel):
    """Edge-only record: an older fact retired by a newer one, or merged into its duplicate.

    ``rule`` names the reconsolidation rule that decided it and ``evidence`` the passages and turns
    it relied on, so a person can audit it. ``valid_to`` is when the old fact stopped holding (None
    for a merge). A later run that no longer supports the link sets ``retracted_at``; nothing is deleted.
    """

    model_config = ConfigDict(extra="forbid")

    TYPE: ClassVar[str] = "SUPERSEDED_BY"

    namespace: Namespace = DEFAULT_NAMESPACE
    fact_id: RecordId
    by_id: RecordId
    rule: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    evidence: list[RecordId] = Field(default_factory=list)
    valid_to: UtcDatetime | None = None
    expired_at: UtcDatetime
    retracted_at: UtcDatetime | None = None


NODE_RECORDS: tuple[type[Record], ...] = (
    Document,
    Passage,
    Dialogue,
    Session,
    Turn,
    Entity,
    Fact,
    Hyperedge,
    Community,
)
RECORD_BY_LABEL: dict[str, type[Record]] = {cls.LABEL: cls for cls in NODE_RECORDS}
