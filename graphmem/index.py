"""The retrieval index: an in-memory projection of one namespace of any store.

Nodes are retrieval units (passages and dialogue turns) followed by entities. Edges:
unit–entity mentions, entity–entity relations (weight = number of facts joining the pair)
and synonyms (weight = cosine). Embedding matrices cover units and entity names. Algorithms
(PPR, dense, BM25) read only this object, never the store.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from graphmem.embed import Embedder
from graphmem.resolve import normalise_key
from graphmem.store import GraphStore
from graphmem.texts import statement_text, unit_text


@dataclass(frozen=True)
class Unit:
    """A passage or turn as retrieval returns it, with where it comes from."""

    id: str
    text: str
    source_id: str  # document or dialogue
    title: str | None = None
    start: int | None = None
    end: int | None = None
    speaker: str | None = None
    timestamp: Any = None

    @property
    def embed_text(self) -> str:
        return unit_text(self.text, title=self.title, speaker=self.speaker)


@dataclass
class RetrievalIndex:
    namespace: str
    revision: int
    units: list[Unit]
    entity_ids: list[str]
    entity_names: list[str]
    entity_types: list[str]
    graph: sp.csr_matrix  # symmetric, over units then entities
    mentions: sp.csr_matrix  # entities x units, 1 where an entity is mentioned
    unit_vectors: np.ndarray
    entity_vectors: np.ndarray
    name_to_entity: dict[str, int] = field(default_factory=dict)  # normalised name or alias -> entity row
    facts: list[tuple[int, str, int, str]] = field(default_factory=list)  # (subject, predicate, object, fact id)
    fact_vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    build_seconds: float = 0.0

    @property
    def n_units(self) -> int:
        return len(self.units)

    def entity_passage_counts(self) -> np.ndarray:
        return np.asarray(self.mentions.sum(axis=1)).ravel()


def _unit(node_label: str, node_id: str, props: dict[str, Any]) -> Unit:
    if node_label == "Turn":
        return Unit(node_id, props.get("text", ""), props.get("dialogue_id", ""), speaker=props.get("speaker"),
                    timestamp=props.get("timestamp"))  # fmt: skip
    return Unit(node_id, props.get("text", ""), props.get("document_id", ""), title=props.get("title"),
                start=props.get("start"), end=props.get("end"), timestamp=props.get("date"))  # fmt: skip


def build_index(store: GraphStore, namespace: str, embedder: Embedder) -> RetrievalIndex:
    """Project a namespace into matrices; embeddings come through the (cached) embedder."""
    started = time.perf_counter()
    revision = store.revision(namespace)
    units: list[Unit] = []
    entity_ids: list[str] = []
    entity_names: list[str] = []
    entity_types: list[str] = []
    aliases: list[list[str]] = []
    facts_raw: list[tuple[str, str, str, str]] = []
    fact_texts_raw: list[str] = []
    for node in store.iter_nodes(namespace):
        if node.label in ("Passage", "Turn"):
            units.append(_unit(node.label, node.id, node.props))
        elif node.label == "Entity":
            entity_ids.append(node.id)
            entity_names.append(str(node.props.get("name", "")))
            entity_types.append(str(node.props.get("type", "THING")))
            aliases.append([str(a) for a in node.props.get("aliases", []) or []])
        elif node.label == "Fact":
            facts_raw.append((str(node.props.get("subject_id")), str(node.props.get("predicate")),
                              str(node.props.get("object_id")), node.id))  # fmt: skip
            fact_texts_raw.append(statement_text(node.props.get("subject_name"), str(node.props.get("predicate")),
                                                 node.props.get("object_name")))  # fmt: skip
    unit_row = {u.id: i for i, u in enumerate(units)}
    entity_row = {e: i for i, e in enumerate(entity_ids)}
    n_units, n_entities = len(units), len(entity_ids)
    rows: list[int] = []
    cols: list[int] = []
    weights: list[float] = []
    mention_pairs: set[tuple[int, int]] = set()
    relation_weight: dict[tuple[int, int], float] = defaultdict(float)
    for edge in store.iter_edges(namespace, "MENTIONS"):
        u, e = unit_row.get(edge.source), entity_row.get(edge.target)
        if u is not None and e is not None:
            mention_pairs.add((e, u))
    facts: list[tuple[int, str, int, str]] = []
    fact_texts: list[str] = []
    for (subject, predicate, obj, fact_id), text in zip(facts_raw, fact_texts_raw, strict=True):
        s, o = entity_row.get(subject), entity_row.get(obj)
        if s is not None and o is not None and s != o:
            relation_weight[(min(s, o), max(s, o))] += 1.0
            facts.append((s, predicate, o, fact_id))
            fact_texts.append(text)
    for edge in store.iter_edges(namespace, "SYNONYM"):
        a, b = entity_row.get(edge.source), entity_row.get(edge.target)
        if a is not None and b is not None and a != b:
            key = (min(a, b), max(a, b))
            relation_weight[key] = max(relation_weight[key], float(edge.props.get("score", 0.8)))  # type: ignore[arg-type]
    for e, u in mention_pairs:
        rows += [u, n_units + e]
        cols += [n_units + e, u]
        weights += [1.0, 1.0]
    for (a, b), w in relation_weight.items():
        rows += [n_units + a, n_units + b]
        cols += [n_units + b, n_units + a]
        weights += [w, w]
    size = n_units + n_entities
    graph = sp.csr_matrix((weights, (rows, cols)), shape=(size, size), dtype=np.float64)
    mention_list = sorted(mention_pairs)
    mentions = sp.csr_matrix(
        (np.ones(len(mention_list)), ([e for e, _ in mention_list], [u for _, u in mention_list])),
        shape=(n_entities, n_units), dtype=np.float32,
    )  # fmt: skip
    unit_vectors = embedder.encode([u.embed_text for u in units]) if units else np.zeros((0, embedder.dimension))
    entity_vectors = embedder.encode(entity_names) if entity_names else np.zeros((0, embedder.dimension))
    fact_vectors = embedder.encode(fact_texts) if fact_texts else np.zeros((0, embedder.dimension))
    name_to_entity: dict[str, int] = {}
    for i, (name, more) in enumerate(zip(entity_names, aliases, strict=True)):
        for text in (name, *more):
            name_to_entity.setdefault(normalise_key(text), i)
    return RetrievalIndex(
        namespace=namespace, revision=revision, units=units, entity_ids=entity_ids, entity_names=entity_names,
        entity_types=entity_types, graph=graph, mentions=mentions, unit_vectors=unit_vectors.astype(np.float32),
        entity_vectors=entity_vectors.astype(np.float32), name_to_entity=name_to_entity, facts=facts,
        fact_vectors=fact_vectors.astype(np.float32),
        build_seconds=time.perf_counter() - started,
    )  # fmt: skip
