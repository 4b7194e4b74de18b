"""The index cache file: exact round trip, atomic writes, and every bad file ignored rather than trusted."""

from __future__ import annotations

import logging
import math
import zipfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from graphmem import index_cache
from graphmem.index import RetrievalIndex, Unit, half_precision
from graphmem.index_cache import (
    CacheKey,
    _rows_in_range,
    cache_dir,
    load_index,
    read_key,
    save_index,
    store_identity,
)
from graphmem.store import EmbeddedStore, InvalidRecordError


def small_index(revision: int = 7) -> RetrievalIndex:
    units = [
        Unit("p:1", "Ada lived in London.", "d1", title="Ada", start=0, end=20,
             timestamp=datetime(2020, 5, 1, 12, 30, tzinfo=UTC)),
        Unit("chat/t1", "I moved to Brill.", "chat", speaker="Ana", timestamp=datetime(2024, 3, 2, tzinfo=UTC)),
    ]  # fmt: skip
    graph = sp.csr_matrix(np.array([[0, 0, 1, 1], [0, 0, 0, 1], [1, 0, 0, 2], [1, 1, 2, 0]], dtype=np.float64))
    rng = np.random.default_rng(0)
    return RetrievalIndex(
        namespace="team-a",
        revision=revision,
        units=units,
        entity_ids=["e:ada", "e:london"],
        entity_names=["Ada", "London"],
        entity_types=["PERSON", "GPE"],
        graph=graph,
        mentions=sp.csr_matrix(np.array([[1, 0], [1, 1]], dtype=np.float32)),
        unit_vectors=rng.random((2, 4), dtype=np.float32),
        entity_vectors=rng.random((2, 4), dtype=np.float32),
        name_to_entity={"ada": 0, "ada lovelace": 0, "london": 1, "$tuple": 1},
        facts=[(0, "live_in", 1, "f:1"), (1, "home_of", 0, "f:2")],
        fact_vectors=rng.random((2, 4), dtype=np.float32),
        fact_texts=["Ada live in London", "London home of Ada"],
        entity_aliases=[["Ada", "Ada Lovelace"], ["London"]],
        fact_valid_from=np.array([1.5e9, math.nan]),
        fact_valid_to=np.array([math.nan, math.nan]),
        fact_expired_at=np.array([math.nan, 1.7e9]),
        fact_provenance=[["p:1"], ["p:1", "chat/t1"]],
        synonym_pairs=np.array([[0, 1]], dtype=np.int64),
        synonym_scores=np.array([0.85]),
        build_seconds=1.25,
        origin="rebuild",
    )


def key_for(index: RetrievalIndex, **changes: object) -> CacheKey:
    values: dict[str, object] = {"namespace": index.namespace, "revision": index.revision, "model": "m",
                                 "store": "s", "counts": "c"}  # fmt: skip
    values.update(changes)
    return CacheKey(**values)  # type: ignore[arg-type]


def assert_same(a: RetrievalIndex, b: RetrievalIndex) -> None:
    """Equal field by field, row order and types included (not just by id)."""
    assert (a.namespace, a.revision, a.units, a.entity_ids, a.entity_names, a.entity_types) == (
        b.namespace, b.revision, b.units, b.entity_ids, b.entity_names, b.entity_types)  # fmt: skip
    assert a.facts == b.facts and all(type(f) is tuple for f in b.facts)
    assert (a.name_to_entity, a.entity_aliases, a.fact_provenance, a.fact_texts) == (
        b.name_to_entity, b.entity_aliases, b.fact_provenance, b.fact_texts)  # fmt: skip
    for name in ("graph", "mentions"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.shape == y.shape and x.dtype == y.dtype and (x != y).nnz == 0
    for name in ("unit_vectors", "entity_vectors", "fact_vectors", "fact_valid_from", "fact_valid_to",
                 "fact_expired_at", "synonym_pairs", "synonym_scores"):  # fmt: skip
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True), name
    assert a.by_id() == b.by_id()


def test_a_saved_index_loads_back_equal(tmp_path: Path) -> None:
    index = small_index()
    path = tmp_path / "cache" / "team-a.x.npz"
    save_index(index, path, key_for(index))
    loaded = load_index(path, key_for(index))
    assert loaded is not None
    assert_same(index, loaded)
    assert isinstance(loaded.units[0].timestamp, datetime) and loaded.units[0].timestamp == index.units[0].timestamp
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind


