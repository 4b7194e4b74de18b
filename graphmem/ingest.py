"""Ingestion: document and dialogue inputs into graph records, written idempotently.

The pure half (``document_records``, ``dialogue_records``) turns inputs into records; the
thin I/O half (``Ingestor``) skips unchanged sources, replaces changed ones and writes.
Extraction (entities, facts, hyperedges) plugs in between the two as its own stage.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from tqdm import tqdm

from graphmem.graph import GraphRecord, write_records
from graphmem.passages import DEFAULT_MAX_WORDS, split_passages
from graphmem.records import Dialogue, Document, Passage, Session, Turn
from graphmem.sources import DialogueInput, DocumentInput, Quarantined
from graphmem.store import GraphStore


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


@dataclass
class IngestReport:
    files: int = 0
    documents: int = 0
    dialogues: int = 0
    unchanged: int = 0
    replaced: int = 0
    passages: int = 0
    turns: int = 0
    nodes_written: int = 0
    edges_written: int = 0
    quarantined: list[Quarantined] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"{self.files} files, {self.documents} documents, {self.dialogues} dialogues "
            f"({self.unchanged} unchanged, {self.replaced} replaced), {self.passages} passages, {self.turns} turns, "
            f"{len(self.quarantined)} quarantined, {len(self.errors)} unreadable files, {self.seconds:.2f} s"
        )


class Ingestor:
    """Writes sources into one namespace of a store; unchanged sources are skipped, changed ones replaced."""

    def __init__(self, store: GraphStore, namespace: str, *, max_words: int = DEFAULT_MAX_WORDS,
                 progress: bool = False) -> None:  # fmt: skip
        self.store = store
        self.namespace = namespace
        self.max_words = max_words
        self.progress = progress

    def _stored_hash(self, source_id: str) -> str | None:
        found = self.store.get_nodes(self.namespace, [source_id])
        return str(found[0].props.get("content_hash")) if found else None

    def _prepare(self, source_id: str, new_hash: str, report: IngestReport) -> bool:
        """Whether the source must be written; deletes the old version of a changed one."""
        old = self._stored_hash(source_id)
        if old == new_hash:
            report.unchanged += 1
            return False
        if old is not None:
            self.store.delete_document(self.namespace, source_id)
            report.replaced += 1
        return True

    def _write(self, records: Sequence[GraphRecord], report: IngestReport) -> None:
        nodes, edges = write_records(self.store, records)
        report.nodes_written += nodes
        report.edges_written += edges

    def ingest(self, documents: Iterable[DocumentInput] = (), dialogues: Iterable[DialogueInput] = (),
               report: IngestReport | None = None) -> IngestReport:  # fmt: skip
        report = report or IngestReport()
        started = time.perf_counter()
        docs, dlgs = list(documents), list(dialogues)
        bar = tqdm(total=len(docs) + len(dlgs), unit="source", disable=not self.progress, desc="ingest")
        for doc in docs:
            report.documents += 1
            records = document_records(doc, self.namespace, self.max_words)
            if self._prepare(doc.id, text_hash(doc.text), report):
                self._write(records, report)
            report.passages += len(records) - 1
            bar.update()
        for dialogue in dlgs:
            report.dialogues += 1
            records = dialogue_records(dialogue, self.namespace)
            if self._prepare(dialogue.id, dialogue_hash(dialogue), report):
                self._write(records, report)
            report.turns += sum(isinstance(r, Turn) for r in records)
            bar.update()
        bar.close()
        report.seconds += time.perf_counter() - started
        return report
