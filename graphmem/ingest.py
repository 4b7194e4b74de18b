"""Ingestion: the I/O edge that runs the stages in order and writes the results.

sources → passage records → extraction → resolution → embeddings → store. Sources are
processed in batches. An unchanged source is skipped, and a changed one has its old version
deleted first. A source's Document or Dialogue node is written last, so a killed run leaves
that source unmarked and a re-run redoes it, converging on the same graph.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from typing import Any

import numpy as np
from tqdm import tqdm

from graphmem.embed import Embedder
from graphmem.extract.background import BackgroundExtractor
from graphmem.extract.types import Extractor, PassageExtraction, PassageInput
from graphmem.graph import GraphRecord, from_node, write_records
from graphmem.passage_records import (
    dialogue_hash,
    dialogue_records,
    document_records,
    embedding_text,
    source_state,
    text_hash,
)
from graphmem.passages import DEFAULT_MAX_WORDS
from graphmem.records import Dialogue, Document, Entity, Fact, Passage, Record, Statement, Turn
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
from graphmem.texts import statement_text
from graphmem.trust import TrustDefaults

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
    entity_ids: list[str] = field(default_factory=list)  # the entities this run created, in order
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
    extraction_workers: int = 2  # spaCy worker processes, one per core (0: parse in the main process)
    parallel_min_words: int = 40_000  # smaller inputs are parsed in-process: a worker takes seconds to start
    resolution: ResolutionConfig = field(default_factory=ResolutionConfig)
    # False leaves synonym edges to a later call of Ingestor.link_synonyms (the Dagster pipeline's own stage)
    link_synonyms: bool = True
    trust: TrustDefaults = field(default_factory=TrustDefaults)  # the trust level of sources that state none


Source = tuple[str, DocumentInput | DialogueInput]
Batch = list[tuple[Source, list[GraphRecord]]]


@dataclass
class Prepared:
    """A batch whose structure is written and whose extraction is under way."""

    batch: Batch
    roots: list[Record]
    units: list[Passage | Turn]
    extraction: Future[list[PassageExtraction]] | None


def fact_text(fact: Fact) -> str:
    return statement_text(fact.subject_name, fact.predicate, fact.object_name)


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
        self._seen_revision = -1  # the namespace's revision when this ingestor last finished
        # entity name vectors for synonym edges: one row per entity, grown batch by batch
        # (rows past len(_vector_ids) are spare capacity, so a batch does not copy the whole matrix)
        self._vector_ids: list[str] = []
        self._vector_row: dict[str, int] = {}
        self._matrix: np.ndarray | None = None
        self._known_seen = 0  # entities of the index already looked at for vectors (it only grows)

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
        if self._index is not None and self.store.revision(self.namespace) != self._seen_revision:
            self._index = None  # another writer changed the namespace since this ingestor's last run
        sources: list[Source] = [(d.id, d) for d in documents] + [(d.id, d) for d in dialogues]
        background = self._background(sources)
        bar = tqdm(total=len(sources), unit="source", disable=not self.progress, desc="ingest")
        try:
            for batch in self._batches(sources, report):
                # Parsing and embedding take turns rather than overlap: both want every core, and
                # oversubscribed cores slow torch down more than the overlap gains.
                self._complete(self._prepare(batch, report, background), report)
                bar.update(len(batch))
        finally:
            bar.close()
            if background is not None:
                background.close()
        self._seen_revision = self.store.revision(self.namespace)
        report.seconds += time.perf_counter() - started
        return report

    def _batches(self, sources: Sequence[Source], report: IngestReport) -> Iterator[Batch]:
        batch: Batch = []
        size = 0
        for source in sources:
            records = self._records(source, report)
            batch.append((source, records))
            size += len(records)
            if size >= self.config.batch_passages:
                yield batch
                batch, size = [], 0
        if batch:
            yield batch

    def _background(self, sources: Sequence[Source]) -> BackgroundExtractor | None:
        """A worker process for spaCy when the input is large enough to repay its start-up."""
        from graphmem.extract.spacy_extractor import SpacyExtractor  # spaCy loads only when it is used

        if not isinstance(self.extractor, SpacyExtractor) or self.config.extraction_workers < 1:
            return None
        words = sum(len(item.text.split()) for _, item in sources if isinstance(item, DocumentInput))
        words += sum(len(t.text.split()) for _, item in sources if isinstance(item, DialogueInput)
                     for session in item.sessions for t in session.turns)  # fmt: skip
        if words < self.config.parallel_min_words:
            return None
        factory = partial(SpacyExtractor, batch_size=self.extractor.batch_size)
        return BackgroundExtractor(factory, self.config.extraction_workers)

    def _records(self, source: Source, report: IngestReport) -> list[GraphRecord]:
        _, item = source
        if isinstance(item, DocumentInput):
            report.documents += 1
            records = document_records(item, self.namespace, self.config.max_words, self.config.trust.level(item))
            report.passages += len(records) - 1
        else:
            report.dialogues += 1
            records = dialogue_records(item, self.namespace, self.config.trust.level(item))
            report.turns += sum(isinstance(r, Turn) for r in records)
        return records

    def _changed(self, batch: Batch,
                 report: IngestReport) -> list[list[GraphRecord]]:  # fmt: skip
        """Records of the sources that must be written; old versions of changed ones (in content or trust level)
        are deleted."""
        ids = [source_id for (source_id, _), _ in batch]
        stored = {n.id: source_state(n.props.get("content_hash"), n.props.get("trust"))
                  for n in self.store.get_nodes(self.namespace, ids)}  # fmt: skip
        out = []
        for (source_id, item), records in batch:
            new_hash = text_hash(item.text) if isinstance(item, DocumentInput) else dialogue_hash(item)
            if stored.get(source_id) == source_state(new_hash, self.config.trust.level(item)):
                report.unchanged += 1
                continue
            if source_id in stored:
                self.store.delete_document(self.namespace, source_id)
                self._index = None  # deleted entities must not be resolved to
                report.replaced += 1
            out.append(records)
        return out

    # ------------------------------------------------------------------ one batch

    def _prepare(self, batch: Batch, report: IngestReport,
                 background: BackgroundExtractor | None) -> Prepared:  # fmt: skip
        """Skip unchanged sources, write the structural records, start the extraction."""
        todo = self._timed(report, "check", lambda: self._changed(batch, report))
        roots = [r for records in todo for r in records if isinstance(r, Document | Dialogue)]
        body = [r for records in todo for r in records if not isinstance(r, Document | Dialogue)]
        # Documents and dialogues go first as bare nodes so that passages can point at them;
        # their content hash is only written at the very end.
        if roots:
            self._write(report, [*[r.model_copy(update={"content_hash": None}) for r in roots], *body])
        units = [r for r in body if isinstance(r, Passage | Turn)]
        extraction: Future[list[PassageExtraction]] | None = None
        if self.extractor is not None and units:
            inputs = self._passage_inputs(units, roots)
            if background is not None:
                extraction = background.submit(inputs)
            else:
                extraction = Future()
                extraction.set_result(self._timed(report, "extract", lambda: self.extractor.extract(inputs)))  # type: ignore[union-attr]
        return Prepared(batch, roots, units, extraction)

    def _encode(self, texts: Sequence[str], report: IngestReport) -> np.ndarray:
        embedder = self.embedder
        assert embedder is not None
        return self._timed(report, "embed", lambda: embedder.encode(texts))

    def _complete(self, prepared: Prepared, report: IngestReport) -> None:
        """Resolve, embed and write a prepared batch, then mark its sources as done."""
        extractions = None
        if prepared.extraction is not None:
            extractions = self._timed(report, "extract", prepared.extraction.result)
        if self.embedder is not None and prepared.units:
            self._encode([embedding_text(u) for u in prepared.units], report)
        if extractions is not None:
            resolved = self._resolve(prepared.units, extractions, report)
            self._write(report, [*resolved.entities, *resolved.facts, *resolved.hyperedges, *resolved.mentions])
            self._embed_and_link(prepared.units, resolved, report)
        if prepared.roots:
            self._write(report, prepared.roots)

    def _write(self, report: IngestReport, records: Sequence[GraphRecord]) -> None:
        nodes, edges = self._timed(report, "write", lambda: write_records(self.store, records))
        report.nodes_written += nodes
        report.edges_written += edges

    def _passage_inputs(self, units: Sequence[Passage | Turn], roots: Sequence[Record]) -> list[PassageInput]:
        return passage_inputs(units, roots)

    def _entity_index(self) -> EntityIndex:
        if self._index is None:
            index = EntityIndex(self.config.resolution)
            for node in self.store.iter_nodes(self.namespace, "Entity"):
                entity = from_node(node)
                assert isinstance(entity, Entity)
                index.add_known(entity)
            self._index = index
            self._vector_ids, self._vector_row, self._matrix, self._known_seen = [], {}, None, 0
        return self._index

    def _resolve(self, units: Sequence[Passage | Turn], extractions: Sequence[PassageExtraction],
                 report: IngestReport) -> Resolved:  # fmt: skip
        meta = passage_meta(units)
        index = self._timed(report, "resolve", self._entity_index)
        resolved: Resolved = self._timed(report, "resolve", lambda: self._merge_stored(
            resolve_batch(index, extractions, meta, self.namespace)))  # fmt: skip
        report.entities += len(resolved.new_entity_ids)
        report.entity_ids += resolved.new_entity_ids
        report.facts += len(resolved.facts)
        report.hyperedges += len(resolved.hyperedges)
        return resolved

    def _merge_stored(self, resolved: Resolved) -> Resolved:
        """A fact or hyperedge already stored by another source keeps its provenance and earliest date, and
        what reconsolidation decided about it: its end (``valid_to``) and retirement (``expired_at``).

        A restated fact that was retired stays retired until the next reconsolidation looks at it again
        (it may reinstate it). Its ``reconsolidated`` mark is not carried over, on purpose: a fact written
        without the mark is what tells the next run to check it (graphmem.temporal.storage)."""
        items = [*resolved.facts, *resolved.hyperedges]
        existing = {n.id: from_node(n) for n in self.store.get_nodes(self.namespace, [i.id for i in items])}
        for item in items:
            old = existing.get(item.id)
            if isinstance(old, Statement):
                merge_fact(item, old.provenance, old.document_ids, old.valid_from, old.confidence)
                item.recorded_at = old.recorded_at
                if old.valid_to is not None and (item.valid_from is None or old.valid_to >= item.valid_from):
                    item.valid_to = old.valid_to
                item.expired_at = old.expired_at
        return resolved

    def _embed_and_link(self, units: Sequence[Passage | Turn], resolved: Resolved, report: IngestReport) -> None:
        if self.embedder is None:
            return
        self._encode([fact_text(f) for f in resolved.facts], report)
        if self.config.link_synonyms:
            self.link_synonyms(resolved.new_entity_ids, report)

    def link_synonyms(self, new_entity_ids: Sequence[str], report: IngestReport) -> int:
        """Write synonym edges from these (newly written) entities to every stored one; returns how many."""
        assert self.embedder is not None, "synonym edges need an embedder"
        index = self._entity_index()
        fresh = list(islice(index.by_key.values(), self._known_seen, None))  # insertion order: new ones last
        self._known_seen = len(index.by_key)
        missing = [k for k in fresh if k.type not in _NO_SYNONYM_TYPES and k.id not in self._vector_row
                   and len(k.name) >= self.config.resolution.synonym_min_chars]  # fmt: skip
        if missing:
            self._append_vectors([k.id for k in missing], self._encode([k.name for k in missing], report))
        new_ids = [i for i in new_entity_ids if i in self._vector_row]
        if not new_ids or self._matrix is None:
            return 0
        matrix = self._matrix[: len(self._vector_ids)]
        synonyms = self._timed(report, "synonyms", lambda: synonym_edges(
            new_ids, matrix[[self._vector_row[i] for i in new_ids]], self._vector_ids, matrix, self.namespace,
            self.config.resolution))  # fmt: skip
        self._write(report, synonyms)
        report.synonyms += len(synonyms)
        return len(synonyms)

    def _append_vectors(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        """Rows for these entities, in a buffer that doubles when full (amortised, not a copy per batch)."""
        used = len(self._vector_ids)
        if self._matrix is None or used + len(ids) > len(self._matrix):
            grown = np.empty((max(2 * (used + len(ids)), 1024), vectors.shape[1]), dtype=vectors.dtype)
            if self._matrix is not None:
                grown[:used] = self._matrix[:used]
            self._matrix = grown
        self._matrix[used : used + len(ids)] = vectors
        for offset, entity_id in enumerate(ids):
            self._vector_row[entity_id] = used + offset
        self._vector_ids.extend(ids)


def passage_meta(units: Sequence[Passage | Turn]) -> dict[str, PassageMeta]:
    """Each unit's document or dialogue, and the date its facts default to."""
    return {u.id: PassageMeta(u.document_id if isinstance(u, Passage) else u.dialogue_id,
                              u.date if isinstance(u, Passage) else u.timestamp) for u in units}  # fmt: skip


def passage_inputs(units: Sequence[Passage | Turn], roots: Sequence[Record]) -> list[PassageInput]:
    """What the extractor reads of each passage or turn; ``roots`` are the dialogues that name the listeners."""
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
