"""``graphmem ingest`` killed with SIGKILL midway: a re-run ends in the graph of an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from faults_support import PrivateNeo4j, cli_ingest, small_corpus, wait_until

from graphmem.embed import CachedEmbedder
from graphmem.extract.spacy_extractor import SpacyExtractor
from graphmem.graph_digest import namespace_digest
from graphmem.memory import Memory
from graphmem.store import EmbeddedStore, GraphStore


def _kill_midway(child: subprocess.Popen[str], store: GraphStore, namespace: str) -> None:
    """SIGKILL once the child has written something but not marked every source as done."""
    def started() -> bool:
        return child.poll() is not None or store.revision(namespace) >= 1

    try:
        wait_until(started, 180, "the child's first write")
        assert child.poll() is None, f"the ingestion ended before it could be killed: {child.communicate()}"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()


def _killed_then_rerun(target: str, open_target: Callable[[], GraphStore], namespace: str, tmp_path: Path,
                       env: dict[str, str], extractor: SpacyExtractor,
                       embedder: CachedEmbedder) -> tuple[str, str]:  # fmt: skip
    """The digest of a killed ``graphmem ingest --store target``'s re-run, and that of a clean run of the same
    input in another namespace."""
    corpus = small_corpus(tmp_path / "corpus", documents=6, dialogues=1)
    # a cold embedding cache of its own: the child then spends seconds embedding, time enough to be killed
    child_env = {**env, "GRAPHMEM_EMBED_CACHE": str(tmp_path / "child-embeddings.sqlite3")}
    with open_target() as store:
        _kill_midway(cli_ingest([corpus], target, namespace, child_env), store, namespace)
        documents = list(store.iter_nodes(namespace, "Document")) + list(store.iter_nodes(namespace, "Dialogue"))
        assert len([d for d in documents if d.props.get("content_hash")]) < 7, "the kill came after the last source"
        # Memory.close would close the session's embedder too: the stores are closed by their with
        report = Memory(store, namespace, extractor=extractor, embedder=embedder).add_paths([corpus])
        assert report.unchanged < 7
        killed = namespace_digest(store, namespace)
    with open_target() as store:
        Memory(store, namespace + "-clean", extractor=extractor, embedder=embedder).add_paths([corpus])
        return killed, namespace_digest(store, namespace + "-clean")


@pytest.mark.slow
def test_killed_cli_ingestion_rerun_equals_a_clean_run_embedded(
    tmp_path: Path, spacy_extractor: SpacyExtractor, embedder: CachedEmbedder
) -> None:
    path = tmp_path / "graph.sqlite3"
    killed, clean = _killed_then_rerun(str(path), lambda: EmbeddedStore(path), "ns", tmp_path, dict(os.environ),
                                       spacy_extractor, embedder)  # fmt: skip
    assert killed == clean


@pytest.mark.slow
@pytest.mark.neo4j
def test_killed_cli_ingestion_rerun_equals_a_clean_run_neo4j(
    private_neo4j: PrivateNeo4j, fresh_ns: str, tmp_path: Path, spacy_extractor: SpacyExtractor,
    embedder: CachedEmbedder,
) -> None:  # fmt: skip
    killed, clean = _killed_then_rerun(private_neo4j.uri, private_neo4j.store, fresh_ns, tmp_path, private_neo4j.env,
                                       spacy_extractor, embedder)  # fmt: skip
    assert killed == clean