@pytest.mark.parametrize(
    "change",
    [{"revision": 8}, {"model": "other-model"}, {"store": "another store"}, {"counts": "other counts"},
     {"namespace": "team-b"}],
)  # fmt: skip
def test_a_file_for_another_key_is_not_used(tmp_path: Path, change: dict[str, object]) -> None:
    index = small_index()
    path = tmp_path / "team-a.x.npz"
    save_index(index, path, key_for(index))
    assert load_index(path, key_for(index, **change)) is None


def test_a_file_of_another_format_version_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    index = small_index()
    path = tmp_path / "team-a.x.npz"
    save_index(index, path, key_for(index))
    monkeypatch.setattr(index_cache, "FORMAT_VERSION", index_cache.FORMAT_VERSION + 1)
    monkeypatch.setattr(index_cache, "_WARNED", set())
    with caplog.at_level(logging.WARNING, logger="graphmem.index_cache"):
        assert load_index(path, key_for(index)) is None
        assert load_index(path, key_for(index)) is None
    assert caplog.text.count("another format") == 1  # said once per namespace, however often it is looked up


def _damage_truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _damage_garbage(path: Path) -> None:
    path.write_bytes(b"not a zip file at all" * 50)


def _damage_empty(path: Path) -> None:
    path.write_bytes(b"")


def _damage_missing_member(path: Path) -> None:
    with zipfile.ZipFile(path) as old:
        members = {name: old.read(name) for name in old.namelist() if name != "unit_vectors.npy"}
    with zipfile.ZipFile(path, "w") as new:
        for name, data in members.items():
            new.writestr(name, data)


def _damage_wrong_sizes(path: Path) -> None:
    with np.load(path, allow_pickle=False) as members:
        arrays = {name: members[name] for name in members.files}
    arrays["entity_vectors"] = arrays["entity_vectors"][:1]
    np.savez(path, **arrays)  # type: ignore[arg-type]


def _damage_pickled_member(path: Path) -> None:
    with np.load(path, allow_pickle=False) as members:
        arrays = {name: members[name] for name in members.files}
    arrays["unit_vectors"] = np.array([{"a": 1}, None], dtype=object)  # only loadable by unpickling
    np.savez(path, **arrays)  # type: ignore[arg-type]


@pytest.mark.parametrize("damage", [_damage_truncate, _damage_garbage, _damage_empty, _damage_missing_member,
                                    _damage_wrong_sizes, _damage_pickled_member])  # fmt: skip
