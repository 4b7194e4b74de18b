"""Stored data is never executed or unpickled, and no value is ever formatted into Cypher text."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = [REPO / "graphmem", REPO / "pipelines"]
# Calls that would run or deserialise code from what they read (yaml.safe_load and np.load(allow_pickle=False)
# are fine).
UNSAFE = re.compile(
    r"\b(?:eval|exec)\(|\bpickle\b|\bmarshal\b|\byaml\.load\(|\bshelve\b|\bdill\b|cloudpickle|allow_pickle=True"
    r"|torch\.load\(|joblib"
)


def _sources() -> list[Path]:
    return sorted(p for package in PACKAGES if package.is_dir() for p in package.rglob("*.py"))


def test_no_eval_exec_pickle_marshal_or_yaml_load() -> None:
    found = [f"{path.relative_to(REPO)}:{number}: {line.strip()}"
             for path in _sources()
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if UNSAFE.search(line.split("#", 1)[0])]  # fmt: skip
    assert found == []


def _is_built_text(node: ast.expr) -> bool:
    """A string made in Python from parts (f-string, +, %, .format): what must never be sent as Cypher."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(part, ast.FormattedValue) for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
        return True
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"


def test_cypher_is_never_built_from_values() -> None:
    """Every ``.run(query, ...)`` of the Neo4j driver gets a query loaded from cypher/ (or a user's own text to
    run as given), never one formatted in Python: values travel as parameters only."""
    built = []
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "run"
                    and node.args and _is_built_text(node.args[0])):  # fmt: skip
                built.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert built == []
    runs = [path for path in _sources() if re.search(r"\btx\.run\(|session\.run\(", path.read_text(encoding="utf-8"))]
    assert runs, "the check found no Cypher calls at all: it no longer looks where the queries are"
