"""Entity resolution: names to entities, merged by normalised key and by close spelling.

Pure core: an ``EntityIndex`` of what the store already knows goes in with a batch of
extractions; entity, fact, hyperedge and mention records come out. Synonym edges
(near-duplicate names by embedding) are computed for new entities only.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from rapidfuzz import fuzz

from graphmem.extract.types import PassageExtraction
from graphmem.records import Entity, Fact, Hyperedge, Mention, Participant, Statement, Synonym, content_id

_ARTICLES = {"the", "a", "an"}
_HONORIFICS = {"mr", "mrs", "ms", "miss", "dr", "prof", "sir", "dame", "lord", "lady"}
_NO_FUZZY_TYPES = {"DATE", "TIME", "CARDINAL", "ORDINAL", "MONEY", "PERCENT", "QUANTITY"}
_GENERIC_TYPES = {"THING", "CONCEPT"}
_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)


def _singular(word: str) -> str:
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def normalise_key(name: str) -> str:
    """Case, punctuation, leading articles, honorifics and a final plural do not tell entities apart."""
    # accents dropped too: "Aschenbrödel" and "Aschenbrodel" are one name (ASCII has none: the common case, 3x faster)
    if name.isascii():
        text = name.lower()
    else:
        decomposed = unicodedata.normalize("NFKD", name)
        text = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    text = text.replace("'s ", " ").replace("’s ", " ")
    words = _PUNCT.sub(" ", text).split()
    while words and (words[0] in _ARTICLES or words[0] in _HONORIFICS):
        words = words[1:]
    if not words:
        return " ".join(text.split())
    words[-1] = _singular(words[-1])
    return " ".join(words)


_ROMAN = re.compile(r"^[ivxlcdm]+$")


def _compact(key: str) -> str:
    return key.replace(" ", "").replace("-", "")


def spelling_variants(a: str, b: str) -> bool:
    """Whether two keys differ only in spelling ("programmes"/"programs"), not in what they name.

    Numbers and numerals always tell names apart ("World War I"/"II", "2016"/"2017 film"),
    and so does any word too short to have a spelling variant ("LDS"/"RLDS").
    """
    words_a, words_b = a.split(), b.split()
    if len(words_a) != len(words_b):
        return False
    for x, y in zip(words_a, words_b, strict=True):
        if x == y:
            continue
        if not (x.isalpha() and y.isalpha()) or _ROMAN.match(x) or _ROMAN.match(y):
            return False
        if min(len(x), len(y)) < 5 or x[0] != y[0] or fuzz.ratio(x, y) < 85:
            return False  # "indirect"/"direct" differ in meaning, not spelling
    return True


def entity_id(key: str) -> str:
    return content_id("e", key)


@dataclass
class KnownEntity:
    id: str
    key: str
    name: str
    type: str
    aliases: set[str] = field(default_factory=set)
    new: bool = False
    changed: bool = False


@dataclass(frozen=True)
class ResolutionConfig:
    alias_ratio: float = 95.0  # rapidfuzz ratio at which two keys of one type are the same entity
    synonym_cosine: float = 0.8  # HippoRAG's threshold for synonym edges between entity names
    synonym_k: int = 100  # at most this many per new entity (HippoRAG: ~100); the threshold decides in practice
    synonym_min_chars: int = 3


class EntityIndex:
    """The entities of one namespace, looked up by key or by a close spelling of it."""

    def __init__(self, config: ResolutionConfig | None = None) -> None:
        self.config = config or ResolutionConfig()
        self.by_key: dict[str, KnownEntity] = {}
        self._by_token: dict[str, set[str]] = defaultdict(set)
        self._by_compact: dict[str, KnownEntity] = {}

    def add_known(self, entity: Entity) -> None:
        known = KnownEntity(entity.id, entity.key, entity.name, entity.type, set(entity.aliases))
        self._register(known)

    def _register(self, known: KnownEntity) -> None:
        self.by_key[known.key] = known
        if known.type not in _NO_FUZZY_TYPES:
            self._by_compact.setdefault(_compact(known.key), known)
        for token in known.key.split():
            self._by_token[token].add(known.key)

    def _close_key(self, key: str, kind: str) -> KnownEntity | None:
        if kind in _NO_FUZZY_TYPES or len(key) < 5:
            return None
        compact = self._by_compact.get(_compact(key))
        if compact is not None:
            return compact  # "South East Asia" and "Southeast Asia"
        candidates: set[str] = set()
        for token in key.split():
            if len(self._by_token.get(token, ())) < 200:  # a very common token is no evidence
                candidates |= self._by_token.get(token, set())
        best, best_score = None, self.config.alias_ratio
        for other in candidates:
            known = self.by_key[other]
            if known.type in _NO_FUZZY_TYPES or abs(len(other) - len(key)) > 3:
                continue
            if kind not in _GENERIC_TYPES and known.type not in _GENERIC_TYPES and known.type != kind:
                continue
            score = fuzz.ratio(key, other)
            if score >= best_score and spelling_variants(key, other):
                best, best_score = known, score
        return best

    def resolve(self, name: str, kind: str) -> KnownEntity:
        """The entity a name stands for, creating it when nothing known matches."""
        key = normalise_key(name)
        known = self.by_key.get(key) or self._close_key(key, kind)
        if known is None:
            known = KnownEntity(entity_id(key), key, name, kind, {name}, new=True, changed=True)
            self._register(known)
            return known
        if name not in known.aliases:
            known.aliases.add(name)
            known.changed = True
        if known.type in _GENERIC_TYPES and kind not in _GENERIC_TYPES:
            known.type, known.changed = kind, True
        return known


@dataclass(frozen=True)
class PassageMeta:
    """Where a passage sits: its document and the date its facts default to."""

    document_id: str
    date: datetime | None = None


@dataclass
class Resolved:
    entities: list[Entity]
    facts: list[Fact]
    hyperedges: list[Hyperedge]
    mentions: list[Mention]
    new_entity_ids: list[str]


def _iso_to_datetime(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso).replace(tzinfo=UTC) if iso else None


def resolve_batch(index: EntityIndex, extractions: Sequence[PassageExtraction], meta: dict[str, PassageMeta],
                  namespace: str) -> Resolved:  # fmt: skip
    """Entities, facts, hyperedges and mentions for a batch; facts of one id are merged."""
    documents_of: dict[str, set[str]] = defaultdict(set)  # entity id -> documents naming it
    facts: dict[str, Fact] = {}
    hyperedges: dict[str, Hyperedge] = {}
    mentions: Counter[tuple[str, str]] = Counter()
    touched: dict[str, KnownEntity] = {}

    def entity(name: str, kind: str, document_id: str) -> KnownEntity:
        known = index.resolve(name, kind)
        documents_of[known.id].add(document_id)
        touched[known.id] = known
        return known

    for extraction in extractions:
        where = meta[extraction.passage_id]
        doc_id, pid = where.document_id, extraction.passage_id
        for span in extraction.entities:
            mentions[(pid, entity(span.text, span.type, doc_id).id)] += 1
        for t in extraction.triples:
            subject, obj = entity(t.subject, t.subject_type, doc_id), entity(t.object, t.object_type, doc_id)
            for known in (subject, obj):  # a resolved argument ("his" -> the topic) is a mention too
                mentions[(pid, known.id)] = mentions[(pid, known.id)] or 1
            if subject.id == obj.id:
                continue
            fact_id = content_id("f", subject.id, t.predicate, obj.id)
            when = _iso_to_datetime(t.date) or where.date
            fact = facts.get(fact_id)
            if fact is None:
                facts[fact_id] = Fact(
                    id=fact_id, namespace=namespace, subject_id=subject.id, predicate=t.predicate,
                    object_id=obj.id, subject_name=subject.name, object_name=obj.name, sentence=t.sentence[:20_000],
                    valid_from=when, provenance=[pid], confidence=t.confidence, document_ids=[doc_id],
                )  # fmt: skip
            else:
                merge_fact(fact, [pid], [doc_id], when, t.confidence)
        for h in extraction.hyperedges:
            parts = [Participant(entity_id=entity(r.text, r.type, doc_id).id, role=r.role) for r in h.roles]
            for part in parts:
                mentions[(pid, part.entity_id)] = mentions[(pid, part.entity_id)] or 1
            hid = content_id("h", h.predicate, *sorted(f"{p.role}={p.entity_id}" for p in parts))
            if hid in hyperedges:
                merge_fact(hyperedges[hid], [pid], [doc_id], None, h.confidence)
                continue
            hyperedges[hid] = Hyperedge(
                id=hid, namespace=namespace, predicate=h.predicate, participants=parts, sentence=h.sentence[:20_000],
                valid_from=_iso_to_datetime(h.date) or where.date, provenance=[pid], confidence=h.confidence,
                document_ids=[doc_id],
            )  # fmt: skip
    entities = [
        Entity(id=k.id, namespace=namespace, name=k.name, key=k.key, type=k.type, aliases=sorted(k.aliases)[:50],
               document_ids=sorted(documents_of[k.id]))
        for k in touched.values()
    ]  # fmt: skip
    return Resolved(
        entities=entities,
        facts=list(facts.values()),
        hyperedges=list(hyperedges.values()),
        mentions=[Mention(namespace=namespace, passage_id=p, entity_id=e, count=n) for (p, e), n in mentions.items()],
        new_entity_ids=[k.id for k in touched.values() if k.new],
    )


def merge_fact(fact: Statement, provenance: Iterable[str], document_ids: Iterable[str],
               valid_from: datetime | None, confidence: float) -> None:  # fmt: skip
    """Fold another statement of the same fact in: provenance grows, validity starts at the earliest date."""
    fact.provenance = sorted({*fact.provenance, *provenance})
    fact.document_ids = sorted({*fact.document_ids, *document_ids})
    if valid_from is not None and (fact.valid_from is None or valid_from < fact.valid_from):
        fact.valid_from = valid_from
    fact.confidence = max(fact.confidence, confidence)


def synonym_edges(new_ids: Sequence[str], new_vectors: np.ndarray, all_ids: Sequence[str], all_vectors: np.ndarray,
                  namespace: str, config: ResolutionConfig) -> list[Synonym]:  # fmt: skip
    """Edges from each new entity to its nearest names (cosine of unit vectors ≥ threshold, top k)."""
    out: list[Synonym] = []
    if not len(new_ids) or not len(all_ids):
        return out
    k = min(config.synonym_k + 1, len(all_ids))
    for start in range(0, len(new_ids), 1024):
        scores = new_vectors[start : start + 1024] @ all_vectors.T
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        for row, candidates in enumerate(top):
            source = new_ids[start + row]
            for col in candidates:
                score = float(scores[row, col])
                target = all_ids[col]
                if target != source and score >= config.synonym_cosine:
                    a, b = sorted((source, target))  # one edge per pair, whichever side is new
                    # rounded: the last bits of a dot product depend on how the batch was shaped
                    out.append(Synonym(namespace=namespace, entity_id=a, other_id=b, score=round(min(score, 1.0), 4)))
    return list({(s.entity_id, s.other_id): s for s in out}.values())
