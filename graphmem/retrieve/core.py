"""Retrieval modes over one RetrievalIndex, each a small function of (index, query, config).

- ``dense``: cosine of the query embedding with every unit's embedding.
- ``bm25``: lexical scores (bm25s, English stopwords).
- ``ppr``: HippoRAG-style Personalized PageRank. Entities named in the query seed the walk,
  each weighted by 1 / (passages naming it), and every unit is seeded with its min-max
  normalised dense score times ``dense_prior``. Ranks units by visit probability.
- ``hybrid``: reciprocal rank fusion of ppr, dense and bm25.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graphmem.embed import Embedder
from graphmem.index import RetrievalIndex, Unit
from graphmem.resolve import normalise_key
from graphmem.retrieve.ppr import personalized_pagerank, transition_matrix

MODES = ("dense", "bm25", "ppr", "hybrid")
_WORD = re.compile(r"[\w'’\-]+", re.UNICODE)
# Question words and glue that also name entities ("May", "Will", "The Who") but almost never do so in a question.
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "from",
        "by",
        "with",
        "and",
        "or",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "who",
        "whom",
        "whose",
        "what",
        "which",
        "when",
        "where",
        "why",
        "how",
        "did",
        "do",
        "does",
        "that",
        "this",
        "these",
        "those",
        "it",
        "its",
        "his",
        "her",
        "their",
        "he",
        "she",
        "they",
        "as",
        "than",
        "then",
        "there",
        "here",
        "not",
        "no",
    ]
)


_NAME_GLUE = {"of", "the", "and", "de", "la", "van", "von", "for", "&"}


def name_spans(query: str) -> list[str]:
    """Runs of capitalised words (with "of", "the" ... inside) and quoted phrases: the names a question uses."""
    spans = re.findall(r'"([^"]{2,80})"', query)
    words = _WORD.findall(query)
    current: list[str] = []
    for position, word in enumerate([*words, ""]):
        capital = word[:1].isupper() and not (position == 0 and word.lower() in _STOP)
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
class RetrievalConfig:
    damping: float = 0.5  # probability of following an edge at each step (HippoRAG uses 0.5)
    dense_prior: float = 0.2  # weight of each unit's min-max dense score in the reset vector
    max_ngram: int = 6  # longest run of query words looked up as an entity name
    entity_link_top: int = 5  # entities linked by embedding similarity of the whole query
    entity_link_min_cosine: float = 0.55
    rrf_k: int = 60  # reciprocal rank fusion constant
    span_linking: bool = True  # capitalised spans of the query are linked to their nearest entity name
    span_link_min_cosine: float = 0.7
    fact_seeds: int = 5  # closest facts considered for seeding (0: off)
    # common nouns ("state", "composer") also exist as entities; as seeds they drown the named ones
    unlinked_types: tuple[str, ...] = ("CONCEPT", "DATE", "TIME")


@dataclass
class Hit:
    unit: Unit
    score: float
    rank: int
    why: dict[str, Any] = field(default_factory=dict)


def _minmax(values: np.ndarray) -> np.ndarray:
    low, high = float(values.min(initial=0.0)), float(values.max(initial=0.0))
    return (values - low) / (high - low) if high > low else np.zeros_like(values)


class Retriever:
    def __init__(self, index: RetrievalIndex, embedder: Embedder, config: RetrievalConfig | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.config = config or RetrievalConfig()
        self._transition = transition_matrix(index.graph)
        self._passages_per_entity = np.maximum(index.entity_passage_counts(), 1.0)
        self._bm25: Any = None
        self._linkable = np.array([t not in self.config.unlinked_types for t in index.entity_types], dtype=bool)

    # ------------------------------------------------------------------ modes

    def dense_scores(self, query_vector: np.ndarray) -> np.ndarray:
        return self.index.unit_vectors @ query_vector

    def bm25_scores(self, query: str) -> np.ndarray:
        import bm25s

        if self._bm25 is None:
            self._bm25 = bm25s.BM25()
            self._bm25.index(bm25s.tokenize([u.embed_text for u in self.index.units], stopwords="en",
                                            show_progress=False), show_progress=False)  # fmt: skip
        [tokens] = bm25s.tokenize([query], stopwords="en", return_ids=False, show_progress=False)
        if not tokens:
            return np.zeros(self.index.n_units)
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float64)

    def link_entities(self, query: str, query_vector: np.ndarray) -> dict[int, tuple[float, str]]:
        """Entities the query names: exact name matches of word n-grams, plus nearest names by embedding."""
        words = _WORD.findall(query)
        found: dict[int, tuple[float, str]] = {}
        n = self.config.max_ngram
        i = 0
        while i < len(words):  # longest match first: "Casimir Lovatt" rather than "Casimir" and "Lovatt"
            for j in range(min(len(words), i + n), i, -1):
                gram = words[i:j]
                if all(w.lower() in _STOP for w in gram):
                    continue
                row = self.index.name_to_entity.get(normalise_key(" ".join(gram)))
                if row is not None and self.index.entity_types[row] not in self.config.unlinked_types:
                    found.setdefault(row, (1.0, "name"))
                    i = j - 1
                    break
            i += 1
        if self.config.span_linking and len(self.index.entity_vectors):
            self._link_spans(query, found)
        elif len(self.index.entity_vectors):
            similarities = self.index.entity_vectors @ query_vector
            top = np.argsort(-similarities)[: self.config.entity_link_top]
            for row in top:
                if similarities[row] >= self.config.entity_link_min_cosine:
                    found.setdefault(int(row), (float(similarities[row]), "embedding"))
        return found

    def _link_spans(self, query: str, found: dict[int, tuple[float, str]]) -> None:
        """Names in the query that match no entity exactly go to their nearest entity name by embedding."""
        named = {self.index.entity_names[row].lower() for row in found}
        spans = [s for s in name_spans(query) if s.lower() not in named]
        if not spans:
            return
        vectors = self.embedder.encode(spans)
        similarities = vectors @ self.index.entity_vectors.T
        allowed = self._linkable
        for span, row_scores in zip(spans, similarities, strict=True):
            row_scores = np.where(allowed, row_scores, -1.0)
            best = int(np.argmax(row_scores))
            if row_scores[best] >= self.config.span_link_min_cosine:
                found.setdefault(best, (float(row_scores[best]), f"embedding of {span!r}"))

    def _seed_from_facts(self, query_vector: np.ndarray, links: dict[int, tuple[float, str]]) -> None:
        """HippoRAG 2's fact seeds, filtered: of the facts closest to the query, those that touch an
        entity the query names also seed their other end ("the engineer behind X" reaches X's designer)."""
        index = self.index
        if not len(index.fact_vectors):
            return
        scores = index.fact_vectors @ query_vector
        top = np.argsort(-scores)[: self.config.fact_seeds]
        linked = set(links)
        for row in top:
            subject, predicate, obj, _ = index.facts[row]
            if subject in linked or obj in linked:
                for entity in (subject, obj):
                    if entity not in linked and index.entity_types[entity] not in self.config.unlinked_types:
                        links[entity] = (float(scores[row]), f"fact: {index.entity_names[subject]} "
                                                             f"{predicate} {index.entity_names[obj]}")  # fmt: skip

    def ppr_scores(self, query: str, query_vector: np.ndarray, dense: np.ndarray) -> tuple[np.ndarray, dict]:
        index, config = self.index, self.config
        links = self.link_entities(query, query_vector)
        if config.fact_seeds and links:
            self._seed_from_facts(query_vector, links)
        if not links:
            return dense, {"fallback": "dense: no entity of the query is in the graph"}
        reset = np.zeros(index.n_units + len(index.entity_ids))
        seeds = {}
        for row, (similarity, how) in links.items():
            weight = similarity / self._passages_per_entity[row]  # rare entities anchor more strongly
            reset[index.n_units + row] = weight
            seeds[index.entity_names[row]] = {"weight": round(float(weight), 4), "linked_by": how}
        reset[: index.n_units] = _minmax(dense) * config.dense_prior
        scores = personalized_pagerank(self._transition, reset, config.damping)
        return scores[: index.n_units], {"seeds": seeds}

    # ------------------------------------------------------------------ entry

    def retrieve(self, query: str, k: int = 5, mode: str = "ppr") -> list[Hit]:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
        if self.index.n_units == 0:
            return []
        query_vector = self.embedder.encode([query])[0]
        why: dict[str, Any] = {}
        if mode == "dense":
            scores = self.dense_scores(query_vector)
        elif mode == "bm25":
            scores = self.bm25_scores(query)
        elif mode == "ppr":
            scores, why = self.ppr_scores(query, query_vector, self.dense_scores(query_vector))
        else:
            dense = self.dense_scores(query_vector)
            ppr, why = self.ppr_scores(query, query_vector, dense)
            scores = self._fuse([ppr, dense, self.bm25_scores(query)])
        top = np.argsort(-scores, kind="stable")[:k]
        return [Hit(self.index.units[i], float(scores[i]), rank + 1, why if rank == 0 else {})
                for rank, i in enumerate(top)]  # fmt: skip

    def _fuse(self, rankings: list[np.ndarray]) -> np.ndarray:
        fused = np.zeros(self.index.n_units)
        for scores in rankings:
            order = np.argsort(-scores, kind="stable")
            ranks = np.empty_like(order)
            ranks[order] = np.arange(len(order))
            fused += 1.0 / (self.config.rrf_k + 1 + ranks)
        return fused
