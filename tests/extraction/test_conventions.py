"""Focused cases of CONVENTIONS.md: pronouns to the topic, speakers, passives, dates, hyperedges."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from graphmem.extract.spacy_extractor import SpacyExtractor
from graphmem.extract.types import PassageInput


@pytest.fixture(scope="module")
def extractor() -> SpacyExtractor:
    return SpacyExtractor()


def triples(extractor: SpacyExtractor, passage: PassageInput) -> set[tuple[str, str, str]]:
    [result] = extractor.extract([passage])
    return {(t.subject, t.predicate, t.object) for t in result.triples}


def test_possessive_pronoun_in_a_titled_article_joins_the_topic(extractor: SpacyExtractor) -> None:
    found = triples(extractor, PassageInput("p", "His mother was Ilse Marrick. He studied at Dunmaren College.",
                                            title="Teodric Vansell"))  # fmt: skip
    assert ("Teodric Vansell", "mother", "Ilse Marrick") in found
    assert ("Teodric Vansell", "study_at", "Dunmaren College") in found


def test_first_and_second_person_resolve_to_the_speakers(extractor: SpacyExtractor) -> None:
    passage = PassageInput("t", "I no longer work at Brindlemoss Institute. Did you move to Kessaby?",
                           speaker="Wrenna Tallis", listeners=("Idris Calloway",))  # fmt: skip
    found = triples(extractor, passage)
    assert ("Wrenna Tallis", "not_work_at", "Brindlemoss Institute") in found
    assert ("Idris Calloway", "move_to", "Kessaby") in found


def test_passive_agent_becomes_the_subject_and_dates_qualify(extractor: SpacyExtractor) -> None:
    [result] = extractor.extract([PassageInput("p", "The Skarrow Head lighthouse was designed by Teodric Vansell "
                                                    "in March 1901.")])  # fmt: skip
    design = next(t for t in result.triples if t.predicate == "design")
    assert (design.subject, design.object) == ("Teodric Vansell", "Skarrow Head lighthouse")
    assert (design.date, design.date_precision) == ("1901-03-01", "month")


def test_relative_dates_resolve_against_the_session(extractor: SpacyExtractor) -> None:
    passage = PassageInput("t", "I moved to Kessaby last year.", speaker="Ana Brill",
                           date=datetime(2023, 5, 1, tzinfo=UTC))  # fmt: skip
    [result] = extractor.extract([passage])
    move = next(t for t in result.triples if t.predicate == "move_to")
    assert (move.subject, move.object, move.date) == ("Ana Brill", "Kessaby", "2022-01-01")


def test_generic_reference_resolves_to_the_named_company(extractor: SpacyExtractor) -> None:
    found = triples(extractor, PassageInput("p", "The company moved to Lannock Quay in 1950.",
                                            title="Haskeld Shipworks"))  # fmt: skip
    assert ("Haskeld Shipworks", "move_to", "Lannock Quay") in found


def test_clause_with_three_participants_is_one_hyperedge(extractor: SpacyExtractor) -> None:
    [result] = extractor.extract([PassageInput(
        "p", "Casimir Lovatt joined the Tarnel Ferry Company as operations manager in 2012.")])  # fmt: skip
    [join] = [h for h in result.hyperedges if h.predicate == "join"]
    roles = {(r.role, r.text) for r in join.roles}
    assert {("agent", "Casimir Lovatt"), ("patient", "Tarnel Ferry Company"), ("as", "operations manager"),
            ("time", "2012")} <= roles  # fmt: skip


def test_no_argument_is_a_pronoun(extractor: SpacyExtractor) -> None:
    passage = PassageInput("p", "She said it was hers. They told him that.")
    for subject, _, obj in triples(extractor, passage):
        assert subject.lower() not in {"she", "it", "hers", "they", "him", "that"}
        assert obj.lower() not in {"she", "it", "hers", "they", "him", "that"}
