"""Input formats graphmem reads, as pydantic models (their JSON Schemas live in ``schemas/``).

- Documents JSONL: one ``DocumentInput`` per line.
- Dialogue JSON: one ``DialogueInput`` (or a list of them) per file.
- Plain ``.txt``/``.md`` files: the first line (``# `` stripped) is the title, the rest the text.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from graphmem.records import MAX_ID_CHARS, MAX_NAME_CHARS, TrustLevel, UtcDatetime

MAX_DOCUMENT_CHARS = 50_000_000

InputId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_CHARS)]
Title = Annotated[str, StringConstraints(max_length=MAX_NAME_CHARS)]


def _as_datetime(value: datetime | date) -> datetime:
    return value if isinstance(value, datetime) else datetime.combine(value, time())


DateOrDatetime = Annotated[UtcDatetime | date, AfterValidator(_as_datetime)]


class DocumentInput(BaseModel):
    """A document to ingest; ``date`` is when it was written (an ISO date or datetime). ``trust``: how far its
    source is believed ("trusted", "normal" or "untrusted"); absent, ingestion's default for its kind applies."""

    model_config = ConfigDict(extra="forbid")

    id: InputId
    title: Title | None = None
    text: Annotated[str, StringConstraints(max_length=MAX_DOCUMENT_CHARS)]
    date: DateOrDatetime | None = None
    source: Annotated[str, StringConstraints(max_length=4_096)] | None = None
    trust: TrustLevel | None = None


class TurnInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: InputId | None = None
    speaker: Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_CHARS)]
    text: Annotated[str, StringConstraints(max_length=200_000)]


class SessionInput(BaseModel):
    """A sitting of a dialogue; ``date`` anchors relative times said in it."""

    model_config = ConfigDict(extra="forbid")

    id: InputId | None = None
    date: DateOrDatetime
    turns: list[TurnInput] = Field(default_factory=list)


class DialogueInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: InputId
    title: Title | None = None
    participants: list[Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_CHARS)]] = Field(
        default_factory=list
    )
    sessions: Annotated[list[SessionInput], Field(min_length=1)]
    source: Annotated[str, StringConstraints(max_length=4_096)] | None = None
    trust: TrustLevel | None = None  # as for documents
