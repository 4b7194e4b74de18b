"""Extraction in worker processes gives the in-process result; the LLM extractor is chosen by env."""

from __future__ import annotations

import pytest

from graphmem.extract.background import BackgroundExtractor
from graphmem.extract.defaults import default_extractor
from graphmem.extract.llm import LLMExtractor
from graphmem.extract.spacy_extractor import SpacyExtractor
from graphmem.extract.types import PassageInput

PASSAGES = [
    PassageInput("a", "His daughter, Ilse Vansell, founded the Harbour Choir in 1998.", title="Teodric Vansell"),
    PassageInput("b", "I moved to Brill last year.", speaker="Ana Brill", listeners=("Ben Sollis",)),
    PassageInput("c", "The company ordered the electric ferry Skelda.", title="Tarnel Ferry Company"),
]


def test_worker_processes_extract_what_the_main_process_does(spacy_extractor: SpacyExtractor) -> None:
    with BackgroundExtractor(SpacyExtractor, workers=2) as background:
        remote = background.submit(PASSAGES).result(timeout=300)
    assert remote == spacy_extractor.extract(PASSAGES)
    assert [r.passage_id for r in remote] == ["a", "b", "c"]
    assert any(t.subject == "Ilse Vansell" for t in remote[0].triples)


def test_llm_extractor_is_used_only_when_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRAPHMEM_LLM_BASE_URL", raising=False)
    assert isinstance(default_extractor(), SpacyExtractor)
    monkeypatch.setenv("GRAPHMEM_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("GRAPHMEM_LLM_MODEL", "local-model")
    chosen = default_extractor()
    assert isinstance(chosen, LLMExtractor) and isinstance(chosen.fallback, SpacyExtractor)
