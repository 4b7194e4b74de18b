"""Tenant isolation, on both stores: three namespaces hold three made-up corpora, and 1,000 random queries
(words of all three corpora, a random mode, a random namespace) never return anything of another namespace:
no passage, no seed entity and no seeding fact that the namespace does not hold itself.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Sequence

import numpy as np
from corpora import Corpus, make_corpus

from graphmem.embed import CachedEmbedder, EmbedderWrapper
from graphmem.extract.spacy_extractor import SpacyExtractor
from graphmem.memory import Memory
from graphmem.retrieve import MODES
from graphmem.store import GraphStore

QUERIES = 1_000
DISTINCT_QUESTIONS = 300  # drawn again and again, so that each is embedded once
QUESTION_FORMS = ["Who repaired the {a}?", "Where was {a} born?", "{a} {b}", "What did {a} sell to {b}?",
                  "{a} {b} {c}", "Who worked for {a} in {b}?"]  # fmt: skip


class MemoisedEmbedder(EmbedderWrapper):
    """Questions come back many times here: each distinct text is embedded once."""

    def __init__(self, inner: CachedEmbedder) -> None:
        super().__init__(inner)
        self.vectors: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.vectors]
        if missing:
            self.vectors.update(zip(missing, self.inner.encode(missing), strict=True))
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self.vectors[t] for t in texts])


def _questions(corpora: Sequence[Corpus], rng: random.Random) -> list[str]:
    out: set[str] = set()
    while len(out) < DISTINCT_QUESTIONS:
        words = [rng.choice(rng.choice(corpora).words) for _ in range(3)]  # each word from any corpus
        out.add(rng.choice(QUESTION_FORMS).format(a=words[0], b=words[1], c=words[2]))
    return sorted(out)


def test_no_query_ever_returns_another_namespaces_data(
    store: GraphStore, ns: str, spacy_extractor: SpacyExtractor, embedder: CachedEmbedder
) -> None:
    started = time.perf_counter()
    taken: set[str] = set()
    corpora = [make_corpus(f"{ns}-{tenant}", seed, taken=taken) for seed, tenant in enumerate(("a", "b", "c"))]
    memo = MemoisedEmbedder(embedder)
    for corpus in corpora:  # Memory objects are not closed: the store belongs to the fixture
        report = Memory(store, corpus.namespace, extractor=spacy_extractor, embedder=memo).add_documents(
            corpus.documents
        )
        assert report.documents == 30 and report.facts > 0, report.summary()
    ingested = time.perf_counter() - started

    own = {c.namespace: {(n.id, n.props["document_id"], n.props["text"])
                         for n in store.iter_nodes(c.namespace, "Passage")} for c in corpora}  # fmt: skip
    entities = {c.namespace: {n.id: n.props["name"] for n in store.iter_nodes(c.namespace, "Entity")} for c in corpora}
    facts = {c.namespace: {n.id for n in store.iter_nodes(c.namespace, "Fact")} for c in corpora}
    shared_ids = set.intersection(*({doc for _, doc, _ in passages} for passages in own.values()))
    assert len(shared_ids) == 15  # half the document ids are the same in every namespace, with other texts
    assert set.intersection(*(set(e) for e in entities.values())), "some entity ids should exist in every namespace"

    rng = random.Random(20240917)
    questions = _questions(corpora, rng)
    reader = Memory(store, corpora[0].namespace, extractor=spacy_extractor, embedder=memo)
    leaks: list[str] = []
    modes: Counter[str] = Counter()
    hits = seeded = 0
    for _ in range(QUERIES):
        question, mode, namespace = rng.choice(questions), rng.choice(MODES), rng.choice(corpora).namespace
        result = reader.retrieve(question, k=5, mode=mode, namespace=namespace)
        modes[mode] += 1
        hits += len(result.hits)
        seeded += bool(result.seeds)
        for hit in result.hits:
            if (hit.unit.id, hit.unit.source_id, hit.unit.text) not in own[namespace]:
                leaks.append(f"{mode} {question!r} in {namespace}: passage {hit.unit.id} {hit.unit.text[:60]!r}")
        for seed in result.seeds:
            if entities[namespace].get(seed["id"]) != seed["entity"]:
                leaks.append(f"{mode} {question!r} in {namespace}: seed {seed['id']} {seed['entity']!r}")
        leaks += [f"{mode} {question!r} in {namespace}: fact {f['id']}" for f in result.facts
                  if f["id"] not in facts[namespace]]  # fmt: skip
    seconds = time.perf_counter() - started
    print(f"\n{type(store).__name__}: ingest {ingested:.1f} s, {QUERIES} queries, {hits} hits, total {seconds:.1f} s")
    assert leaks == []
    assert set(modes) == set(MODES) and hits >= 4 * QUERIES and seeded >= QUERIES // 10, (modes, hits, seeded)
