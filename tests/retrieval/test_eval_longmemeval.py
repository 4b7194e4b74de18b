"""graphmem eval --format longmemeval on a tiny LongMemEval-shaped file written here.

BM25 figures are derived by hand: each question's distinctive words occur in its gold turns only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from graphmem.cli import main
from graphmem.embed import CachedEmbedder
from graphmem.eval.common import SharedMemories, eval_namespace, eval_retriever, query_embedder
from graphmem.eval.longmemeval import evaluate_longmemeval, newest_first, update_turns
from graphmem.extract.spacy_extractor import SpacyExtractor
from graphmem.sources.benchmarks import longmemeval_turns
from graphmem.store import EmbeddedStore

DATES = ["2023/05/20 (Sat) 02:21", "2023/06/01 (Thu) 10:00", "2023/06/09 (Fri) 18:45"]


def _turn(role: str, content: str, has_answer: bool = False) -> dict[str, Any]:
    return {"role": role, "content": content, "has_answer": has_answer}


QUESTIONS: list[dict[str, Any]] = [
    {   # one gold session of two; the only "Quillon" is in its gold turn
        "question_id": "q-dog", "question_type": "single-session-user", "question": "What breed is Quillon?",
        "answer": "a whippet", "question_date": "2023/06/10 (Sat) 09:00",
        "haystack_session_ids": ["dog-1", "kettle-2"], "haystack_dates": DATES[:2],
        "haystack_sessions": [
            [_turn("user", "My dog Quillon is a whippet.", True), _turn("assistant", "Whippets are fast runners.")],
            [_turn("user", "I bought a blue kettle yesterday."), _turn("assistant", "Kettles boil water quickly.")],
        ],
        "answer_session_ids": ["dog-1"],
    },
    {   # two gold sessions of three, one evidence turn in each: the top turn holds one of them
        "question_id": "q-lessons", "question_type": "multi-session",
        "question": "Which marimba or zither lessons?", "answer": "marimba on Tuesday, zither on Friday",
        "question_date": "2023/06/10 (Sat) 09:00",
        "haystack_session_ids": ["music-a", "music-b", "weather-c"], "haystack_dates": DATES,
        "haystack_sessions": [
            [_turn("user", "I booked marimba lessons on Tuesday.", True), _turn("assistant", "Have fun practising!")],
            [_turn("user", "Hello again."), _turn("user", "I booked zither lessons for Friday.", True)],
            [_turn("user", "The weather in Orlin was rainy."), _turn("assistant", "Take an umbrella.")],
        ],
        "answer_session_ids": ["music-a", "music-b"],
    },
    {   # no has_answer turn: scored for session recall only
        "question_id": "q-lantern", "question_type": "multi-session", "question": "Where is the lantern kept?",
        "answer": "in the attic", "question_date": "2023/06/10 (Sat) 09:00",
        "haystack_session_ids": ["attic-x", "bike-y"], "haystack_dates": DATES[:2],
        "haystack_sessions": [
            [_turn("user", "Hello there."), _turn("user", "The lantern is kept in the attic.")],
            [_turn("user", "My cousin repairs bicycles."), _turn("assistant", "Bicycle repair is a useful skill.")],
        ],
        "answer_session_ids": ["attic-x"],
    },
    {   # abstention: excluded, never ingested
        "question_id": "q-dog_abs", "question_type": "single-session-user", "question": "What breed is my cat?",
        "answer": "You did not mention a cat.", "question_date": "2023/06/10 (Sat) 09:00",
        "haystack_session_ids": ["dog-1_abs"], "haystack_dates": DATES[:1],
        "haystack_sessions": [[_turn("user", "My dog Quillon is a whippet.", True)]],
        "answer_session_ids": ["dog-1_abs"],
    },
]  # fmt: skip

FIGURE_KEYS = {f"{m}@{k}" for m in ("session_recall", "turn_recall") for k in (1, 2)}


@pytest.fixture
def benchmark(tmp_path: Path) -> Path:
    path = tmp_path / "longmemeval_tiny.json"
    path.write_text(json.dumps(QUESTIONS), encoding="utf-8")
    return path


def _revisions(store_path: Path) -> dict[str, int]:
    store = EmbeddedStore(store_path)
    try:
        return {ns: store.revision(ns) for ns in store.namespaces()}
    finally:
        store.close()


def test_turn_ids_and_has_answer_flags() -> None:
    assert longmemeval_turns(QUESTIONS[1]) == {
        "music-a:0": ("music-a", True), "music-a:1": ("music-a", False), "music-b:0": ("music-b", False),
        "music-b:1": ("music-b", True), "weather-c:0": ("weather-c", False), "weather-c:1": ("weather-c", False),
    }  # fmt: skip


def test_recall_by_type_and_reuse(benchmark: Path, tmp_path: Path, spacy_extractor: SpacyExtractor,
                                  embedder: CachedEmbedder) -> None:  # fmt: skip
    store = tmp_path / "lme.sqlite3"
    result = evaluate_longmemeval(benchmark, ["bm25", "dense"], [1, 2], str(store), progress=False,
                                  extractor=spacy_extractor, embedder=embedder)  # fmt: skip
    assert {k: v for k, v in result.items() if k != "modes"} == {
        "dataset": "longmemeval", "questions": 3, "turn_questions": 2, "abstention_excluded": 1, "quarantined": 0,
        "haystacks_reused": 0, "reconsolidated": True,
    }  # fmt: skip
    assert set(_revisions(store)) == {"lme-q-dog", "lme-q-lessons", "lme-q-lantern"}  # the _abs one is not ingested
    bm25 = result["modes"]["bm25"]
    # session@1: q-dog 1/1, q-lessons 1/2, q-lantern 1/1; turn@1: q-dog 1/1, q-lessons 1/2 (q-lantern has none)
    assert {k: bm25[k] for k in FIGURE_KEYS} == {
        "session_recall@1": 83.3,
        "session_recall@2": 100.0,
        "turn_recall@1": 75.0,
        "turn_recall@2": 100.0,
    }
    assert bm25["by_type"] == {
        "multi-session": {"session_recall@1": 75.0, "session_recall@2": 100.0, "turn_recall@1": 50.0,
                          "turn_recall@2": 100.0, "questions": 2, "turn_questions": 1},
        "single-session-user": {"session_recall@1": 100.0, "session_recall@2": 100.0, "turn_recall@1": 100.0,
                                "turn_recall@2": 100.0, "questions": 1, "turn_questions": 1},
    }  # fmt: skip
    dense = result["modes"]["dense"]
    assert set(dense) == FIGURE_KEYS | {"by_type", "knowledge_update", "latency_ms_p50", "latency_ms_p95"}
    assert dense["knowledge_update"] == {"newest_first": None, "questions": 0}  # no knowledge-update question
    assert 0.0 <= dense["latency_ms_p50"] <= dense["latency_ms_p95"]
    before = _revisions(store)
    again = evaluate_longmemeval(benchmark, ["bm25"], [1, 2], str(store), progress=False,
                                 extractor=spacy_extractor, embedder=embedder)  # fmt: skip
    assert again["haystacks_reused"] == 3 and _revisions(store) == before  # nothing extracted or written again
    assert again["modes"]["bm25"] == bm25 | {k: again["modes"]["bm25"][k] for k in ("latency_ms_p50", "latency_ms_p95")}


def test_cli_writes_the_figures(benchmark: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "figures.json"
    code = main(["eval", "--format", "longmemeval", "--corpus", str(benchmark), "--store", str(tmp_path / "s.sqlite3"),
                 "--modes", "bm25", "--k", "1,2", "--out", str(out)])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "longmemeval: 3 questions (1 abstention questions excluded)" in printed
    assert "multi-session (2): S@1 75.0  S@2 100.0  T@1 50.0  T@2 100.0" in printed
    figures = json.loads(out.read_text())
    assert figures["dataset"] == "longmemeval" and figures["questions"] == 3 and list(figures["modes"]) == ["bm25"]
    assert figures["modes"]["bm25"]["turn_recall@1"] == 75.0
    assert figures["modes"]["bm25"]["by_type"]["single-session-user"]["questions"] == 1


def test_cli_rejects_another_layout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps([{"id": "d", "sessions": []}]))
    assert main(["eval", "--format", "longmemeval", "--corpus", str(path), "--store", str(tmp_path / "s.sqlite3")]) == 2
    assert "not a LongMemEval file" in capsys.readouterr().err


def test_queries_skip_the_cache(tmp_path: Path, spacy_extractor: SpacyExtractor, embedder: CachedEmbedder) -> None:
    assert query_embedder(embedder) is embedder.inner and query_embedder(embedder.inner) is embedder.inner
    with SharedMemories(str(tmp_path / "s.sqlite3"), extractor=spacy_extractor, embedder=embedder) as memories:
        memory = memories.memory("lme-x")
        memory.add_dialogue({"id": "x", "sessions": [{"date": "2024-01-02", "turns": [
            {"speaker": "user", "text": "I keep bees in Orlin."}]}]})  # fmt: skip
        retriever = eval_retriever(memory, ["dense", "bm25"])
        assert retriever.embedder is embedder.inner and memory.embedder is embedder  # units still come from the cache
        misses = embedder.misses
        retriever.retrieve("Where do I keep bees?", k=1, mode="dense")
        assert embedder.misses == misses  # the question went to the model, not through the cache
    assert embedder.encode(["still open"]).shape == (1, embedder.dimension)  # a given embedder is left to its owner
    assert eval_namespace("lme", "a/b c") == "lme-a-b-c" and len(eval_namespace("lme", "x" * 300)) == 128


# Knowledge updates. BM25 by hand: "bicycles" and "own" occur only in q-ku-bike's new-value turn, so it ranks
# first (newest first); "live" and "town" only in q-ku-home's old-value turn, so that ranks first (not newest
# first). q-ku-pen has no old-value turn (its earlier evidence session has no has_answer turn): left out.
LATER = ["2023/07/01 (Sat) 10:00", "2023/08/01 (Tue) 10:00"]
KU_QUESTIONS: list[dict[str, Any]] = [
    {   # listed newest first: the latest evidence session is found by date, not by position
        "question_id": "q-ku-bike", "question_type": "knowledge-update", "question": "How many bicycles do I own?",
        "answer": "three", "question_date": "2023/08/02 (Wed) 09:00",
        "haystack_session_ids": ["bike-new", "bike-old"], "haystack_dates": [LATER[1], DATES[0]],
        "haystack_sessions": [
            [_turn("user", "I own three bicycles now.", True), _turn("assistant", "That is a lot of riding.")],
            [_turn("user", "I have two bikes.", True), _turn("assistant", "Nice hobby.")],
        ],
        "answer_session_ids": ["bike-old", "bike-new"],
    },
    {
        "question_id": "q-ku-home", "question_type": "knowledge-update", "question": "Which town do I live in?",
        "answer": "Orlin", "question_date": "2023/08/02 (Wed) 09:00",
        "haystack_session_ids": ["home-old", "chat", "home-new"], "haystack_dates": [DATES[0], DATES[1], LATER[0]],
        "haystack_sessions": [
            [_turn("user", "I live in Brill, a small town.", True), _turn("assistant", "Brill sounds lovely.")],
            [_turn("user", "My sister paints boats."), _turn("assistant", "Boats are fun to paint.")],
            [_turn("user", "I moved to Orlin last week.", True), _turn("assistant", "Congratulations on the move!")],
        ],
        "answer_session_ids": ["home-old", "home-new"],
    },
    {
        "question_id": "q-ku-pen", "question_type": "knowledge-update", "question": "Which pen do I use?",
        "answer": "a fountain pen", "question_date": "2023/08/02 (Wed) 09:00",
        "haystack_session_ids": ["pen-old", "pen-new"], "haystack_dates": [DATES[0], LATER[0]],
        "haystack_sessions": [
            [_turn("user", "Hello."), _turn("assistant", "Hi!")],
            [_turn("user", "I use a fountain pen now.", True)],
        ],
        "answer_session_ids": ["pen-old", "pen-new"],
    },
]  # fmt: skip


def test_update_turns_and_newest_first() -> None:
    assert update_turns(KU_QUESTIONS[0]) == ({"bike-new:0"}, {"bike-old:0"})
    assert update_turns(KU_QUESTIONS[1]) == ({"home-new:0"}, {"home-old:0"})
    assert update_turns(KU_QUESTIONS[2]) is None and update_turns(QUESTIONS[1]) is None

    def hits(*refs: str) -> list[Any]:
        return [type("H", (), {"unit": type("U", (), {"id": f"d/{ref}"})()})() for ref in refs]

    assert newest_first(hits("x", "n", "o"), "d", {"n"}, {"o"})
    assert not newest_first(hits("o", "n"), "d", {"n"}, {"o"})
    assert newest_first(hits("n"), "d", {"n"}, {"o"}) and not newest_first(hits("o"), "d", {"n"}, {"o"})


def test_newest_first_with_and_without_reconsolidation(tmp_path: Path, spacy_extractor: SpacyExtractor,
                                                       embedder: CachedEmbedder) -> None:  # fmt: skip
    path = tmp_path / "longmemeval_ku.json"
    path.write_text(json.dumps(KU_QUESTIONS), encoding="utf-8")
    store = tmp_path / "ku.sqlite3"

    def run(target: Path, reconsolidate: bool) -> dict[str, Any]:
        return evaluate_longmemeval(path, ["bm25", "dense"], [1], str(target), progress=False,
                                    extractor=spacy_extractor, embedder=embedder,
                                    reconsolidate=reconsolidate)  # fmt: skip

    plain = run(tmp_path / "plain.sqlite3", False)
    assert plain["reconsolidated"] is False
    assert plain["modes"]["bm25"]["knowledge_update"] == {"newest_first": 50.0, "questions": 2}
    result = run(store, True)
    assert result["reconsolidated"] is True
    # reconsolidation retired "live_in Brill" for "move_to Orlin": the turn stating the move now ranks above the
    # one it replaced, in every mode (graphmem.retrieve.latest), so q-ku-home is newest first too
    assert result["modes"]["bm25"]["knowledge_update"] == {"newest_first": 100.0, "questions": 2}
    assert result["modes"]["dense"]["knowledge_update"] == {"newest_first": 100.0, "questions": 2}
    before = _revisions(store)
    again = run(store, True)
    assert again["haystacks_reused"] == 3 and _revisions(store) == before  # idempotent: nothing ingested or written
    assert again["modes"]["bm25"]["knowledge_update"] == result["modes"]["bm25"]["knowledge_update"]
    with SharedMemories(str(store), extractor=spacy_extractor, embedder=embedder) as memories:
        memory = memories.memory(eval_namespace("lme", "q-ku-home"))
        retired = [f.predicate for f in memory.facts(include_expired=True) if f.expired_at is not None]
    assert retired == ["live_in"]  # the move to Orlin retired the Brill home ...
    with pytest.raises(ValueError, match="reconsolidated by an earlier run"):
        run(store, False)  # ... so the figure without reconsolidation needs a store never reconsolidated
