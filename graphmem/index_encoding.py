"""How the retrieval index's fields other than arrays are written into the index cache file.

- Long lists as flat arrays ("columns"): a million facts read back from JSON take seconds, from these a
  fraction of one. A list is stored this way when all its elements have one shape:
  - ``str``: strings, stored as their UTF-8 joined by NUL, with their count;
  - ``strs``: lists of strings, flattened like ``str``, with each list's length;
  - ``row:<kinds>``: tuples of one length whose positions each hold only ints (``i``) or only strings
    (``s``), one column per position;
  - ``records:<class>:<kinds>``: instances of a dataclass named below (the retrieval units), one column per
    field, each ``s`` or ``i``, ``s?``, ``i?`` or ``t?`` (strings, ints or datetimes, some None: a mask says
    which), ``ts`` (tuples of strings) or ``j`` (any other column, as JSON). 100k units read back from JSON took
    over a second.
  A string containing NUL keeps its whole field in JSON, as does an int outside 64 bits.
- Everything else as JSON in which every object is a one-key tag (datetimes, tuples, dicts, Units), so that
  reading needs no schema and never unpickles.
"""

from __future__ import annotations

import gc
import json
import math
import os
import struct
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, fields, is_dataclass
from datetime import datetime
from itertools import accumulate
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib import format as npy_format

from graphmem.index import Unit

_DATACLASSES: dict[str, type] = {"Unit": Unit}  # the only classes a cache file may name


# ---------------------------------------------------------------- JSON


