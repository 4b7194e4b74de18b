"""The extractor graphmem uses unless told otherwise: spaCy, or an LLM endpoint when one is configured."""

from __future__ import annotations

from graphmem.extract.types import Extractor


def default_extractor() -> Extractor:
    """spaCy; with GRAPHMEM_LLM_BASE_URL set, the LLM extractor with spaCy as its fallback."""
    from graphmem.extract.llm import LLMExtractor, LLMSettings
    from graphmem.extract.spacy_extractor import SpacyExtractor

    spacy_extractor = SpacyExtractor()
    settings = LLMSettings.from_env()
    return LLMExtractor(settings, fallback=spacy_extractor) if settings is not None else spacy_extractor
