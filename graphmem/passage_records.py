"""Passage records: documents into Document + Passage records, dialogues into Dialogue, Session and Turn.

Pure functions of the inputs; ids are stable, so the same input always yields the same records.
"""

from __future__ import annotations

import hashlib
import json

from graphmem.extract.injection import injection_reasons
from graphmem.graph import GraphRecord
from graphmem.passages import DEFAULT_MAX_WORDS, split_passages
from graphmem.records import Dialogue, Document, Passage, Session, TrustLevel, Turn
from graphmem.sources import DialogueInput, DocumentInput
from graphmem.texts import unit_text


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def document_records(doc: DocumentInput, namespace: str, max_words: int = DEFAULT_MAX_WORDS,
                     trust: TrustLevel | None = None) -> list[GraphRecord]:  # fmt: skip
    """A document and its passages, each screened for instruction-like text; ``trust``: the level resolved
    for it (graphmem.trust.TrustDefaults), else its own, else "normal"."""
    level = trust or doc.trust or "normal"
    document = Document(
        id=doc.id, namespace=namespace, title=doc.title, source=doc.source, date=doc.date,
        content_hash=text_hash(doc.text), char_count=len(doc.text), trust=level,
    )  # fmt: skip
    passages = [
        Passage(id=c.id, namespace=namespace, document_id=doc.id, text=c.text, start=c.start, end=c.end,
                position=c.position, title=doc.title, date=doc.date, trust=level, flags=injection_reasons(c.text))
        for c in split_passages(doc.id, doc.text, max_words)
    ]  # fmt: skip
    return [document, *passages]


def dialogue_hash(dialogue: DialogueInput) -> str:
    """The content's hash; the trust level is compared on its own (``source_state``)."""
    return text_hash(json.dumps(dialogue.model_dump(mode="json", exclude={"source", "trust"}), sort_keys=True))


def source_state(content_hash: object, trust: object) -> tuple[str, str]:
    """What decides whether a stored source is current: its content hash and its trust level (a node stored
    before trust levels existed reads as "normal")."""
    return str(content_hash), str(trust or "normal")


def dialogue_records(dialogue: DialogueInput, namespace: str, trust: TrustLevel | None = None) -> list[GraphRecord]:
    """A dialogue, its sessions and its turns. Turn ids are scoped by dialogue: ``<dialogue>/<turn>``.
    Turns are screened and get the trust level as passages do (``document_records``)."""
    level = trust or dialogue.trust or "normal"
    speakers = dict.fromkeys([*dialogue.participants, *(t.speaker for s in dialogue.sessions for t in s.turns)])
    out: list[GraphRecord] = [
        Dialogue(id=dialogue.id, namespace=namespace, title=dialogue.title, source=dialogue.source,
                 participants=list(speakers), content_hash=dialogue_hash(dialogue), trust=level)
    ]  # fmt: skip
    for s_index, session in enumerate(dialogue.sessions):
        session_id = f"{dialogue.id}/{session.id or f's{s_index + 1}'}"
        out.append(Session(id=session_id, namespace=namespace, dialogue_id=dialogue.id, timestamp=session.date,
                           position=s_index))  # fmt: skip
        for t_index, turn in enumerate(session.turns):
            ref = turn.id or f"{session.id or f's{s_index + 1}'}-t{t_index + 1}"
            out.append(Turn(id=f"{dialogue.id}/{ref}", namespace=namespace, dialogue_id=dialogue.id,
                            session_id=session_id, speaker=turn.speaker, text=turn.text, timestamp=session.date,
                            position=t_index, turn_ref=ref, trust=level,
                            flags=injection_reasons(turn.text)))  # fmt: skip
    return out


def embedding_text(unit: Passage | Turn) -> str:
    """What a unit is embedded as (graphmem.texts.unit_text)."""
    if isinstance(unit, Turn):
        return unit_text(unit.text, speaker=unit.speaker)
    return unit_text(unit.text, title=unit.title)
