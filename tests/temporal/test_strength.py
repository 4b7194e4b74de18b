"""Memory strength: the forgetting curve's shape, and retrieval weighing it (``recency_weight``) on both stores."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest
from temporal_kit import day, doc, ingest

from graphmem.memory import Memory
from graphmem.retrieve.core import MODES, RetrievalConfig, Retriever
from graphmem.temporal.strength import DAY, StrengthConfig, UnitStrength, strength, weigh

T0 = day("2020-01-01")
HALF = timedelta(days=30)


def test_half_life_is_exact_and_each_restatement_adds_one() -> None:
    assert strength(1, T0, T0, HALF) == 1.0
    assert strength(1, T0, T0 + HALF, HALF) == pytest.approx(0.5)
    assert strength(1, T0, T0 + 2 * HALF, HALF) == pytest.approx(0.25)
    assert strength(3, T0, T0 + 3 * HALF, HALF) == pytest.approx(0.5)  # three statements: three half-lives
    assert strength(2, T0, T0 + 3 * HALF, HALF, gain=0.5) == pytest.approx(0.5**2)  # 1.5 half-lives each
    assert strength(0, T0, T0 + HALF, HALF) == strength(1, T0, T0 + HALF, HALF)  # stated at least once
    assert StrengthConfig().half_life == 180 * DAY
    assert strength(1, T0, T0 + timedelta(days=180)) == pytest.approx(0.5)  # the default half-life


def test_strength_falls_with_age_and_rises_with_restatements() -> None:
    ages = np.linspace(0, 1000 * DAY, 200)
    for n in (1, 2, 5):
        curve = strength(n, 0.0, ages, HALF)
        assert curve[0] == 1.0 and np.all(np.diff(curve) < 0) and np.all(curve > 0)
    by_n = strength(np.arange(1, 20), 0.0, 90 * DAY, HALF)
    assert np.all(np.diff(by_n) > 0) and np.all(by_n < 1)


def test_the_future_and_the_undated() -> None:
    assert strength(1, T0 + HALF, T0, HALF) == 1.0  # said after `now` (a later source): not faded
    assert strength(1, float("nan"), T0, HALF) == 1.0
    assert strength(1, float("nan"), T0, HALF, undated=0.3) == 0.3
    assert list(strength(np.array([1, 1]), np.array([np.nan, 0.0]), 30 * DAY, HALF)) == [1.0, pytest.approx(0.5)]
    with pytest.raises(ValueError):
        strength(1, T0, T0, 0.0)


def test_weighing_scores() -> None:
    scores, strong = np.array([2.0, 2.0, -0.5, -0.5]), np.array([1.0, 0.5, 1.0, 0.5])
    assert weigh(scores, strong, 0.0) is scores
    weighed = weigh(scores, strong, 0.5)
    assert list(weighed) == [2.0, 1.5, -0.5, pytest.approx(-0.5 / 0.75)]  # weaker always loses ground
    with pytest.raises(ValueError):
        weigh(scores, strong, 1.5)


OLD = doc("d-old", "2015-03-01", "Ana Lund works at Orrin Shipworks in Brill.")
NEW = doc("d-new", "2024-03-01", "Ana Lund works at Orrin Shipworks in Brill.")
OTHER = doc("d-other", "2024-03-01", "Bo Ek sails a ketch named Wren.")
QUESTION = "Where does Ana Lund work?"


def _retriever(memory: Memory, weight: float, hop_weight: float = RetrievalConfig.hop_weight) -> Retriever:
    config = replace(RetrievalConfig(), recency_weight=weight, hop_weight=hop_weight)
    return Retriever(memory.index(), memory.embedder, config)  # type: ignore[arg-type]


def _scores(retriever: Retriever, mode: str, **kwargs: object) -> dict[str, float]:
    hits = retriever.search(QUESTION, k=3, mode=mode, **kwargs).hits  # type: ignore[arg-type]
    return {h.unit.source_id: h.score for h in hits}


@pytest.fixture
def stated_twice(memory: Memory) -> Memory:
    ingest(memory, [OLD, NEW, OTHER])
    return memory


def test_units_strength_counts_facts_restated_elsewhere(stated_twice: Memory) -> None:
    index = stated_twice.index()
    strengths = UnitStrength(index)
    by_source = {u.source_id: i for i, u in enumerate(index.units)}
    assert strengths.restatements[by_source["d-old"]] == strengths.restatements[by_source["d-new"]] >= 2
    assert strengths.restatements[by_source["d-other"]] == 1
    now = day("2025-03-01")
    row = by_source["d-old"]
    expected = strength(strengths.restatements[row], day("2015-03-01"), now)
    assert strengths.at(now)[row] == pytest.approx(expected)
    np.testing.assert_allclose(strengths.at(now), strength(strengths.restatements, strengths.last, now))
    assert np.all(strengths.at(now) <= 1.0) and strengths.at(now)[by_source["d-new"]] > expected


@pytest.mark.parametrize("mode", MODES)
def test_with_recency_the_newer_statement_ranks_first(stated_twice: Memory, mode: str) -> None:
    # No second hop here: it adds a share of the best unit's walk to its twin, so the two would not tie.
    plain = _scores(_retriever(stated_twice, 0.0, hop_weight=0.0), mode)
    assert plain["d-old"] == pytest.approx(plain["d-new"], rel=1e-5)  # both match equally (float32 noise)
    weighed_retriever = _retriever(stated_twice, 0.5, hop_weight=0.0)
    for as_of in (None, day("2024-06-01")):
        scores = _scores(weighed_retriever, mode, as_of=as_of)
        assert list(scores).index("d-new") < list(scores).index("d-old") and scores["d-new"] > scores["d-old"]
    # With the second hop, recency still puts the newer first soon after it was said.
    scores = _scores(_retriever(stated_twice, 0.5), mode, as_of=day("2024-06-01"))
    assert list(scores).index("d-new") < list(scores).index("d-old")


@pytest.mark.parametrize("mode", MODES)
def test_a_zero_weight_changes_nothing(stated_twice: Memory, mode: str) -> None:
    default = Retriever(stated_twice.index(), stated_twice.embedder)  # type: ignore[arg-type]
    for as_of in (None, day("2024-06-01")):
        off, on_zero = (
            default.search(QUESTION, k=3, mode=mode, as_of=as_of),
            _retriever(stated_twice, 0.0).search(QUESTION, k=3, mode=mode, as_of=as_of),
        )
        assert {**off.to_dict(), "milliseconds": 0} == {**on_zero.to_dict(), "milliseconds": 0}
    assert default._strength is None  # nothing about strength is computed when it is off


def test_strength_is_computed_once_per_index(stated_twice: Memory) -> None:
    retriever = _retriever(stated_twice, 0.3)
    retriever.search(QUESTION, k=2)
    first = retriever.unit_strength()
    retriever.search(QUESTION, k=2, as_of=day("2024-06-01"))
    assert retriever.unit_strength() is first
