"""The retrieval index on disk, and the policy that keeps one current index per namespace.

A cache file is one ``.npz`` (numpy's zip of arrays, read with ``allow_pickle=False``, so
nothing stored is ever unpickled) holding:
- each array field of RetrievalIndex as a member (``<field>.f16`` when it is float32 and float16 holds it
  exactly: the fact vectors), each sparse matrix as ``<field>.data``, ``.indices``, ``.indptr`` and ``.shape``;
- ``__columns__``: which list fields are stored as flat arrays (graphmem.index_encoding), and how;
- ``__fields__``: every other field as JSON (datetimes, tuples and Units tagged);
- ``__key__``: what the file is valid for, as JSON (format, namespace, revision, model, store, counts).
Members of 32 MB or more (the vectors, at scale) are read straight into their arrays by a few threads, without
zipfile's checksum pass, while the small ones are decoded; a short one is still caught
(graphmem.npz_read.LargeMembers).

The code is generic over RetrievalIndex's fields: a new field needs no cache code, and the
field names and types are part of the format, so old files stop matching by themselves.
The fields of ``Unit`` are part of the format too. Change FORMAT_VERSION when a field keeps its name and type
but changes its meaning.

Where: ``$GRAPHMEM_INDEX_CACHE``, else ``<store>.index-cache/`` beside an embedded store's
file, else ``.graphmem/index-cache/``. The file is ``<namespace>.<digest>.npz``, the digest
hashing the store's identity (its path or URI), the embedding model and the namespace.
Files are written to a temporary file and renamed over the old one, so readers never see half a
file. An unreadable or mismatched file is skipped (with a warning when it is damaged or of
another format) and the index is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from graphmem.embed import Embedder
from graphmem.index import RetrievalIndex, Unit, build_index
from graphmem.index_delta import DeltaError, RecordingStore, apply_delta
from graphmem.index_encoding import (
    collector_paused,
    decode_columns,
    encode_columns,
    exact_halves,
    from_tag,
    json_member,
    to_json,
)
from graphmem.npz_read import LargeMembers
from graphmem.store import EmbeddedStore, GraphStore
from graphmem.store.base import check_namespace

log = logging.getLogger(__name__)

FORMAT_VERSION = 5  # 2: units carry trust and flags; 3: lists as columns (index_encoding); 4: units; 5: f16
CACHE_ENV = "GRAPHMEM_INDEX_CACHE"
_KEY, _FIELDS, _COLUMNS = "__key__", "__fields__", "__columns__"


def _cached_fields() -> list[str]:
    return [f.name for f in fields(RetrievalIndex) if f.metadata.get("cache", True)]


def _format() -> str:
    signature = [(f.name, str(f.type)) for f in fields(RetrievalIndex) if f.metadata.get("cache", True)]
    signature += [("Unit." + f.name, str(f.type)) for f in fields(Unit)]
    return f"{FORMAT_VERSION}:{_digest(json.dumps(signature))}"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:20]


def _unwrapped(store: GraphStore) -> GraphStore:
    """The store behind the recorder of writes (graphmem.index_delta), if any."""
    return store.inner if isinstance(store, RecordingStore) else store


def cache_dir(store: GraphStore) -> Path:
    """GRAPHMEM_INDEX_CACHE, else beside an embedded store's file, else .graphmem/index-cache."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    store = _unwrapped(store)
    if isinstance(store, EmbeddedStore):
        return store.path.with_name(store.path.stem + ".index-cache")
    return Path(".graphmem") / "index-cache"


def store_identity(store: GraphStore) -> str:
    """Which store this is: an embedded store's absolute path, else its repr (a Neo4j URI and database)."""
    store = _unwrapped(store)
    if isinstance(store, EmbeddedStore):
        return f"embedded:{store.path.resolve()}" + (f"#{store.file_id}" if store.file_id else "")
    return repr(store)


@dataclass(frozen=True)
class CacheKey:
    """What a cache file is valid for. ``counts`` digests the namespace's node and edge counts, so that a
    store deleted and filled again up to the same revision does not match by accident."""

    namespace: str
    revision: int
    model: str
    store: str
    counts: str
    format: str = ""

    def file_name(self) -> str:
        return f"{check_namespace(self.namespace)}.{_digest(self.store, self.model, self.namespace)}.npz"


