"""The retrieval index: an in-memory projection of one namespace of any store.

Nodes are retrieval units (passages and dialogue turns) followed by entities. Edges:
unit–entity mentions, entity–entity relations (weight = number of facts joining the pair)
and synonyms (weight = cosine). Embedding matrices cover units, entity names and facts.
Algorithms (PPR, dense, BM25) read only this object, never the store.

A fresh build orders units, entities and facts by id, so every store gives the same index
for the same content. An index updated incrementally (``graphmem.index_delta``) appends new
rows at the end instead: its rows are the same set, in another order. ``by_id`` gives the
order-free view to compare the two.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import scipy.sparse as sp

from graphmem.embed import Embedder
from graphmem.resolve import normalise_key
from graphmem.store import Edge, GraphStore
from graphmem.store.base import Props
from graphmem.texts import statement_text, unit_text

UNIT_LABELS = ("Passage", "Turn")
FactTuple = tuple[int, str, int, str]  # (subject row, predicate, object row, fact id)


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
    trust: str = "normal"  # its source's trust level (graphmem.trust)
    flags: tuple[str, ...] = ()  # what in it reads as instructions to an agent (graphmem.extract.injection)

    @property
    def embed_text(self) -> str:
        return unit_text(self.text, title=self.title, speaker=self.speaker)


def _empty_vectors() -> np.ndarray:
    return np.zeros((0, 0), dtype=np.float32)


def _no_times() -> np.ndarray:
    return np.zeros(0, dtype=np.float64)


@dataclass
class RetrievalIndex:
    """One namespace at one store revision. Fields marked ``cache: False`` are not written to disk."""

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
    facts: list[FactTuple] = field(default_factory=list)  # (subject, predicate, object, fact id)
    fact_vectors: np.ndarray = field(default_factory=_empty_vectors)
    fact_texts: list[str] = field(default_factory=list)  # what each fact's vector embeds
    entity_aliases: list[list[str]] = field(default_factory=list)
    # per fact: when it held (valid_from/valid_to) and when graphmem retired it, epoch seconds, NaN when unknown
    fact_valid_from: np.ndarray = field(default_factory=_no_times)
    fact_valid_to: np.ndarray = field(default_factory=_no_times)
    fact_expired_at: np.ndarray = field(default_factory=_no_times)
    fact_provenance: list[list[str]] = field(default_factory=list)  # per fact: the passages and turns stating it
    # SYNONYM edges as stored: (source entity row, target entity row) and score; the graph takes the max per pair
    synonym_pairs: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    synonym_scores: np.ndarray = field(default_factory=_no_times)
    # active SUPERSEDED_BY links as (retired fact row, row of the fact that replaced it)
    supersessions: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    build_seconds: float = field(default=0.0, metadata={"cache": False})
    # how this index was obtained: "rebuild", "disk", "incremental", or "memory" (already current, nothing done)
    origin: str = field(default="rebuild", metadata={"cache": False})

    @property
    def n_units(self) -> int:
        return len(self.units)

    def entity_passage_counts(self) -> np.ndarray:
        return np.asarray(self.mentions.sum(axis=1)).ravel()

    def node_id(self, row: int) -> str:
        """The unit or entity id of a graph row."""
        return self.units[row].id if row < self.n_units else self.entity_ids[row - self.n_units]

    def by_id(self) -> dict[str, Any]:
        """Everything but the vectors, keyed by ids rather than rows: equal for equal content in any order."""
        entity = self.entity_ids
        graph = self.graph.tocoo()
        mentions = self.mentions.tocoo()
        unit_ids = [u.id for u in self.units]

        def when(values: np.ndarray, row: int) -> float | None:
            return None if math.isnan(values[row]) else float(values[row])

        facts = {}
        for i, (s, p, o, f) in enumerate(self.facts):
            validity = (when(self.fact_valid_from, i), when(self.fact_valid_to, i), when(self.fact_expired_at, i))
            facts[f] = (entity[s], p, entity[o], tuple(self.fact_provenance[i]), validity)
        return {
            "units": {u.id: u for u in self.units},
            "entities": {
                e: (self.entity_names[i], self.entity_types[i], tuple(self.entity_aliases[i]))
                for i, e in enumerate(entity)
            },
            "facts": facts,
            "edges": {
                (self.node_id(int(a)), self.node_id(int(b))): float(w)
                for a, b, w in zip(graph.row, graph.col, graph.data, strict=True)
            },
            "mentions": {
                (entity[e], unit_ids[u]) for e, u in zip(mentions.row.tolist(), mentions.col.tolist(), strict=True)
            },
            "synonyms": {
                (entity[int(a)], entity[int(b)]): float(s)
                for (a, b), s in zip(self.synonym_pairs, self.synonym_scores, strict=True)
            },
            "name_to_entity": {key: entity[row] for key, row in self.name_to_entity.items()},
            "supersessions": {(self.facts[int(a)][3], self.facts[int(b)][3]) for a, b in self.supersessions},
        }

    def vectors_by_id(self) -> dict[str, dict[str, np.ndarray]]:
        return {
            "units": {u.id: self.unit_vectors[i] for i, u in enumerate(self.units)},
            "entities": {e: self.entity_vectors[i] for i, e in enumerate(self.entity_ids)},
            "facts": {f[3]: self.fact_vectors[i] for i, f in enumerate(self.facts)},
        }


# ---------------------------------------------------------------- node properties to index rows


def unit_from_node(label: str, node_id: str, props: Props) -> Unit:
    screening = {"trust": str(props.get("trust") or "normal"), "flags": tuple(map(str, props.get("flags") or ()))}  # type: ignore[call-overload]
    if label == "Turn":
        return Unit(node_id, str(props.get("text", "")), str(props.get("dialogue_id", "")),
                    speaker=props.get("speaker"), timestamp=props.get("timestamp"), **screening)  # type: ignore[arg-type]  # fmt: skip
    return Unit(node_id, str(props.get("text", "")), str(props.get("document_id", "")), title=props.get("title"),  # type: ignore[arg-type]
                start=props.get("start"), end=props.get("end"), timestamp=props.get("date"), **screening)  # type: ignore[arg-type]  # fmt: skip


@dataclass(frozen=True)
class EntityRow:
    name: str
    type: str
    aliases: list[str]

    @classmethod
    def from_props(cls, props: Props) -> EntityRow:
        aliases = props.get("aliases") or []
        return cls(str(props.get("name", "")), str(props.get("type", "THING")), [str(a) for a in aliases])  # type: ignore[union-attr]

    def name_keys(self) -> set[str]:
        return {normalise_key(text) for text in (self.name, *self.aliases)}


def epoch_seconds(value: object) -> float:
    """A stored time as UTC epoch seconds; NaN when absent or unreadable."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return math.nan
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return math.nan


