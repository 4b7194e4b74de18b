"""The graph the PPR walk runs on, and the walk itself.

The walk graph is the index's graph (unit–entity mentions, relations, synonyms) plus **topic
edges**: a titled passage is about the entity its title names ("Brand (play)" is about Brand),
so the step from an entity to its own page is weighted like ``topic_weight`` mentions (one way: the
step back from the page stays an ordinary mention). Without them a
bridge entity spreads its mass evenly over every passage that merely mentions it.

For ``as_of`` queries the relation edges are rebuilt from the facts valid at that time only. Units that
retrieval must not return (graphmem.retrieve.trust_gate) lose their edges: the walk neither enters nor leaves them.

The walk itself (``graphmem.retrieve.ppr.PageRankSolver``) is Personalized PageRank with an
optional **query bias**: at each step the walker picks a neighbour i of j with probability
∝ w_ij · b_i, where b is the first-stage relevance of each unit to the query (entities keep b = 1).
"""

from __future__ import annotations

import re

import numpy as np
import scipy.sparse as sp

from graphmem.index import RetrievalIndex, assemble
from graphmem.resolve import normalise_key

_DISAMBIGUATION = re.compile(r"\s*\([^)]*\)\s*$")  # "Brand (play)" -> "Brand"


def topic_entity(index: RetrievalIndex, title: str | None) -> int | None:
    """The entity a title names: the title without a trailing "(...)" (the name other passages use), else the
    whole title."""
    if not title:
        return None
    row = index.name_to_entity.get(normalise_key(_DISAMBIGUATION.sub("", title)))
    return row if row is not None else index.name_to_entity.get(normalise_key(title))


def unit_topics(index: RetrievalIndex) -> list[int | None]:
    """Each unit's topic entity (``topic_entity`` of its title). Worked out once per retriever: at 100k passages
    each pass over the titles takes about a second."""
    return [topic_entity(index, unit.title) for unit in index.units]


def untopical_titles(index: RetrievalIndex, topics: list[int | None] | None = None) -> dict[str, list[int]]:
    """Normalised titles that name no entity (long titles the extractor did not keep), with their units:
    the query can still name such a unit by its title."""
    topics = unit_topics(index) if topics is None else topics
    titles: dict[str, list[int]] = {}
    for row, unit in enumerate(index.units):
        if unit.title and topics[row] is None:
            titles.setdefault(normalise_key(_DISAMBIGUATION.sub("", unit.title)), []).append(row)
    titles.pop("", None)
    return titles


def topic_edges(index: RetrievalIndex, weight: float, topics: list[int | None] | None = None) -> sp.csr_matrix:
    """Edges from the entity a titled unit's title names to that unit."""
    size = index.graph.shape[0]
    topics = unit_topics(index) if topics is None else topics
    pairs = [(u, index.n_units + e) for u, e in enumerate(topics) if e is not None]
    if not pairs or weight <= 0:
        return sp.csr_matrix((size, size))
    units, entities = (np.array(side) for side in zip(*pairs, strict=True))
    # one way only (entry [i, j] is the step j -> i): from the entity to its page. The way back stays an
    # ordinary mention, or every page would send its walkers home to its own topic.
    return sp.csr_matrix((np.full(len(units), weight), (units, entities)), shape=(size, size))


def walk_graph(index: RetrievalIndex, topic_weight: float, valid_facts: np.ndarray | None = None,
               excluded_units: np.ndarray | None = None,
               topics: list[int | None] | None = None) -> sp.csr_matrix:  # fmt: skip
    """The index graph plus topic edges; with ``valid_facts``, relations from those facts only; without the
    edges of ``excluded_units``."""
    graph = index.graph
    if valid_facts is not None:
        mentions = index.mentions.tocoo()
        facts = [fact for fact, valid in zip(index.facts, valid_facts, strict=True) if valid]
        graph, _ = assemble(index.n_units, len(index.entity_ids), np.column_stack([mentions.row, mentions.col]),
                            facts, index.synonym_pairs, index.synonym_scores)  # fmt: skip
    graph = (graph + topic_edges(index, topic_weight, topics)).tocsr()
    if excluded_units is None or not excluded_units.any():
        return graph
    keep = np.ones(graph.shape[0])
    keep[: index.n_units][excluded_units] = 0.0
    cut = sp.diags(keep)
    graph = (cut @ graph @ cut).tocsr()
    graph.eliminate_zeros()
    return graph
