"""What the retrieval evaluations (qa, locomo, longmemeval) share.

Latency is measured uncached: the index is built through the Memory's embedder, whose SQLite
cache serves the stored units, but questions are embedded by the model behind that cache, so a
re-run does not time cache look-ups of question vectors it embedded before. Each retriever
answers one warm-up query per mode before any timing (the model and BM25's index load lazily).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from graphmem.embed import CachedEmbedder, Embedder, SentenceTransformerEmbedder
from graphmem.extract.types import Extractor
from graphmem.memory import Memory, embedding_cache_path, query_embedder
from graphmem.retrieve import Hit, Retriever
from graphmem.store import GraphStore, open_store

WARM_UP_QUERY = "warm up"
_NOT_IN_NAMESPACE = re.compile(r"[^A-Za-z0-9_.\-]")


def eval_retriever(memory: Memory, modes: Iterable[str]) -> Retriever:
    """A retriever over the memory's namespace: units embedded through the cache, queries without it; warmed up."""
    retriever = Retriever(memory.index(), query_embedder(memory.embedder))
    for mode in modes:
        retriever.retrieve(WARM_UP_QUERY, k=1, mode=mode)
    return retriever


def timed_retrieve(retriever: Retriever, query: str, k: int, mode: str) -> tuple[list[Hit], float]:
    """The hits and how long the retrieval took, in milliseconds."""
    started = time.perf_counter()
    hits = retriever.retrieve(query, k=k, mode=mode)
    return hits, (time.perf_counter() - started) * 1000


def percent(values: Sequence[float]) -> float | None:
    """The mean of shares in [0, 1] as a percentage rounded to 0.1; None when there is nothing to average."""
    return round(100 * float(np.mean(values)), 1) if len(values) else None


def latency_figures(latencies_ms: Sequence[float]) -> dict[str, float | None]:
    """Median and 95th percentile in milliseconds, rounded to 0.1; None when nothing was timed."""
    if not len(latencies_ms):
        return {"latency_ms_p50": None, "latency_ms_p95": None}
    return {
        "latency_ms_p50": round(float(np.percentile(latencies_ms, 50)), 1),
        "latency_ms_p95": round(float(np.percentile(latencies_ms, 95)), 1),
    }


def eval_namespace(prefix: str, source_id: str) -> str:
    """``<prefix>-<id>`` with every character a namespace may not hold replaced by "-", cut to 128 characters."""
    return (prefix + "-" + _NOT_IN_NAMESPACE.sub("-", source_id))[:128]


class SharedMemories:
    """Memories on one store, one per namespace, sharing one extractor and one embedder (models load once).

    The store and, unless they were given, the extractor and the embedder are closed by ``close``.
    """

    def __init__(self, store: str | GraphStore, *, extractor: Extractor | None = None,
                 embedder: Embedder | None = None, progress: bool = False) -> None:  # fmt: skip
        self.store = store if isinstance(store, GraphStore) else open_store(store)
        self._own_embedder = embedder is None
        self.embedder = embedder or CachedEmbedder(SentenceTransformerEmbedder(), embedding_cache_path(self.store))
        self._extractor = extractor
        self.progress = progress

    @property
    def extractor(self) -> Extractor:
        if self._extractor is None:  # loads spaCy (or the LLM client) only when something is ingested
            from graphmem.extract.defaults import default_extractor

            self._extractor = default_extractor()
        return self._extractor

    def memory(self, namespace: str) -> Memory:
        return Memory(self.store, namespace, extractor=self.extractor, embedder=self.embedder, progress=self.progress)

    def close(self) -> None:
        if self._own_embedder and isinstance(self.embedder, CachedEmbedder):
            self.embedder.close()
        self.store.close()

    def __enter__(self) -> SharedMemories:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_json(result: dict[str, Any], out: str | Path | None) -> None:
    if out:
        Path(out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def print_grouped(result: dict[str, Any], metrics: Sequence[tuple[str, str]], ks: Sequence[int], groups: str,
                  group_label: Callable[[str], str]) -> None:  # fmt: skip
    """One row per mode (each metric at each k, then latency) and an indented row per group of questions.

    ``metrics`` pairs a column prefix with a figure name: ``("R", "evidence_recall")`` prints
    ``R@5`` from ``evidence_recall@5``.
    """

    def row(figures: dict[str, Any]) -> str:
        return "  ".join(f"{short}@{k} {_cell(figures[f'{name}@{k}'])}" for short, name in metrics for k in ks)

    for mode, f in result["modes"].items():
        print(f"{mode:<8} {row(f)}  p50 {_cell(f['latency_ms_p50'])} ms  p95 {_cell(f['latency_ms_p95'])} ms")
        for group, g in f[groups].items():
            print(f"         {group_label(group)} ({g['questions']}): {row(g)}")
