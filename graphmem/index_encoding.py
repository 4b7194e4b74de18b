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
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import fields, is_dataclass
from datetime import datetime
from itertools import accumulate
from typing import Any

import numpy as np

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


def exact_halves(value: np.ndarray) -> np.ndarray | None:
    """A float32 array as float16 when that holds every value exactly (the fact vectors, see
    graphmem.index.half_precision), else None."""
    if value.dtype != np.float32 or not value.size:
        return None
    halved = value.astype(np.float16)
    return halved if np.array_equal(halved.astype(np.float32), value) else None


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
