"""Write throughput of each store: N nodes and M edges in batches, printed as nodes/s and edges/s.

    python -m graphmem.bench.store_write --nodes 100000 --edges 200000 [--stores embedded,neo4j]

Neo4j is reached through GRAPHMEM_NEO4J_* (start the local server with `make neo4j-start`).
The benchmark writes into a fresh namespace and deletes it afterwards.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from pathlib import Path

from graphmem.store import Edge, EmbeddedStore, GraphStore, Node
from graphmem.store.neo4j import Neo4jStore


def synthetic(namespace: str, n_nodes: int, n_edges: int, seed: int = 7) -> tuple[list[Node], list[Edge]]:
    rng = random.Random(seed)
    nodes = [
        Node("Entity", f"e{i}", namespace, {"name": f"entity {i}", "key": f"entity {i}", "type": "THING"},
             (f"d{i % 1000}",))
        for i in range(n_nodes)
    ]  # fmt: skip
    seen: set[tuple[int, int]] = set()
    while len(seen) < n_edges:
        a, b = rng.randrange(n_nodes), rng.randrange(n_nodes)
        if a != b:
            seen.add((a, b))
    edges = [Edge("RELATED", f"e{a}", f"e{b}", namespace, {"weight": 1.0}) for a, b in sorted(seen)]
    return nodes, edges


def measure(store: GraphStore, nodes: list[Node], edges: list[Edge], batch: int) -> tuple[float, float]:
    started = time.perf_counter()
    for i in range(0, len(nodes), batch):
        store.upsert_nodes(nodes[i : i + batch])
    node_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for i in range(0, len(edges), batch):
        store.upsert_edges(edges[i : i + batch])
    return node_seconds, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=100_000)
    parser.add_argument("--edges", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=10_000, help="records per upsert call")
    parser.add_argument("--stores", default="embedded,neo4j")
    args = parser.parse_args()
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    nodes, edges = synthetic(namespace, args.nodes, args.edges)
    print(f"{args.nodes:,} nodes + {args.edges:,} edges, batches of {args.batch:,}")
    print(f"{'store':<10} {'nodes/s':>10} {'edges/s':>10} {'total s':>8}")
    for name in args.stores.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            store: GraphStore = EmbeddedStore(Path(tmp) / "bench.sqlite3") if name == "embedded" else Neo4jStore()
            try:
                node_s, edge_s = measure(store, nodes, edges, args.batch)
                assert store.counts(namespace).total_nodes == args.nodes
                print(f"{name:<10} {args.nodes / node_s:>10,.0f} {args.edges / edge_s:>10,.0f} {node_s + edge_s:>8.1f}")
            finally:
                store.delete_namespace(namespace)
                store.close()


if __name__ == "__main__":
    main()
