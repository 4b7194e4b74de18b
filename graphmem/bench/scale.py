"""Scale: a synthetic corpus of N passages ingested into a fresh embedded store, for real (spaCy and MiniLM).

    python -m graphmem.bench.scale [--documents 100000] [--dir .graphmem/bench-scale]

Prints the ingestion's wall time and words/s, the peak memory of this process and of its extraction workers,
the retrieval index's build time, the time a fresh Memory takes to load the index from disk, and the time
of its first query and of later ones. The store is left in --dir (remove it by hand); a second run on the
same folder measures the load and the queries only.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

from graphmem.bench.load import questions
from graphmem.bench.synthetic_text import documents
from graphmem.index_cache import CACHE_ENV
from graphmem.memory import Memory


def peak_mb() -> tuple[float, float]:
    """Peak resident memory (MB) of this process and of the largest of its finished children (Linux: KB)."""
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, default=Path(".graphmem/bench-scale"))
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    store = args.dir / "scale.sqlite3"
    os.environ.setdefault(CACHE_ENV, str(args.dir / "index-cache"))
    with Memory(store, "scale", progress=True) as memory:
        if memory.counts().total_nodes == 0:
            corpus = list(documents(args.documents))
            words = sum(len(d["text"].split()) for d in corpus)
            started = time.perf_counter()
            report = memory.add_documents(corpus)
            wall = time.perf_counter() - started
            started = time.perf_counter()
            memory.index()  # built once and saved to disk, as the first query would
            print(f"retrieval index built in {time.perf_counter() - started:.1f} s")
            own, workers = peak_mb()
            print(f"\n{report.summary()}")
            print(f"ingested {len(corpus):,} documents ({words:,} words) in {wall:.0f} s = "
                  f"{words / wall:,.0f} words/s")
            print(f"peak memory: {own:,.0f} MB this process, {workers:,.0f} MB the largest extraction worker")
        counts = memory.counts()
    print(f"graph: {counts.total_nodes:,} nodes, {counts.total_edges:,} edges")
    for _ in range(2):  # a cache file of an older format is rebuilt first, then loaded
        started = time.perf_counter()
        with Memory(store, "scale") as fresh:
            index = fresh.index()
            load = time.perf_counter() - started
            if index.origin != "disk":
                print(f"retrieval index: {index.origin} in {load:.1f} s (no current cache file)")
                continue
            print(f"index load in a fresh Memory: {load:.2f} s ({index.n_units:,} passages, "
                  f"{len(index.entity_ids):,} entities, {len(index.facts):,} facts)")  # fmt: skip
            asked = questions(fresh, 21)
            started = time.perf_counter()
            fresh.retrieve(asked[0])
            print(f"first ppr query: {(time.perf_counter() - started) * 1000:,.0f} ms (the retriever's set-up and "
                  f"the model's load included)")  # fmt: skip
            started = time.perf_counter()
            for question in asked[1:]:
                fresh.retrieve(question)
            print(f"ppr query: {(time.perf_counter() - started) / (len(asked) - 1) * 1000:.0f} ms on average")
            break


if __name__ == "__main__":
    main()
