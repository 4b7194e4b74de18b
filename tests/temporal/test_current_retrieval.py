"""Retrieval now leaves out what reconsolidation retired; retrieval as of an earlier time still uses it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from graphmem.embed import CachedEmbedder
from graphmem.extract.spacy_extractor import SpacyExtractor
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
        before = {(f["predicate"], f["object"]) for f in memory.retrieve(question, k=3).facts}
        assert ("live_in", "Brill") in before  # not reconsolidated yet: every fact holds
        assert memory.reconsolidate().superseded == 1
        [retired] = [f for f in memory.facts(include_expired=True) if f.expired_at is not None]
        assert (retired.predicate, retired.object_name) == ("live_in", "Brill")
        now = {(f["predicate"], f["object"]) for f in memory.retrieve(question, k=3).facts}
        assert ("live_in", "Brill") not in now and ("move_to", "Orlin") in now
        then = memory.retrieve(question, k=3, as_of=datetime(2016, 1, 1, tzinfo=UTC))
        assert ("live_in", "Brill") in {(f["predicate"], f["object"]) for f in then.facts}
        assert [h.unit.source_id for h in then.hits] == ["a"]  # the 2020 document did not exist yet
    finally:
        memory.store.close()  # closing the Memory would close the session's shared embedder too
