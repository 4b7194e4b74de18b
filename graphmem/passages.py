"""Passages: split document text into sentence-aware chunks with stable ids and exact offsets.

Pure functions. A passage never crosses a paragraph boundary unless it packs several short
paragraphs together, and its text is exactly ``document_text[start:end]``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from graphmem.records import content_id

DEFAULT_MAX_WORDS = 150
_HARD_MAX_CHARS = 4_000  # a "sentence" longer than this (no punctuation) is cut at spaces
_PARAGRAPH = re.compile(r"\n[ \t]*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]”’]*\s+(?=[\"'(\[“‘A-Z0-9À-Ý])")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Span:
    start: int
    end: int


@dataclass(frozen=True)
class Chunk:
    id: str
    text: str
    start: int
    end: int
    position: int


def _spans(text: str, pattern: re.Pattern[str], start: int, end: int) -> Iterator[Span]:
    """Pieces of ``text[start:end]`` between matches of ``pattern``, whitespace trimmed."""
    cursor = start
    for match in pattern.finditer(text, start, end):
        yield from _trimmed(text, cursor, match.start())
        cursor = match.end()
    yield from _trimmed(text, cursor, end)


def _trimmed(text: str, start: int, end: int) -> Iterator[Span]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        yield Span(start, end)


def _hard_split(text: str, span: Span) -> Iterator[Span]:
    start = span.start
    while span.end - start > _HARD_MAX_CHARS:
        cut = text.rfind(" ", start, start + _HARD_MAX_CHARS)
        cut = cut if cut > start else start + _HARD_MAX_CHARS
        yield from _trimmed(text, start, cut)
        start = cut
    yield from _trimmed(text, start, span.end)


def sentences(text: str, start: int = 0, end: int | None = None) -> Iterator[Span]:
    for span in _spans(text, _SENTENCE_END, start, len(text) if end is None else end):
        yield from _hard_split(text, span)


def _words(text: str, span: Span) -> int:
    return sum(1 for _ in _WORD.finditer(text, span.start, span.end))


def chunk_spans(text: str, max_words: int = DEFAULT_MAX_WORDS) -> list[Span]:
    """Spans of passages: whole sentences packed up to ``max_words``, paragraphs kept together where they fit."""
    out: list[Span] = []
    current: Span | None = None
    words = 0
    for paragraph in _spans(text, _PARAGRAPH, 0, len(text)):
        for i, sentence in enumerate(sentences(text, paragraph.start, paragraph.end)):
            n = _words(text, sentence)
            # a new paragraph starts a new passage unless the current one is short
            fresh_paragraph = i == 0 and words >= max_words // 3
            if current is not None and (words + n > max_words or fresh_paragraph):
                out.append(current)
                current, words = None, 0
            current = Span(current.start, sentence.end) if current else sentence
            words += n
    if current is not None:
        out.append(current)
    return out


def split_passages(document_id: str, text: str, max_words: int = DEFAULT_MAX_WORDS) -> list[Chunk]:
    """Passages of a document with ids stable across runs: hash of (document id, text, occurrence)."""
    seen: Counter[str] = Counter()
    chunks = []
    for position, span in enumerate(chunk_spans(text, max_words)):
        piece = text[span.start : span.end]
        seen[piece] += 1
        chunk_id = content_id("p", document_id, piece, str(seen[piece]))
        chunks.append(Chunk(chunk_id, piece, span.start, span.end, position))
    return chunks
