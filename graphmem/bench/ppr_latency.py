"""Query latency of PPR and dense retrieval on a synthetic in-memory index, with the real MiniLM embedder.

    python -m graphmem.bench.ppr_latency [--entities 100000 --edges 1000000 --passages 100000 --queries 200]
    python -m graphmem.bench.ppr_latency --entities 19000 --edges 94000 --passages 2000

Builds a RetrievalIndex directly (no store, no spaCy): passages mention entities with a Zipf-like
popularity, ``--edges`` counts every undirected edge of the graph (passage–entity mentions plus
entity–entity relations), one fact backs each relation edge unless ``--facts`` says otherwise, and
passages, entities and facts get random unit float32 vectors. Each question names one or two existing
entities; one in three also names a place the index does not know, so span linking embeds it.
A passage is titled by one entity it mentions (the retriever's topic edges).

Prints the index size, the Retriever's build time, p50/p95/max of whole queries (question embedding
included, no cache) in ppr and dense mode, and where the time of a ppr query goes, timed around the
Retriever's methods, its PageRank solver and the functions its module calls (patched for the
breakdown run only).
On a shared machine ``--threads 1`` keeps torch and BLAS from fighting over the cores.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from functools import partial
from typing import Any

import numpy as np
import scipy.sparse as sp

from graphmem.embed import Embedder, EmbedderWrapper
from graphmem.index import RetrievalIndex, Unit
from graphmem.resolve import normalise_key

_SYLLABLES = ("ka", "ri", "mon", "ves", "tal", "or", "bel", "dun", "sa", "lo", "quin", "mar", "ek", "zu", "hal")
_SYLLABLES += ("pri", "nor", "ast", "vel", "cor", "ith", "gan", "lu", "ser", "tov", "wen", "yr", "bro", "fel")
_TYPES = ("PERSON", "ORG", "GPE", "WORK", "EVENT", "CONCEPT")
_TYPE_SHARE = (0.35, 0.2, 0.15, 0.1, 0.05, 0.15)
_PREDICATES = ("born_in", "works_for", "married_to", "founded", "located_in", "member_of", "wrote", "succeeded")
_ONE_ENTITY = ("Where was {a} born?", "Who founded {a}?", "What did {a} write?", "When did {a} die?")
_TWO_ENTITIES = ("How is {a} related to {b}?", "Did {a} work for {b}?", "Which prize did {a} share with {b}?")


def _word(rng: np.random.Generator) -> str:
    return "".join(rng.choice(_SYLLABLES, size=int(rng.integers(2, 4)))).capitalize()


def entity_names(n: int, rng: np.random.Generator) -> list[str]:
    """Distinct two-word names ("Kari Monves") whose normalised keys are distinct too."""
    names: list[str] = []
    keys: set[str] = set()
    while len(names) < n:
        name = f"{_word(rng)} {_word(rng)}"
        key = normalise_key(name)
        if key not in keys:
            keys.add(key)
            names.append(name)
    return names


def _unit_rows(n: int, dimension: int, rng: np.random.Generator) -> np.ndarray:
    rows = rng.standard_normal((n, dimension), dtype=np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows


def zipf_popularity(n: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """Probabilities ∝ 1 / rank^exponent over a random order of n items."""
    weights = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** exponent
    probabilities = np.empty(n)
    probabilities[rng.permutation(n)] = weights / weights.sum()
    return probabilities


def synthetic_index(n_entities: int, n_edges: int, n_passages: int, mentions_per_passage: float = 5.0,
                    n_facts: int | None = None, dimension: int = 384, seed: int = 7) -> RetrievalIndex:  # fmt: skip
    """A RetrievalIndex of the given size, made in memory."""
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    popularity = zipf_popularity(n_entities, 1.0, rng)
    # every entity is mentioned at least once (entities come from passages), the rest follow popularity
    n_mentions = min(n_entities + int(n_passages * mentions_per_passage), n_edges)
    first = rng.permutation(n_entities)[: min(n_entities, n_mentions)]
    more = rng.choice(n_entities, size=max(0, n_mentions - n_entities), p=popularity)
    entity_of = np.concatenate([first, more])
    passage_of = rng.integers(0, n_passages, size=len(entity_of))
    mention_keys = np.unique(entity_of.astype(np.int64) * n_passages + passage_of)
    mention_entity, mention_unit = mention_keys // n_passages, mention_keys % n_passages
    # relation edges: one end by popularity, the other uniform; no loops, no duplicates
    n_relations = max(0, min(n_edges - len(mention_keys), n_entities * (n_entities - 1) // 2))
    pairs = np.zeros(0, dtype=np.int64)
    while len(pairs) < n_relations:
        want = int((n_relations - len(pairs)) * 1.1) + 16
        a, b = rng.choice(n_entities, size=want, p=popularity), rng.integers(0, n_entities, size=want)
        low, high = np.minimum(a, b), np.maximum(a, b)
        pairs = np.unique(np.concatenate([pairs, (low * n_entities + high)[low != high]]))
    pairs = rng.permutation(pairs)[:n_relations]
    subject, obj = pairs // n_entities, pairs % n_entities
    n_facts = n_relations if n_facts is None else min(n_facts, n_relations)
    relation_weight = np.ones(n_relations)
    relation_weight[n_facts:] = rng.uniform(0.7, 1.0, size=n_relations - n_facts)  # synonym edges: cosine
    n_units = n_passages
    rows = np.concatenate([mention_unit, n_units + mention_entity, n_units + subject, n_units + obj])
    cols = np.concatenate([n_units + mention_entity, mention_unit, n_units + obj, n_units + subject])
    weights = np.concatenate([np.ones(2 * len(mention_keys)), relation_weight, relation_weight])
    size = n_units + n_entities
    graph = sp.csr_matrix((weights, (rows, cols)), shape=(size, size), dtype=np.float64)
    mentions = sp.csr_matrix((np.ones(len(mention_keys), dtype=np.float32), (mention_entity, mention_unit)),
                             shape=(n_entities, n_passages))  # fmt: skip
    names = entity_names(n_entities, rng)
    types = list(rng.choice(_TYPES, size=n_entities, p=_TYPE_SHARE))
    topic = np.full(n_passages, -1)
    topic[mention_unit] = mention_entity  # a passage is titled by one entity it mentions, as on Wikipedia
    units = [Unit(f"p{i}", f"Passage {i} of the synthetic corpus.", f"d{i // 10}",
                  title=names[topic[i]] if topic[i] >= 0 else None) for i in range(n_passages)]  # fmt: skip
    predicates = rng.choice(_PREDICATES, size=n_facts)
    triples = zip(subject[:n_facts].tolist(), predicates.tolist(), obj[:n_facts].tolist(), strict=True)
    facts = [(s, p, o, f"f{i}") for i, (s, p, o) in enumerate(triples)]
    return RetrievalIndex(
        namespace="bench", revision=0, units=units, entity_ids=[f"e{i}" for i in range(n_entities)],
        entity_names=names, entity_types=[str(t) for t in types], graph=graph, mentions=mentions,
        unit_vectors=_unit_rows(n_passages, dimension, rng), entity_vectors=_unit_rows(n_entities, dimension, rng),
        name_to_entity={normalise_key(name): i for i, name in enumerate(names)}, facts=facts,
        fact_vectors=_unit_rows(n_facts, dimension, rng), build_seconds=time.perf_counter() - started,
    )  # fmt: skip


def questions(index: RetrievalIndex, n: int, seed: int = 11) -> list[str]:
    """Questions that name one or two linkable entities, half of them popular ones; a third name an unknown place."""
    rng = np.random.default_rng(seed)
    linkable = np.array([t != "CONCEPT" for t in index.entity_types])
    counts = index.entity_passage_counts() * linkable
    popular = rng.choice(len(counts), size=2 * n, p=counts / counts.sum())
    anywhere = rng.choice(np.flatnonzero(linkable), size=2 * n)
    out = []
    for i in range(n):
        pool = popular if i % 2 else anywhere
        first, second = pool[2 * i], pool[2 * i + 1]
        if second == first:  # two different entities
            second = anywhere[(2 * i + 1 + int(anywhere[2 * i + 1] == first)) % len(anywhere)]
        a, b = index.entity_names[first], index.entity_names[second]
        template = _TWO_ENTITIES[i % len(_TWO_ENTITIES)] if i % 4 < 2 else _ONE_ENTITY[i % len(_ONE_ENTITY)]
        question = template.format(a=a, b=b)
        if i % 3 == 0:
            question = question[:-1] + f" in {_word(rng)}?"
        out.append(question)
    return out


def _mb(*arrays: Any) -> float:
    total = 0
    for array in arrays:
        if sp.issparse(array):
            total += array.data.nbytes + array.indices.nbytes + array.indptr.nbytes
        elif isinstance(array, np.ndarray):
            total += array.nbytes
    return total / 2**20


def _ms(seconds: Sequence[float]) -> str:
    ms = np.asarray(seconds) * 1000
    return f"p50 {np.percentile(ms, 50):7.1f}  p95 {np.percentile(ms, 95):7.1f}  max {ms.max():7.1f} ms"


class _Stopwatch:
    """Sums the seconds spent in wrapped callables, per label."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def wrap(self, label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            result = function(*args, **kwargs)
            self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - started
            return result

        return timed


