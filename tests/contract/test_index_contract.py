"""The retrieval index on both stores: deltas equal fresh builds, the disk cache is used only when current.

A hashing embedder keeps these tests fast; test_index_ingest_contract.py runs the real pipeline.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from graphmem.graph import GraphRecord, write_records
from graphmem.index import RetrievalIndex, build_index
from graphmem.index_cache import IndexCache
from graphmem.index_delta import DeltaError, RecordingStore, apply_delta
from graphmem.records import Dialogue, Document, Entity, Fact, Mention, Passage, Session, Synonym, Turn
from graphmem.resolve import normalise_key
from graphmem.store import GraphStore


class HashEmbedder:
    """Deterministic unit vectors from a text's hash; counts what it encodes."""

    model_name = "hash-test"
    dimension = 8

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.encoded += texts
        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest()[:32], dtype=np.uint8)[:8] for t in texts]
        out = np.array(rows, dtype=np.float32).reshape(len(texts), self.dimension) + 1.0
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def entity(ns: str, entity_id: str, name: str, kind: str = "PERSON", aliases: Sequence[str] = ()) -> Entity:
    return Entity(id=entity_id, namespace=ns, name=name, key=normalise_key(name), type=kind,
                  aliases=sorted({name, *aliases}), document_ids=["d1"])  # fmt: skip


def fact(ns: str, subject: Entity, predicate: str, obj: Entity, provenance: list[str], **more: object) -> Fact:
    return Fact(id=f"f:{subject.id}:{predicate}:{obj.id}", namespace=ns, subject_id=subject.id, predicate=predicate,
                object_id=obj.id, subject_name=subject.name, object_name=obj.name, provenance=provenance,
                document_ids=["d1"], **more)  # type: ignore[arg-type]  # fmt: skip


def base_records(ns: str) -> list[GraphRecord]:
    ada, london = entity(ns, "e:ada", "Ada"), entity(ns, "e:london", "London", "GPE")
    bob = entity(ns, "e:bob", "Bob", "THING", aliases=["Bobby"])
    return [
        Document(id="d1", namespace=ns, title="Ada"),
        Passage(id="p:1", namespace=ns, document_id="d1", text="Ada lived in London.", start=0, end=20, title="Ada"),
        Passage(id="p:2", namespace=ns, document_id="d1", text="Bobby was there.", start=21, end=37, title="Ada"),
        ada, london, bob,
        fact(ns, ada, "live_in", london, ["p:1"], valid_from=datetime(2001, 1, 1, tzinfo=UTC)),
        Mention(namespace=ns, passage_id="p:1", entity_id="e:ada"),
        Mention(namespace=ns, passage_id="p:1", entity_id="e:london"),
        Mention(namespace=ns, passage_id="p:2", entity_id="e:bob"),
        Synonym(namespace=ns, entity_id="e:bob", other_id="e:london", score=0.81),
    ]  # fmt: skip


