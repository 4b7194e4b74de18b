"""Index fields as columns: exact round trips, JSON kept for what columns cannot hold, damage detected."""

from __future__ import annotations

import zipfile
from dataclasses import fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graphmem import npz_read
from graphmem.index import Unit
from graphmem.index_cache import load_index, save_index
from graphmem.index_encoding import decode_columns, encode_columns
from graphmem.npz_read import LargeMembers, large_members
from tests.unit.test_index_cache import assert_same, key_for, small_index

WHEN = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
UNITS = [
    Unit("p:1", "Ada lives in London.", "d:1", "Ada", 0, 20, None, WHEN, "trusted", ("imperative",)),
    Unit("t:2", "Zoë ✓ 東京", "g:1", None, None, None, "Bob", None, "normal", ()),
    Unit("p:3", "", "d:2", "", 5, 5, "", datetime(1999, 1, 1), "low", ("a", "b\tc")),
]
ROUND_TRIPS: list[tuple[list[Any], str]] = [
    ([], "str"),
    (["", "Ada", "Zoë ✓ 東京", "a\nb", "\x01"], "str"),
    ([[], ["p:1"], ["", "x\ty"], []], "strs"),
    ([(0, "live_in", 1, "f:1"), (2**62, "", -3, "f:ü")], "row:isis"),
    ([("a",), ("b",)], "row:s"),
    (UNITS, "records:Unit:s,s,s,s?,i?,i?,s?,t?,s,ts"),
    (UNITS[:1], "records:Unit:s,s,s,s,i,i,s?,t?,s,ts"),  # a column of None alone reads as optional strings
    ([replace(UNITS[0], text="a\x00b", start=2**70, timestamp="2024")], "records:Unit:s,j,s,s,j,i,s?,s,s,ts"),
    ([replace(UNITS[0], start=True, flags=("x", 1))], "records:Unit:s,s,s,s,j,i,s?,t?,s,j"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("value", "kind"), ROUND_TRIPS)
def test_lists_come_back_equal_with_their_types(value: list[Any], kind: str) -> None:
    encoded = encode_columns("field", value)
    assert encoded is not None and encoded[0] == kind
    decoded = decode_columns("field", kind, encoded[1])
    assert decoded == value
    assert [type(v) for v in decoded] == [type(v) for v in value]
    assert all(type(x) is type(y) for a, b in zip(decoded, value, strict=True) if isinstance(a, tuple | list)
               for x, y in zip(a, b, strict=True))  # fmt: skip


@pytest.mark.parametrize(
    "value",
    [
        ["a\x00b"],  # would split in two on reading
        [["ok"], ["a\x00b"]],
        [(0, "a\x00b")],
        [(2**64, "x")],  # beyond int64
        [(True, "x")],  # a bool would come back as an int
        [(0, "x"), (1, 2)],  # a column of mixed types
        [(0, "x"), (1, "y", 2)],  # tuples of different lengths
        [1.5, 2.5],
        "not a list",
    ],
)
def test_what_columns_cannot_hold_stays_json(value: Any) -> None:
    assert encode_columns("field", value) is None


def test_an_index_with_a_nul_in_its_texts_round_trips_through_json(tmp_path: Path) -> None:
    index = small_index()
    index = replace(index, fact_texts=["Ada live in\x00 London", "London home of Ada"])
    path = tmp_path / "team-a.x.npz"
    save_index(index, path, key_for(index))
    with np.load(path) as members:
        assert "fact_texts.utf8" not in members.files and "facts.c1.utf8" in members.files
    loaded = load_index(path, key_for(index))
    assert loaded is not None
    assert_same(index, loaded)


@pytest.mark.parametrize(
    ("member", "damaged"),
    [
        ("field.count", np.array([5], dtype=np.int64)),
        ("field.lengths", np.array([1, 1], dtype=np.int64)),
        ("field.lengths", np.array([-1, 4], dtype=np.int64)),
    ],
)
def test_arrays_that_do_not_fit_together_raise(member: str, damaged: np.ndarray) -> None:
    kind, members = encode_columns("field", [["a", "b"], ["c"]]) or ("", {})
    assert kind == "strs"
    with pytest.raises(ValueError):
        decode_columns("field", kind, {**members, member: damaged})


def test_an_unknown_kind_raises() -> None:
    with pytest.raises(ValueError, match="unknown column kind"):
        decode_columns("field", "row:ix", {})


def test_large_members_read_whole_equal_what_numpy_reads(tmp_path: Path) -> None:
    index = small_index()
    path = tmp_path / "team-a.x.npz"
    save_index(index, path, key_for(index))
    read = large_members(path, min_bytes=1)
    with np.load(path) as members:
        assert set(read) == set(members.files)  # np.savez stores every member uncompressed
        for name in members.files:
            mine, numpys = read[name], members[name]
            assert mine.dtype == numpys.dtype, name
            assert np.array_equal(mine, numpys, equal_nan=mine.dtype.kind == "f"), name
    assert large_members(path) == {}  # nothing of 32 MB here: every member goes through np.load


def test_a_large_member_cut_short_raises(tmp_path: Path) -> None:
    path = tmp_path / "big.npz"
    np.savez(path, vectors=np.arange(100_000, dtype=np.float32).reshape(1000, 100))
    data = bytearray(path.read_bytes())
    info = zipfile.ZipFile(path).getinfo("vectors.npy")
    start = info.header_offset + 30 + len(info.filename) + 200  # inside the array's bytes
    path.write_bytes(bytes(data[:start]) + bytes(data[start + 1000 :]))  # 1,000 bytes gone, the directory kept
    with pytest.raises((ValueError, zipfile.BadZipFile)):
        large_members(path, min_bytes=1)


def test_large_members_read_in_many_chunks_by_several_threads_come_back_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(npz_read, "_READ_CHUNK", 4096)  # 1,000 x 100 float32: 98 chunks, some partial
    vectors = np.random.default_rng(7).standard_normal((1000, 100)).astype(np.float32)
    path = tmp_path / "big.npz"
    np.savez(path, vectors=vectors, fortran=np.asfortranarray(vectors[:50]), empty=np.zeros((0, 3)))
    read = large_members(path, min_bytes=0)
    assert read["vectors"].dtype == np.float32 and np.array_equal(read["vectors"], vectors)
    assert np.array_equal(read["fortran"], vectors[:50]) and read["empty"].shape == (0, 3)


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_a_file_ending_inside_a_member_while_it_is_read_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dtype: type
) -> None:
    path = tmp_path / "big.npz"
    np.savez(path, vectors=np.ones((1000, 100), dtype=dtype))
    real = npz_read._layouts

    def grown(path: Path, min_bytes: int) -> list[Any]:  # as if the file were cut after its headers were read
        return [replace(lay, shape=(lay.shape[0] * 3, *lay.shape[1:])) for lay in real(path, min_bytes)]

    monkeypatch.setattr(npz_read, "_layouts", grown)
    with LargeMembers(path, min_bytes=1) as reading, pytest.raises(ValueError, match="vectors is cut short"):
        reading.result()


