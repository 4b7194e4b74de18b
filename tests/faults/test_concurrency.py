"""Two ingestions into one store at once, and retrieval while an ingestion runs."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from faults_support import PrivateNeo4j, cli_ingest, small_corpus

from graphmem.embed import CachedEmbedder
from graphmem.extract.spacy_extractor import SpacyExtractor
from graphmem.graph_digest import namespace_digest
from graphmem.memory import Memory
from graphmem.store import EmbeddedStore, GraphStore

QUESTIONS = ["Who restored the Lunnock tide mill?", "Where is Kessaby?", "What did Orrin Shipworks build?"]


@pytest.fixture(scope="module")
def halves(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two disjoint halves of six sample documents, which share entities (Kessaby, Vellmark, ...)."""
    corpus = small_corpus(tmp_path_factory.mktemp("corpus"), documents=6, dialogues=0)
    first, second = corpus / "first", corpus / "second"
    first.mkdir()
    second.mkdir()
    for i, path in enumerate(sorted(p for p in corpus.iterdir() if p.is_file())):
        path.rename((first if i % 2 == 0 else second) / path.name)
    return first, second


@pytest.fixture(scope="module")
def serial_digests(halves: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory,
                   spacy_extractor: SpacyExtractor, embedder: CachedEmbedder) -> set[str]:  # fmt: skip
    """The digests of the two serial orders (which entity name is seen first may differ between them)."""
    digests = set()
    folder = tmp_path_factory.mktemp("serial")
    for order in (halves, halves[::-1]):
        with EmbeddedStore(folder / f"{order[0].name}.sqlite3") as store:
            memory = Memory(store, "ns", extractor=spacy_extractor, embedder=embedder)  # not closed: shared embedder
            for half in order:
                memory.add_paths([half])
            digests.add(namespace_digest(store, "ns"))
    return digests


@pytest.fixture(scope="module")
def child_env(serial_digests: set[str], embedder: CachedEmbedder) -> dict[str, str]:
    """Children share the session's embedding cache, which the serial runs filled: they then spend their time
    loading spaCy and writing, not embedding (the cache is SQLite in WAL mode, safe for concurrent processes)."""
    return {**os.environ, "GRAPHMEM_EMBED_CACHE": str(embedder.path)}


def _two_at_once(halves: tuple[Path, Path], target: str, namespace: str, env: dict[str, str]) -> None:
    children = [cli_ingest([half], target, namespace, env) for half in halves]
    for child in children:
        out, err = child.communicate(timeout=300)
        assert child.returncode == 0, err[-2000:]
        assert "3 documents" in out


def _no_duplicates(store: GraphStore, namespace: str) -> None:
    ids = [n.id for n in store.iter_nodes(namespace)]
    assert len(ids) == len(set(ids))
    keys = [n.props["key"] for n in store.iter_nodes(namespace, "Entity")]
    assert len(keys) == len(set(keys)), "an entity was created twice"


@pytest.mark.slow
def test_two_processes_ingesting_into_one_file_end_as_a_serial_run(
    halves: tuple[Path, Path], serial_digests: set[str], child_env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "shared.sqlite3"
    _two_at_once(halves, str(path), "ns", child_env)
    with EmbeddedStore(path) as store:
        _no_duplicates(store, "ns")
        assert namespace_digest(store, "ns") in serial_digests


@pytest.mark.slow
@pytest.mark.neo4j
def test_two_processes_ingesting_into_neo4j_end_as_a_serial_run(
    halves: tuple[Path, Path], serial_digests: set[str], child_env: dict[str, str], private_neo4j: PrivateNeo4j,
    fresh_ns: str,
) -> None:  # fmt: skip
    env = {**private_neo4j.env, "GRAPHMEM_EMBED_CACHE": child_env["GRAPHMEM_EMBED_CACHE"]}
    _two_at_once(halves, private_neo4j.uri, fresh_ns, env)
    with private_neo4j.store() as store:
        _no_duplicates(store, fresh_ns)
        assert namespace_digest(store, fresh_ns) in serial_digests


@pytest.mark.slow
def test_retrieval_keeps_answering_while_an_ingestion_runs(
    halves: tuple[Path, Path], tmp_path: Path, spacy_extractor: SpacyExtractor, embedder: CachedEmbedder
) -> None:
    path = tmp_path / "graph.sqlite3"
    # a cold embedding cache of its own: the child then takes seconds to embed, during which queries run
    child_env = {**os.environ, "GRAPHMEM_EMBED_CACHE": str(tmp_path / "child-embeddings.sqlite3")}
    with EmbeddedStore(path) as store:
        reader = Memory(store, "ns", extractor=spacy_extractor, embedder=embedder)  # not closed: shared embedder
        reader.add_paths([halves[0]])
        before = reader.store.revision("ns")
        child = cli_ingest([halves[1]], str(path), "ns", child_env)
        answers: list[tuple[int, int]] = []  # (revision seen, hits)
        try:
            while child.poll() is None:
                for question in QUESTIONS:  # any exception fails the test: retrieval must not fail at all
                    answers.append((reader.store.revision("ns"), len(reader.retrieve(question, k=3).hits)))
                time.sleep(0.2)  # leave the child a core: the machine may have only two
        finally:
            _, err = child.communicate(timeout=300)
        assert child.returncode == 0, err[-2000:]
        assert answers and all(hits > 0 for _, hits in answers)
        during = [revision for revision, _ in answers if revision > before]
        assert during, "no query ran after the ingestion's first write"
        assert reader.counts().nodes["Document"] == 6
        assert len(reader.retrieve(QUESTIONS[0], k=3).hits) == 3
