"""The spaCy extractor against the hand-labelled gold set (tests/data/extraction_gold.jsonl)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from graphmem.eval.triples import load_gold, score
from graphmem.extract.spacy_extractor import SpacyExtractor
from graphmem.extract.types import PassageExtraction, PassageInput

MIN_PRECISION = 0.70
MIN_RECALL = 0.50


@pytest.fixture(scope="module")
def extractor() -> SpacyExtractor:
    return SpacyExtractor()


def test_gold_set_is_large_and_varied() -> None:
    items = load_gold()
    sentences = sum(i["text"].count(". ") + i["text"].count("? ") + i["text"].count("! ") + 1 for i in items)
    assert sentences >= 60
    assert sum(len(i["triples"]) for i in items) >= 100
    assert sum(i["kind"] == "dialogue" for i in items) >= 20


def test_precision_and_recall_on_the_gold_set(extractor: SpacyExtractor) -> None:
    result = score(extractor, load_gold())
    print(f"\ntriples: precision {result.precision:.3f} recall {result.recall:.3f} "
          f"({result.matched_gold}/{result.gold} gold found, {result.predicted} predicted)")  # fmt: skip
    assert result.precision >= MIN_PRECISION
    assert result.recall >= MIN_RECALL


class SwappedArguments:
    """A broken extractor: right words, wrong direction. The score must catch it."""

    name = "broken"

    def __init__(self, inner: SpacyExtractor) -> None:
        self.inner = inner

    def extract(self, passages: Sequence[PassageInput]) -> list[PassageExtraction]:
        out = self.inner.extract(passages)
        for extraction in out:
            extraction.triples = [replace(t, subject=t.object, object=t.subject) for t in extraction.triples]
        return out


def test_the_score_fails_a_broken_extractor(extractor: SpacyExtractor) -> None:
    result = score(SwappedArguments(extractor), load_gold())
    assert result.precision < MIN_PRECISION and result.recall < MIN_RECALL