def delta_batches(ns: str) -> list[list[GraphRecord]]:
    """New units and entities, and changes to old ones, over three write batches."""
    ada = entity(ns, "e:ada", "Ada", aliases=["Ada L."])  # a new alias
    london = entity(ns, "e:london", "London", "GPE")
    bob = entity(ns, "e:bob", "Bob", "PERSON")  # type changes, alias "Bobby" is dropped
    carol = entity(ns, "e:carol", "Carol")
    town = entity(ns, "e:aaa", "Old Town", "GPE", aliases=["London"])  # a smaller id now carries "london"
    turn_time = datetime(2024, 3, 2, 18, 30, tzinfo=UTC)
    return [
        [
            Document(id="d2", namespace=ns, title="Carol"),
            Passage(id="p:3", namespace=ns, document_id="d2", text="Carol met Ada in Old Town.", start=0, end=26),
            Dialogue(id="chat", namespace=ns, participants=["Ana", "Carol"]),
            Session(id="chat/s1", namespace=ns, dialogue_id="chat", timestamp=turn_time),
            Turn(id="chat/t1", namespace=ns, dialogue_id="chat", session_id="chat/s1", speaker="Ana",
                 text="Bob called.", timestamp=turn_time),
        ],
        [
            ada, london, bob, carol, town,
            fact(ns, ada, "live_in", london, ["p:1", "p:3"], valid_from=datetime(2001, 1, 1, tzinfo=UTC),
                 valid_to=datetime(2010, 1, 1, tzinfo=UTC)),
            fact(ns, carol, "meet", ada, ["p:3"]),
            fact(ns, ada, "visit", town, ["p:3"], expired_at=datetime(2024, 1, 1, tzinfo=UTC)),
            Mention(namespace=ns, passage_id="p:3", entity_id="e:carol"),
            Mention(namespace=ns, passage_id="p:3", entity_id="e:ada"),
            Mention(namespace=ns, passage_id="p:3", entity_id="e:aaa"),
            Mention(namespace=ns, passage_id="chat/t1", entity_id="e:bob"),
            Mention(namespace=ns, passage_id="p:1", entity_id="e:ada"),  # already there
            Synonym(namespace=ns, entity_id="e:ada", other_id="e:carol", score=0.9),
        ],
        [Synonym(namespace=ns, entity_id="e:bob", other_id="e:london", score=0.83)],  # a new score for an old edge
    ]  # fmt: skip


def assert_equivalent(a: RetrievalIndex, b: RetrievalIndex) -> None:
    """The same content whatever the row order: units, entities, facts, edges, names, and vectors per id."""
    assert (a.namespace, a.revision) == (b.namespace, b.revision)
    view_a, view_b = a.by_id(), b.by_id()
    for part in view_a:
        assert view_a[part] == view_b[part], part
    vectors_a, vectors_b = a.vectors_by_id(), b.vectors_by_id()
    for part in vectors_a:
        assert vectors_a[part].keys() == vectors_b[part].keys()
        for key, vector in vectors_a[part].items():
            np.testing.assert_allclose(vector, vectors_b[part][key], atol=1e-6, err_msg=f"{part} {key}")


def test_a_delta_gives_the_index_a_fresh_build_gives(store: GraphStore, ns: str) -> None:
    embedder = HashEmbedder()
    write_records(store, base_records(ns))
    base = build_index(store, ns, embedder)
    before = base.by_id()
    recorder = RecordingStore(store)
    recorder.watch(ns)
    for batch in delta_batches(ns):
        write_records(recorder, batch)
    delta = recorder.take(ns)
    assert delta is not None and delta.broken is None and delta.revision == store.revision(ns)
    embedder.encoded.clear()
    updated = apply_delta(base, delta, embedder.encode)
    assert updated.origin == "incremental" and updated.revision == store.revision(ns)
    # only new texts were embedded (the updated fact "Ada live in London" kept its text, so its vector)
    new_texts = ["Carol met Ada in Old Town.", "Ana: Bob called.", "Carol", "Old Town", "Carol meet Ada",
                 "Ada visit Old Town"]  # fmt: skip
    assert sorted(embedder.encoded) == sorted(new_texts)
    fresh = build_index(store, ns, embedder)
    assert_equivalent(updated, fresh)
    assert updated.units[: base.n_units] == base.units  # new rows are appended
    assert updated.entity_ids[: len(base.entity_ids)] == base.entity_ids
    assert base.by_id() == before  # the input index is left as it was
    assert fresh.name_to_entity["london"] == fresh.entity_ids.index("e:aaa")
    assert "bobby" not in fresh.name_to_entity and "ada l" in fresh.name_to_entity
    edges = fresh.by_id()["edges"]
    assert edges[("e:bob", "e:london")] == pytest.approx(0.83) and edges[("e:ada", "e:london")] == 1.0
    facts = fresh.by_id()["facts"]
    assert facts["f:e:ada:live_in:e:london"][3:] == (("p:1", "p:3"), (978307200.0, 1262304000.0, None))


