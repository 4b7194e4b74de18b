"""Retrieval modes over one RetrievalIndex, each a small function of (index, query, config).

- ``dense``: cosine of the query embedding with every unit's embedding.
- ``bm25``: lexical scores (bm25s, English stopwords).
- ``ppr``: HippoRAG-style Personalized PageRank. Entities the query names seed the walk, each
  weighted by similarity / (passages naming it); facts close to the query that touch such an
  entity seed their other end; every unit is seeded with its min-max dense score × ``prior_weight``.
  The walk runs on the index graph plus topic edges and leans towards relevant units
  (``query_bias``; see ``graphmem.retrieve.walk``). Falls back to dense when nothing anchors.
- ``hybrid``: the same walk, but the first-stage relevance (prior and bias) fuses dense and BM25
  scores (min-max each, ``lexical_share`` of BM25). Reciprocal rank fusion of the ppr, dense and
  bm25 rankings was measured too and lost to it on every benchmark (see README).

``as_of`` keeps only units dated at or before that time and walks only relations from facts valid then;
without it, facts that reconsolidation retired (superseded) are left out of the walk and the seeds.
``latest_first`` (on) puts what replaced a retired fact, and for first-person questions a speaker's newest
restatement of a topic, above the older unit it updates (``graphmem.retrieve.latest``). ``recency_weight``
(off at 0) multiplies each unit's final score by ``1 - w + w * strength``, its memory strength at ``as_of``
or now (``graphmem.temporal.strength``: it fades with the unit's age, more slowly when its facts are
restated elsewhere). ``trust`` (graphmem.trust.TrustPolicy) leaves flagged units of untrusted sources out of
every mode and out of the walk (graphmem.retrieve.trust_gate), and can weigh scores by trust level.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from graphmem.embed import Embedder
from graphmem.index import RetrievalIndex, epoch_seconds
from graphmem.retrieve.explain import seed_paths
from graphmem.retrieve.latest import LatestStatements
from graphmem.retrieve.linking import Link, link_by_name, link_spans, link_titles, unlinked_spans
from graphmem.retrieve.ppr import PageRankSolver
from graphmem.retrieve.recognition import FactFilter
from graphmem.retrieve.results import Hit, Query, Retrieval, Seeds, Walk, WalkStart
from graphmem.retrieve.trust_gate import TrustGate
from graphmem.retrieve.walk import unit_topics, untopical_titles, walk_graph
from graphmem.temporal.strength import UnitStrength, weigh
from graphmem.trust import TrustPolicy

MODES = ("dense", "bm25", "ppr", "hybrid")
__all__ = ["MODES", "Hit", "Query", "Retrieval", "RetrievalConfig", "Retriever", "Walk", "top_rows"]


@dataclass(frozen=True)
class RetrievalConfig:
    """Every retrieval parameter, with defaults chosen for any corpus (see README for what was tried)."""

    damping: float = 0.5  # probability of following an edge at each step (HippoRAG uses 0.5)
    prior_weight: float = 0.2  # weight of each unit's min-max first-stage score in the reset vector
    query_bias: float = 1.0  # exponent of the relevance that tilts each step of the walk (0: unbiased walk)
    bias_floor: float = 0.05  # added to the relevance so irrelevant units stay reachable
    topic_weight: float = 5.0  # a titled passage's edge to the entity its title names, in mentions
    lexical_share: float = 0.3  # hybrid: share of BM25 in the fused first-stage relevance
    max_ngram: int = 16  # longest run of query words looked up as an entity name or a title
    span_link_min_cosine: float = 0.7  # capitalised spans link to their nearest entity name above this
    fact_seeds: int = 5  # closest facts considered for seeding (0: off)
    # common nouns ("state", "composer") also exist as entities; as seeds they drown the named ones
    unlinked_types: tuple[str, ...] = ("CONCEPT", "DATE", "TIME")
    # second hop: a walk restarted from the best unit of the first one, added with this weight (0: off);
    # it lifts the passages about the entities the best passage names (the bridge of a two-hop question)
    hop_weight: float = 0.25
    hop_anchors: int = 1  # units the second walk restarts from
    explain_hops: int = 4  # longest seed → unit path an explanation looks for
    # in [0, 1]: score × (1 - w + w × memory strength), favouring recent and restated units (0: off)
    recency_weight: float = 0.0
    # first-person questions: the asker's newest restatement goes just above their older turn on the topic
    latest_first: bool = True
    latest_window: int = 20  # only the order of this many best units may change
    latest_cover: float = 0.5  # share of the older turn's query words a newer turn must contain to restate it
    trust: TrustPolicy = field(default_factory=TrustPolicy)  # flagged units of untrusted sources: left out


def _minmax(values: np.ndarray) -> np.ndarray:
    low, high = float(values.min(initial=0.0)), float(values.max(initial=0.0))
    return (values - low) / (high - low) if high > low else np.zeros_like(values)


def top_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Rows of the k largest scores, best first, ties by row: a partition, then a sort of k rows only."""
    if k <= 0 or not len(scores):
        return np.zeros(0, dtype=np.int64)
    if k < len(scores):
        kth = np.partition(-scores, k - 1)[k - 1]  # the k-th best score, negated
        candidates = np.flatnonzero(-scores <= kth)  # every row tied with it too, so ties resolve by row
    else:
        candidates = np.arange(len(scores))
    return candidates[np.lexsort((candidates, -scores[candidates]))][:k]


