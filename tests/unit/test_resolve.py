"""Entity resolution: keys, spelling variants, merging, synonym edges."""

from __future__ import annotations

import numpy as np

from graphmem.extract.types import EntitySpan, NaryRelation, PassageExtraction, Role, Triple
from graphmem.resolve import (
    EntityIndex,
    PassageMeta,
    ResolutionConfig,
    normalise_key,
    resolve_batch,
    spelling_variants,
    synonym_edges,
)


def test_normalised_keys_ignore_case_articles_punctuation_and_plurals() -> None:
    assert normalise_key("The Tarnel Ferry Companies") == normalise_key("tarnel ferry company")
    assert normalise_key("Dr. Ysolde Marrick") == "ysolde marrick"
    assert normalise_key("O'Brien's Boats") == "o brien boat"
    assert normalise_key("  Zoë   Café ") == "zoe cafe"
    assert normalise_key("the") == "the"  # nothing left after dropping articles: keep the word


def test_spelling_variants_but_not_different_names() -> None:
    assert spelling_variants("educational programme", "educational program")
    assert not spelling_variants("world war i", "world war ii")
    assert not spelling_variants("2016 superhero film", "2017 superhero film")
    assert not spelling_variants("indirect action", "direct action")
    assert not spelling_variants("lds church", "rlds church")


def test_index_merges_variants_and_keeps_distinct_names_apart() -> None:
    index = EntityIndex()
    a = index.resolve("Orrin Shipworks", "ORG")
    assert index.resolve("the Orrin Shipworks", "ORG") is a
    assert index.resolve("Orrin Ship-works", "ORG") is a  # same letters once spaces and hyphens go
    b = index.resolve("Orrin Shipyard", "ORG")
    assert b is not a
    assert a.aliases == {"Orrin Shipworks", "the Orrin Shipworks", "Orrin Ship-works"}
    assert index.resolve("1998", "DATE") is not index.resolve("1999", "DATE")


def test_resolve_batch_merges_restatements_into_one_fact() -> None:
    index = EntityIndex()
    triple = Triple("Ana Brill", "move_to", "Kessaby", "PERSON", "GPE", "Ana Brill moved to Kessaby.", "2019-01-01")
    move = NaryRelation("move", (Role("agent", "Ana Brill"), Role("to", "Kessaby"), Role("time", "2019", "DATE")))
    extractions = [
        PassageExtraction("p1", [EntitySpan("Ana Brill", "PERSON", 0, 9)], [triple]),
        PassageExtraction("p2", [], [triple], [move]),
    ]
    meta = {"p1": PassageMeta("d1"), "p2": PassageMeta("d2")}
    resolved = resolve_batch(index, extractions, meta, "ns")
    [fact] = resolved.facts
    assert fact.provenance == ["p1", "p2"] and fact.document_ids == ["d1", "d2"]
    assert fact.valid_from is not None and fact.valid_from.year == 2019
    assert {e.name for e in resolved.entities} == {"Ana Brill", "Kessaby", "2019"}
    [hyperedge] = resolved.hyperedges
    assert [p.role for p in hyperedge.participants] == ["agent", "to", "time"]
    mentions = {(m.passage_id, m.count) for m in resolved.mentions if m.entity_id == fact.subject_id}
    assert mentions == {("p1", 1), ("p2", 1)}


def test_synonym_edges_link_close_names_only() -> None:
    vectors = np.array([[1.0, 0.0], [0.95, 0.312], [0.0, 1.0]], dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    edges = synonym_edges(["a"], vectors[:1], ["a", "b", "c"], vectors, "ns", ResolutionConfig(synonym_cosine=0.8))
    assert [(e.entity_id, e.other_id) for e in edges] == [("a", "b")]
    assert 0.9 < edges[0].score <= 1.0
