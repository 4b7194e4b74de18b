"""Passage records: documents into Document + Passage records, dialogues into Dialogue, Session and Turn.

Pure functions of the inputs; ids are stable, so the same input always yields the same records.
"""

from __future__ import annotations

import hashlib
import json

from graphmem.graph import GraphRecord
from graphmem.passages import DEFAULT_MAX_WORDS, split_passages
from graphmem.records import Dialogue, Document, Passage, Session, Turn
from graphmem.sources import DialogueInput, DocumentInput
from graphmem.texts import unit_text


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def document_records(doc: DocumentInput, namespace: str, max_words: int = DEFAULT_MAX_WORDS) -> list[GraphRecord]:
    document = Document(
        id=doc.id, namespace=namespace, title=doc.title, source=doc.source, date=doc.date,
        content_hash=text_hash(doc.text), char_count=len(doc.text),
    )  # fmt: skip
    passages = [
        Passage(id=c.id, namespace=namespace, document_id=doc.id, text=c.text, start=c.start, end=c.end,
                position=c.position, title=doc.title, date=doc.date)
        for c in split_passages(doc.id, doc.text, max_words)
    ]  # fmt: skip
    return [document, *passages]


def dialogue_hash(dialogue: DialogueInput) -> str:
    return text_hash(json.dumps(dialogue.model_dump(mode="json", exclude={"source"}), sort_keys=True))


def dialogue_records(dialogue: DialogueInput, namespace: str) -> list[GraphRecord]:
    """A dialogue, its sessions and its turns. Turn ids are scoped by dialogue: ``<dialogue>/<turn>``."""
    speakers = dict.fromkeys([*dialogue.participants, *(t.speaker for s in dialogue.sessions for t in s.turns)])
    out: list[GraphRecord] = [
        Dialogue(id=dialogue.id, namespace=namespace, title=dialogue.title, source=dialogue.source,
                 participants=list(speakers), content_hash=dialogue_hash(dialogue))
    ]  # fmt: skip
    for s_index, session in enumerate(dialogue.sessions):
        session_id = f"{dialogue.id}/{session.id or f's{s_index + 1}'}"
        out.append(Session(id=session_id, namespace=namespace, dialogue_id=dialogue.id, timestamp=session.date,
                           position=s_index))  # fmt: skip
        for t_index, turn in enumerate(session.turns):
            ref = turn.id or f"{session.id or f's{s_index + 1}'}-t{t_index + 1}"
            out.append(Turn(id=f"{dialogue.id}/{ref}", namespace=namespace, dialogue_id=dialogue.id,
                            session_id=session_id, speaker=turn.speaker, text=turn.text, timestamp=session.date,
                            position=t_index, turn_ref=ref))  # fmt: skip
    return out


def embedding_text(unit: Passage | Turn) -> str:
    """What a unit is embedded as (graphmem.texts.unit_text)."""
    if isinstance(unit, Turn):
        return unit_text(unit.text, speaker=unit.speaker)
    return unit_text(unit.text, title=unit.title)
