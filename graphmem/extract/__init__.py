"""Extraction: passages into entities, triples and hyperedges (spaCy by default, an LLM optionally)."""

from graphmem.extract.types import (
    EntitySpan,
    Extractor,
    NaryRelation,
    PassageExtraction,
    PassageInput,
    Role,
    Triple,
)

__all__ = ["EntitySpan", "Extractor", "NaryRelation", "PassageExtraction", "PassageInput", "Role", "Triple"]
