"""The exact strings graphmem embeds. Ingestion and the retrieval index both build them here,
so the embedding cache filled at ingestion serves the index."""

from __future__ import annotations


def unit_text(text: str, title: str | None = None, speaker: str | None = None) -> str:
    """A passage as "title\\ntext", a dialogue turn as "speaker: text"."""
    if speaker:
        return f"{speaker}: {text}"
    return f"{title}\n{text}" if title else text


def statement_text(subject: object, predicate: str, obj: object) -> str:
    """A fact as "subject predicate object", the predicate's underscores read as spaces."""
    return f"{subject} {predicate.replace('_', ' ')} {obj}"
