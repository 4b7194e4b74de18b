"""LoCoMo evidence recall: each conversation in its own namespace, retrieval over its own turns.

Evidence recall@k = share of a question's evidence turn ids (``dia_id``) among the top k
retrieved turns. Evidence strings are split on commas, semicolons and spaces; ids that match
no turn are skipped, and so are questions left with no valid evidence. Percentages. Latency is
per question, with the question embedded by the uncached model (graphmem.eval.common).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from graphmem.eval.common import (
    SharedMemories,
    eval_namespace,
    eval_retriever,
    latency_figures,
    percent,
    print_grouped,
    timed_retrieve,
)
from graphmem.sources.benchmarks import read_benchmark

_SPLIT = re.compile(r"[,;\s]+")


def evaluate_locomo(path: Path, modes: list[str], ks: list[int], store: str, progress: bool = True) -> dict[str, Any]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    dialogues = read_benchmark(raw, str(path)).dialogues
    per_mode: dict[str, dict[str, Any]] = {m: {"hits": defaultdict(list), "latency": []} for m in modes}
    questions = 0
    with SharedMemories(store, progress=progress) as memories:
        for sample, dialogue in zip(raw, dialogues, strict=True):
            memory = memories.memory(eval_namespace("locomo", dialogue.id))
            memory.add_dialogue(dialogue)
            retriever = eval_retriever(memory, modes)
            turn_ids = {u.id.split("/", 1)[1] for u in retriever.index.units}
            for qa in sample.get("qa", []):
                evidence = {e for item in qa.get("evidence", []) for e in _SPLIT.split(str(item)) if e in turn_ids}
                if not evidence:
                    continue
                questions += 1
                category = str(qa.get("category"))
                for mode in modes:
                    hits, ms = timed_retrieve(retriever, str(qa["question"]), max(ks), mode)
                    per_mode[mode]["latency"].append(ms)
                    ranked = [h.unit.id.split("/", 1)[1] for h in hits]
                    for k in ks:
                        recall = len(evidence & set(ranked[:k])) / len(evidence)
                        per_mode[mode]["hits"][(category, k)].append(recall)
    result: dict[str, Any] = {"dataset": "locomo", "questions": questions, "modes": {}}
    for mode, data in per_mode.items():
        hits = data["hits"]
        figures: dict[str, Any] = {}
        for k in ks:
            every = [r for (c, kk), values in hits.items() if kk == k for r in values]
            figures[f"evidence_recall@{k}"] = percent(every)
        categories = sorted({c for c, _ in hits})
        figures["by_category"] = {
            c: {f"evidence_recall@{k}": percent(hits[(c, k)]) for k in ks} | {"questions": len(hits[(c, ks[0])])}
            for c in categories
        }
        result["modes"][mode] = figures | latency_figures(data["latency"])
    return result


def print_locomo(result: dict[str, Any], ks: list[int]) -> None:
    print(f"locomo: {result['questions']} questions with valid evidence")
    print_grouped(result, [("R", "evidence_recall")], ks, "by_category", lambda category: f"category {category}")