@dataclass(frozen=True)
class FactRow:
    subject_id: str
    predicate: str
    object_id: str
    text: str
    valid_from: float
    valid_to: float
    expired_at: float
    provenance: list[str]

    @classmethod
    def from_props(cls, props: Props) -> FactRow:
        predicate = str(props.get("predicate"))
        provenance = props.get("provenance") or []
        return cls(
            str(props.get("subject_id")), predicate, str(props.get("object_id")),
            statement_text(props.get("subject_name"), predicate, props.get("object_name")),
            epoch_seconds(props.get("valid_from")), epoch_seconds(props.get("valid_to")),
            epoch_seconds(props.get("expired_at")), [str(p) for p in provenance],  # type: ignore[union-attr]
        )  # fmt: skip


# ---------------------------------------------------------------- derived structures, shared with index_delta


def name_index(entity_ids: Sequence[str], entities: Sequence[EntityRow]) -> dict[str, int]:
    """Normalised name or alias -> the row of the entity with the smallest id that carries it (any row order)."""
    out: dict[str, int] = {}
    for row in sorted(range(len(entity_ids)), key=entity_ids.__getitem__):
        for key in entities[row].name_keys():
            out.setdefault(key, row)
    return out


def _relations(n_entities: int, facts: Sequence[FactTuple], synonym_pairs: np.ndarray,
               synonym_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Entity pairs (as a * n + b, a < b) and weights: facts joining the pair, or the best synonym score if higher."""
    subjects = np.fromiter((f[0] for f in facts), dtype=np.int64, count=len(facts))
    objects = np.fromiter((f[2] for f in facts), dtype=np.int64, count=len(facts))
    fact_keys, fact_counts = np.unique(
        np.minimum(subjects, objects) * n_entities + np.maximum(subjects, objects), return_counts=True
    )
    a, b = synonym_pairs[:, 0].astype(np.int64), synonym_pairs[:, 1].astype(np.int64)
    keep = a != b
    synonym_keys = (np.minimum(a, b) * n_entities + np.maximum(a, b))[keep]
    scores = synonym_scores[keep].astype(np.float64)
    order = np.argsort(synonym_keys, kind="stable")
    synonym_keys, scores = synonym_keys[order], scores[order]
    unique_synonyms, starts = np.unique(synonym_keys, return_index=True)
    best = np.maximum.reduceat(scores, starts) if len(scores) else scores
    keys = np.union1d(fact_keys, unique_synonyms)
    weights = np.zeros(len(keys), dtype=np.float64)
    weights[np.searchsorted(keys, fact_keys)] = fact_counts
    at = np.searchsorted(keys, unique_synonyms)
    weights[at] = np.maximum(weights[at], best)
    return keys, weights


def assemble(n_units: int, n_entities: int, mention_pairs: np.ndarray, facts: Sequence[FactTuple],
             synonym_pairs: np.ndarray, synonym_scores: np.ndarray) -> tuple[sp.csr_matrix, sp.csr_matrix]:  # fmt: skip
    """The symmetric graph over units then entities, and the mention matrix, from unique (entity, unit) pairs."""
    entities, units = mention_pairs[:, 0].astype(np.int64), mention_pairs[:, 1].astype(np.int64)
    ones = np.ones(len(entities), dtype=np.float64)
    mentions = sp.csr_matrix((ones.astype(np.float32), (entities, units)), shape=(n_entities, n_units),
                             dtype=np.float32)  # fmt: skip
    keys, weights = _relations(n_entities, facts, synonym_pairs, synonym_scores)
    a, b = np.divmod(keys, max(n_entities, 1))
    rows = np.concatenate([units, n_units + entities, n_units + a, n_units + b])
    cols = np.concatenate([n_units + entities, units, n_units + b, n_units + a])
    size = n_units + n_entities
    graph = sp.csr_matrix((np.concatenate([ones, ones, weights, weights]), (rows, cols)), shape=(size, size),
                          dtype=np.float64)  # fmt: skip
    graph.sort_indices()
    mentions.sort_indices()
    return graph, mentions


def encode(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """float32 rows for texts; no texts give (0, dimension)."""
    if not texts:
        return np.zeros((0, embedder.dimension), dtype=np.float32)
    return np.asarray(embedder.encode(list(texts)), dtype=np.float32)


def half_precision(vectors: np.ndarray) -> np.ndarray:
    """float32 vectors rounded to what float16 holds. The fact vectors are kept so: they pick the facts that seed
    a walk, which that rounding (about 1e-5 on a cosine) does not change, and the cache then stores them in half
    the bytes, exactly (graphmem.index_cache): at 100k passages they are 1.7 of the file's 2.4 GB."""
    return np.asarray(vectors, dtype=np.float32).astype(np.float16).astype(np.float32)


def as_pairs(pairs: Iterable[tuple[int, int]]) -> np.ndarray:
    return np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)


