"""Resources: the graph store, the embedder, the extractor and the inbox, configured from GRAPHMEM_* variables.

``from_env()`` builds them with an ``EnvVar`` for every variable that is set, so the Dagster UI shows the
variable's name, never its value, and leaves the rest to the library's defaults (graphmem.config).
"""

import os
import threading
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import PrivateAttr

from graphmem.config import DEFAULT_STORE
from graphmem.embed import CachedEmbedder, Embedder, SentenceTransformerEmbedder
from graphmem.extract.types import Extractor
from graphmem.memory import Memory, embedding_cache_path
from graphmem.store import EmbeddedStore, GraphStore
from graphmem.store.neo4j import Neo4jSettings, Neo4jStore

DEFAULT_INBOX = "data/inbox"
NEO4J_PREFIXES = ("bolt://", "bolt+s://", "bolt+ssc://", "neo4j://", "neo4j+s://", "neo4j+ssc://")


def env_or(name: str, default: str | None = None) -> Any:
    """``EnvVar(name)`` when the variable is set (resolved at run time), else ``default``."""
    return dg.EnvVar(name) if os.environ.get(name) else default


class GraphStoreResource(dg.ConfigurableResource):
    """The graph store and namespace every asset writes: a file path, a Neo4j URI or ``neo4j``."""

    store: str = DEFAULT_STORE
    namespace: str = "default"
    neo4j_uri: str | None = None  # used when ``store`` is ``neo4j``; default GRAPHMEM_NEO4J_URI's
    neo4j_user: str | None = None
    neo4j_password: str | None = None
    neo4j_database: str | None = None
    _opened: GraphStore | None = PrivateAttr(default=None)

    def open(self) -> GraphStore:
        """The store, opened once per run (closed when the run's step ends)."""
        if self._opened is None:
            self._opened = self._connect()
        return self._opened

    def _connect(self) -> GraphStore:
        if self.store != "neo4j" and not self.store.startswith(NEO4J_PREFIXES):
            return EmbeddedStore(self.store)
        base = Neo4jSettings.from_env()
        uri = self.store if self.store != "neo4j" else (self.neo4j_uri or base.uri)
        return Neo4jStore(Neo4jSettings(uri=uri, user=self.neo4j_user or base.user,
                                        password=self.neo4j_password or base.password,
                                        database=self.neo4j_database or base.database))  # fmt: skip

    @property
    def is_neo4j(self) -> bool:
        return self.store == "neo4j" or self.store.startswith(NEO4J_PREFIXES)

    def close(self) -> None:
        if self._opened is not None:
            self._opened.close()
            self._opened = None

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.close()


@cache
def _model(model_path: str | None) -> SentenceTransformerEmbedder:
    # One model per process: every run of an in-process executor reuses it instead of loading it again.
    return SentenceTransformerEmbedder(model_path)


class EmbedderResource(dg.ConfigurableResource):
    """all-MiniLM-L6-v2 (or the sentence-transformers model at ``model_path``) behind graphmem's embedding cache."""

    model_path: str | None = None
    cache_path: str | None = None  # default: GRAPHMEM_EMBED_CACHE, else beside an embedded store
    _embedder: CachedEmbedder | None = PrivateAttr(default=None)

    def get(self, store: GraphStore) -> Embedder:
        if self._embedder is None:
            path = Path(self.cache_path) if self.cache_path else embedding_cache_path(store)
            self._embedder = CachedEmbedder(_model(self.model_path), path)
        return self._embedder

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._embedder is not None:
            self._embedder.close()
            self._embedder = None


_spacy_lock = threading.Lock()


@cache
def _spacy() -> Extractor:
    from graphmem.extract.spacy_extractor import SpacyExtractor

    return SpacyExtractor()


class ExtractorResource(dg.ConfigurableResource):
    """spaCy (the default), or an OpenAI-compatible LLM endpoint with spaCy as its fallback."""

    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None

    def get(self) -> Extractor:
        with _spacy_lock:
            spacy = _spacy()
        if not self.llm_base_url:
            return spacy
        from graphmem.extract.llm import LLMExtractor, LLMSettings

        if not self.llm_model:
            raise ValueError("GRAPHMEM_LLM_MODEL must be set when GRAPHMEM_LLM_BASE_URL is set")
        settings = LLMSettings(base_url=self.llm_base_url, model=self.llm_model, api_key=self.llm_api_key or None)
        return LLMExtractor(settings, fallback=spacy)


class InboxResource(dg.ConfigurableResource):
    """The folder the sensor watches; each supported file under it is one partition of the ingestion assets."""

    path: str = DEFAULT_INBOX

    @property
    def folder(self) -> Path:
        return Path(self.path)


def memory(graph_store: GraphStoreResource, embedder: EmbedderResource) -> Memory:
    """The library's facade over the run's store (not closed here: the resource closes the store)."""
    store = graph_store.open()
    return Memory(store, graph_store.namespace, embedder=embedder.get(store))


def from_env() -> dict[str, dg.ConfigurableResource]:
    """The resources of the code location, from GRAPHMEM_* variables (see the README's Pipelines section)."""
    return {
        "graph_store": GraphStoreResource(
            store=env_or("GRAPHMEM_STORE", DEFAULT_STORE),
            namespace=env_or("GRAPHMEM_NAMESPACE", "default"),
            neo4j_uri=env_or("GRAPHMEM_NEO4J_URI"),
            neo4j_user=env_or("GRAPHMEM_NEO4J_USER"),
            neo4j_password=env_or("GRAPHMEM_NEO4J_PASSWORD"),
            neo4j_database=env_or("GRAPHMEM_NEO4J_DATABASE"),
        ),
        "embedder": EmbedderResource(
            model_path=env_or("GRAPHMEM_EMBED_MODEL"), cache_path=env_or("GRAPHMEM_EMBED_CACHE")
        ),
        "extractor": ExtractorResource(
            llm_base_url=env_or("GRAPHMEM_LLM_BASE_URL"),
            llm_model=env_or("GRAPHMEM_LLM_MODEL"),
            llm_api_key=env_or("GRAPHMEM_LLM_API_KEY"),
        ),
        "inbox": InboxResource(path=env_or("GRAPHMEM_INBOX", DEFAULT_INBOX)),
    }
