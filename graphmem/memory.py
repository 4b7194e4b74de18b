"""Memory: the Python API, a thin facade over the pipeline's stages and a store."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from graphmem.communities import CommunityConfig, read_communities, write_communities
from graphmem.communities import plan as plan_communities
from graphmem.communities.search import GlobalSearcher, summary_text
from graphmem.communities.summary import default_summariser
from graphmem.config import Settings
from graphmem.embed import CachedEmbedder, Embedder
from graphmem.embed_batching import BatchingEmbedder
from graphmem.extract.types import Extractor
from graphmem.forget import ForgetReport, forget_document, forget_namespace
from graphmem.graph import from_node
from graphmem.index import RetrievalIndex
from graphmem.index_cache import IndexCache
from graphmem.ingest import IngestConfig, Ingestor, IngestReport
from graphmem.records import Community, Fact, Record
from graphmem.retrieve import Retrieval, RetrievalConfig, Retriever
from graphmem.retrieve.batch import QueryBatcher
from graphmem.retrieve.recognition import FactFilter, default_fact_filter
from graphmem.sources import DialogueInput, DocumentInput, read_paths
from graphmem.store import Counts, EmbeddedStore, GraphStore, open_store
from graphmem.store.base import check_namespace
from graphmem.store.locks import ingestion_lock
from graphmem.temporal import ReconsolidationConfig, ReconsolidationReport, reconsolidate
from graphmem.temporal.adjudicate import Adjudicator
from graphmem.temporal.llm_adjudicator import default_adjudicator
from graphmem.temporal.queries import History, entity_history, facts_at
from graphmem.trust import FlaggedUnit, TrustPolicy, flagged_units, stamp


class Memory:
    """Open a store (a file path, a Neo4j URI, or GRAPHMEM_STORE) and work in one namespace.

    >>> memory = Memory("/tmp/example.sqlite3")
    >>> report = memory.add_documents([{"id": "d1", "title": "Ada", "text": "Ada lived in London."}])
    """

    def __init__(self, store: GraphStore | str | Path | None = None, namespace: str | None = None, *,
                 extract: bool = True, extractor: Extractor | None = None, embedder: Embedder | None = None,
                 config: IngestConfig | None = None, retrieval_config: RetrievalConfig | None = None,
                 progress: bool = False) -> None:  # fmt: skip
        """``extract=False`` stores documents, passages and turns only (no models are loaded)."""
        settings = Settings.from_env()
        self.store: GraphStore = store if isinstance(store, GraphStore) else open_store(store)
        self.namespace = check_namespace(namespace or settings.namespace)
        self.progress = progress
        self.config = config or IngestConfig()
        self._extract = extract
        self._extractor = extractor
        self._embedder = embedder
        self._ingestor_instance: Ingestor | None = None
        # Writes go through the cache's recording store, so the retrieval index follows them.
        self._indexes = IndexCache(self.store, lambda: self.embedder, progress=progress)
        self.retrieval_config = retrieval_config or RetrievalConfig()
        # by namespace; by namespace and trust policy for queries that ask for a policy of their own
        self._retrievers: dict[str | tuple[str, TrustPolicy], Retriever] = {}
        self._batcher = QueryBatcher()  # concurrent retrieve() calls are answered together
        self._recognition: tuple[FactFilter | None] | None = None
        self._global: dict[str, tuple[int, GlobalSearcher]] = {}  # namespace -> (store revision, searcher)
        self._question_embedder: BatchingEmbedder | None = None

    @property
    def extractor(self) -> Extractor:
        """The extractor: the one given, else an LLM when GRAPHMEM_LLM_BASE_URL is set, else spaCy."""
        if self._extractor is None:
            from graphmem.extract.defaults import default_extractor

            self._extractor = default_extractor()
        return self._extractor

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            from graphmem.embed import SentenceTransformerEmbedder

            self._embedder = CachedEmbedder(SentenceTransformerEmbedder(), embedding_cache_path(self.store))
        return self._embedder

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ingestor(self) -> Ingestor:
        # One ingestor for the Memory's life, so its entity index is not reloaded on every call.
        if self._ingestor_instance is None:
            writer = self._indexes.writer
            if not self._extract:
                self._ingestor_instance = Ingestor(writer, self.namespace, config=self.config,
                                                   progress=self.progress)  # fmt: skip
            else:
                self._ingestor_instance = Ingestor(writer, self.namespace, extractor=self.extractor,
                                                   embedder=self.embedder, config=self.config,
                                                   progress=self.progress)  # fmt: skip
        return self._ingestor_instance

    def _ingest(self, run: Callable[[Ingestor], IngestReport]) -> IngestReport:
        """Ingest, then bring the retrieval index up to date from what was written (report.stage_seconds["index"]).

        Under the store's ingestion lock of the namespace (graphmem.store.locks): ingestions take turns."""
        with ingestion_lock(self.store, self.namespace):
            self._indexes.watch(self.namespace)
            failed = True
            try:
                report = run(self._ingestor())
                failed = False
            finally:
                seconds = self._indexes.update(self.namespace, failed=failed)
        if seconds is not None:
            report.stage_seconds["index"] = seconds
        return report

    def add_paths(self, paths: Iterable[str | Path]) -> IngestReport:
        """Ingest files and folders (.txt, .md, documents .jsonl, dialogue .json). Records that state no
        ``trust`` get the files' default level (``IngestConfig.trust.file``, "untrusted")."""
        batch = stamp(read_paths(paths), self.config.trust.file)
        report = IngestReport(files=batch.files, quarantined=list(batch.quarantined),
                              errors=[str(e) for e in batch.errors])  # fmt: skip
        return self._ingest(lambda ingestor: ingestor.ingest(batch.documents, batch.dialogues, report))

    def add_documents(self, documents: Iterable[DocumentInput | Mapping[str, Any]]) -> IngestReport:
        docs = [d if isinstance(d, DocumentInput) else DocumentInput.model_validate(d) for d in documents]
        return self._ingest(lambda ingestor: ingestor.ingest(documents=docs))

    def add_dialogue(self, dialogue: DialogueInput | Mapping[str, Any]) -> IngestReport:
        dlg = dialogue if isinstance(dialogue, DialogueInput) else DialogueInput.model_validate(dialogue)
        return self._ingest(lambda ingestor: ingestor.ingest(dialogues=[dlg]))

    def index(self, namespace: str | None = None) -> RetrievalIndex:
        """The retrieval index of a namespace (default: this Memory's), current with the store.

        Kept in memory and on disk (see graphmem.index_cache), updated after each ``add_*`` from what
        was written, and rebuilt only when it cannot be (a deletion, another writer, no cached index).
        ``index.origin`` says which happened ("memory", "disk", "incremental" or "rebuild") and
        ``index.build_seconds`` how long it took.
        """
        return self._indexes.get(check_namespace(namespace) if namespace is not None else self.namespace)

    def retrieve(self, query: str, k: int = 5, mode: str = "ppr", namespace: str | None = None,
                 as_of: datetime | None = None, trust: TrustPolicy | None = None) -> Retrieval:  # fmt: skip
        """The ``k`` passages and turns that best answer ``query``, with scores, provenance (source
        document or dialogue, offsets, speaker, time) and why: the seed entities and their weights, the
        facts that seeded the walk and the graph path from a seed to each hit.

        ``mode``: "ppr" (default), "hybrid", "dense" or "bm25"; or "global", which ranks the community
        summaries (see ``build_communities``) and returns the ``k`` best in ``.communities``, with their
        supporting passages as hits. ``namespace`` searches another namespace (retrieval never crosses
        namespaces). ``as_of`` keeps only units dated at or before that time and walks only the relations
        of facts valid then. ``trust`` (graphmem.trust.TrustPolicy, default ``retrieval_config.trust``): by default
        passages and turns flagged as instruction-like are left out unless their source is trusted;
        ``TrustPolicy(include_flagged=True)`` returns them too, ``lowest=`` and ``weights=`` filter and weigh by level.
        Thread-safe: concurrent ppr and hybrid calls are answered together, each as it would be alone
        (graphmem.retrieve.batch).
        """
        index = self.index(namespace)
        config = self.retrieval_config if trust is None else replace(self.retrieval_config, trust=trust)
        if mode == "global":
            return self._global_searcher(index).search(query, k=k, as_of=as_of, trust=config.trust)
        key = index.namespace if trust is None else (index.namespace, config.trust)
        cached = self._retrievers.get(key)
        if cached is None or not same_index(cached.index, index):
            cached = Retriever(index, self._questions(), config, self._fact_filter())
            self._retrievers[key] = cached
        return self._batcher.search(cached, query, k=k, mode=mode, as_of=as_of)

    def _questions(self) -> Embedder:
        """The embedder of questions: the model itself, batching the questions of concurrent threads."""
        if self._question_embedder is None:
            self._question_embedder = BatchingEmbedder(query_embedder(self.embedder), parallel=2)  # two halves
        return self._question_embedder

    def flagged(self, namespace: str | None = None) -> list[FlaggedUnit]:
        """Passages and turns that read as instructions to an agent (graphmem.extract.injection), with their
        source, trust level and reasons; what default retrieval leaves out unless the source is trusted."""
        return flagged_units(self.store, check_namespace(namespace) if namespace is not None else self.namespace)

    def _fact_filter(self) -> FactFilter | None:
        """An LLM's recognition filter on seeding facts when one is configured (GRAPHMEM_LLM_*), else None."""
        if self._recognition is None:
            self._recognition = (default_fact_filter(),)
        return self._recognition[0]

    def _global_searcher(self, index: RetrievalIndex) -> GlobalSearcher:
        revision = self.store.revision(index.namespace)
        cached = self._global.get(index.namespace)
        if cached is None or cached[0] != revision or not same_index(cached[1].index, index):
            communities = read_communities(self.store, index.namespace)
            searcher = GlobalSearcher(communities, index, self.embedder, self._questions())
            self._global[index.namespace] = cached = (revision, searcher)
        return cached[1]

    # ------------------------------------------------------------------ communities

    def build_communities(self, *, full: bool = False, config: CommunityConfig | None = None,
                          llm: bool | None = None) -> dict[str, Any]:  # fmt: skip
        """Cluster the entity graph (graphmem.communities) and store the communities, with their summaries.

        Incremental: only the connected components that changed since the last run are clustered again;
        ``full`` re-clusters every one. Ids stay stable (matched by member overlap). ``llm``: summaries
        by the configured LLM (None: when GRAPHMEM_LLM_* is set; False: extractive only). Returns a
        report: counts per level, what was created, updated and deleted, and the seconds each step took.
        """
        index = self.index()
        previous = read_communities(self.store, self.namespace)
        summariser = default_summariser() if llm is not False else None
        if llm and summariser is None:
            raise ValueError("llm=True needs an LLM: set GRAPHMEM_LLM_BASE_URL and GRAPHMEM_LLM_MODEL")
        result = plan_communities(index, previous, config, full=full, summariser=summariser)
        # Through the index's writer: the index follows the writes (a deletion makes its next use a rebuild).
        with ingestion_lock(self.store, self.namespace):
            self._indexes.watch(self.namespace)
            failed = True
            try:
                written = write_communities(self._indexes.writer, self.namespace, result.records, previous)
                failed = False
            finally:
                self._indexes.update(self.namespace, failed=failed)
        fresh = [summary_text(c) for c in result.records if c.id in {*written.created, *written.updated}]
        if fresh:  # embedded now, so the first global query finds them in the embedding cache
            self.embedder.encode(fresh)
        levels: dict[int, int] = {}
        for community in result.records:
            levels[community.level] = levels.get(community.level, 0) + 1
        return {"namespace": self.namespace, "communities": len(result.records), "levels": levels,
                "components": result.components, "reclustered": result.reclustered,
                "isolated": len(result.isolated), "created": written.created, "updated": written.updated,
                "deleted": written.deleted, "unchanged": written.unchanged, "seconds": result.seconds}  # fmt: skip

    def communities(self, level: int | None = None) -> list[Community]:
        """The stored communities (of one level, or all), coarsest level first, largest first."""
        found = [c for c in read_communities(self.store, self.namespace) if level is None or c.level == level]
        return sorted(found, key=lambda c: (c.level, -c.size, c.id))

    def counts(self) -> Counts:
        return self.store.counts(self.namespace)

    def records(self, label: str | None = None, limit: int | None = None) -> list[Record]:
        """Stored records of the namespace, optionally of one label (``"Passage"``, ``"Turn"``, ...)."""
        out: list[Record] = []
        for node in self.store.iter_nodes(self.namespace, label):
            if limit is not None and len(out) >= limit:
                break
            out.append(from_node(node))
        return out

    def forget_document(self, document_id: str) -> None:
        """Remove a document or dialogue and everything only it supported (the next index() is a rebuild)."""
        self.forget(document_id)

    def forget(self, document_id: str | None = None, *, namespace: str | None = None) -> ForgetReport:
        """Forget a document or dialogue (``document_id``, in ``namespace`` or this Memory's), or a whole
        ``namespace`` (no ``document_id``). A document takes with it its passages or turns and every fact,
        hyperedge and entity only it supported; what other documents also support stays, with their support
        only: the survivors' sentences, dates, confidences, aliases and names are derived again from the
        remaining passages (graphmem.forget; not with ``extract=False``). The retrieval index of the namespace
        is dropped from memory and disk, so the next query rebuilds it without the document. If the namespace was
        reconsolidated, the facts that lost support are checked again (a run of ``reconsolidate``, at the clock's
        time); if it has communities, they are built again where what they were computed from changed."""
        if document_id is None and namespace is None:
            raise ValueError("forget needs a document_id or a namespace")
        target = check_namespace(namespace) if namespace is not None else self.namespace
        with ingestion_lock(self.store, target):  # the rechecks below take it again, each in turn
            if document_id is None:
                report = forget_namespace(self.store, target)
            else:
                extractor = self.extractor if self._extract else None
                report = forget_document(self.store, target, document_id, extractor, self.config.resolution)
        self._indexes.discard(target)
        self._retrievers.pop(target, None)
        self._global.pop(target, None)
        if target == self.namespace:
            self._ingestor_instance = None  # its entity index may name deleted entities
        if document_id is None:
            return report
        memory = self if target == self.namespace else Memory(
            self.store, target, extract=self._extract, extractor=self._extractor, embedder=self._embedder,
            config=self.config, retrieval_config=self.retrieval_config)  # fmt: skip
        if report.facts_to_recheck:  # what the document retired, or dated, is decided again without it
            memory.reconsolidate()
            report.reconsolidated = True
        if self.store.counts(target).nodes.get(Community.LABEL):  # their summaries may quote the document
            built = memory.build_communities()
            report.communities_changed = len(built["created"]) + len(built["updated"]) + len(built["deleted"])
        return report

    # ------------------------------------------------------------------ temporal memory

    def reconsolidate(self, *, full: bool = False, now: datetime | None = None,
                      config: ReconsolidationConfig | None = None,
                      adjudicator: Adjudicator | bool | None = None) -> ReconsolidationReport:  # fmt: skip
        """Merge duplicate facts and retire superseded ones (graphmem.temporal) among the facts written since the
        last run, or all of them with ``full``. Nothing is deleted: a retired fact gets ``valid_to``,
        ``expired_at`` (``now``, default the clock) and a SUPERSEDED_BY link naming the rule and its evidence.
        Deterministic and idempotent; the retrieval index follows the changes.

        ``adjudicator`` (graphmem.temporal.adjudicate) asks an LLM about the conflicts the rules leave open:
        None (default) when an LLM is configured and GRAPHMEM_LLM_ADJUDICATE=1, True whenever an LLM is
        configured (ValueError if none is), False never; or pass an ``Adjudicator`` of your own.
        """
        judge: Adjudicator | None = None
        if adjudicator is None or adjudicator is True:  # from GRAPHMEM_LLM_*, asked for or switched on there
            judge = default_adjudicator(cache_path=adjudication_cache_path(self.store), force=adjudicator is True)
        elif adjudicator is not False:
            judge = adjudicator
        # Under the ingestion lock: a fact restated between the run's read and its write would otherwise take
        # the run's mark without having been looked at again.
        with ingestion_lock(self.store, self.namespace):
            self._indexes.watch(self.namespace)
            failed = True
            try:
                report = reconsolidate(self._indexes.writer, self.namespace, config=config, now=now, full=full,
                                       adjudicator=judge)  # fmt: skip
                failed = False
            finally:
                self._indexes.update(self.namespace, failed=failed)
        return report

    def facts(self, subject: str | None = None, predicate: str | None = None, as_of: datetime | None = None,
              include_expired: bool = False) -> list[Fact]:  # fmt: skip
        """Facts about ``subject`` (a name or entity id) with ``predicate`` that hold now, or at ``as_of`` by their
        validity (superseded facts included up to when they were superseded); ``include_expired``: all of them."""
        return facts_at(self.store, self.namespace, subject, predicate, as_of, include_expired)

    def history(self, entity: str) -> History:
        """An entity's timeline: its facts with their validity, and what superseded what under which rule."""
        return entity_history(self.store, self.namespace, entity)

    # ------------------------------------------------------------------ Cypher (Neo4j only)

    def cypher(self, query: str, params: Mapping[str, Any] | None = None, *,
               read_only: bool = True) -> list[dict[str, Any]]:  # fmt: skip
        """Run Cypher on the Neo4j store: ``query`` is Cypher text, a path to a ``.cypher`` file or a library name
        (``"entity_neighbourhood"``; graphmem.cypher_library). ``$namespace`` defaults to this Memory's. Rows come
        back as plain Python (graphmem.cypher_values). Read-only unless ``read_only=False``: a query that would
        write raises CypherWriteRefused before it runs. On the embedded store, CypherNeedsNeo4jError."""
        from graphmem.cypher_run import run_cypher

        result = run_cypher(self.store, self.namespace, query, params, read_only=read_only)
        for namespace in result.namespaces_touched:
            self._indexes.forget(namespace)
        return result.rows

    def close(self) -> None:
        self._batcher.close()
        close = getattr(self._embedder, "close", None)
        if close is not None:
            close()
        self.store.close()


