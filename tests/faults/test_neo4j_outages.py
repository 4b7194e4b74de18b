"""Neo4j unreachable, silent or restarted in the middle of an ingestion."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
from faults_support import PrivateNeo4j, small_corpus, wait_until

from graphmem.embed import CachedEmbedder
from graphmem.extract.spacy_extractor import SpacyExtractor
from graphmem.graph_digest import namespace_digest
from graphmem.ingest import IngestConfig, IngestReport
from graphmem.memory import Memory
from graphmem.store import EmbeddedStore, StoreUnavailableError
from graphmem.store.neo4j import Neo4jSettings, Neo4jStore

SMALL_BATCHES = IngestConfig(batch_passages=1, extraction_workers=0)


def _refusal(uri: str) -> tuple[StoreUnavailableError, float]:
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError) as caught:
        Memory(uri, "ns", extract=False)
    return caught.value, time.monotonic() - started


def test_a_closed_port_fails_at_once_naming_the_uri() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago and has nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    uri = f"bolt://127.0.0.1:{port}"
    error, elapsed = _refusal(uri)
    assert uri in str(error) and "unreachable" in str(error)
    assert elapsed < 5.0, f"{elapsed:.2f} s"


def test_a_server_that_never_answers_fails_within_5_seconds_naming_the_uri() -> None:
    with socket.socket() as silent:  # accepts connections (the kernel does) and never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        uri = f"bolt://127.0.0.1:{silent.getsockname()[1]}"
        error, elapsed = _refusal(uri)
    assert uri in str(error)
    assert 1.0 < elapsed < 5.0, f"{elapsed:.2f} s"  # it did wait for the handshake, within the bound


@pytest.mark.slow
@pytest.mark.neo4j
def test_a_restart_in_the_middle_of_an_ingestion_ends_in_the_clean_graph(
    private_neo4j: PrivateNeo4j, private_store: Neo4jStore, fresh_ns: str, tmp_path: Path,
    spacy_extractor: SpacyExtractor, embedder: CachedEmbedder,
) -> None:  # fmt: skip
    corpus = small_corpus(tmp_path / "corpus", documents=3, dialogues=0)
    # the uninterrupted run on the embedded store: digests are equal for equal graphs on either store
    with EmbeddedStore(tmp_path / "clean.sqlite3") as store:
        Memory(store, "ns", extractor=spacy_extractor, embedder=embedder, config=SMALL_BATCHES).add_paths([corpus])
        expected = namespace_digest(store, "ns")

    interrupted = Memory(private_neo4j.store(), fresh_ns, extractor=spacy_extractor, embedder=embedder,
                         config=SMALL_BATCHES)  # fmt: skip
    outcome: list[IngestReport | BaseException] = []

    def ingest() -> None:
        try:
            outcome.append(interrupted.add_paths([corpus]))
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=ingest)
    worker.start()
    wait_until(lambda: private_store.revision(fresh_ns) >= 2 or outcome, 120, "the ingestion's first batches")
    assert not outcome, "the ingestion finished before the server could be restarted"
    impatient = private_neo4j.store(retry_seconds=1.0)
    private_neo4j.script("stop")
    try:
        down = Neo4jSettings(uri=private_neo4j.uri, password=private_neo4j.settings.password)
        with pytest.raises(StoreUnavailableError, match=private_neo4j.uri):
            Neo4jStore(down)  # while it is down, a new store says so, naming the server
        for query in (lambda: impatient.counts(fresh_ns), lambda: list(impatient.iter_nodes(fresh_ns))):
            started = time.monotonic()
            with pytest.raises(StoreUnavailableError, match="did not come back within 1 s") as gone:
                query()  # a store that waits 1 s gives up after about that long, naming the server
            assert time.monotonic() - started < 5.0 and private_neo4j.uri in str(gone.value)
    finally:
        private_neo4j.script("start")
    worker.join(timeout=180)
    assert outcome and isinstance(outcome[0], IngestReport), outcome
    assert outcome[0].documents == 3
    assert namespace_digest(private_store, fresh_ns) == expected
    interrupted.store.close()
    impatient.close()