def counts_digest(store: GraphStore, namespace: str) -> str:
    """The namespace's node and edge counts, digested; "" for an embedded store with a file id, which its
    identity names instead (counting takes seconds at 100k passages)."""
    inner = _unwrapped(store)
    if isinstance(inner, EmbeddedStore) and inner.file_id is not None:
        return ""
    counts = store.counts(namespace)
    return _digest(json.dumps([sorted(counts.nodes.items()), sorted(counts.edges.items())]))


# ---------------------------------------------------------------- save and load


def save_index(index: RetrievalIndex, path: Path, key: CacheKey) -> None:
    """Write an index atomically: a temporary file in the same folder, then os.replace."""
    arrays: dict[str, np.ndarray] = {}
    other: dict[str, Any] = {}
    columns: dict[str, str] = {}  # field name -> its kind of columns
    for name in _cached_fields():
        value = getattr(index, name)
        if sp.issparse(value):
            csr = sp.csr_matrix(value)
            arrays.update({f"{name}.data": csr.data, f"{name}.indices": csr.indices, f"{name}.indptr": csr.indptr,
                           f"{name}.shape": np.array(csr.shape, dtype=np.int64)})  # fmt: skip
        elif isinstance(value, np.ndarray):
            if value.dtype.hasobject:
                raise TypeError(f"field {name} holds Python objects")
            halved = exact_halves(value)
            if halved is not None:
                arrays[f"{name}.f16"] = halved
            else:
                arrays[name] = value
        elif (encoded := encode_columns(name, value)) is not None:
            columns[name], members = encoded
            arrays.update(members)
        else:
            other[name] = value
    arrays[_FIELDS] = json_member(to_json(other))
    arrays[_COLUMNS] = json_member(columns)
    arrays[_KEY] = json_member(asdict(replace(key, format=_format())))
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            np.savez(out, **arrays)  # type: ignore[arg-type]
        os.replace(temporary, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temporary)
        raise


