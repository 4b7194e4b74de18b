"""The named Cypher queries and how a query given as text, a file or a name is resolved.

The library is ``cypher/library/*.cypher``, each called by its bare name (``"entity_neighbourhood"``);
the temporal read queries are called by their path under ``cypher/`` (``"temporal/entity_history"``).
Each file starts with ``//`` comment lines saying what it answers; its parameters are the ``$names`` in it.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphmem.store.cypher import cypher_dir

LIBRARY_FOLDER = "library"
# Read queries outside the library that are callable by name too (the store's own queries are not).
EXTRA_FOLDERS = ("temporal",)
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_COMMENT = re.compile(r"//[^\n]*")
_NAME = re.compile(r"^[A-Za-z0-9_-]+(?:/[A-Za-z0-9_-]+)*$")


class UnknownQueryError(LookupError):
    """A bare name that is no query of the library."""


@dataclass(frozen=True)
class LibraryQuery:
    """One named query: its name, file, header comment and parameters (in order of first use)."""

    name: str
    path: Path
    header: str
    params: tuple[str, ...]

    @property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def summary(self) -> str:
        """The header's first sentence."""
        first = self.header.split("\n\n")[0].replace("\n", " ")
        return first.split(". ")[0].rstrip(".")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "path": str(self.path), "header": self.header, "params": list(self.params),
                "text": self.text}  # fmt: skip


@dataclass(frozen=True)
class ResolvedQuery:
    """A query ready to run: its text, and its library name or file when it came from one."""

    text: str
    name: str | None = None
    path: Path | None = None

    @property
    def params(self) -> tuple[str, ...]:
        return query_params(self.text)


def query_params(text: str) -> tuple[str, ...]:
    """The ``$parameters`` a query uses, in order of first use (comments ignored)."""
    return tuple(dict.fromkeys(_PARAM.findall(_COMMENT.sub("", text))))


def query_header(text: str) -> str:
    """The leading ``//`` comment lines, without the slashes."""
    lines = []
    for line in text.splitlines():
        if not line.startswith("//"):
            break
        lines.append(line[2:].strip())
    return "\n".join(lines)


def library_dir() -> Path:
    return cypher_dir() / LIBRARY_FOLDER


def _entry(name: str, path: Path) -> LibraryQuery:
    text = path.read_text(encoding="utf-8")
    return LibraryQuery(name=name, path=path, header=query_header(text), params=query_params(text))


def library(*, include_extra: bool = True) -> list[LibraryQuery]:
    """Every named query, sorted by name: the library's files, then (``include_extra``) the temporal ones."""
    root = library_dir()
    found = [_entry(p.relative_to(root).with_suffix("").as_posix(), p) for p in sorted(root.rglob("*.cypher"))]
    if include_extra:
        for folder in EXTRA_FOLDERS:
            for path in sorted((cypher_dir() / folder).glob("*.cypher")):
                found.append(_entry(f"{folder}/{path.stem}", path))
    return found


def library_query(name: str) -> LibraryQuery:
    for entry in library():
        if entry.name == name:
            return entry
    names = ", ".join(e.name for e in library())
    raise UnknownQueryError(f"no Cypher query named {name!r} (`graphmem cypher --list` describes them): {names}")


def resolve(query: str) -> ResolvedQuery:
    """Cypher text as it is; a path to a ``.cypher`` file, read; a bare name, looked up in the library.

    A string without spaces cannot be a Cypher statement, so one that is neither a file nor a library name
    is an error rather than a query sent to the server.
    """
    stripped = query.strip()
    if not stripped:
        raise ValueError("empty Cypher query")
    if stripped.endswith(".cypher") or (not any(c.isspace() for c in stripped) and Path(stripped).is_file()):
        path = Path(stripped).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"no Cypher file {path}")
        return ResolvedQuery(text=path.read_text(encoding="utf-8"), path=path)
    if _NAME.match(stripped):
        entry = library_query(stripped)
        return ResolvedQuery(text=entry.text, name=entry.name, path=entry.path)
    if not any(c.isspace() for c in stripped):
        raise UnknownQueryError(f"{stripped!r} is neither Cypher, a .cypher file nor a library name "
                                "(`graphmem cypher --list` lists them)")  # fmt: skip
    return ResolvedQuery(text=query)


FAVOURITES_FOLDER = "graphmem"


def favourite_text(entry: LibraryQuery) -> str:
    """A query as a Neo4j Browser favourite: the Browser names a favourite after its first comment line."""
    params = ", ".join(f"${p}" for p in entry.params) or "none"
    title = re.split(r":| \(", entry.summary, maxsplit=1)[0]
    if len(title) > 70:
        title = title[:70].rsplit(" ", 1)[0] + "…"
    return f"// {entry.name}: {title} (params: {params})\n{entry.text}"


def write_favourites(path: Path) -> list[str]:
    """Every named query as a Browser favourite, zipped in one folder; returns the names.

    Neo4j Browser imports such a zip (or the single files) from its Favorites drawer.
    """
    entries = library()
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for entry in entries:
            archive.writestr(f"{FAVOURITES_FOLDER}/{entry.name.replace('/', '-')}.cypher", favourite_text(entry))
    return [entry.name for entry in entries]
