"""Global retrieval: rank community summaries against a broad question, return them with their passages.

A community's score is the cosine of the question with its summary's embedding. The best ``k``
communities come back in ``GlobalRetrieval.communities`` (title, level, size, summary, central facts),
and ``hits`` are their supporting passages and turns, community by community, each hit scored with its
community's score and its path naming that community; units the trust policy excludes (graphmem.trust) are
skipped. Summaries are embedded once per searcher through
the (cached) embedder; questions through the query embedder.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from graphmem.embed import Embedder
from graphmem.index import RetrievalIndex
from graphmem.records import Community
from graphmem.retrieve import Hit, Retrieval
from graphmem.retrieve.core import top_rows
from graphmem.trust import TrustPolicy


@dataclass
class GlobalRetrieval(Retrieval):
    communities: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "communities": self.communities}


def summary_text(community: Community) -> str:
    """What a community's embedding embeds."""
    return community.summary or community.title or ""


def _normalised(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


class GlobalSearcher:
    """Community search over one namespace's communities and its index (for the passages' text)."""

    def __init__(self, communities: Sequence[Community], index: RetrievalIndex, summary_embedder: Embedder,
                 query_embedder: Embedder) -> None:  # fmt: skip
        self.communities = sorted(communities, key=lambda c: c.id)
        self.index = index
        self.query_embedder = query_embedder
        texts = [summary_text(c) for c in self.communities]
        self.vectors = _normalised(summary_embedder.encode(texts)) if texts else np.zeros((0, 1), np.float32)
        self._unit_row = {u.id: row for row, u in enumerate(index.units)}

    def search(self, query: str, k: int = 5, level: int | None = None, passages: int = 3,
               as_of: datetime | None = None, trust: TrustPolicy | None = None) -> GlobalRetrieval:  # fmt: skip
        """The ``k`` best communities (of one ``level``, or any), each with up to ``passages`` supporting units."""
        started = time.perf_counter()
        policy = trust or TrustPolicy()
        result = GlobalRetrieval(query=query, mode="global", hits=[], as_of=as_of)
        if not self.communities or k <= 0:
            if not self.communities:
                result.fallback = "no communities: build them first (graphmem communities --rebuild)"
            return result
        vector = _normalised(self.query_embedder.encode([query]))[0]
        scores = (self.vectors @ vector).astype(np.float64)
        if level is not None:
            scores = np.where([c.level == level for c in self.communities], scores, -np.inf)
        seen: set[str] = set()
        for row in top_rows(scores, k):
            if not np.isfinite(scores[row]):
                continue
            community, score = self.communities[int(row)], float(scores[row])
            result.communities.append({"id": community.id, "title": community.title, "level": community.level,
                                       "size": community.size, "score": round(score, 6), "summary": community.summary,
                                       "summary_by": community.summary_by, "fact_ids": community.fact_ids,
                                       "passage_ids": community.passage_ids})  # fmt: skip
            path = {
                "community": community.id,
                "title": community.title,
                "text": f"community '{community.title}' (level {community.level}, {community.size} entities)",
            }
            for unit_id in community.passage_ids[:passages]:
                unit_row = self._unit_row.get(unit_id)
                if unit_row is None or unit_id in seen:
                    continue
                unit = self.index.units[unit_row]
                if as_of is not None and isinstance(unit.timestamp, datetime) and unit.timestamp > as_of:
                    continue
                if policy.excludes(unit.trust, bool(unit.flags)):
                    continue
                seen.add(unit_id)
                result.hits.append(Hit(unit=unit, score=score, rank=len(result.hits) + 1, path=path))
        result.milliseconds = (time.perf_counter() - started) * 1000
        return result