def test_a_damaged_file_is_ignored_with_a_warning(tmp_path: Path, damage: object,
                                                   caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    index = small_index()
    path = tmp_path / "team-a.x.npz"
    save_index(index, path, key_for(index))
    damage(path)  # type: ignore[operator]
    with caplog.at_level(logging.WARNING, logger="graphmem.index_cache"):
        assert load_index(path, key_for(index)) is None
    assert "index cache" in caplog.text


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = small_index()
    path = tmp_path / "team-a.x.npz"
    save_index(old, path, key_for(old))

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", fail)
    with pytest.raises(OSError, match="disk full"):
        save_index(small_index(revision=8), path, key_for(old, revision=8))
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    loaded = load_index(path, key_for(old))
    assert loaded is not None and loaded.revision == 7


def test_runtime_fields_are_not_stored(tmp_path: Path) -> None:
    index = small_index()
    path = tmp_path / "team-a.x.npz"
    save_index(index, path, key_for(index))
    loaded = load_index(path, key_for(index))
    assert loaded is not None and (loaded.build_seconds, loaded.origin) == (0.0, "rebuild")
    key = read_key(path)
    assert key is not None and key["revision"] == 7 and key["format"].startswith(f"{index_cache.FORMAT_VERSION}:")


def test_file_names_hash_the_store_and_check_the_namespace(tmp_path: Path) -> None:
    key = CacheKey("team-a", 3, "all-MiniLM-L6-v2", store_identity(EmbeddedStore(tmp_path / "a b/../g.sqlite3")), "")
    name = key.file_name()
    assert name.startswith("team-a.") and name.endswith(".npz") and "/" not in name and " " not in name
    assert CacheKey("team-a", 3, "other-model", key.store, "").file_name() != name
    assert CacheKey("Team-A", 3, key.model, key.store, "").file_name().lower() != name.lower()  # case-blind disks
    with pytest.raises(InvalidRecordError):
        CacheKey("../escape", 3, key.model, key.store, "").file_name()


def test_cache_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(index_cache.CACHE_ENV, raising=False)
    store = EmbeddedStore(tmp_path / "my.sqlite3")
    assert cache_dir(store) == tmp_path / "my.index-cache"
    monkeypatch.setenv(index_cache.CACHE_ENV, str(tmp_path / "elsewhere"))
    assert cache_dir(store) == tmp_path / "elsewhere"
    store.close()


def test_a_store_file_made_again_at_the_same_path_has_another_identity(tmp_path: Path) -> None:
    path = tmp_path / "g.sqlite3"
    with EmbeddedStore(path) as store:
        first, identity = store.file_id, store_identity(store)
    with EmbeddedStore(path) as store:
        assert store.file_id == first and store_identity(store) == identity  # kept by the file
    for leftover in tmp_path.glob("g.sqlite3*"):
        leftover.unlink()
    with EmbeddedStore(path) as store:
        assert store.file_id is not None and store.file_id != first
        assert store_identity(store) != identity
        assert index_cache.counts_digest(store, "team-a") == ""  # the file id stands in for the counts


def test_an_index_cached_for_a_deleted_store_is_not_used_by_its_successor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spacy_extractor: object, embedder: object
) -> None:
    from graphmem.memory import Memory

    monkeypatch.setenv(index_cache.CACHE_ENV, str(tmp_path / "index-cache"))
    path = tmp_path / "g.sqlite3"
    texts = ["Ada Lovelace lived in London with Charles Babbage.", "Grace Hopper worked in Arlington for the Navy."]
    indexes = []
    for text in texts:  # the same shape of content, so the same revision and the same counts
        for leftover in tmp_path.glob("g.sqlite3*"):
            leftover.unlink()
        with EmbeddedStore(path) as store:  # closed here, not by Memory: the embedder is the session's
            memory = Memory(store, "team-a", extractor=spacy_extractor, embedder=embedder)  # type: ignore[arg-type]
            memory.add_documents([{"id": "d1", "text": text}])
            indexes.append(memory.index())
    assert indexes[0].revision == indexes[1].revision
    assert indexes[1].origin == "rebuild" and [u.text for u in indexes[1].units] == [texts[1]]


@pytest.mark.parametrize(
    ("rows", "ok"),
    [([], True), ([0, 4, 2], True), ([0, 5], False), ([-1, 2], False), ([1, 2.0], False), ([1, "2"], False),
     ([1, None], False), ([1, 2**70], False), ([True, False], False)],
)  # fmt: skip
def test_entity_rows_are_ints_in_range(rows: list[object], ok: bool) -> None:
    assert _rows_in_range(rows, 5) is ok


def test_float32_arrays_float16_holds_exactly_are_stored_in_half_the_bytes(tmp_path: Path) -> None:
    index = small_index()
    index = replace(index, fact_vectors=half_precision(np.random.default_rng(3).random((2, 4), dtype=np.float32)))
    assert not np.array_equal(half_precision(index.unit_vectors), index.unit_vectors)  # these stay float32
    path = tmp_path / "team-a.x.npz"
    save_index(index, path, key_for(index))
    with np.load(path) as members:
        assert members["fact_vectors.f16"].dtype == np.float16 and "fact_vectors" not in members.files
        assert members["unit_vectors"].dtype == np.float32 and "unit_vectors.f16" not in members.files
    loaded = load_index(path, key_for(index))
    assert loaded is not None and loaded.fact_vectors.dtype == np.float32
    assert_same(index, loaded)


def test_built_and_updated_fact_vectors_are_at_half_precision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spacy_extractor: object, embedder: object
) -> None:
    from graphmem.memory import Memory

    monkeypatch.setenv(index_cache.CACHE_ENV, str(tmp_path / "index-cache"))
    with EmbeddedStore(tmp_path / "g.sqlite3") as store:
        memory = Memory(store, "team-a", extractor=spacy_extractor, embedder=embedder)  # type: ignore[arg-type]
        memory.add_documents([{"id": "d1", "text": "Ada Lovelace lived in London with Charles Babbage."}])
        built = memory.index()
        memory.add_documents([{"id": "d2", "text": "Grace Hopper worked in Arlington for the Navy."}])
        updated = memory.index()
    assert updated.origin == "incremental" and len(updated.facts) > len(built.facts) > 0
    for index in (built, updated):
        assert np.array_equal(half_precision(index.fact_vectors), index.fact_vectors)
