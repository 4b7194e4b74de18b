"""Query load: one client, then N concurrent clients sharing one Memory, each for a fixed time.

    python -m graphmem.bench.load [--documents 10000] [--clients 8] [--seconds 60] [--mode ppr]

The store (default .graphmem/bench-load.sqlite3) is filled once with the synthetic corpus of
graphmem.bench.synthetic_text (one passage per document; extraction and embedding run for real, which takes a
while the first time) and reused afterwards. Questions name people of the corpus. Prints throughput, p50 and
p95 latency per phase, the ratio of the p95s, measured in this run, and how many queries the concurrent clients'
batches held (Memory answers concurrent ppr and hybrid queries together, see graphmem.retrieve.batch).
"""

from __future__ import annotations

import argparse
import random
import threading
import time
from pathlib import Path

import numpy as np

from graphmem.bench.synthetic_text import documents
from graphmem.memory import Memory

TEMPLATES = ["Where was {name} born?", "Who moved to another town with {name}?", "What does {name} do for a living?",
             "Which company does {name} lead?", "What is {name} known for?"]  # fmt: skip


def questions(memory: Memory, n: int, seed: int = 3) -> list[str]:
    """``n`` questions about people named in the index's passages (their titles)."""
    rng = random.Random(seed)
    names = sorted({unit.title for unit in memory.index().units if getattr(unit, "title", None)})
    if not names:
        raise SystemExit("the store holds no titled passages: is it the load benchmark's store?")
    return [rng.choice(TEMPLATES).format(name=rng.choice(names)) for _ in range(n)]


def run_clients(memory: Memory, asked: list[str], clients: int, seconds: float, mode: str) -> dict[str, float]:
    """``clients`` threads ask questions in turn until ``seconds`` pass; latencies in ms."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[BaseException] = []
    stop = time.perf_counter() + seconds

    def client(slot: int) -> None:
        i = slot
        while time.perf_counter() < stop:
            started = time.perf_counter()
            try:
                memory.retrieve(asked[i % len(asked)], k=10, mode=mode)
            except Exception as exc:  # counted and shown; the benchmark goes on
                errors.append(exc)
            latencies[slot].append((time.perf_counter() - started) * 1000)
            i += clients

    threads = [threading.Thread(target=client, args=(slot,)) for slot in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    all_ms = np.array([ms for per in latencies for ms in per])
    return {"clients": clients, "queries": len(all_ms), "errors": len(errors), "qps": len(all_ms) / wall,
            "p50": float(np.percentile(all_ms, 50)), "p95": float(np.percentile(all_ms, 95))}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, default=Path(".graphmem/bench-load.sqlite3"))
    parser.add_argument("--namespace", default="load")
    parser.add_argument("--documents", type=int, default=10_000, help="synthetic documents to ingest when empty")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0, help="per phase")
    parser.add_argument("--mode", default="ppr", choices=["ppr", "hybrid", "dense", "bm25"])
    args = parser.parse_args()
    args.store.parent.mkdir(parents=True, exist_ok=True)
    with Memory(args.store, args.namespace, progress=True) as memory:
        if memory.counts().total_nodes == 0:
            print(f"ingesting {args.documents:,} synthetic documents into {args.store} (once)", flush=True)
            print(memory.add_documents(documents(args.documents)).summary(), flush=True)
        started = time.perf_counter()
        index = memory.index()
        print(f"index: {index.n_units:,} passages, {len(index.entity_ids):,} entities, {len(index.facts):,} facts "
              f"({index.origin}, {time.perf_counter() - started:.2f} s)")  # fmt: skip
        asked = questions(memory, 2_000)
        for question in asked[:20]:  # warm up: model, retriever, BM25
            memory.retrieve(question, k=10, mode=args.mode)
        single = run_clients(memory, asked, 1, args.seconds, args.mode)
        before = memory._batcher.batches, memory._batcher.queries
        many = run_clients(memory, asked[1000:], args.clients, args.seconds, args.mode)
        batches, batched = memory._batcher.batches - before[0], memory._batcher.queries - before[1]
    print(f"\nmode {args.mode}, {args.seconds:.0f} s per phase")
    print(f"{'clients':>7}  {'queries':>7}  {'errors':>6}  {'q/s':>6}  {'p50 ms':>7}  {'p95 ms':>7}")
    for row in (single, many):
        print(f"{row['clients']:>7}  {row['queries']:>7}  {row['errors']:>6}  {row['qps']:>6.1f}  "
              f"{row['p50']:>7.1f}  {row['p95']:>7.1f}")  # fmt: skip
    print(f"p95 with {args.clients} clients / p95 with one: {many['p95'] / single['p95']:.2f}; "
          f"throughput x{many['qps'] / single['qps']:.2f}")  # fmt: skip
    if batches:
        print(f"with {args.clients} clients: {batched:,} queries answered in {batches:,} batches "
              f"({batched / batches:.2f} per batch; graphmem.retrieve.batch)")


if __name__ == "__main__":
    main()
