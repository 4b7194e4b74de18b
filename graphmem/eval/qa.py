"""Retrieval evaluation on the plain multi-hop QA format (corpus.jsonl + questions.jsonl).

Recall@k = |top-k passage ids ∩ gold ids| / |gold ids|, averaged over questions; all_gold@k =
share of questions whose every gold passage is in the top k. A document split into several
passages counts once, at its best rank. Figures are percentages. Latency is per question, with
the question embedded by the uncached model (graphmem.eval.common).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from graphmem.eval.common import eval_retriever, latency_figures, percent, timed_retrieve
from graphmem.memory import Memory
from graphmem.retrieve import Retriever


def ranked_sources(retriever: Retriever, question: str, k: int, mode: str) -> tuple[list[str], float]:
    """The top k documents, each at its best passage's rank, and the retrieval's milliseconds."""
    hits, ms = timed_retrieve(retriever, question, k * 3, mode)
    return list(dict.fromkeys(hit.unit.source_id for hit in hits))[:k], ms


def evaluate_qa(corpus: Path, questions_path: Path, modes: list[str], ks: list[int], store: str,
                namespace: str = "eval", progress: bool = True) -> dict[str, Any]:  # fmt: skip
    memory = Memory(store, namespace, progress=progress)
    memory.add_paths([corpus])  # reuses what an earlier run stored: unchanged documents are skipped
    retriever = eval_retriever(memory, modes)
    questions = [json.loads(line) for line in questions_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    result: dict[str, Any] = {"dataset": corpus.parent.name, "questions": len(questions), "modes": {},
                              "index_seconds": round(retriever.index.build_seconds, 2)}  # fmt: skip
    for mode in modes:
        recalls = {k: [] for k in ks}
        all_gold = {k: [] for k in ks}
        latencies = []
        for q in questions:
            ranked, ms = ranked_sources(retriever, q["question"], max(ks), mode)
            latencies.append(ms)
            gold = set(q["gold_ids"])
            for k in ks:
                found = len(gold & set(ranked[:k]))
                recalls[k].append(found / len(gold))
                all_gold[k].append(float(found == len(gold)))
        figures = {f"recall@{k}": percent(recalls[k]) for k in ks} | {f"all_gold@{k}": percent(all_gold[k]) for k in ks}
        result["modes"][mode] = figures | latency_figures(latencies)
    memory.close()
    return result


def print_table(result: dict[str, Any], ks: list[int]) -> None:
    print(f"{result['dataset']}: {result['questions']} questions")
    header = "".join(f"{'R@' + str(k):>8}" for k in ks) + "".join(f"{'AG@' + str(k):>8}" for k in ks)
    print(f"{'mode':<8}{header}{'p50 ms':>9}{'p95 ms':>9}")
    for mode, f in result["modes"].items():
        row = "".join(f"{f[f'recall@{k}']:>8.1f}" for k in ks) + "".join(f"{f[f'all_gold@{k}']:>8.1f}" for k in ks)
        print(f"{mode:<8}{row}{f['latency_ms_p50']:>9.1f}{f['latency_ms_p95']:>9.1f}")
