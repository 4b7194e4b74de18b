"""LoCoMo evidence recall: each conversation in its own namespace, retrieval over its own turns.

Evidence recall@k = share of a question's evidence turn ids (``dia_id``) among the top k
retrieved turns. Evidence strings are split on commas, semicolons and spaces; ids that match
no turn are skipped, and so are questions left with no valid evidence. Percentages.
"""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from graphmem.index import build_index
from graphmem.memory import Memory
from graphmem.retrieve import Retriever
from graphmem.sources.benchmarks import read_benchmark

_SPLIT = re.compile(r"[,;\s]+")


def evaluate_locomo(path: Path, modes: list[str], ks: list[int], store: str, progress: bool = True) -> dict[str, Any]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    dialogues = read_benchmark(raw, str(path)).dialogues
    per_mode: dict[str, dict[str, Any]] = {m: {"hits": defaultdict(list), "latency": []} for m in modes}
    questions = 0
    for sample, dialogue in zip(raw, dialogues, strict=True):
        namespace = "locomo-" + re.sub(r"[^A-Za-z0-9_.\-]", "-", dialogue.id)
        memory = Memory(store, namespace, progress=progress)
        memory.add_dialogue(dialogue)
        index = build_index(memory.store, namespace, memory.embedder)
        retriever = Retriever(index, memory.embedder)
        turn_ids = {u.id.split("/", 1)[1] for u in index.units}
        for qa in sample.get("qa", []):
            evidence = {e for item in qa.get("evidence", []) for e in _SPLIT.split(str(item)) if e in turn_ids}
            if not evidence:
                continue
            questions += 1
            category = str(qa.get("category"))
            for mode in modes:
                started = time.perf_counter()
                hits = retriever.retrieve(str(qa["question"]), k=max(ks), mode=mode)
                per_mode[mode]["latency"].append((time.perf_counter() - started) * 1000)
                ranked = [h.unit.id.split("/", 1)[1] for h in hits]
                for k in ks:
                    recall = len(evidence & set(ranked[:k])) / len(evidence)
                    per_mode[mode]["hits"][(category, k)].append(recall)
        memory.close()
    result: dict[str, Any] = {"dataset": "locomo", "questions": questions, "modes": {}}
    for mode, data in per_mode.items():
        hits = data["hits"]
        figures: dict[str, Any] = {}
        for k in ks:
            every = [r for (c, kk), values in hits.items() if kk == k for r in values]
            figures[f"evidence_recall@{k}"] = round(100 * float(np.mean(every)), 1)
        categories = sorted({c for c, _ in hits})
        figures["by_category"] = {
            c: {f"evidence_recall@{k}": round(100 * float(np.mean(hits[(c, k)])), 1) for k in ks} | {
                "questions": len(hits[(c, ks[0])])}
            for c in categories
        }  # fmt: skip
        figures["latency_ms_p50"] = round(float(np.percentile(data["latency"], 50)), 1)
        figures["latency_ms_p95"] = round(float(np.percentile(data["latency"], 95)), 1)
        result["modes"][mode] = figures
    return result


def print_locomo(result: dict[str, Any], ks: list[int]) -> None:
    print(f"locomo: {result['questions']} questions with valid evidence")
    for mode, f in result["modes"].items():
        overall = "  ".join(f"R@{k} {f[f'evidence_recall@{k}']:.1f}" for k in ks)
        print(f"{mode:<8} {overall}  p50 {f['latency_ms_p50']:.1f} ms  p95 {f['latency_ms_p95']:.1f} ms")
        for category, c in f["by_category"].items():
            row = "  ".join(f"R@{k} {c[f'evidence_recall@{k}']:.1f}" for k in ks)
            print(f"         category {category} ({c['questions']}): {row}")
