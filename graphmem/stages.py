"""Ingestion one stage at a time, for callers that keep each stage's output (the Dagster assets in pipelines/).

``Ingestor.ingest`` runs every stage in one pass. These run the same code a stage at a time, on one
source file: ``read_source`` → ``pending_records`` (passages and turns of the sources the store does not
hold yet) → ``extract_records`` → ``write_extracted`` (resolution, embeddings, store upsert) →
``link_synonyms``. Run in that order they give the graph ``Ingestor.ingest`` gives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from graphmem.embed import Embedder
from graphmem.extract.types import Extractor, PassageExtraction, PassageInput
from graphmem.graph import GraphRecord
from graphmem.ingest import IngestConfig, Ingestor, IngestReport, passage_inputs
from graphmem.passage_records import dialogue_hash, dialogue_records, document_records, source_state, text_hash
from graphmem.records import Dialogue, Document, Passage, Turn
from graphmem.sources import DialogueInput, DocumentInput, SourceBatch, expand, read_file
from graphmem.store import GraphStore
from graphmem.store.locks import ingestion_lock
from graphmem.trust import TrustDefaults, stamp

Item = DocumentInput | DialogueInput


@dataclass(frozen=True)
class SourceRecords:
    """One document or dialogue and the records it becomes (its root node, then passages or turns)."""

    item: Item
    records: list[GraphRecord]

    @property
    def units(self) -> list[Passage | Turn]:
        return [r for r in self.records if isinstance(r, Passage | Turn)]


def source_files(folder: str | Path) -> dict[str, tuple[Path, str]]:
    """The readable kinds of file under ``folder``: path relative to it → (path, the id its document gets).

    Ids are those ``read_paths([folder])`` gives, so ingesting file by file or the folder at once agree.
    """
    root = Path(folder)
    return {path.relative_to(root).as_posix(): (path, doc_id) for path, doc_id in expand([root])}


def read_source(path: str | Path, doc_id: str, trust: TrustDefaults | None = None) -> SourceBatch:
    """One file's documents or dialogues, with the ``file`` trust level where they state none; raises
    SourceError when the file cannot be read at all."""
    return stamp(read_file(Path(path), doc_id), (trust or TrustDefaults()).file)


def content_hash(item: Item) -> str:
    """What a stored document or dialogue records as ``content_hash``; equal hashes mean nothing to do."""
    return text_hash(item.text) if isinstance(item, DocumentInput) else dialogue_hash(item)


def pending_records(store: GraphStore, namespace: str, batch: SourceBatch,
                    config: IngestConfig | None = None) -> tuple[list[SourceRecords], int]:  # fmt: skip
    """Records of the batch's sources that are new or changed in the store, and how many were unchanged."""
    config = config or IngestConfig()
    pending = stale_sources(store, namespace, batch, config.trust)
    out = [
        SourceRecords(item, document_records(item, namespace, config.max_words, level)
                      if isinstance(item, DocumentInput) else dialogue_records(item, namespace, level))
        for item in pending
        for level in [config.trust.level(item)]
    ]  # fmt: skip
    return out, len(batch.documents) + len(batch.dialogues) - len(pending)


def stale_sources(store: GraphStore, namespace: str, batch: SourceBatch,
                  trust: TrustDefaults | None = None) -> list[Item]:  # fmt: skip
    """The batch's documents and dialogues that the store lacks or holds in another version or trust level."""
    trust = trust or TrustDefaults()
    items: list[Item] = [*batch.documents, *batch.dialogues]
    stored = {n.id: source_state(n.props.get("content_hash"), n.props.get("trust"))
              for n in store.get_nodes(namespace, [i.id for i in items])}  # fmt: skip
    return [i for i in items if stored.get(i.id) != source_state(content_hash(i), trust.level(i))]


def extract_records(extractor: Extractor, sources: Sequence[SourceRecords]) -> list[PassageExtraction]:
    """The extractor's entities, triples and hyperedges for every passage and turn of these sources."""
    units = [u for s in sources for u in s.units]
    roots = [r for s in sources for r in s.records if isinstance(r, Document | Dialogue)]
    return extractor.extract(passage_inputs(units, roots)) if units else []


class PrecomputedExtractor:
    """An Extractor that answers from extractions made earlier (by ``extract_records``); nothing is re-parsed."""

    name = "precomputed"

    def __init__(self, extractions: Sequence[PassageExtraction]) -> None:
        self._by_id = {e.passage_id: e for e in extractions}

    def extract(self, passages: Sequence[PassageInput]) -> list[PassageExtraction]:
        return [self._by_id.get(p.id) or PassageExtraction(p.id) for p in passages]


def write_extracted(store: GraphStore, namespace: str, sources: Sequence[SourceRecords],
                    extractions: Sequence[PassageExtraction], embedder: Embedder,
                    config: IngestConfig | None = None) -> IngestReport:  # fmt: skip
    """Resolve, embed and write these sources with their extractions, replacing older versions; synonym edges are
    left to ``link_synonyms`` (``report.entity_ids`` lists the entities to link). Idempotent, like ingestion."""
    config = replace(config or IngestConfig(), link_synonyms=False, extraction_workers=0)
    ingestor = Ingestor(store, namespace, extractor=PrecomputedExtractor(extractions), embedder=embedder,
                        config=config)  # fmt: skip
    documents = [s.item for s in sources if isinstance(s.item, DocumentInput)]
    dialogues = [s.item for s in sources if isinstance(s.item, DialogueInput)]
    with ingestion_lock(store, namespace):  # partitions run at once: their writes take turns, as ingestions do
        return ingestor.ingest(documents, dialogues)


def link_synonyms(store: GraphStore, namespace: str, entity_ids: Sequence[str], embedder: Embedder,
                  config: IngestConfig | None = None) -> IngestReport:  # fmt: skip
    """Synonym edges from these entities to every entity of the namespace (``report.synonyms`` counts them)."""
    report = IngestReport()
    with ingestion_lock(store, namespace):
        Ingestor(store, namespace, embedder=embedder, config=config).link_synonyms(list(entity_ids), report)
    return report
