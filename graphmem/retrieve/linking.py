"""Which graph entities a question names: exact names of word n-grams, then the nearest entity
name (by embedding) for each capitalised or quoted span that matched nothing exactly.

No parse of the question: a dictionary look-up per n-gram and one small embedding batch, so
linking stays cheap at query time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

import numpy as np

from graphmem.index import RetrievalIndex
from graphmem.resolve import normalise_key

WORD = re.compile(r"[\w'’\-]+", re.UNICODE)
# Question words and glue that also name entities ("May", "Will", "The Who") but almost never do so in a question.
# fmt: off
STOP = frozenset({
    "a", "an", "the", "of", "in", "on", "at", "to", "for", "from", "by", "with", "and", "or", "is", "are",
    "was", "were", "be", "been", "who", "whom", "whose", "what", "which", "when", "where", "why", "how", "did",
    "do", "does", "that", "this", "these", "those", "it", "its", "his", "her", "their", "he", "she", "they",
    "as", "than", "then", "there", "here", "not", "no",
})
# fmt: on
# n-grams repeat between look-ups (titles, then names) and across questions
_key = lru_cache(maxsize=200_000)(normalise_key)
T = TypeVar("T")
_POSSESSIVE = re.compile(r"['’]s?$")
_NAME_GLUE = {"of", "the", "and", "de", "la", "van", "von", "for", "&"}


def name_spans(query: str) -> list[str]:
    """Runs of capitalised words (with "of", "the" ... inside) and quoted phrases: the names a question uses."""
    spans = re.findall(r'"([^"]{2,80})"', query)
    words = WORD.findall(query)
    current: list[str] = []
    for position, word in enumerate([*words, ""]):
        capital = word[:1].isupper() and not (position == 0 and word.lower() in STOP)
        if capital or (current and word.lower() in _NAME_GLUE):
            current.append(word)
            continue
        while current and current[-1].lower() in _NAME_GLUE:
            current.pop()
        if current:
            spans.append(" ".join(current))
        current = []
    return list(dict.fromkeys(spans))


@dataclass(frozen=True)
class Link:
    """An entity the query names, how sure the link is (1.0 for an exact name) and how it was made."""

    similarity: float
    how: str


def _longest_matches(words: list[str], max_ngram: int,
                     match: Callable[[str], T | None]) -> Iterator[tuple[T | None, str]]:  # fmt: skip
    """Left to right, the longest run of words (up to ``max_ngram``, not all stopwords) whose normalised key
    ``match`` accepts, as (what it returned, the words); a word that starts no match as (None, the word)."""
    i = 0
    while i < len(words):
        for j in range(min(len(words), i + max_ngram), i, -1):
            if all(w.lower() in STOP for w in words[i:j]):
                continue
            text = " ".join(words[i:j])
            found = match(_key(text))
            if found is not None:
                yield found, text
                i = j
                break
        else:
            yield None, words[i]
            i += 1


def link_by_name(index: RetrievalIndex, query: str, max_ngram: int, unlinked_types: tuple[str, ...]) -> dict[int, Link]:
    """Exact (normalised) entity names among the query's word n-grams, longest match first: "Casimir Lovatt"
    rather than "Casimir" and "Lovatt"."""

    def entity(key: str) -> int | None:
        row = index.name_to_entity.get(key)
        return row if row is not None and index.entity_types[row] not in unlinked_types else None

    found: dict[int, Link] = {}
    for row, _ in _longest_matches(WORD.findall(query), max_ngram, entity):
        if row is not None:
            found.setdefault(row, Link(1.0, "name"))
    return found


def link_titles(titles: dict[str, list[int]], query: str, max_ngram: int) -> tuple[dict[str, list[int]], str]:
    """Titles (normalised) of units that the query quotes word for word, longest first, with the units they
    head; and the query without those words, so the names inside a title ("Alexander") link nothing more."""
    found: dict[str, list[int]] = {}
    rest: list[str] = []
    for key, text in _longest_matches(WORD.findall(query), max_ngram, lambda key: key if key in titles else None):
        if key is None:
            rest.append(text)
        else:
            found[key] = titles[key]
            rest.append(",")  # keeps the words on either side from forming one name
    return found, " ".join(rest) if found else query


def unlinked_spans(
    index: RetrievalIndex, query: str, found: dict[int, Link], unlinked_types: tuple[str, ...]
) -> list[str]:
    """The query's capitalised spans that still need embedding: a span inside a name already linked ("Lunnock"
    of "Lunnock Tide Mill") names nothing more, and one whose exact name (possessive dropped) is an entity
    is linked here, without the model."""
    named = [f" {index.entity_names[row].lower()} " for row in found]
    left = []
    for span in name_spans(query):
        if any(f" {span.lower()} " in name for name in named):
            continue
        row = index.name_to_entity.get(_key(_POSSESSIVE.sub("", span)))
        if row is not None and index.entity_types[row] not in unlinked_types:
            found.setdefault(row, Link(1.0, "name"))
            named.append(f" {index.entity_names[row].lower()} ")
        else:
            left.append(span)
    return left


def link_spans(index: RetrievalIndex, span_vectors: Mapping[str, np.ndarray], found: dict[int, Link],
               linkable: np.ndarray, min_cosine: float) -> None:  # fmt: skip
    """Each embedded span goes to its nearest linkable entity name, when that is close enough."""
    if not len(index.entity_vectors) or not span_vectors:
        return
    spans = list(span_vectors)
    similarities = np.stack([span_vectors[s] for s in spans]) @ index.entity_vectors.T
    for span, row_scores in zip(spans, similarities, strict=True):
        row_scores = np.where(linkable, row_scores, -1.0)
        best = int(np.argmax(row_scores))
        if row_scores[best] >= min_cosine:
            found.setdefault(best, Link(float(row_scores[best]), f"embedding of {span!r}"))
