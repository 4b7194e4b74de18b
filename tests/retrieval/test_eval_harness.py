"""The evaluation commands on small data written here: figures have the agreed shape and are right."""

from __future__ import annotations

import json
from pathlib import Path

from graphmem.eval.locomo import evaluate_locomo
from graphmem.eval.qa import evaluate_qa

LOCOMO = [{
    "sample_id": "conv-t",
    "conversation": {
        "speaker_a": "Ana Brill", "speaker_b": "Ben Sollis",
        "session_1_date_time": "1:56 pm on 8 May, 2023",
        "session_1": [
            {"speaker": "Ana Brill", "dia_id": "D1:1", "text": "I adopted a grey cat called Pesto."},
            {"speaker": "Ben Sollis", "dia_id": "D1:2", "text": "I started rowing at the Kessaby club."},
            {"speaker": "Ana Brill", "dia_id": "D1:3", "text": "My sister Ilse lives in Dunmaren."},
        ],
    },
    "qa": [
        {"question": "What is the name of Ana's cat?", "answer": "Pesto", "evidence": ["D1:1"], "category": 4},
        {"question": "Where does Ana's sister live?", "answer": "Dunmaren", "evidence": ["D1:3; D9:9"], "category": 1},
        {"question": "No valid evidence here", "answer": "-", "evidence": ["D7:7"], "category": 2},
    ],
}]  # fmt: skip


def test_locomo_evidence_recall_per_category(tmp_path: Path) -> None:
    path = tmp_path / "locomo.json"
    path.write_text(json.dumps(LOCOMO))
    result = evaluate_locomo(path, ["dense", "bm25"], [1, 3], str(tmp_path / "store.sqlite3"), progress=False)
    assert result["questions"] == 2  # the one whose evidence names no turn is skipped
    for mode in ("dense", "bm25"):
        figures = result["modes"][mode]
        assert figures["evidence_recall@3"] == 100.0  # three turns: every evidence turn is in the top 3
        assert set(figures["by_category"]) == {"1", "4"}
        assert figures["by_category"]["4"]["questions"] == 1
        assert 0.0 <= figures["evidence_recall@1"] <= 100.0 and figures["latency_ms_p95"] >= 0.0


def test_qa_recall_and_all_gold(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("\n".join(json.dumps(d) for d in [
        {"id": "a", "title": "Pesto", "text": "Pesto is a grey cat owned by Ana Brill."},
        {"id": "b", "title": "Ana Brill", "text": "Ana Brill is a rower from Dunmaren."},
        {"id": "c", "title": "Dunmaren", "text": "Dunmaren is a town on the River Tarnel."},
    ]))  # fmt: skip
    questions = tmp_path / "questions.jsonl"
    questions.write_text(json.dumps({"id": "q", "question": "Which river flows through the hometown of the owner "
                                     "of Pesto?", "answers": ["Tarnel"], "gold_ids": ["a", "b", "c"]}))  # fmt: skip
    result = evaluate_qa(corpus, questions, ["dense", "ppr"], [1, 3], str(tmp_path / "s.sqlite3"), progress=False)
    assert result["questions"] == 1
    for mode in ("dense", "ppr"):
        figures = result["modes"][mode]
        assert figures["recall@1"] == round(100 / 3, 1) and figures["all_gold@1"] == 0.0
        assert figures["recall@3"] == 100.0 and figures["all_gold@3"] == 100.0
