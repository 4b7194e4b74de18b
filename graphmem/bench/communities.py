"""Community clustering figures: a synthetic 100k-entity / 1M-edge graph, and a real store.

    python -m graphmem.bench.communities                       # synthetic, leidenalg and igraph's Leiden
    python -m graphmem.bench.communities --entities 20000 --edges 200000 --backends igraph
    python -m graphmem.bench.communities --store .graphmem/eval-musique.sqlite3 --namespace eval

Synthetic: a planted partition (groups of ``--group`` entities, ``--inside`` of the edges inside a
group, the rest anywhere), weights 1. For each backend it times the full hierarchical clustering
(graphmem.communities.clustering.cluster: components, Leiden, every split down to max size 10) and
prints communities per level, sizes, the modularity of level 0 and of the leaves, and the adjusted Rand
index of level 0 against the planted groups.

Store: builds the namespace's communities as ``Memory.build_communities(full=True)`` would (index,
clustering, summaries) and prints the same figures with the wall time of each step. Nothing is written
unless ``--write`` is given.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Sequence

import numpy as np

from graphmem.communities.build import CommunityConfig, entity_graph, level_stats, plan, size_histogram
from graphmem.communities.clustering import ClusterConfig, Clustering, cluster, level_membership, modularity, symmetric


def synthetic(entities: int, edges: int, group: int, inside: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Unique undirected edges (about ``edges`` of them) and each entity's planted group."""
    rng = np.random.default_rng(seed)
    truth = np.arange(entities) // group
    keys = np.zeros(0, dtype=np.int64)
    while len(keys) < edges:  # draw, drop loops and repeats, top up until there are enough
        drawn = int((edges - len(keys)) * 1.2) + 16
        a = rng.integers(0, entities, drawn)
        same = rng.random(drawn) < inside
        b = np.where(same, np.minimum((a // group) * group + rng.integers(0, group, drawn), entities - 1),
                     rng.integers(0, entities, drawn))  # fmt: skip
        low, high = np.minimum(a, b), np.maximum(a, b)
        keys = np.union1d(keys, low[low != high] * entities + high[low != high])
    keys = rng.permutation(keys)[:edges]
    return np.column_stack(np.divmod(np.sort(keys), entities)), truth


def adjusted_rand(a: np.ndarray, b: np.ndarray) -> float:
    def pairs(counts: np.ndarray) -> float:
        return float((counts * (counts - 1) / 2).sum())

    joint = pairs(np.array(list(Counter(zip(a.tolist(), b.tolist(), strict=True)).values()), dtype=np.float64))
    rows = pairs(np.unique(a, return_counts=True)[1].astype(np.float64))
    cols = pairs(np.unique(b, return_counts=True)[1].astype(np.float64))
    expected = rows * cols / pairs(np.array([len(a)], dtype=np.float64))
    return (joint - expected) / ((rows + cols) / 2 - expected)


def describe(result: Clustering, graph: object, n: int) -> list[str]:
    lines = []
    levels = sorted({c.level for c in result.clusters})
    for level in levels:
        sizes = np.array([len(c.members) for c in result.clusters if c.level == level])
        lines.append(f"  level {level}: {len(sizes):,} communities, size min {sizes.min()} / median "
                     f"{np.median(sizes):.0f} / mean {sizes.mean():.1f} / max {sizes.max()}")  # fmt: skip
    parents = {c.parent for c in result.clusters}
    leaves = [c for i, c in enumerate(result.clusters) if i not in parents]
    oversized = sum(len(c.members) > 10 for c in leaves)
    lines.append(f"  leaves: {len(leaves):,} ({oversized} larger than 10); isolated entities: {len(result.isolated)}")
    top, deepest = level_membership(result, n, 0), level_membership(result, n, max(levels, default=0))
    lines.append(f"  modularity: level 0 {modularity(graph, top):.4f}, leaves {modularity(graph, deepest):.4f}")  # type: ignore[arg-type]
    return lines


def run_synthetic(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    edges, truth = synthetic(args.entities, args.edges, args.group, args.inside)
    graph = symmetric(args.entities, edges[:, 0], edges[:, 1], np.ones(len(edges)))
    keys = [f"e{i:07d}" for i in range(args.entities)]
    print(f"synthetic graph: {args.entities:,} entities, {len(edges):,} edges, planted groups of {args.group} "
          f"({args.inside:.0%} of edges inside), built in {time.perf_counter() - started:.1f} s")  # fmt: skip
    for backend in args.backends.split(","):
        config = ClusterConfig(backend=backend, quality=args.quality)
        cpu = time.process_time()
        result = cluster(graph, keys, config)
        cpu = time.process_time() - cpu  # on a shared machine the wall time also counts other jobs' turns
        ari = []
        for level in sorted({c.level for c in result.clusters}):
            found = level_membership(result, args.entities, level)
            ari.append(f"{adjusted_rand(truth[found >= 0], found[found >= 0]):.3f}")
        print(f"{backend} ({config.quality}, max size {config.max_size}, seed {config.seed}): full clustering "
              f"{result.seconds:.1f} s wall, {cpu:.1f} s CPU")  # fmt: skip
        print(f"  ARI against the planted groups, level by level: {' / '.join(ari)}")
        for line in describe(result, graph, args.entities):
            print(line)


def run_store(args: argparse.Namespace) -> None:
    from graphmem.memory import Memory

    with Memory(args.store, args.namespace, extract=False) as memory:
        started = time.perf_counter()
        index = memory.index()
        loaded = time.perf_counter()
        config = CommunityConfig(clustering=ClusterConfig(backend=args.backends.split(",")[0], quality=args.quality))
        cpu = time.process_time()
        result = plan(index, [], config, full=True)
        planned, cpu = time.perf_counter(), time.process_time() - cpu
        print(f"{args.store} namespace {memory.namespace!r}: {len(index.entity_ids):,} entities, "
              f"{entity_graph(index).nnz // 2:,} entity edges, {len(index.facts):,} facts")  # fmt: skip
        print(f"  {result.components:,} components of 2+ entities, {len(result.isolated):,} isolated entities "
              f"(in no community), {len(result.records):,} communities")  # fmt: skip
        for stats in level_stats(index, result.records):
            sizes = stats.sizes
            print(f"  level {stats.level}: {stats.communities:,} communities, size min {sizes['min']:.0f} / median "
                  f"{sizes['median']:.0f} / mean {sizes['mean']:.1f} / max {sizes['max']:.0f}; modularity down "
                  f"to this level {stats.modularity:.4f}")  # fmt: skip
        print(f"  sizes: {size_histogram(result.records)}")
        steps = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result.seconds.items())
        print(f"  wall time: index {loaded - started:.1f} s ({index.origin}), {steps}; total {planned - started:.1f} s "
              f"(clustering and summaries {cpu:.1f} s CPU)")  # fmt: skip
        if args.write:
            report = memory.build_communities(full=True, config=config)
            print(f"  written: {len(report['created'])} created, {len(report['updated'])} updated, "
                  f"{len(report['deleted'])} deleted in {time.perf_counter() - planned:.1f} s")  # fmt: skip
        for community in result.records[: args.show]:
            print(f"  [{community.level}] {community.size:>5}  {community.title}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--edges", type=int, default=1_000_000)
    parser.add_argument("--group", type=int, default=100, help="planted group size")
    parser.add_argument("--inside", type=float, default=0.8, help="share of edges inside a planted group")
    parser.add_argument("--backends", default="leidenalg,igraph")
    parser.add_argument("--quality", default="modularity", choices=["modularity", "rb", "cpm"])
    parser.add_argument("--store", help="report on a store's namespace instead of a synthetic graph")
    parser.add_argument("--namespace")
    parser.add_argument("--write", action="store_true", help="store: also write the communities")
    parser.add_argument("--show", type=int, default=10, help="store: the first communities to print")
    args = parser.parse_args(argv)
    run_store(args) if args.store else run_synthetic(args)


if __name__ == "__main__":
    main()