class Retriever:
    def __init__(
        self,
        index: RetrievalIndex,
        embedder: Embedder,
        config: RetrievalConfig | None = None,
        fact_filter: FactFilter | None = None,
    ) -> None:
        self.index = index
        self.embedder = embedder
        self.config = config or RetrievalConfig()
        self.fact_filter = fact_filter  # an LLM's recognition memory (graphmem.retrieve.recognition), or None
        # now: facts reconsolidation retired (expired_at set) neither seed nor carry the walk, as in facts()
        retired = ~np.isnan(index.fact_expired_at)
        self._gate = TrustGate(index, self.config.trust)  # and facts stated only by excluded units, likewise
        self._current = self._gate.facts(~retired if retired.any() else None)
        self._topics = unit_topics(index)
        self._solver = PageRankSolver(walk_graph(index, self.config.topic_weight, self._current,
                                                 self._gate.excluded, self._topics))  # every query  # fmt: skip
        self._passages_per_entity = np.maximum(index.entity_passage_counts(), 1.0)
        self._bm25: Any = None
        self._linkable = np.array([t not in self.config.unlinked_types for t in index.entity_types], dtype=bool)
        self._titles = untopical_titles(index, self._topics)
        # no n-gram longer than the longest name or title can match: the look-ups stop there
        longest = max((len(key.split()) for key in (*index.name_to_entity, *self._titles)), default=1)
        self._max_ngram = max(1, min(self.config.max_ngram, longest))
        degree = np.asarray(index.graph.sum(axis=0)).ravel()
        self._degree = np.where(degree > 0, degree, 1.0)  # visits / degree: what a node passes along each edge
        self._as_of_cache: tuple[float, PageRankSolver, np.ndarray, np.ndarray] | None = None
        self._unit_times: np.ndarray | None = None  # see unit_times()
        self._strength: UnitStrength | None = None  # built on the first query that weighs recency
        self._latest: LatestStatements | None = None  # built on the first query, when latest_first is on

    # ------------------------------------------------------------------ first stage

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

    # ------------------------------------------------------------------ seeds

    def link_entities(self, query: str) -> dict[int, Link]:
        """Entities the query names: exact names of word n-grams and spans, then nearest names of the rest."""
        found, spans = self._link_exactly(query)
        vectors = self.embedder.encode(spans) if spans else []
        link_spans(self.index, dict(zip(spans, vectors, strict=True)), found, self._linkable,
                   self.config.span_link_min_cosine)  # fmt: skip
        return found

    def _link_exactly(self, query: str) -> tuple[dict[int, Link], list[str]]:
        """Entities named exactly, and the capitalised spans left for the embedding model."""
        config = self.config
        found = link_by_name(self.index, query, self._max_ngram, config.unlinked_types)
        return found, unlinked_spans(self.index, query, found, config.unlinked_types)

    def seed_facts(self, query_vector: np.ndarray, links: dict[int, Link], valid: np.ndarray | None,
                   question: str = "", scores: np.ndarray | None = None) -> list[dict]:  # fmt: skip
        """HippoRAG 2's fact seeds, filtered: of the facts closest to the query, those that touch an entity
        the query names also seed their other end ("the engineer behind X" reaches X's designer). With a
        ``fact_filter``, the facts it rejects for ``question`` are dropped first (recognition memory)."""
        index = self.index
        if not self.config.fact_seeds or not links or not len(index.fact_vectors):
            return []
        scores = index.fact_vectors @ query_vector if scores is None else scores  # or the batch's row
        if valid is not None:
            scores = np.where(valid, scores, -np.inf)
        used = []
        linked = set(links)
        named = [index.entity_names[row].lower() + " " for row in links if " " in index.entity_names[row]]
        rows = [row for row in top_rows(scores, self.config.fact_seeds) if np.isfinite(scores[row])]
        if self.fact_filter is not None and rows:
            candidates = [index.facts[row] for row in rows]
            texts = [f"{index.entity_names[s]} {p} {index.entity_names[o]}" for s, p, o, _ in candidates]
            rows = [row for row, keep in zip(rows, self.fact_filter.keep(question, texts), strict=True) if keep]
        for row in rows:
            subject, predicate, obj, fact_id = index.facts[row]
            ends = (index.entity_names[subject].lower(), index.entity_names[obj].lower())
            # a fact touches the query when an end is a linked entity or extends a linked name of several words
            # ("Skarrow Head Lighthouse" for "Skarrow Head")
            touches = subject in linked or obj in linked or any(end.startswith(n) for n in named for end in ends)
            if not touches:
                continue
            text = f"{index.entity_names[subject]} {predicate} {index.entity_names[obj]}"
            for entity in (subject, obj):
                if entity not in linked and self._linkable[entity]:
                    links.setdefault(entity, Link(float(scores[row]), f"fact: {text}"))
            used.append({"id": fact_id, "subject": index.entity_names[subject], "predicate": predicate,
                         "object": index.entity_names[obj], "score": round(float(scores[row]), 4)})  # fmt: skip
        return used

    # ------------------------------------------------------------------ as_of

    def _at(self, as_of: datetime | None) -> tuple[PageRankSolver, np.ndarray | None, np.ndarray | None]:
        """The walk's solver, valid-fact mask and allowed-unit mask at ``as_of`` (cached for the last time asked)."""
        if as_of is None:
            return self._solver, self._current, None
        t = epoch_seconds(as_of)
        if self._as_of_cache is None or self._as_of_cache[0] != t:
            index = self.index
            starts, ends = index.fact_valid_from, index.fact_valid_to
            valid = self._gate.facts(~(starts > t) & ~(ends <= t))  # NaN (unknown) compares False: undated holds
            units = ~(self.unit_times() > t)
            solver = PageRankSolver(walk_graph(index, self.config.topic_weight, valid, self._gate.excluded,
                                               self._topics))  # fmt: skip
            self._as_of_cache = (t, solver, valid, units)
        return self._as_of_cache[1], self._as_of_cache[2], self._as_of_cache[3]

    # ------------------------------------------------------------------ graph walk

    def prepare(self, query: str, graph_mode: bool = True) -> Query:
        """The question's embedding and, for graph modes, the names in it that match no entity exactly
        (often none) with theirs."""
        if not graph_mode:
            return Query(query, self.embedder.encode([query])[0], {}, {}, {})
        titles, links, spans = self.names(query)
        vector = self.embedder.encode([query])[0]
        # names apart from the question: in one batch they would be padded to its length, costing more
        span_vectors = dict(zip(spans, self.embedder.encode(spans), strict=True)) if spans else {}
        return Query(query, vector, titles, links, span_vectors)

    def names(self, query: str) -> tuple[dict[str, list[int]], dict[int, Link], list[str]]:
        """What the query names: titles with no entity of their own, entities named exactly, and the capitalised
        spans left for the embedding model."""
        titles, rest = link_titles(self._titles, query, self._max_ngram) if self._titles else ({}, query)
        links, spans = self._link_exactly(rest)
        return titles, links, spans

    def walk(self, query: Query, relevance: np.ndarray, solver: PageRankSolver, valid: np.ndarray | None) -> Walk:
        """Seed, then walk (twice, see ``hop_reset``); falls back to the first-stage relevance without seeds."""
        start = self.walk_start(query, relevance, valid)
        if isinstance(start, Walk):
            return start
        visits = self.first_visits(solver.solve(start.reset, self.config.damping, start.bias))
        hop = self.hop_reset(visits)
        second = None if hop is None else solver.solve(hop[0], self.config.damping, start.bias)
        return self.walk_end(start, visits, second, hop)

    def walk_start(self, query: Query, relevance: np.ndarray, valid: np.ndarray | None,
                   fact_scores: np.ndarray | None = None) -> WalkStart | Walk:  # fmt: skip
        """The walk's reset and bias from the query's seeds; a finished Walk (the fallback) when nothing anchors."""
        index, config = self.index, self.config
        titles, query_vector = query.titles, query.vector
        links = dict(query.links)
        link_spans(index, query.span_vectors, links, self._linkable, config.span_link_min_cosine)
        facts = self.seed_facts(query_vector, links, valid, query.text, fact_scores)
        if not links and not titles:
            return Walk(relevance, {}, [], "no entity of the query is in the graph: ranked by first-stage relevance")
        n = index.n_units
        reset = np.zeros(n + len(index.entity_ids))
        for rows in titles.values():  # a quoted title with no entity of its own seeds its units directly
            reset[rows] += 1.0 / len(rows)
        seeds: Seeds = {}
        for row, link in links.items():
            weight = float(link.similarity / self._passages_per_entity[row])  # rare entities anchor more strongly
            seeds[row] = (weight, link.how)
            reset[n + row] = weight
        prior = _minmax(relevance)
        reset[:n] = prior * config.prior_weight
        self._gate.clear(reset)
        bias = None
        if config.query_bias:
            bias = np.ones(len(reset))
            bias[:n] = (prior + config.bias_floor) ** config.query_bias
        return WalkStart(reset, bias, seeds, facts)

    def first_visits(self, visits: np.ndarray) -> np.ndarray:
        return visits / float(visits[: self.index.n_units].max() or 1.0)

    def hop_reset(self, visits: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """The second walk's reset (and anchors): restarted from the best units only (no seeds, no prior), its
        visits are scaled to 1 at the best other unit. Pseudo-relevance feedback on the graph, the LLM-free
        analogue of retrieving again with what the first passage taught (it reaches the passage about the
        bridge entity the first one names). None when the config turns it off."""
        config = self.config
        if not (config.hop_weight > 0 and config.hop_anchors > 0):
            return None
        scores = visits[: self.index.n_units]
        anchors = top_rows(scores, config.hop_anchors)
        reset = np.zeros(len(visits))
        reset[anchors] = scores[anchors]
        return reset, anchors

    def walk_end(self, start: WalkStart, visits: np.ndarray, second: np.ndarray | None,
                 hop: tuple[np.ndarray, np.ndarray] | None) -> Walk:  # fmt: skip
        n = self.index.n_units
        if hop is not None and second is not None and hop[0].sum() > 0:
            second[hop[1]] = 0.0  # the anchors keep their first-walk score
            top = float(second[:n].max())
            visits = visits + self.config.hop_weight * (second / top if top > 0 else np.zeros_like(second))
        return Walk(visits[:n], start.seeds, start.facts, None, visits / self._degree)

    # ------------------------------------------------------------------ entry

    def search(self, query: str, k: int = 5, mode: str = "ppr", as_of: datetime | None = None) -> Retrieval:
        """Rank units for a query; graph modes also say which seeds and facts drove the ranking and how."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
        started = time.perf_counter()
        result = Retrieval(query=query, mode=mode, hits=[], as_of=as_of)
        if self.index.n_units == 0 or k <= 0:
            return result
        solver, valid, allowed = self._at(as_of)
        parsed = self.prepare(query, graph_mode=mode in ("ppr", "hybrid")) if mode != "bm25" else None
        walked: Walk | None = None
        if mode == "bm25":
            scores = self.bm25_scores(query)
        else:
            assert parsed is not None
            scores = self.dense_scores(parsed.vector)
            if mode in ("ppr", "hybrid"):
                walked = self.walk(parsed, self.relevance(scores, query, mode), solver, valid)
                scores = walked.scores
        return self.finish(result, scores, walked, allowed, k, started)

    def relevance(self, dense: np.ndarray, query: str, mode: str) -> np.ndarray:
        """The first stage a graph mode walks from: dense scores, fused with BM25's in hybrid; trust-gated."""
        relevance = dense
        if mode == "hybrid":
            share = self.config.lexical_share
            relevance = (1 - share) * _minmax(dense) + share * _minmax(self.bm25_scores(query))
        return self._gate.first_stage(relevance)

    def finish(self, result: Retrieval, scores: np.ndarray, walked: Walk | None, allowed: np.ndarray | None,
               k: int, started: float) -> Retrieval:  # fmt: skip
        """The final scores (recency, as_of, latest, trust), the top k and their explanation, into ``result``."""
        query, as_of = result.query, result.as_of
        weights: Seeds = walked.seeds if walked is not None else {}
        flow = walked.flow if walked is not None else None
        if walked is not None:
            result.facts, result.fallback = walked.facts, walked.fallback
        if self.config.recency_weight > 0:
            scores = weigh(scores, self.unit_strength().at(as_of), self.config.recency_weight)
        if allowed is not None:
            scores = np.where(allowed, scores, -np.inf)
        if self.config.latest_first:
            scores, moves = self.latest_statements().apply(scores, query)
            units = self.index.units
            result.latest = [{"moved": units[m.moved].id, "above": units[m.above].id, "why": m.why,
                              "words": list(m.words)} for m in moves]  # fmt: skip
        scores = self._gate.final(scores)
        top = [int(i) for i in top_rows(scores, k) if np.isfinite(scores[i])]
        seed_weights = {row: weight for row, (weight, _) in weights.items()}
        paths = seed_paths(self.index, seed_weights, top, self.config.explain_hops, flow) if weights else {}
        result.seeds = [{"entity": self.index.entity_names[row], "id": self.index.entity_ids[row],
                         "weight": round(weight, 4), "linked_by": how}
                        for row, (weight, how) in sorted(weights.items(), key=lambda item: -item[1][0])]  # fmt: skip
        result.hits = [Hit(self.index.units[i], float(scores[i]), rank + 1,
                           paths[i].to_dict() if i in paths else None)
                       for rank, i in enumerate(top)]  # fmt: skip
        if result.hits:
            result.hits[0].why = result.explanation()
        result.milliseconds = (time.perf_counter() - started) * 1000
        return result

    def unit_times(self) -> np.ndarray:
        """Every unit's date as UTC epoch seconds (NaN when undated), read once per Retriever."""
        if self._unit_times is None:
            self._unit_times = np.array([epoch_seconds(u.timestamp) for u in self.index.units], dtype=np.float64)
        return self._unit_times

    def unit_strength(self) -> UnitStrength:
        """Every unit's memory strength (dates and restatements read once per index, see ``recency_weight``)."""
        index = self.index
        if self._strength is None or self._strength.key != (index.revision, index.n_units, len(index.facts)):
            self._strength = UnitStrength(index, times=self.unit_times())
        return self._strength

    def latest_statements(self) -> LatestStatements:
        """The turns' words, speakers and dates (read once per Retriever, see ``latest_first``)."""
        if self._latest is None:
            config = self.config
            self._latest = LatestStatements(self.index, config.latest_window, config.latest_cover, self.unit_times())
        return self._latest

    def retrieve(self, query: str, k: int = 5, mode: str = "ppr", as_of: datetime | None = None) -> list[Hit]:
        return self.search(query, k, mode, as_of).hits