SUPERSEDED_BY = "SUPERSEDED_BY"


def supersession_pairs(edges: Iterable[Edge], fact_row: dict[str, int],
                       pairs: set[tuple[int, int]]) -> set[tuple[int, int]]:  # fmt: skip
    """``pairs`` updated with SUPERSEDED_BY edges as fact rows: added while active, removed once retracted."""
    for edge in edges:
        a, b = fact_row.get(edge.source), fact_row.get(edge.target)
        if a is None or b is None:
            continue
        if edge.props.get("retracted_at") is None:
            pairs.add((a, b))
        else:
            pairs.discard((a, b))
    return pairs


# ---------------------------------------------------------------- the full build


def build_index(store: GraphStore, namespace: str, embedder: Embedder) -> RetrievalIndex:
    """Project a namespace into matrices; embeddings come through the (cached) embedder."""
    started = time.perf_counter()
    revision = store.revision(namespace)  # read first: writes during the build leave the index stale, never ahead
    units: list[Unit] = []
    entities: list[tuple[str, EntityRow]] = []
    facts_raw: list[tuple[str, FactRow]] = []
    for node in store.iter_nodes(namespace):
        if node.label in UNIT_LABELS:
            units.append(unit_from_node(node.label, node.id, node.props))
        elif node.label == "Entity":
            entities.append((node.id, EntityRow.from_props(node.props)))
        elif node.label == "Fact":
            facts_raw.append((node.id, FactRow.from_props(node.props)))
    units.sort(key=lambda u: u.id)
    entities.sort(key=lambda e: e[0])
    facts_raw.sort(key=lambda f: f[0])
    entity_ids = [e for e, _ in entities]
    rows = [r for _, r in entities]
    unit_row = {u.id: i for i, u in enumerate(units)}
    entity_row = {e: i for i, e in enumerate(entity_ids)}
    mention_pairs: set[tuple[int, int]] = set()
    for edge in store.iter_edges(namespace, "MENTIONS"):
        u, e = unit_row.get(edge.source), entity_row.get(edge.target)
        if u is not None and e is not None:
            mention_pairs.add((e, u))
    synonyms: dict[tuple[int, int], float] = {}
    for edge in store.iter_edges(namespace, "SYNONYM"):
        a, b = entity_row.get(edge.source), entity_row.get(edge.target)
        if a is not None and b is not None and a != b:
            synonyms[(a, b)] = float(edge.props.get("score", 0.8))  # type: ignore[arg-type]
    facts: list[FactTuple] = []
    kept: list[FactRow] = []
    for fact_id, fact in facts_raw:
        s, o = entity_row.get(fact.subject_id), entity_row.get(fact.object_id)
        if s is not None and o is not None and s != o:
            facts.append((s, fact.predicate, o, fact_id))
            kept.append(fact)
    synonym_pairs = as_pairs(synonyms.keys())
    synonym_scores = np.array([synonyms[(int(a), int(b))] for a, b in synonym_pairs], dtype=np.float64)
    fact_row = {fact_id: i for i, (_, _, _, fact_id) in enumerate(facts)}
    supersessions = supersession_pairs(store.iter_edges(namespace, SUPERSEDED_BY), fact_row, set())
    graph, mentions = assemble(len(units), len(entity_ids), as_pairs(mention_pairs), facts, synonym_pairs,
                               synonym_scores)  # fmt: skip
    entity_names = [r.name for r in rows]
    return RetrievalIndex(
        namespace=namespace,
        revision=revision,
        units=units,
        entity_ids=entity_ids,
        entity_names=entity_names,
        entity_types=[r.type for r in rows],
        graph=graph,
        mentions=mentions,
        unit_vectors=encode(embedder, [u.embed_text for u in units]),
        entity_vectors=encode(embedder, entity_names),
        name_to_entity=name_index(entity_ids, rows),
        facts=facts,
        fact_vectors=half_precision(encode(embedder, [f.text for f in kept])),
        fact_texts=[f.text for f in kept],
        entity_aliases=[r.aliases for r in rows],
        fact_valid_from=np.array([f.valid_from for f in kept], dtype=np.float64),
        fact_valid_to=np.array([f.valid_to for f in kept], dtype=np.float64),
        fact_expired_at=np.array([f.expired_at for f in kept], dtype=np.float64),
        fact_provenance=[f.provenance for f in kept],
        synonym_pairs=synonym_pairs,
        synonym_scores=synonym_scores,
        supersessions=as_pairs(supersessions),
        build_seconds=time.perf_counter() - started,
        origin="rebuild",
    )
