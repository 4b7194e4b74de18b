"""Readers for the public long-conversation benchmarks' layouts: LoCoMo and LongMemEval.

- LoCoMo: a list of samples; each ``conversation`` holds ``speaker_a``/``speaker_b``,
  ``session_N`` (turns with ``speaker``, ``dia_id``, ``text``) and ``session_N_date_time``
  ("1:56 pm on 8 May, 2023"). One dialogue per sample; turn ids are the ``dia_id``s.
- LongMemEval: a list of questions, each with its own haystack (``haystack_sessions``,
  ``haystack_session_ids``, ``haystack_dates`` like "2023/05/20 (Sat) 02:21"). One dialogue
  per question, id = ``question_id``, speakers ``user`` and ``assistant``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from graphmem.sources.files import Quarantined, SourceBatch, validation_reason
from graphmem.sources.formats import DialogueInput

_LOCOMO_DATE = re.compile(r"(?P<h>\d{1,2}):(?P<m>\d{2})\s*(?P<ampm>am|pm)\s+on\s+(?P<rest>.+)", re.I)
_SESSION_KEY = re.compile(r"^session_(\d+)$")


def parse_locomo_date(text: str) -> datetime:
    """ "1:56 pm on 8 May, 2023" -> 2023-05-08 13:56 UTC."""
    match = _LOCOMO_DATE.match(text.strip())
    if not match:
        raise ValueError(f"unreadable LoCoMo date {text!r}")
    day = datetime.strptime(match["rest"].replace(",", "").strip(), "%d %B %Y")
    hour = int(match["h"]) % 12 + (12 if match["ampm"].lower() == "pm" else 0)
    return day.replace(hour=hour, minute=int(match["m"]), tzinfo=UTC)


def parse_longmemeval_date(text: str) -> datetime:
    """ "2023/05/20 (Sat) 02:21" -> 2023-05-20 02:21 UTC."""
    cleaned = re.sub(r"\(\w+\)", "", text).split()
    return datetime.strptime(" ".join(cleaned), "%Y/%m/%d %H:%M").replace(tzinfo=UTC)


def is_locomo(raw: Any) -> bool:
    return isinstance(raw, list) and bool(raw) and isinstance(raw[0], dict) and "conversation" in raw[0]


def is_longmemeval(raw: Any) -> bool:
    return isinstance(raw, list) and bool(raw) and isinstance(raw[0], dict) and "haystack_sessions" in raw[0]


def _locomo_dialogue(sample: dict[str, Any]) -> dict[str, Any]:
    conversation = sample["conversation"]
    numbers = sorted(int(m.group(1)) for k in conversation if (m := _SESSION_KEY.match(k)))
    sessions = [
        {"id": f"session_{n}", "date": parse_locomo_date(conversation[f"session_{n}_date_time"]),
         "turns": [{"id": t["dia_id"], "speaker": t["speaker"], "text": t.get("text", "")}
                   for t in conversation[f"session_{n}"]]}
        for n in numbers
    ]  # fmt: skip
    return {"id": str(sample["sample_id"]), "title": f"LoCoMo {sample['sample_id']}",
            "participants": [conversation["speaker_a"], conversation["speaker_b"]], "sessions": sessions}  # fmt: skip


def longmemeval_turn_id(session_id: object, position: int) -> str:
    """A LongMemEval turn's id within its dialogue: ``<session id>:<position in the session>``."""
    return f"{session_id}:{position}"


def longmemeval_turns(item: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """Each turn id of a question's haystack -> (its session id, whether it is marked ``has_answer``)."""
    return {
        longmemeval_turn_id(session_id, i): (str(session_id), bool(turn.get("has_answer")))
        for session_id, turns in zip(item["haystack_session_ids"], item["haystack_sessions"], strict=True)
        for i, turn in enumerate(turns)
    }


def _longmemeval_dialogue(item: dict[str, Any]) -> dict[str, Any]:
    sessions = [
        {"id": str(session_id), "date": parse_longmemeval_date(date),
         "turns": [{"id": longmemeval_turn_id(session_id, i), "speaker": turn["role"], "text": turn["content"]}
                   for i, turn in enumerate(turns)]}
        for session_id, date, turns in zip(item["haystack_session_ids"], item["haystack_dates"],
                                           item["haystack_sessions"], strict=True)
    ]  # fmt: skip
    # The title names the haystack, never the question: the question must not reach the graph it is asked of.
    return {"id": str(item["question_id"]), "title": f"LongMemEval haystack {item['question_id']}",
            "participants": ["user", "assistant"], "sessions": sessions}  # fmt: skip


def read_benchmark(raw: list[dict[str, Any]], source: str) -> SourceBatch:
    """Dialogues from a LoCoMo or LongMemEval file; a malformed item is quarantined, the rest kept."""
    build = _locomo_dialogue if is_locomo(raw) else _longmemeval_dialogue
    batch = SourceBatch(files=1)
    for index, item in enumerate(raw):
        try:
            batch.dialogues.append(DialogueInput.model_validate({**build(item), "source": source}))
        except (KeyError, TypeError, ValueError) as exc:
            reason = validation_reason(exc) if isinstance(exc, ValidationError) else f"{type(exc).__name__}: {exc}"
            batch.quarantined.append(Quarantined(source, None, f"item {index}: {reason}"))
    return batch
