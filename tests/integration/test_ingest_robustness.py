"""Killed ingestions, huge documents, the CLI: ingestion stays correct when things go wrong."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

from graphmem.embed import CachedEmbedder
from graphmem.extract.spacy_extractor import SpacyExtractor
from graphmem.graph_digest import graph_lines
from graphmem.ingest import IngestConfig
from graphmem.memory import Memory
from graphmem.store import EmbeddedStore

REPO = Path(__file__).resolve().parents[2]
SAMPLE = [str(REPO / "data/sample/documents"), str(REPO / "data/sample/documents.jsonl"),
          str(REPO / "data/sample/dialogues")]  # fmt: skip
SMALL_BATCHES = IngestConfig(batch_passages=4, extraction_workers=0)
CHILD = """
import sys
from graphmem.ingest import IngestConfig
from graphmem.memory import Memory
Memory(sys.argv[1], "ns", config=IngestConfig(batch_passages=4, extraction_workers=0)).add_paths(sys.argv[2:])
"""


def test_a_killed_ingestion_rerun_ends_in_the_same_graph(
    tmp_path: Path, spacy_extractor: SpacyExtractor, embedder: CachedEmbedder
) -> None:
    killed = tmp_path / "killed.sqlite3"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(killed), *SAMPLE], cwd=REPO)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and child.poll() is None:
            if killed.exists() and EmbeddedStore(killed).revision("ns") >= 12:  # several batches are in
                break
            time.sleep(0.05)
        assert child.poll() is None, "the ingestion finished before it could be killed"
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    finally:
        if child.poll() is None:
            child.kill()
    with EmbeddedStore(killed) as store:
        partial = store.counts("ns")
        assert partial.nodes.get("Passage", 0) + partial.nodes.get("Turn", 0) > 0
    rerun = Memory(EmbeddedStore(killed), "ns", extractor=spacy_extractor, embedder=embedder, config=SMALL_BATCHES)
    report = rerun.add_paths(SAMPLE)
    assert report.unchanged < 14  # some sources were left unfinished by the kill and are done now
    clean = Memory(EmbeddedStore(tmp_path / "clean.sqlite3"), "ns", extractor=spacy_extractor, embedder=embedder,
                   config=SMALL_BATCHES)  # fmt: skip
    clean.add_paths(SAMPLE)
    difference = set(graph_lines(rerun.store, "ns")) ^ set(graph_lines(clean.store, "ns"))
    assert not difference, sorted(difference)[:6]


def test_a_10_mb_document_is_ingested_in_bounded_memory(tmp_path: Path) -> None:
    sentence = "The harbour of Kessaby was rebuilt by Orrin Shipworks in 1990. "
    path = tmp_path / "huge.txt"
    path.write_text("Huge\n\n" + sentence * (10_000_000 // len(sentence)), encoding="utf-8")
    assert path.stat().st_size >= 9_900_000
    memory = Memory(tmp_path / "graph.sqlite3", "ns", extract=False)
    tracemalloc.start()
    report = memory.add_paths([path])
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert report.documents == 1 and report.passages > 10_000
    assert memory.counts().nodes["Passage"] == report.passages
    assert peak < 400 * 2**20, f"peak traced memory {peak / 2**20:.0f} MiB"


def test_cli_ingest_prints_a_summary_and_names_bad_files(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "good.md").write_text("# Brill\n\nBrill is a town in Vellmark. It has a harbour.")
    (tmp_path / "in" / "bad.txt").write_bytes(b"\x00\x01binary")
    (tmp_path / "in" / "docs.jsonl").write_text('{"id": "x", "text": "Ana lives in Brill."}\n{broken\n')
    env = {**os.environ, "GRAPHMEM_EMBED_CACHE": str(tmp_path / "cache.sqlite3")}
    done = subprocess.run([sys.executable, "-m", "graphmem.cli", "ingest", str(tmp_path / "in"), "--store",
                           str(tmp_path / "g.sqlite3"), "--quiet"], capture_output=True, text=True, env=env,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "bad.txt: binary file" in done.stderr
    assert "docs.jsonl:2: invalid JSON" in done.stderr
    assert "2 documents" in done.stdout and "1 quarantined, 1 unreadable files" in done.stdout
    assert "entities" in done.stdout and "Entity" in done.stdout