def test_what_a_delta_cannot_express_breaks_it(store: GraphStore, ns: str) -> None:
    write_records(store, base_records(ns))
    base = build_index(store, ns, HashEmbedder())
    recorder = RecordingStore(store)
    recorder.watch(ns)
    write_records(store, delta_batches(ns)[0])  # another writer, not recorded
    write_records(recorder, delta_batches(ns)[1])
    delta = recorder.take(ns)
    assert delta is not None and delta.broken is not None and "between our writes" in delta.broken
    with pytest.raises(DeltaError):
        apply_delta(base, delta, HashEmbedder().encode)
    recorder.watch(ns)
    recorder.delete_document(ns, "d2")
    deleted = recorder.take(ns)
    assert deleted is not None and deleted.broken is not None and "deleted" in deleted.broken
    recorder.watch(ns)
    stale = recorder.take(ns)
    assert stale is not None and stale.empty
    with pytest.raises(DeltaError):
        apply_delta(base, stale, HashEmbedder().encode)  # the index is behind the delta's start


def test_the_cache_serves_memory_then_disk_and_follows_writes(store: GraphStore, ns: str, tmp_path: Path) -> None:
    embedder = HashEmbedder()
    write_records(store, base_records(ns))
    cache = IndexCache(store, lambda: embedder, directory=tmp_path)
    first = cache.get(ns)
    assert first.origin == "rebuild" and first.build_seconds > 0
    assert cache.get(ns).origin == "memory"
    from_disk = IndexCache(store, lambda: embedder, directory=tmp_path).get(ns)
    assert from_disk.origin == "disk"
    assert from_disk.units == first.units and from_disk.facts == first.facts  # same order too
    assert_equivalent(from_disk, first)
    for batch in delta_batches(ns):
        cache.watch(ns)
        write_records(cache.writer, batch)
        assert cache.update(ns) is not None
    updated = cache.get(ns)
    assert updated.origin == "incremental" and cache.get(ns).origin == "memory"
    assert_equivalent(updated, build_index(store, ns, embedder))
    other = IndexCache(store, lambda: embedder, directory=tmp_path)  # another process: the disk copy is current
    reloaded = other.get(ns)
    assert reloaded.origin == "disk" and reloaded.units == updated.units
    # a cache with no index yet updates the file it finds at the revision before its writes
    other.forget(ns)
    other.watch(ns)
    write_records(other.writer, [Passage(id="p:4", namespace=ns, document_id="d2", text="More.", start=27, end=32)])
    assert other.update(ns) is not None
    assert IndexCache(store, lambda: embedder, directory=tmp_path).get(ns).origin == "disk"


def test_a_stale_or_damaged_cache_is_rebuilt(store: GraphStore, ns: str, tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    embedder = HashEmbedder()
    write_records(store, base_records(ns))
    cache = IndexCache(store, lambda: embedder, directory=tmp_path)
    cache.get(ns)
    write_records(store, delta_batches(ns)[0])  # another writer: the file is now one revision behind
    stale = IndexCache(store, lambda: embedder, directory=tmp_path).get(ns)
    assert stale.origin == "rebuild" and "p:3" in stale.by_id()["units"]
    assert cache.get(ns).origin == "disk"  # a stale copy in memory gives way to the file just written
    path = cache.path(ns)
    path.write_bytes(b"\x00" * 100)
    with caplog.at_level(logging.WARNING, logger="graphmem.index_cache"):
        damaged = IndexCache(store, lambda: embedder, directory=tmp_path).get(ns)
    assert damaged.origin == "rebuild" and "index cache" in caplog.text
    assert IndexCache(store, lambda: embedder, directory=tmp_path).get(ns).origin == "disk"  # written again


def test_a_deletion_leads_to_a_rebuild_without_the_document(store: GraphStore, ns: str, tmp_path: Path) -> None:
    embedder = HashEmbedder()
    write_records(store, base_records(ns))
    for batch in delta_batches(ns):
        write_records(store, batch)
    cache = IndexCache(store, lambda: embedder, directory=tmp_path)
    assert "p:3" in cache.get(ns).by_id()["units"]
    cache.watch(ns)
    cache.writer.delete_document(ns, "d2")
    assert cache.update(ns) is None
    index = cache.get(ns)
    assert index.origin == "rebuild" and "p:3" not in index.by_id()["units"]
    assert_equivalent(index, build_index(store, ns, embedder))
