"""Retrieval evaluation on the plain multi-hop QA format (corpus.jsonl + questions.jsonl).

Recall@k = |top-k passage ids ∩ gold ids| / |gold ids|, averaged over questions; all_gold@k =
share of questions whose every gold passage is in the top k. A document split into several
passages counts once, at its best rank. Figures are percentages.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from graphmem.index import build_index
from graphmem.memory import Memory
from graphmem.retrieve import Retriever


def ranked_sources(retriever: Retriever, question: str, k: int, mode: str) -> list[str]:
    seen: dict[str, None] = {}
    for hit in retriever.retrieve(question, k=k * 3, mode=mode):
        seen.setdefault(hit.unit.source_id, None)
    return list(seen)[:k]


def evaluate_qa(corpus: Path, questions_path: Path, modes: list[str], ks: list[int], store: str,
                namespace: str = "eval", progress: bool = True) -> dict[str, Any]:  # fmt: skip
    memory = Memory(store, namespace, progress=progress)
    memory.add_paths([corpus])  # reuses what an earlier run stored: unchanged documents are skipped
    index = build_index(memory.store, namespace, memory.embedder)
    retriever = Retriever(index, memory.embedder)
    questions = [json.loads(line) for line in questions_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    result: dict[str, Any] = {"dataset": corpus.parent.name, "questions": len(questions), "modes": {},
                              "index_seconds": round(index.build_seconds, 2)}  # fmt: skip
    for mode in modes:
        retriever.retrieve("warm up", k=1, mode=mode)
        recalls = {k: [] for k in ks}
        all_gold = {k: [] for k in ks}
        latencies = []
        for q in questions:
            started = time.perf_counter()
            ranked = ranked_sources(retriever, q["question"], max(ks), mode)
            latencies.append((time.perf_counter() - started) * 1000)
            gold = set(q["gold_ids"])
            for k in ks:
                found = len(gold & set(ranked[:k]))
                recalls[k].append(found / len(gold))
                all_gold[k].append(float(found == len(gold)))
        figures = {f"recall@{k}": round(100 * float(np.mean(recalls[k])), 1) for k in ks}
        figures |= {f"all_gold@{k}": round(100 * float(np.mean(all_gold[k])), 1) for k in ks}
        figures["latency_ms_p50"] = round(float(np.percentile(latencies, 50)), 1)
        figures["latency_ms_p95"] = round(float(np.percentile(latencies, 95)), 1)
        result["modes"][mode] = figures
    memory.close()
    return result


def print_table(result: dict[str, Any], ks: list[int]) -> None:
    print(f"{result['dataset']}: {result['questions']} questions")
    header = "".join(f"{'R@' + str(k):>8}" for k in ks) + "".join(f"{'AG@' + str(k):>8}" for k in ks)
    print(f"{'mode':<8}{header}{'p50 ms':>9}{'p95 ms':>9}")
    for mode, f in result["modes"].items():
        row = "".join(f"{f[f'recall@{k}']:>8.1f}" for k in ks) + "".join(f"{f[f'all_gold@{k}']:>8.1f}" for k in ks)
        print(f"{mode:<8}{row}{f['latency_ms_p50']:>9.1f}{f['latency_ms_p95']:>9.1f}")
