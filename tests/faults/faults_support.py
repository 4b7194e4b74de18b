"""What the fault tests share: their own Neo4j server's handle, a small corpus, child ingestions."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from graphmem.store.neo4j import Neo4jSettings, Neo4jStore

REPO = Path(__file__).resolve().parents[2]
NEO4J_SCRIPT = REPO / "docker" / "neo4j-local" / "neo4j-local.sh"
PASSWORD = "graphmem-faults"
SAMPLE_DOCUMENTS = REPO / "data" / "sample" / "documents"
SAMPLE_DIALOGUES = REPO / "data" / "sample" / "dialogues"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class PrivateNeo4j:
    """A Neo4j server that belongs to the fault tests."""

    folder: Path
    bolt_port: int
    http_port: int

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.bolt_port}"

    @property
    def settings(self) -> Neo4jSettings:
        return Neo4jSettings(uri=self.uri, password=PASSWORD)

    @property
    def env(self) -> dict[str, str]:
        """The environment of the script, and of a child process that should use this server."""
        return {**os.environ, "GRAPHMEM_NEO4J_DIR": str(self.folder), "GRAPHMEM_NEO4J_BOLT_PORT": str(self.bolt_port),
                "GRAPHMEM_NEO4J_HTTP_PORT": str(self.http_port), "GRAPHMEM_NEO4J_PASSWORD": PASSWORD,
                "GRAPHMEM_NEO4J_URI": self.uri, "GRAPHMEM_NEO4J_HEAP_INITIAL": "256m",
                "GRAPHMEM_NEO4J_HEAP_MAX": "512m", "GRAPHMEM_NEO4J_PAGECACHE": "256m",
                "GRAPHMEM_NEO4J_STOP_TIMEOUT": "30"}  # fmt: skip

    def script(self, command: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(["bash", str(NEO4J_SCRIPT), command], env=self.env, capture_output=True, text=True,
                              timeout=600)  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"neo4j-local.sh {command} failed:\n{done.stdout}\n{done.stderr}")
        return done

    def store(self, **options: float) -> Neo4jStore:
        return Neo4jStore(self.settings, **options)


def small_corpus(folder: Path, documents: int = 4, dialogues: int = 1) -> Path:
    """A copy of part of the sample corpus: enough to exercise every stage, small enough to run often."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted(SAMPLE_DOCUMENTS.iterdir())[:documents] + sorted(SAMPLE_DIALOGUES.iterdir())[:dialogues]:
        shutil.copy(path, folder / path.name)
    return folder


def cli_ingest(paths: list[Path], store: str, namespace: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """``graphmem ingest`` in a child process (the console script's module, with this interpreter)."""
    command = [sys.executable, "-m", "graphmem.cli", "ingest", *map(str, paths), "--store", store,
               "--namespace", namespace, "--quiet"]  # fmt: skip
    env = {**env, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_until(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
