"""Loads the parameterised Cypher kept in ``cypher/*.cypher``; no query text lives in Python."""

from __future__ import annotations

import os
import re
from functools import cache
from pathlib import Path

_COMMENT = re.compile(r"^\s*//.*$", re.MULTILINE)


def cypher_dir() -> Path:
    """The repository's ``cypher/`` folder, or ``GRAPHMEM_CYPHER_DIR`` when set."""
    override = os.environ.get("GRAPHMEM_CYPHER_DIR")
    return Path(override) if override else Path(__file__).resolve().parents[2] / "cypher"


@cache
def load(name: str) -> str:
    """The query in ``cypher/<name>.cypher`` (``name`` like ``"store/get_nodes"``)."""
    path = cypher_dir() / f"{name}.cypher"
    if not path.is_file():
        raise FileNotFoundError(f"no Cypher query named {name!r} (looked for {path})")
    return path.read_text(encoding="utf-8")


def statements(name: str) -> list[str]:
    """The ``;``-separated statements of a file such as ``schema``, comments removed."""
    text = _COMMENT.sub("", load(name))
    return [s.strip() for s in text.split(";") if s.strip()]


def header(name: str) -> str:
    """The leading ``//`` comment lines of a query: what it answers and its parameters."""
    lines = []
    for line in load(name).splitlines():
        if not line.startswith("//"):
            break
        lines.append(line[2:].strip())
    return "\n".join(lines)