class _TimedEmbedder(EmbedderWrapper):
    """An embedder that books the first encode of a query as the question (with the names it uses, when the
    retriever embeds them in the same batch) and any later encode as spans."""

    def __init__(self, inner: Embedder, stopwatch: _Stopwatch) -> None:
        super().__init__(inner)
        self.stopwatch = stopwatch

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        label = "embed spans" if "embed question" in self.stopwatch.seconds else "embed question"
        return self.stopwatch.wrap(label, self.inner.encode)(texts)


@contextmanager
def _patched(module: Any, names: dict[str, Callable[[Callable[..., Any]], Callable[..., Any]]]) -> Iterator[None]:
    """Temporarily replace module-level functions by wrappers of themselves (those the module has)."""
    saved = {name: getattr(module, name) for name in names if hasattr(module, name)}
    try:
        for name, original in saved.items():
            setattr(module, name, names[name](original))
        yield
    finally:
        for name, original in saved.items():
            setattr(module, name, original)


# what a ppr query spends, in the order printed; "other" is the rest of Retriever.search
PIECES = ("embed question", "dense matmul", "embed spans", "entity linking", "fact scoring", "ppr solve",
          "explanation paths", "other")  # fmt: skip


def breakdown(index: RetrievalIndex, embedder: Embedder, queries: list[str]) -> dict[str, list[float]]:
    """Per-query seconds of each piece of a ppr query, timed around the Retriever's own methods, its
    solver and the explanation function its module calls."""
    from graphmem.retrieve import Retriever, core

    stopwatch = _Stopwatch()
    retriever = Retriever(index, _TimedEmbedder(embedder, stopwatch))
    for label, name in (("dense matmul", "dense_scores"), ("entity linking", "_link_exactly"),
                        ("fact scoring", "seed_facts")):  # fmt: skip
        setattr(retriever, name, stopwatch.wrap(label, getattr(retriever, name)))
    retriever._solver.solve = stopwatch.wrap("ppr solve", retriever._solver.solve)  # type: ignore[method-assign]
    pieces: dict[str, list[float]] = {label: [] for label in PIECES}
    with _patched(core, {"seed_paths": partial(stopwatch.wrap, "explanation paths")}):
        for query in queries:
            stopwatch.seconds.clear()
            started = time.perf_counter()
            retriever.retrieve(query, k=10, mode="ppr")
            total = time.perf_counter() - started
            seconds = stopwatch.seconds
            seconds["other"] = total - sum(seconds.values())
            for label in PIECES:
                pieces[label].append(seconds.get(label, 0.0))
    return pieces


