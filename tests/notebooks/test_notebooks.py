"""The notebooks run top to bottom, offline, in a kernel of this venv's Python; committed without outputs.

Each notebook is executed with nbclient in notebooks/ as its working directory. The executed copy (with
outputs) and every plot it drew are saved under test-artifacts/notebooks/ for a person to look at.
quickstart's Neo4j section runs against the test session's server (GRAPHMEM_NOTEBOOK_NEO4J=required).
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from graphmem.store.neo4j import Neo4jSettings

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
ARTIFACTS = REPO / "test-artifacts" / "notebooks"
NAMES = ["quickstart", "retrieval_eval", "temporal", "graph_explore"]
KERNEL = "graphmem-venv"
CELL_TIMEOUT_S = 600  # one cell; the notebooks take about a minute each on 2 busy cores

pytestmark = pytest.mark.slow


def _read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


def test_every_notebook_is_listed_and_committed_without_outputs() -> None:
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == sorted(NAMES)
    for name in NAMES:
        notebook = _read(name)
        nbformat.validate(notebook)
        code = [cell for cell in notebook.cells if cell.cell_type == "code"]
        assert code, name
        assert all(cell.outputs == [] and cell.execution_count is None for cell in code), f"{name} has outputs"


@pytest.fixture(scope="module")
def kernel_specs(tmp_path_factory: pytest.TempPathFactory) -> KernelSpecManager:
    """A kernel spec for this interpreter, so the notebooks run in the venv whatever kernels the user has."""
    folder = tmp_path_factory.mktemp("kernels") / KERNEL
    folder.mkdir()
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "graphmem venv", "language": "python"}  # fmt: skip
    (folder / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    return KernelSpecManager(kernel_dirs=[str(folder.parent)])


@pytest.fixture
def kernel_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """What the kernel inherits: caches outside the checkout and the inline plotting backend, which draws with Agg
    (no display needed) and puts each figure in the cell's outputs as a PNG, whatever MPLBACKEND the user set."""
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    monkeypatch.setenv("GRAPHMEM_INDEX_CACHE", str(tmp_path / "index-cache"))
    monkeypatch.setenv("GRAPHMEM_NOTEBOOK_NEO4J", "skip")
    yield


def execute(name: str, kernel_specs: KernelSpecManager) -> nbformat.NotebookNode:
    """Run the notebook (CellExecutionError on any failing cell); save the executed copy and its plots."""
    notebook = _read(name)
    manager = KernelManager(kernel_name=KERNEL, kernel_spec_manager=kernel_specs)
    client = NotebookClient(notebook, km=manager, timeout=CELL_TIMEOUT_S,
                            resources={"metadata": {"path": str(NOTEBOOKS)}})  # fmt: skip
    try:
        client.execute()
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, ARTIFACTS / f"{name}.ipynb")
        for i, png in enumerate(_pngs(notebook), start=1):
            (ARTIFACTS / f"{name}-{i}.png").write_bytes(base64.b64decode(png))
    return notebook


def _pngs(notebook: nbformat.NotebookNode) -> list[str]:
    return [out["data"]["image/png"] for cell in notebook.cells if cell.cell_type == "code"
            for out in cell.get("outputs", []) if "image/png" in out.get("data", {})]  # fmt: skip


def _text(notebook: nbformat.NotebookNode) -> str:
    """Everything the cells printed or displayed as text."""
    parts = []
    for cell in notebook.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", "") or out.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


@pytest.mark.neo4j
def test_quickstart(kernel_specs: KernelSpecManager, kernel_env: None, neo4j_settings: Neo4jSettings,
                    monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv("GRAPHMEM_NOTEBOOK_NEO4J", "required")
    for variable, value in (("URI", neo4j_settings.uri), ("USER", neo4j_settings.user),
                            ("PASSWORD", neo4j_settings.password), ("DATABASE", neo4j_settings.database)):  # fmt: skip
        monkeypatch.setenv(f"GRAPHMEM_NEO4J_{variable}", value)
    text = _text(execute("quickstart", kernel_specs))
    assert "answer passage: documents/corvin-ashdale.md" in text  # the two-hop answer is in ppr's top 3
    assert "same counts as the embedded store: True" in text
    assert "Corvin Ashdale" in text.split("entity_neighbourhood", 1)[-1]


def test_retrieval_eval(kernel_specs: KernelSpecManager, kernel_env: None) -> None:
    notebook = execute("retrieval_eval", kernel_specs)
    text = _text(notebook)
    for mode in ("dense", "bm25", "ppr", "hybrid"):
        assert f"\n{mode} " in text, mode  # a row of the figures table
    assert len(_pngs(notebook)) == 2  # recall and latency


def test_temporal(kernel_specs: KernelSpecManager, kernel_env: None) -> None:
    notebook = execute("temporal", kernel_specs)
    text = _text(notebook)
    assert "superseded by" in text  # the history shows a retired fact and what replaced it
    assert len(_pngs(notebook)) == 1


def test_graph_explore(kernel_specs: KernelSpecManager, kernel_env: None) -> None:
    notebook = execute("graph_explore", kernel_specs)
    assert len(_pngs(notebook)) == 2  # a community and a retrieval's subgraph