def to_json(value: Any) -> Any:
    """JSON for a field value. Every JSON object written is a one-key tag, so reading needs no schema."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, tuple):
        return {"$tuple": [to_json(v) for v in value]}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"$dict": [[k, to_json(v)] for k, v in value.items()]}
    name = type(value).__name__
    if is_dataclass(value) and _DATACLASSES.get(name) is type(value):
        return {f"${name}": [to_json(getattr(value, f.name)) for f in fields(value)]}
    raise TypeError(f"cannot store a {name} in the index cache")


def from_tag(tagged: dict[str, Any]) -> Any:
    """json.loads object_hook: inner objects are already decoded when their container is."""
    if len(tagged) != 1:
        raise ValueError("untagged object in the index cache")
    [(tag, inner)] = tagged.items()
    if tag == "$datetime":
        return datetime.fromisoformat(inner)
    if tag == "$tuple":
        return tuple(inner)
    if tag == "$dict":
        return {str(k): v for k, v in inner}
    cls = _DATACLASSES.get(tag[1:])
    if cls is None:
        raise ValueError(f"unknown tag {tag!r} in the index cache")
    return cls(*inner)


def json_member(data: Any) -> np.ndarray:
    return np.frombuffer(json.dumps(data, separators=(",", ":")).encode("utf-8"), dtype=np.uint8)


# ---------------------------------------------------------------- columns

_SEP = "\x00"


def _strings(strings: Sequence[str], prefix: str) -> dict[str, np.ndarray] | None:
    joined = _SEP.join(strings)
    if strings and joined.count(_SEP) != len(strings) - 1:
        return None  # a NUL inside a string would split it on reading
    return {f"{prefix}.utf8": np.frombuffer(joined.encode("utf-8"), dtype=np.uint8),
            f"{prefix}.count": np.array([len(strings)], dtype=np.int64)}  # fmt: skip


def _read_strings(members: Mapping[str, np.ndarray], prefix: str) -> list[str]:
    count = int(members[f"{prefix}.count"][0])
    if count == 0:
        return []
    out = members[f"{prefix}.utf8"].tobytes().decode("utf-8").split(_SEP)
    if len(out) != count:
        raise ValueError(f"{prefix} holds {len(out)} strings, not {count}")
    return out


def _ints(values: Sequence[Any], prefix: str) -> dict[str, np.ndarray] | None:
    try:
        return {f"{prefix}.int64": np.array(values, dtype=np.int64)}
    except OverflowError:
        return None


def _column_kind(column: Sequence[Any]) -> str | None:
    if all(type(v) is str for v in column):
        return "s"
    if all(type(v) is int for v in column):  # not bool, not numpy scalars: they would come back as ints
        return "i"
    return None


def encode_columns(name: str, value: Any) -> tuple[str, dict[str, np.ndarray]] | None:
    """The kind and member arrays of a list field, or None when it must stay JSON."""
    if not isinstance(value, list):
        return None
    if all(type(v) is str for v in value):
        arrays = _strings(value, name)
        return None if arrays is None else ("str", arrays)
    if all(type(v) is list and all(type(s) is str for s in v) for v in value):
        arrays = _strings([s for v in value for s in v], name)
        if arrays is None:
            return None
        return "strs", {**arrays, f"{name}.lengths": np.array([len(v) for v in value], dtype=np.int64)}
    if value and type(value[0]) in _DATACLASSES.values() and all(type(v) is type(value[0]) for v in value):
        return _records(name, value)
    if value and all(type(v) is tuple for v in value) and len({len(v) for v in value}) == 1:
        columns = list(zip(*value, strict=True))
        kinds = [_column_kind(c) for c in columns]
        if any(k is None for k in kinds):
            return None
        arrays: dict[str, np.ndarray] = {}
        for position, (kind, column) in enumerate(zip(kinds, columns, strict=True)):
            part = (_strings if kind == "s" else _ints)(column, f"{name}.c{position}")
            if part is None:
                return None
            arrays.update(part)
        return "row:" + "".join(k for k in kinds if k), arrays
    return None


def decode_columns(name: str, kind: str, members: Mapping[str, np.ndarray]) -> list[Any]:
    """The list ``encode`` stored under ``name``; ValueError when the arrays do not fit together."""
    if kind == "str":
        return _read_strings(members, name)
    if kind == "strs":
        flat = _read_strings(members, name)
        lengths = members[f"{name}.lengths"]
        if int(lengths.sum()) != len(flat) or (len(lengths) and int(lengths.min()) < 0):
            raise ValueError(f"{name}'s lengths do not add up to its strings")
        ends = list(accumulate(lengths.tolist()))
        return [flat[end - n : end] for n, end in zip(lengths.tolist(), ends, strict=True)]
    if kind.startswith("row:") and set(kind[4:]) <= {"i", "s"}:
        columns = []
        for position, letter in enumerate(kind[4:]):
            prefix = f"{name}.c{position}"
            columns.append(_read_strings(members, prefix) if letter == "s" else members[f"{prefix}.int64"].tolist())
        if len({len(c) for c in columns}) > 1:
            raise ValueError(f"{name}'s columns differ in length")
        return list(zip(*columns, strict=True))
    if kind.startswith("records:"):
        return _read_records(name, kind, members)
    raise ValueError(f"unknown column kind {kind!r} for {name}")


# ---------------------------------------------------------------- records: a dataclass's fields as columns


def _field_kind(column: Sequence[Any]) -> str:
    kinds = {type(v) for v in column}
    if kinds <= {str} or kinds <= {int}:
        return "s" if str in kinds else "i"  # an empty column reads as strings
    for letter, kind in (("s?", str), ("i?", int), ("t?", datetime)):
        if kinds <= {kind, type(None)}:
            return letter
    if kinds <= {tuple} and all(type(s) is str for v in column for s in v):
        return "ts"
    return "j"


def _field_arrays(letter: str, column: Sequence[Any], prefix: str) -> dict[str, np.ndarray] | None:
    if letter == "j":
        return {f"{prefix}.json": json_member(to_json(list(column)))}
    if letter == "ts":
        arrays = _strings([s for v in column for s in v], prefix)
        return None if arrays is None else {**arrays, f"{prefix}.lengths": np.array([len(v) for v in column],
                                                                                    dtype=np.int64)}  # fmt: skip
    present = [v for v in column if v is not None]
    if letter[0] == "t":
        present = [v.isoformat() for v in present]
    arrays = (_ints if letter[0] == "i" else _strings)(present, prefix)
    if arrays is None:
        return None
    if letter.endswith("?"):
        arrays[f"{prefix}.none"] = np.array([v is None for v in column], dtype=np.bool_)
    return arrays


def _records(name: str, value: list[Any]) -> tuple[str, dict[str, np.ndarray]]:
    cls = type(value[0])
    letters: list[str] = []
    arrays: dict[str, np.ndarray] = {}
    for position, field in enumerate(fields(cls)):
        column = [getattr(v, field.name) for v in value]
        letter = _field_kind(column)
        part = _field_arrays(letter, column, f"{name}.f{position}")
        if part is None:  # a NUL inside a string or an int past 64 bits: that column as JSON
            letter, part = "j", _field_arrays("j", column, f"{name}.f{position}")
        assert part is not None
        letters.append(letter)
        arrays.update(part)
    return f"records:{cls.__name__}:{','.join(letters)}", arrays


def _read_field(letter: str, members: Mapping[str, np.ndarray], prefix: str) -> list[Any]:
    if letter == "j":
        column = json.loads(members[f"{prefix}.json"].tobytes(), object_hook=from_tag)
        if not isinstance(column, list):
            raise ValueError(f"{prefix} is not a list")
        return column
    if letter == "ts":
        return [tuple(v) for v in decode_columns(prefix, "strs", members)]
    present = members[f"{prefix}.int64"].tolist() if letter[0] == "i" else _read_strings(members, prefix)
    if letter[0] == "t":
        present = [datetime.fromisoformat(v) for v in present]
    if not letter.endswith("?"):
        return present
    missing = members[f"{prefix}.none"]
    if missing.dtype != np.bool_ or int(len(missing) - missing.sum()) != len(present):
        raise ValueError(f"{prefix}'s mask does not fit its values")
    values = iter(present)
    return [None if gone else next(values) for gone in missing.tolist()]


def _read_records(name: str, kind: str, members: Mapping[str, np.ndarray]) -> list[Any]:
    _, class_name, joined = kind.split(":", 2)
    cls = _DATACLASSES.get(class_name)
    letters = joined.split(",")
    if cls is None or len(letters) != len(fields(cls)) or not set(letters) <= {"s", "i", "s?", "i?", "t?", "ts", "j"}:
        raise ValueError(f"unknown column kind {kind!r} for {name}")
    columns = [_read_field(letter, members, f"{name}.f{i}") for i, letter in enumerate(letters)]
    if len({len(c) for c in columns}) > 1:
        raise ValueError(f"{name}'s columns differ in length")
    return [cls(*row) for row in zip(*columns, strict=True)]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Reading creates millions of small objects that live on: the full collections they would set off find
    nothing to free and took a third of the load."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# ---------------------------------------------------------------- big arrays, read whole

LARGE_MEMBER_BYTES = 32 * 2**20
_READ_CHUNK = 64 * 2**20
_READERS = 4  # on this project's 2-core VM, 4 reads at once took an uncached 2.4 GB file from 267 to 598 MB/s


@dataclass(frozen=True)
class _Layout:
    name: str
    start: int  # where the array's bytes begin in the file
    shape: tuple[int, ...]
    fortran_order: bool
    dtype: np.dtype


def _layouts(path: Path, min_bytes: int) -> list[_Layout]:
    """Where the uncompressed members of at least ``min_bytes`` keep their array bytes, from their local and
    .npy headers; ValueError when a header does not fit the archive (a short member among them)."""
    out: list[_Layout] = []
    with zipfile.ZipFile(path) as archive, open(path, "rb") as raw:
        for info in archive.infolist():
            if info.compress_type != zipfile.ZIP_STORED or info.file_size < min_bytes:
                continue
            if info.header_offset < 0:  # zipfile's guess when bytes before the directory are missing
                raise ValueError(f"member {info.filename} starts before the file does")
            raw.seek(info.header_offset)
            local = raw.read(30)
            if len(local) != 30 or local[:4] != b"PK\x03\x04":
                raise ValueError(f"member {info.filename} has no local header")
            name_length, extra_length = struct.unpack("<HH", local[26:30])
            start = info.header_offset + 30 + name_length + extra_length
            raw.seek(start)
            version = npy_format.read_magic(raw)
            read_header = npy_format.read_array_header_1_0 if version == (1, 0) else npy_format.read_array_header_2_0
            shape, fortran_order, dtype = read_header(raw)
            if dtype.hasobject:
                raise ValueError(f"member {info.filename} holds Python objects")
            if raw.tell() + math.prod(shape) * dtype.itemsize > start + info.file_size:
                raise ValueError(f"member {info.filename} is shorter than its header says")
            out.append(_Layout(info.filename.removesuffix(".npy"), raw.tell(), shape, fortran_order, dtype))
    return out


def _widened(layout: _Layout) -> bool:
    return layout.dtype == np.dtype(np.float16)


class LargeMembers:
    """The uncompressed array members of an ``.npz`` of at least ``min_bytes``, read straight into their arrays
    by a few threads, in the background: ``result()`` waits for them. Through zipfile the same read goes in small
    chunks, one at a time, then through a checksum pass; at 100k passages, with 1.7 GB of fact vectors, that was
    most of the load. Reads release the GIL, so the caller decodes the small members meanwhile. float16 members
    come back as float32, widened chunk by chunk by the same threads (in one pass after the read, that took 1.8 s
    at 100k passages). ValueError (now or from ``result()``) when a member does not fit the archive or the file
    ends inside one."""

    def __init__(self, path: Path, min_bytes: int = LARGE_MEMBER_BYTES) -> None:
        self.path = path
        layouts = _layouts(path, min_bytes)
        self._flat = {lay.name: np.empty(math.prod(lay.shape), dtype=np.float32 if _widened(lay) else lay.dtype)
                      for lay in layouts}  # fmt: skip
        self._layouts = layouts
        self._fd = os.open(path, os.O_RDONLY)
        self._pool = ThreadPoolExecutor(_READERS, thread_name_prefix="graphmem-read")
        self._reads: list[Future[None]] = []
        for lay in layouts:
            flat = self._flat[lay.name]
            if _widened(lay):
                step = _READ_CHUNK // 2
                for first in range(0, len(flat), step):
                    part = flat[first : first + step]
                    self._reads.append(self._pool.submit(self._read_half, lay.name, part, lay.start + 2 * first))
                continue
            buffer = memoryview(flat.view(np.uint8))
            for offset in range(0, len(buffer), _READ_CHUNK):
                part = buffer[offset : offset + _READ_CHUNK]
                self._reads.append(self._pool.submit(self._read, lay.name, part, lay.start + offset))

    def _read(self, name: str, into: memoryview, at: int) -> None:
        done = 0
        while done < len(into):  # a read may return less than asked without being at the end
            got = os.preadv(self._fd, [into[done:]], at + done)
            if got == 0:
                raise ValueError(f"member {name} is cut short")
            done += got

    def _read_half(self, name: str, into: np.ndarray, at: int) -> None:
        halves = np.empty(len(into), dtype=np.float16)
        self._read(name, memoryview(halves.view(np.uint8)), at)
        np.copyto(into, halves)

    def result(self) -> dict[str, np.ndarray]:
        try:
            for read in self._reads:
                read.result()
        finally:
            self.close()
        order = {lay.name: "F" if lay.fortran_order else "C" for lay in self._layouts}
        return {lay.name: self._flat[lay.name].reshape(lay.shape, order=order[lay.name]) for lay in self._layouts}

    def close(self) -> None:
        """Stop reading (reads under way finish first) and close the file; safe to call twice."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> LargeMembers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def large_members(path: Path, min_bytes: int = LARGE_MEMBER_BYTES) -> dict[str, np.ndarray]:
    """LargeMembers' arrays, waited for."""
    return LargeMembers(path, min_bytes).result()
