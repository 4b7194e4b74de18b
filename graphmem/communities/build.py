"""From a retrieval index (and the previous run's communities) to the Community records of this run.

Pure: plain data in, records out; ``storage`` writes them. Each connected component of the entity
graph gets a digest of what its clustering and summaries read (its entities, its weighted edges, the
facts joining them and their provenance). An incremental run keeps the previous communities of every
component whose digest is unchanged, and re-clusters only the others; ``full`` re-clusters everything.
Clustering a component depends on nothing else, so both give the same communities.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from graphmem.communities.clustering import ClusterConfig, Clustering, cluster, modularity
from graphmem.communities.ids import DEFAULT_THRESHOLD, match_ids
from graphmem.communities.summary import Summariser, SummaryConfig, SummaryContext, summarise
from graphmem.index import RetrievalIndex, assemble
from graphmem.records import Community
from graphmem.retrieve.trust_gate import TrustGate
from graphmem.trust import TrustPolicy


@dataclass(frozen=True)
class CommunityConfig:
    clustering: ClusterConfig = field(default_factory=ClusterConfig)
    summary: SummaryConfig = field(default_factory=SummaryConfig)
    match_threshold: float = DEFAULT_THRESHOLD  # Jaccard overlap for a new community to keep an old id
    llm_min_size: int = 3  # an LLM (when configured) summarises communities at least this large ...
    llm_max: int = 200  # ... the largest first, at most this many per run; the rest stay extractive


@dataclass
class Plan:
    """This run's communities, and how they were obtained."""

    records: list[Community]
    components: int = 0
    reclustered: int = 0  # components clustered in this run (all of them when full)
    isolated: list[str] = field(default_factory=list)  # entity ids with no relation or synonym
    seconds: dict[str, float] = field(default_factory=dict)


def entity_graph(index: RetrievalIndex, admitted: np.ndarray | None = None) -> sp.csr_matrix:
    """The entity–entity block of the index's graph: relations (facts per pair) and synonyms (cosine); with
    ``admitted`` (a mask over the index's facts), relations from those facts only."""
    if admitted is None:
        n = index.n_units
        return index.graph[n:, n:].tocsr()
    facts = [fact for fact, keep in zip(index.facts, admitted, strict=True) if keep]
    no_mentions = np.zeros((0, 2), dtype=np.int64)
    graph, _ = assemble(0, len(index.entity_ids), no_mentions, facts, index.synonym_pairs, index.synonym_scores)
    return graph.tocsr()


def clustered_graph(index: RetrievalIndex) -> tuple[sp.csr_matrix, TrustGate]:
    """The entity graph communities are built from, and the trust gate it is cut by: what default retrieval leaves
    out (flagged units of untrusted sources, and facts only they state) joins no entities."""
    gate = TrustGate(index, TrustPolicy())
    return entity_graph(index, gate.facts(None)), gate


def component_digests(index: RetrievalIndex, graph: sp.csr_matrix, context: SummaryContext,
                      components: Sequence[np.ndarray]) -> list[str]:  # fmt: skip
    """A digest per component of everything its communities are computed from."""
    ids = index.entity_ids
    out = []
    for rows in components:
        digest = hashlib.sha256()
        local = {int(r): i for i, r in enumerate(rows)}
        sub = sp.triu(graph[rows][:, rows], k=1).tocoo()
        digest.update("\x1f".join(ids[r] for r in rows).encode())
        edges = sorted(
            (ids[rows[a]], ids[rows[b]], round(float(w), 6)) for a, b, w in zip(sub.row, sub.col, sub.data, strict=True)
        )
        digest.update(repr(edges).encode())
        excluded = context.excluded_units  # flagging a unit (or trusting it) changes its component's summaries
        found = {f for r in rows for f in context.facts_of.get(int(r), ()) if index.facts[f][0] in local}
        facts = sorted(
            index.facts[f][3] + "\x1e" + "\x1e".join(p + "!" * (p in excluded) for p in index.fact_provenance[f])
            for f in found
        )
        digest.update("\x1f".join(facts).encode())
        out.append("component:" + digest.hexdigest()[:24])
    return out


