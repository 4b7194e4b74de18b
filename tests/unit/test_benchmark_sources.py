"""The LoCoMo and LongMemEval layouts, on small files written here."""

from __future__ import annotations

import json
from pathlib import Path

from graphmem.sources import read_paths

LOCOMO = [{
    "sample_id": "conv-x",
    "conversation": {
        "speaker_a": "Ana", "speaker_b": "Ben",
        "session_1_date_time": "1:56 pm on 8 May, 2023",
        "session_1": [{"speaker": "Ana", "dia_id": "D1:1", "text": "I moved to Brill."},
                      {"speaker": "Ben", "dia_id": "D1:2", "text": "Nice!"}],
        "session_2_date_time": "9:05 am on 1 June, 2023",
        "session_2": [{"speaker": "Ben", "dia_id": "D2:1", "text": "How is Brill?"}],
    },
    "qa": [],
}, {"sample_id": "broken", "conversation": {"speaker_a": "A"}}]  # fmt: skip

LONGMEMEVAL = [{
    "question_id": "q1", "question": "Where do I live now?", "question_type": "knowledge-update",
    "haystack_session_ids": ["s-a", "s-b"], "haystack_dates": ["2023/05/20 (Sat) 02:21", "2023/06/01 (Thu) 10:00"],
    "haystack_sessions": [[{"role": "user", "content": "I live in Brill.", "has_answer": True}],
                          [{"role": "user", "content": "I moved to Kessaby."},
                           {"role": "assistant", "content": "Congratulations!"}]],
    "answer_session_ids": ["s-b"],
}]  # fmt: skip


def test_locomo_layout(tmp_path: Path) -> None:
    path = tmp_path / "locomo.json"
    path.write_text(json.dumps(LOCOMO))
    batch = read_paths([path])
    [dialogue] = batch.dialogues
    assert dialogue.id == "conv-x" and dialogue.participants == ["Ana", "Ben"]
    assert [s.date.isoformat() for s in dialogue.sessions] == ["2023-05-08T13:56:00+00:00", "2023-06-01T09:05:00+00:00"]
    assert [t.id for s in dialogue.sessions for t in s.turns] == ["D1:1", "D1:2", "D2:1"]
    assert len(batch.quarantined) == 1 and "item 1" in str(batch.quarantined[0]) and batch.files == 1


def test_longmemeval_layout(tmp_path: Path) -> None:
    path = tmp_path / "lme.json"
    path.write_text(json.dumps(LONGMEMEVAL))
    [dialogue] = read_paths([path]).dialogues
    assert dialogue.id == "q1" and dialogue.participants == ["user", "assistant"]
    assert [(s.id, s.date.isoformat()) for s in dialogue.sessions] == [
        ("s-a", "2023-05-20T02:21:00+00:00"), ("s-b", "2023-06-01T10:00:00+00:00")]  # fmt: skip
    assert [(t.id, t.speaker) for t in dialogue.sessions[1].turns] == [("s-b:0", "user"), ("s-b:1", "assistant")]


def test_longmemeval_question_never_enters_the_haystack(tmp_path: Path) -> None:
    path = tmp_path / "lme.json"
    path.write_text(json.dumps(LONGMEMEVAL))
    [dialogue] = read_paths([path]).dialogues
    question = LONGMEMEVAL[0]["question"]
    assert question not in (dialogue.title or "") and dialogue.title == "LongMemEval haystack q1"
