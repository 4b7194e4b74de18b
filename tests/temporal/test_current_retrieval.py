"""Retrieval now leaves out what reconsolidation retired and puts what replaced it first; as of an earlier
time it still uses the old fact."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from graphmem.embed import CachedEmbedder
from graphmem.extract.spacy_extractor import SpacyExtractor
from graphmem.index import build_index
from graphmem.memory import Memory

DOCUMENTS = [
    {"id": "a", "text": "Ana Varga lives in Brill. Ana Varga works at the Brill Mill.", "date": "2015-03-01"},
    {"id": "b", "text": "Ana Varga moved to Orlin in 2020. She likes the harbour.", "date": "2020-06-01"},
]


def test_retired_facts_neither_seed_nor_walk_now(tmp_path: Path, spacy_extractor: SpacyExtractor,
                                                 embedder: CachedEmbedder) -> None:  # fmt: skip
    memory = Memory(tmp_path / "m.sqlite3", "now", extractor=spacy_extractor, embedder=embedder)
    try:
        memory.add_documents(DOCUMENTS)
        question = "Where does Ana Varga live?"
        plain = memory.retrieve(question, k=3)
        assert ("live_in", "Brill") in {(f["predicate"], f["object"]) for f in plain.facts}  # every fact holds
        assert [h.unit.source_id for h in plain.hits] == ["a", "b"] and plain.latest == []  # no links yet
        assert [h.unit.source_id for h in memory.retrieve(question, k=3, mode="dense").hits] == ["a", "b"]
        assert memory.reconsolidate().superseded == 1
        [retired] = [f for f in memory.facts(include_expired=True) if f.expired_at is not None]
        assert (retired.predicate, retired.object_name) == ("live_in", "Brill")
        index = memory.index()  # updated from the writes reconsolidation made, as a fresh build would be
        [(old, new)] = index.by_id()["supersessions"]
        assert old == retired.id and build_index(memory.store, "now", embedder).by_id()["supersessions"] == {(old, new)}
        result = memory.retrieve(question, k=3)
        now = {(f["predicate"], f["object"]) for f in result.facts}
        assert ("live_in", "Brill") not in now and ("move_to", "Orlin") in now
        assert [h.unit.source_id for h in result.hits] == ["b", "a"]
        # by text alone the Brill passage matches best; the passage stating what replaced its fact moves above it
        assert [h.unit.source_id for h in memory.retrieve(question, k=3, mode="dense").hits] == ["b", "a"]
        [move] = memory.retrieve(question, k=3, mode="dense").latest
        assert move["why"] == "supersedes" and (move["moved"], move["above"]) == tuple(h.unit.id for h in result.hits)
        then = memory.retrieve(question, k=3, as_of=datetime(2016, 1, 1, tzinfo=UTC))
        assert ("live_in", "Brill") in {(f["predicate"], f["object"]) for f in then.facts}
        assert [h.unit.source_id for h in then.hits] == ["a"]  # the 2020 document did not exist yet
    finally:
        memory.store.close()  # closing the Memory would close the session's shared embedder too