def same_index(a: RetrievalIndex, b: RetrievalIndex) -> bool:
    """Whether two indexes hold the same content: the cache hands out copies that differ only in ``origin``, and a
    retriever built for one (its walk graph, BM25 index and solver) serves the other."""
    return a is b or (a.namespace == b.namespace and a.revision == b.revision and a.unit_vectors is b.unit_vectors)


def query_embedder(embedder: Embedder) -> Embedder:
    """The model itself for questions: caching every question would keep them on disk and rarely pay off."""
    return embedder.inner if isinstance(embedder, CachedEmbedder) else embedder


def adjudication_cache_path(store: GraphStore) -> Path:
    """The adjudicator's answers: beside an embedded store's file, else .graphmem/adjudications.json."""
    if isinstance(store, EmbeddedStore):
        return store.path.with_name(store.path.stem + ".adjudications.json")
    return Path(".graphmem") / "adjudications.json"


def embedding_cache_path(store: GraphStore) -> Path:
    """GRAPHMEM_EMBED_CACHE, else beside an embedded store's file, else .graphmem/embeddings.sqlite3."""
    override = os.environ.get("GRAPHMEM_EMBED_CACHE")
    if override:
        return Path(override)
    if isinstance(store, EmbeddedStore):
        return store.path.with_name(store.path.stem + ".embeddings.sqlite3")
    return Path(".graphmem") / "embeddings.sqlite3"