def read_key(path: Path) -> dict[str, Any] | None:
    """A cache file's key, or None when there is no readable file."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as members:
            key = json.loads(members[_KEY].tobytes())
        if not isinstance(key, dict):
            raise ValueError("the key is not an object")
        return key
    except Exception as exc:  # a damaged file must never stop a query: it is rebuilt
        log.warning("ignoring the unreadable index cache %s (%s)", path, exc)
        return None


_WARNED: set[str] = set()


def key_matches(found: dict[str, Any] | None, expected: CacheKey, *, counts: bool = True) -> bool:
    if found is None:
        return False
    wanted = asdict(replace(expected, format=_format()))
    if not counts:
        wanted.pop("counts")
    if found.get("format") != wanted["format"] or found.get("model") != wanted["model"]:
        if expected.namespace not in _WARNED:  # once per namespace: several look-ups meet the same old file
            _WARNED.add(expected.namespace)
            log.warning("ignoring the index cache for %r: it was written by another format or embedding model",
                        expected.namespace)  # fmt: skip
        return False
    return all(found.get(k) == v for k, v in wanted.items())


def load_index(path: Path, expected: CacheKey, *, counts: bool = True) -> RetrievalIndex | None:
    """The cached index if the file matches ``expected``, else None (never raises)."""
    if not key_matches(read_key(path), expected, counts=counts):
        return None
    try:
        with LargeMembers(path) as reading, np.load(path, allow_pickle=False) as members, collector_paused():
            # the small members are decoded while the large ones are read (graphmem.npz_read.LargeMembers)
            other = json.loads(members[_FIELDS].tobytes(), object_hook=from_tag)
            columns = json.loads(members[_COLUMNS].tobytes())
            stored = set(members.files)
            values: dict[str, Any] = {}
            for name in _cached_fields():
                if name in columns:
                    values[name] = decode_columns(name, columns[name], members)
                elif not {name, f"{name}.shape", f"{name}.f16"} & stored:
                    values[name] = other[name]
            large = reading.result()

            def member(key: str) -> np.ndarray:
                return large[key] if key in large else members[key]

            for name in _cached_fields():
                if f"{name}.shape" in members.files:
                    parts = [member(f"{name}.{part}") for part in ("data", "indices", "indptr")]
                    values[name] = sp.csr_matrix(tuple(parts), shape=tuple(int(n) for n in members[f"{name}.shape"]))
                    values[name].check_format(full_check=True)
                elif name in members.files:
                    values[name] = member(name)
                elif f"{name}.f16" in members.files:
                    values[name] = np.asarray(member(f"{name}.f16"), dtype=np.float32)  # widened when read, if large
        index = RetrievalIndex(**values)
        check_index(index)
        return index
    except Exception as exc:  # a damaged file must never stop a query: it is rebuilt
        log.warning("ignoring the damaged index cache %s (%s)", path, exc)
        return None


def check_index(index: RetrievalIndex) -> None:
    """Raise ValueError unless the index's parts agree with each other (sizes, row numbers, types)."""
    n_units, n_entities, n_facts = len(index.units), len(index.entity_ids), len(index.facts)
    sizes = [
        (n_units, ["unit_vectors"]),
        (n_entities, ["entity_names", "entity_types", "entity_aliases", "entity_vectors"]),
        (n_facts, ["fact_vectors", "fact_texts", "fact_valid_from", "fact_valid_to", "fact_expired_at",
                   "fact_provenance"]),
        (len(index.synonym_pairs), ["synonym_scores"]),
    ]  # fmt: skip
    for size, names in sizes:
        for name in names:
            if len(getattr(index, name)) != size:
                raise ValueError(f"{name} has {len(getattr(index, name))} rows, not {size}")
    if index.graph.shape != (n_units + n_entities,) * 2 or index.mentions.shape != (n_entities, n_units):
        raise ValueError("the graph or mention matrix does not match the units and entities")
    if not all(isinstance(u, Unit) for u in index.units) or not all(isinstance(e, str) for e in index.entity_ids):
        raise ValueError("units or entity ids of the wrong type")
    rows = [s for s, _, _, _ in index.facts] + [o for _, _, o, _ in index.facts] + list(index.name_to_entity.values())
    if not (_rows_in_range(rows, n_entities) and _rows_in_range(index.synonym_pairs, n_entities)):
        raise ValueError("an entity row out of range")
    if len(index.supersessions) and not (index.supersessions.min() >= 0 and index.supersessions.max() < n_facts):
        raise ValueError("a supersession's fact row out of range")


def _rows_in_range(rows: list[Any] | np.ndarray, size: int) -> bool:
    """Every row an int (not a float, string or None) in [0, size). One numpy pass: a generator over the 3M
    rows of a 100k-passage index took 0.6 s of its load."""
    array = np.asarray(rows)  # a float, string or None anywhere makes it float, str or object, not int
    if not array.size:
        return True
    return array.dtype.kind in "iu" and bool(array.min() >= 0) and bool(array.max() < size)


# ---------------------------------------------------------------- one current index per namespace