def plan(index: RetrievalIndex, previous: Sequence[Community], config: CommunityConfig | None = None, *,
         full: bool = False, summariser: Summariser | None = None) -> Plan:  # fmt: skip
    """The communities of ``index``'s namespace, keeping ``previous`` where their component did not change."""
    config = config or CommunityConfig()
    started = time.perf_counter()
    graph, gate = clustered_graph(index)
    context = SummaryContext(index, graph, gate)
    ids = index.entity_ids
    shape = cluster(graph, ids, config.clustering, only=[])  # components only: which ones need clustering
    digests = component_digests(index, graph, context, shape.components)
    kept_digests = set() if full else {p.component for p in previous if p.component} & set(digests)
    changed = [i for i, d in enumerate(digests) if d not in kept_digests]
    digested = time.perf_counter()
    clustering = cluster(graph, ids, config.clustering, only=changed)
    clustered = time.perf_counter()
    kept = [p for p in previous if p.component in kept_digests]
    stale = {p.id: (p.level, frozenset(p.member_ids)) for p in previous if p.component not in kept_digests}
    new_keys = [(c.level, frozenset(ids[r] for r in c.members)) for c in clustering.clusters]
    new_ids = match_ids(new_keys, stale, config.match_threshold, reserved={c.id for c in kept})
    records = _records(index, context, clustering, new_ids, digests, config, summariser)
    done = time.perf_counter()
    records = sorted(kept + records, key=lambda c: (c.level, -c.size, c.id))
    seconds = {"digest": digested - started, "cluster": clustered - digested, "summary": done - clustered}
    return Plan(records, len(shape.components), len(changed), [ids[r] for r in shape.isolated], seconds)


def _records(index: RetrievalIndex, context: SummaryContext, clustering: Clustering, new_ids: Sequence[str],
             digests: Sequence[str], config: CommunityConfig,
             summariser: Summariser | None) -> list[Community]:  # fmt: skip
    ids = index.entity_ids
    children: dict[int, list[str]] = {}
    for position, item in enumerate(clustering.clusters):
        if item.parent is not None:
            children.setdefault(item.parent, []).append(new_ids[position])
    summaries = [summarise(context, item.members, config.summary) for item in clustering.clusters]
    if summariser is not None:
        eligible = [i for i, c in enumerate(clustering.clusters) if len(c.members) >= config.llm_min_size]
        eligible.sort(key=lambda i: (-len(clustering.clusters[i].members), new_ids[i]))
        for i in eligible[: config.llm_max]:
            written = summariser.rewrite(summaries[i].material)
            if written is not None:
                summaries[i].title = written[0] or summaries[i].title
                summaries[i].text, summaries[i].by = written[1], "llm"
    records = []
    for position, (item, summary) in enumerate(zip(clustering.clusters, summaries, strict=True)):
        records.append(Community(
            id=new_ids[position], namespace=index.namespace, level=item.level,
            parent_id=new_ids[item.parent] if item.parent is not None else None,
            child_ids=children.get(position, []), size=len(item.members),
            member_ids=sorted(ids[r] for r in item.members), fact_ids=summary.fact_ids,
            passage_ids=summary.passage_ids, title=summary.title, summary=summary.text, summary_by=summary.by,
            component=digests[item.component],
        ))  # fmt: skip
    return records


# ---------------------------------------------------------------- figures for reports


@dataclass
class LevelStats:
    level: int
    communities: int
    sizes: dict[str, float]  # min, median, mean, max
    modularity: float  # of the partition that takes each entity's deepest community at or above this level


def level_stats(index: RetrievalIndex, records: Sequence[Community]) -> list[LevelStats]:
    """Per level: how many communities, their sizes, and the modularity of the partition down to that level."""
    graph, _ = clustered_graph(index)
    row = {e: i for i, e in enumerate(index.entity_ids)}
    levels = sorted({c.level for c in records})
    out = []
    for level in levels:
        membership = np.full(len(index.entity_ids), -1, dtype=np.int64)
        for number, community in enumerate(sorted(records, key=lambda c: c.level)):
            if community.level <= level:
                membership[[row[m] for m in community.member_ids if m in row]] = number
        sizes = np.array([c.size for c in records if c.level == level], dtype=np.float64)
        out.append(LevelStats(level, len(sizes), {"min": float(sizes.min()), "median": float(np.median(sizes)),
                                                  "mean": float(sizes.mean()), "max": float(sizes.max())},
                              modularity(graph, membership)))  # fmt: skip
    return out


def size_histogram(records: Sequence[Community]) -> dict[str, int]:
    """Communities by size bucket: 1, 2, 3-5, 6-10, 11-50, 51-500, >500."""
    buckets = [(1, "1"), (2, "2"), (5, "3-5"), (10, "6-10"), (50, "11-50"), (500, "51-500")]
    counts: Counter[str] = Counter()
    for community in records:
        counts[next((name for top, name in buckets if community.size <= top), ">500")] += 1
    return {name: counts[name] for _, name in [*buckets, (0, ">500")] if counts[name]}