def test_units_come_back_equal_field_by_field() -> None:
    kind, members = encode_columns("units", UNITS) or ("", {})
    decoded = decode_columns("units", kind, members)
    for mine, theirs in zip(decoded, UNITS, strict=True):
        for field in fields(Unit):
            a, b = getattr(mine, field.name), getattr(theirs, field.name)
            assert a == b and type(a) is type(b), field.name
    assert decoded[0].timestamp.tzinfo is not None and decoded[2].timestamp.tzinfo is None


@pytest.mark.parametrize(
    ("kind", "change"),
    [
        ("records:Unit:s,s,s,s?,i?,i?,s?,t?,s", None),  # a field short
        ("records:Nope:s,s,s,s?,i?,i?,s?,t?,s,ts", None),  # a class the cache may not name
        ("records:Unit:s,s,s,x,i?,i?,s?,t?,s,ts", None),
        ("records:Unit:s,s,s,s?,i?,i?,s?,t?,s,ts", ("units.f3.none", np.array([True, True, True]))),
        ("records:Unit:s,s,s,s?,i?,i?,s?,t?,s,ts", ("units.f0.count", np.array([2], dtype=np.int64))),
    ],
)
def test_unit_columns_that_do_not_fit_raise(kind: str, change: tuple[str, np.ndarray] | None) -> None:
    _, members = encode_columns("units", UNITS) or ("", {})
    if change is not None:
        members = {**members, change[0]: change[1]}
    with pytest.raises(ValueError):
        decode_columns("units", kind, members)


def test_float16_members_come_back_widened_to_float32(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(npz_read, "_READ_CHUNK", 1000)  # 500 halves a chunk: 78 chunks, the last partial
    halves = np.random.default_rng(5).standard_normal((303, 128)).astype(np.float16)
    path = tmp_path / "big.npz"
    np.savez(path, vectors=halves, big_endian=halves.astype(">f2"))
    read = large_members(path, min_bytes=0)
    assert read["vectors"].dtype == np.float32 and np.array_equal(read["vectors"], halves.astype(np.float32))
    assert read["big_endian"].dtype == np.dtype(">f2")  # only native float16 is widened
    assert np.array_equal(read["big_endian"], halves)