class IndexCache:
    """Current RetrievalIndexes of one store: from memory, from disk, from the writes just made, or rebuilt.

    Writes meant to update an index go through ``writer``; ``watch`` before them and ``update`` after.
    """

    def __init__(self, store: GraphStore, embedder: Callable[[], Embedder], *, directory: Path | None = None,
                 progress: bool = False) -> None:  # fmt: skip
        self.store = store
        self.writer = RecordingStore(store)
        self.directory = directory if directory is not None else cache_dir(store)
        self.progress = progress
        self._embedder = embedder
        self._store_id = _digest(store_identity(store))
        self._current: dict[str, RetrievalIndex] = {}
        self._handed_out: set[str] = set()  # namespaces whose current index get() has returned once

    def _key(self, namespace: str, revision: int, counts: str = "") -> CacheKey:
        return CacheKey(namespace, revision, self._embedder().model_name, self._store_id, counts)

    def path(self, namespace: str) -> Path:
        return self.directory / self._key(namespace, 0).file_name()

    def _on_disk(self, namespace: str, revision: int) -> bool:
        """Whether a cache file matches this revision (cheap when there is none: no model or store is touched)."""
        if not self.directory.is_dir() or not any(self.directory.glob(f"{check_namespace(namespace)}.*.npz")):
            return False
        path = self.path(namespace)
        return path.is_file() and key_matches(
            read_key(path), self._key(namespace, revision, counts_digest(self.store, namespace))
        )

    def get(self, namespace: str) -> RetrievalIndex:
        started = time.perf_counter()
        revision = self.store.revision(namespace)
        index = self._current.get(namespace)
        if index is not None and index.revision == revision:
            if namespace in self._handed_out:
                return replace(index, origin="memory", build_seconds=time.perf_counter() - started)
            self._handed_out.add(namespace)
            return index
        path = self.path(namespace)
        loaded = None
        if path.is_file():
            loaded = load_index(path, self._key(namespace, revision, counts_digest(self.store, namespace)))
        if loaded is not None:
            index = replace(loaded, origin="disk", build_seconds=time.perf_counter() - started)
        else:
            index = self._rebuild(namespace)
        self._current[namespace] = index
        self._handed_out.add(namespace)
        return index

    def _rebuild(self, namespace: str) -> RetrievalIndex:
        if self.progress:
            print(f"graphmem: building the retrieval index of {namespace!r}", file=sys.stderr, flush=True)
        index = build_index(self.store, namespace, self._embedder())
        if self.progress:
            size = f"{index.n_units} units, {len(index.entity_ids)} entities, {len(index.facts)} facts"
            print(f"graphmem: index built in {index.build_seconds:.1f} s ({size})", file=sys.stderr, flush=True)
        self._save(index)
        return index

    def _save(self, index: RetrievalIndex) -> None:
        key = self._key(index.namespace, index.revision, counts_digest(self.store, index.namespace))
        try:
            save_index(index, self.directory / key.file_name(), key)
        except Exception as exc:  # a cache that cannot be written costs a rebuild later, nothing else
            log.warning("could not write the index cache in %s: %s", self.directory, exc)

    def forget(self, namespace: str) -> None:
        self._current.pop(namespace, None)
        self._handed_out.discard(namespace)

    def discard(self, namespace: str) -> None:
        """Drop the namespace's index from memory and its file from disk (it holds the passages' text)."""
        self.forget(namespace)
        self.writer.take(namespace)
        if self.directory.is_dir() and any(self.directory.glob(f"{check_namespace(namespace)}.*.npz")):
            with suppress(FileNotFoundError):
                self.path(namespace).unlink()

    def watch(self, namespace: str) -> None:
        """Before writing: record the writes if there is a current index (in memory or on disk) to apply them to."""
        revision = self.store.revision(namespace)
        index = self._current.get(namespace)
        if index is not None and index.revision != revision:
            self.forget(namespace)  # stale: the next get() reloads or rebuilds it
            index = None
        if index is not None or self._on_disk(namespace, revision):
            self.writer.watch(namespace)

    def update(self, namespace: str, *, failed: bool = False) -> float | None:
        """After writing: apply what was recorded. Returns the seconds it took, or None if nothing was applied
        (nothing written, nothing watched, or a delta that cannot be applied: the next get() rebuilds)."""
        delta = self.writer.take(namespace)
        if delta is None or delta.empty:
            return None
        try:
            if failed or delta.broken is not None:
                raise DeltaError(delta.broken or "the ingestion failed")
            base = self._current.get(namespace)
            if base is None:  # the file matched at watch(); its counts were those before our writes
                base = load_index(self.path(namespace), self._key(namespace, delta.base_revision), counts=False)
            if base is None:
                raise DeltaError("the cached index is gone")
            index = apply_delta(base, delta, lambda texts: self._embedder().encode(texts))
        except DeltaError as exc:
            log.debug("index of %r not updated incrementally (%s): rebuilt when next asked for", namespace, exc)
            self.forget(namespace)
            return None
        self._current[namespace] = index
        self._handed_out.discard(namespace)
        self._save(index)
        return index.build_seconds