def main(argv: Sequence[str] | None = None, embedder: Embedder | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--edges", type=int, default=1_000_000, help="undirected edges: mentions + relations")
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--mentions", type=float, default=5.0, help="mentions per passage besides each entity's first")
    parser.add_argument("--facts", type=int, help="facts (default: one per relation edge; the rest are synonyms)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threads", type=int, default=0, help="torch and BLAS threads (0: as the libraries pick)")
    args = parser.parse_args(argv)
    with ExitStack() as stack:
        if args.threads:
            stack.enter_context(_threads(args.threads))
        return _run(args, embedder)


@contextmanager
def _threads(n: int) -> Iterator[None]:
    """torch and numpy's BLAS limited to n threads (BLAS only where threadpoolctl is installed)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    with ExitStack() as stack:
        with suppress(ImportError):
            from threadpoolctl import threadpool_limits

            stack.enter_context(threadpool_limits(n))
        try:
            yield
        finally:
            torch.set_num_threads(before)


def _run(args: argparse.Namespace, embedder: Embedder | None) -> int:
    import torch

    from graphmem.embed import SentenceTransformerEmbedder
    from graphmem.retrieve import Retriever

    embedder = embedder or SentenceTransformerEmbedder()
    embedder.encode(["warm up"])
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{os.cpu_count()} cores, load average {load}; torch threads {torch.get_num_threads()}")
    index = synthetic_index(args.entities, args.edges, args.passages, args.mentions, args.facts, seed=args.seed)
    n_nodes, n_edges = index.graph.shape[0], index.graph.nnz // 2
    print(f"synthetic index: {index.n_units:,} passages + {len(index.entity_ids):,} entities = {n_nodes:,} nodes; "
          f"{index.mentions.nnz:,} mentions + {n_edges - index.mentions.nnz:,} relations = {n_edges:,} edges "
          f"(nnz {index.graph.nnz:,}); {len(index.facts):,} facts; made in {index.build_seconds:.1f} s")  # fmt: skip
    vectors = [_mb(index.unit_vectors), _mb(index.entity_vectors), _mb(index.fact_vectors)]
    print(f"memory: graph {_mb(index.graph, index.mentions):,.0f} MB; vectors {sum(vectors):,.0f} MB = "
          "{:,.0f} passages + {:,.0f} entities + {:,.0f} facts".format(*vectors))  # fmt: skip
    started = time.perf_counter()
    retriever = Retriever(index, embedder)
    built = time.perf_counter() - started
    own = [v for v in vars(retriever).values() if v is not index]
    print(f"Retriever build: {built:.2f} s, {_mb(*own):,.0f} MB of its own matrices")
    queries = questions(index, args.queries, seed=args.seed + 4)
    whole: dict[str, list[float]] = {}
    for mode in ("ppr", "dense"):
        retriever.retrieve(queries[0], k=10, mode=mode)  # warm up
        whole[mode] = []
        for query in queries:
            started = time.perf_counter()
            retriever.retrieve(query, k=10, mode=mode)
            whole[mode].append(time.perf_counter() - started)
        print(f"{mode:<6} whole query, k=10 ({len(queries)} questions): {_ms(whole[mode])}")
    print(f"where a ppr query's time goes (e.g. {queries[0]!r}):")
    pieces = breakdown(index, embedder, queries)
    for label, seconds in pieces.items():
        print(f"  {label:<18} {_ms(seconds)}  mean {np.mean(seconds) * 1000:6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
