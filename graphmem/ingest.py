"""Ingestion: the I/O edge that runs the stages in order and writes the results.

sources → passage records → extraction → resolution → embeddings → store. Sources are
processed in batches. An unchanged source is skipped, and a changed one has its old version
deleted first. A source's Document or Dialogue node is written last, so a killed run leaves
that source unmarked and a re-run redoes it, converging on the same graph.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm import tqdm

from graphmem.embed import Embedder
from graphmem.extract.types import Extractor, PassageInput
from graphmem.graph import GraphRecord, from_node, write_records
from graphmem.passage_records import dialogue_hash, dialogue_records, document_records, text_hash
from graphmem.passages import DEFAULT_MAX_WORDS
from graphmem.records import Dialogue, Document, Entity, Fact, Hyperedge, Passage, Record, Turn
from graphmem.resolve import (
    EntityIndex,
    PassageMeta,
    ResolutionConfig,
    Resolved,
    merge_fact,
    resolve_batch,
    synonym_edges,
)
from graphmem.sources import DialogueInput, DocumentInput, Quarantined
from graphmem.store import GraphStore

_NO_SYNONYM_TYPES = {"DATE", "TIME"}


@dataclass
class IngestReport:
    files: int = 0
    documents: int = 0
    dialogues: int = 0
    unchanged: int = 0
    replaced: int = 0
    passages: int = 0
    turns: int = 0
    entities: int = 0
    facts: int = 0
    hyperedges: int = 0
    synonyms: int = 0
    nodes_written: int = 0
    edges_written: int = 0
    quarantined: list[Quarantined] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"{self.files} files, {self.documents} documents, {self.dialogues} dialogues "
            f"({self.unchanged} unchanged, {self.replaced} replaced), {self.passages} passages, {self.turns} turns, "
            f"{self.entities} entities, {self.facts} facts, {self.hyperedges} hyperedges, {self.synonyms} synonyms, "
            f"{len(self.quarantined)} quarantined, {len(self.errors)} unreadable files, {self.seconds:.2f} s"
        )


@dataclass(frozen=True)
class IngestConfig:
    max_words: int = DEFAULT_MAX_WORDS  # passage size
    batch_passages: int = 512  # passages extracted and written together
    resolution: ResolutionConfig = field(default_factory=ResolutionConfig)


Source = tuple[str, DocumentInput | DialogueInput]


def fact_text(fact: Fact) -> str:
    """The text a fact is embedded as: "subject predicate object"."""
    return f"{fact.subject_name} {fact.predicate.replace('_', ' ')} {fact.object_name}"


class Ingestor:
    """Writes sources into one namespace; extraction and embeddings are optional stages."""

    def __init__(self, store: GraphStore, namespace: str, *, extractor: Extractor | None = None,
                 embedder: Embedder | None = None, config: IngestConfig | None = None,
                 progress: bool = False) -> None:  # fmt: skip
        self.store = store
        self.namespace = namespace
        self.extractor = extractor
        self.embedder = embedder
        self.config = config or IngestConfig()
        self.progress = progress
        self._index: EntityIndex | None = None
        self._vectors: dict[str, np.ndarray] = {}  # entity id -> unit vector, for synonym edges

    # ------------------------------------------------------------------ timing

    def _timed(self, report: IngestReport, stage: str, work: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        result = work()
        report.stage_seconds[stage] = report.stage_seconds.get(stage, 0.0) + time.perf_counter() - started
        return result

    # ------------------------------------------------------------------ entry

    def ingest(self, documents: Iterable[DocumentInput] = (), dialogues: Iterable[DialogueInput] = (),
               report: IngestReport | None = None) -> IngestReport:  # fmt: skip
        report = report or IngestReport()
        started = time.perf_counter()
        sources: list[Source] = [(d.id, d) for d in documents] + [(d.id, d) for d in dialogues]
        bar = tqdm(total=len(sources), unit="source", disable=not self.progress, desc="ingest")
        batch: list[tuple[Source, list[GraphRecord]]] = []
        size = 0
        for source in sources:
            records = self._records(source, report)
            batch.append((source, records))
            size += len(records)
            if size >= self.config.batch_passages:
                self._process(batch, report)
                bar.update(len(batch))
                batch, size = [], 0
        if batch:
            self._process(batch, report)
            bar.update(len(batch))
        bar.close()
        report.seconds += time.perf_counter() - started
        return report

    def _records(self, source: Source, report: IngestReport) -> list[GraphRecord]:
        _, item = source
        if isinstance(item, DocumentInput):
            report.documents += 1
            records = document_records(item, self.namespace, self.config.max_words)
            report.passages += len(records) - 1
        else:
            report.dialogues += 1
            records = dialogue_records(item, self.namespace)
            report.turns += sum(isinstance(r, Turn) for r in records)
        return records

    def _changed(self, batch: Sequence[tuple[Source, list[GraphRecord]]],
                 report: IngestReport) -> list[list[GraphRecord]]:  # fmt: skip
        """Records of the sources that must be written; old versions of changed ones are deleted."""
        ids = [source_id for (source_id, _), _ in batch]
        stored = {n.id: n.props.get("content_hash") for n in self.store.get_nodes(self.namespace, ids)}
        out = []
        for (source_id, item), records in batch:
            new_hash = text_hash(item.text) if isinstance(item, DocumentInput) else dialogue_hash(item)
            old_hash = stored.get(source_id)
            if old_hash == new_hash:
                report.unchanged += 1
                continue
            if source_id in stored:
                self.store.delete_document(self.namespace, source_id)
                self._index = None  # deleted entities must not be resolved to
                report.replaced += 1
            out.append(records)
        return out

    # ------------------------------------------------------------------ one batch

    def _process(self, batch: Sequence[tuple[Source, list[GraphRecord]]], report: IngestReport) -> None:
        todo = self._timed(report, "check", lambda: self._changed(batch, report))
        if not todo:
            return
        roots = [r for records in todo for r in records if isinstance(r, Document | Dialogue)]
        body = [r for records in todo for r in records if not isinstance(r, Document | Dialogue)]
        # Documents and dialogues go first as bare nodes so that passages can point at them;
        # their content hash is only written at the very end.
        placeholders = [r.model_copy(update={"content_hash": None}) for r in roots]
        self._write(report, [*placeholders, *body])
        units = [r for r in body if isinstance(r, Passage | Turn)]
        if self.extractor is not None and units:
            resolved = self._extract_and_resolve(units, roots, report)
            self._write(report, [*resolved.entities, *resolved.facts, *resolved.hyperedges, *resolved.mentions])
            self._embed_and_link(units, resolved, report)
        self._write(report, roots)

    def _write(self, report: IngestReport, records: Sequence[GraphRecord]) -> None:
        nodes, edges = self._timed(report, "write", lambda: write_records(self.store, records))
        report.nodes_written += nodes
        report.edges_written += edges

    def _passage_inputs(self, units: Sequence[Passage | Turn], roots: Sequence[Record]) -> list[PassageInput]:
        participants = {r.id: tuple(r.participants) for r in roots if isinstance(r, Dialogue)}
        out = []
        for unit in units:
            if isinstance(unit, Passage):
                out.append(PassageInput(unit.id, unit.text, title=unit.title, date=unit.date))
            else:
                listeners = tuple(p for p in participants.get(unit.dialogue_id, ()) if p != unit.speaker)
                out.append(PassageInput(unit.id, unit.text, date=unit.timestamp, speaker=unit.speaker,
                                        listeners=listeners))  # fmt: skip
        return out

    def _entity_index(self) -> EntityIndex:
        if self._index is None:
            index = EntityIndex(self.config.resolution)
            for node in self.store.iter_nodes(self.namespace, "Entity"):
                entity = from_node(node)
                assert isinstance(entity, Entity)
                index.add_known(entity)
            self._index = index
            self._vectors = {}
        return self._index

    def _extract_and_resolve(self, units: Sequence[Passage | Turn], roots: Sequence[Record],
                             report: IngestReport) -> Resolved:  # fmt: skip
        assert self.extractor is not None
        inputs = self._passage_inputs(units, roots)
        extractions = self._timed(report, "extract", lambda: self.extractor.extract(inputs))  # type: ignore[union-attr]
        meta = {
            u.id: PassageMeta(u.document_id if isinstance(u, Passage) else u.dialogue_id,
                              u.date if isinstance(u, Passage) else u.timestamp)
            for u in units
        }  # fmt: skip
        index = self._timed(report, "resolve", self._entity_index)
        resolved: Resolved = self._timed(report, "resolve", lambda: self._resolve(index, extractions, meta))
        report.entities += len(resolved.new_entity_ids)
        report.facts += len(resolved.facts)
        report.hyperedges += len(resolved.hyperedges)
        return resolved

    def _resolve(self, index: EntityIndex, extractions: Any, meta: dict[str, PassageMeta]) -> Resolved:
        resolved = resolve_batch(index, extractions, meta, self.namespace)
        # a fact or hyperedge already stored by another source keeps its provenance and earliest date
        existing = {n.id: from_node(n) for n in self.store.get_nodes(
            self.namespace, [f.id for f in [*resolved.facts, *resolved.hyperedges]])}  # fmt: skip
        for item in [*resolved.facts, *resolved.hyperedges]:
            old = existing.get(item.id)
            if isinstance(old, Fact | Hyperedge):
                merge_fact(item, old.provenance, old.document_ids, old.valid_from, old.confidence)
                item.recorded_at = old.recorded_at
        return resolved

    def _embed_and_link(self, units: Sequence[Passage | Turn], resolved: Resolved, report: IngestReport) -> None:
        if self.embedder is None:
            return
        embedder = self.embedder
        self._timed(report, "embed", lambda: embedder.encode([u.text for u in units]))
        self._timed(report, "embed", lambda: embedder.encode([fact_text(f) for f in resolved.facts]))
        index = self._entity_index()
        linkable = [k for k in index.by_key.values() if k.type not in _NO_SYNONYM_TYPES
                    and len(k.name) >= self.config.resolution.synonym_min_chars]  # fmt: skip
        missing = [k for k in linkable if k.id not in self._vectors]
        if missing:
            vectors = self._timed(report, "embed", lambda: embedder.encode([k.name for k in missing]))
            self._vectors.update(zip((k.id for k in missing), vectors, strict=True))
        new_ids = [i for i in resolved.new_entity_ids if i in self._vectors]
        if not new_ids:
            return
        all_ids = list(self._vectors)
        synonyms = self._timed(report, "synonyms", lambda: synonym_edges(
            new_ids, np.stack([self._vectors[i] for i in new_ids]), all_ids,
            np.stack([self._vectors[i] for i in all_ids]), self.namespace, self.config.resolution))  # fmt: skip
        self._write(report, synonyms)
        report.synonyms += len(synonyms)
