"""Latest statement first (graphmem.retrieve.latest): the rule on hand-made scores, then through Memory.retrieve."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from graphmem.embed import CachedEmbedder
from graphmem.extract.spacy_extractor import SpacyExtractor
from graphmem.index import Unit
from graphmem.memory import Memory
from graphmem.retrieve import RetrievalConfig
from graphmem.retrieve.latest import LatestStatements, content_words, first_person, word_key
from graphmem.sources.formats import DialogueInput

JAN, JUN, SEP = "2023-01-10T10:00:00+00:00", "2023-06-01T10:00:00+00:00", "2023-09-01T10:00:00+00:00"


def test_words() -> None:
    assert [word_key(w) for w in ("Bikes", "Emma's", "stories", "glass", "bus")] == ["bike", "emma", "story", "glass",
                                                                                       "bus"]  # fmt: skip
    assert content_words("How many bikes do I currently own?") == {"bike"}
    assert content_words("Where do I keep my old sneakers now?") == {"keep", "sneaker"}
    assert first_person("Where do I keep them?") and first_person("What's my score?") and first_person("I'm lost")
    assert not first_person("Where does Caroline keep them?") and not first_person("Is it in the index?")


def _latest(texts: list[tuple[str | None, str, str]], window: int = 20, cover: float = 0.5) -> LatestStatements:
    """A LatestStatements over units (speaker, date, text); only units are read from the index."""
    units = [Unit(f"u{i}", text, "d", speaker=speaker, timestamp=date) for i, (speaker, date, text) in enumerate(texts)]
    index: Any = SimpleNamespace(units=units, n_units=len(units), supersessions=np.zeros((0, 2), dtype=np.int64),
                                 fact_provenance=[])  # fmt: skip
    return LatestStatements(index, window, cover)


def test_newer_restatement_moves_just_above_the_older_turn() -> None:
    latest = _latest([
        ("user", JAN, "I keep my old sneakers under the bed."),        # 0: the older statement
        ("assistant", JAN, "Sneakers under the bed stay dusty."),     # 1: another speaker: never moves for the user
        ("user", JUN, "I moved my old sneakers to a shoe rack."),      # 2: restates "sneaker"
        ("user", SEP, "My bike has a flat tyre."),                     # 3: newest, but not about sneakers
        ("user", JUN, "Old sneakers smell; I keep them in a rack."),  # 4: same date as 2: moves with it
    ])  # fmt: skip
    scores = np.array([0.9, 0.8, 0.3, 0.7, 0.2])
    out, moves = latest.apply(scores, "Where do I keep my old sneakers?")
    assert list(np.argsort(-out, kind="stable")) == [2, 4, 0, 1, 3]  # 2 and 4 above 0, in their own order
    assert [(m.moved, m.above, m.words) for m in moves] == [(2, 0, ("keep", "sneaker")), (4, 0, ("keep", "sneaker"))]
    assert out[2] > out[4] > out[0] and np.nextafter(out[4], -np.inf) == out[0]  # just above, nothing in between
    assert scores.tolist() == [0.9, 0.8, 0.3, 0.7, 0.2]  # the input is left alone

    assert latest.apply(scores, "Where does the user keep old sneakers?")[1] == []  # third person: no move
    assert latest.apply(scores, "What do I think?")[1] == []  # no query word in any turn
    ranked_out = scores.copy()
    ranked_out[2] = ranked_out[4] = -np.inf  # not ranked (as_of before June): nothing to move
    assert latest.apply(ranked_out, "Where do I keep my old sneakers?")[1] == []


def test_cover_window_and_passages() -> None:
    latest = _latest([
        ("user", JAN, "My Fitbit Charge counts steps on my morning walk."),
        ("user", JUN, "My new walk route is longer."),                   # names "walk" only: 1 of 3 words
        ("user", SEP, "I've used my Fitbit Charge for nine months."),    # names "fitbit" and "charge": 2 of 3
    ])  # fmt: skip
    scores = np.array([0.9, 0.5, 0.4])
    out, moves = latest.apply(scores, "How long have I used my Fitbit Charge on walks?")
    assert [(m.moved, m.above) for m in moves] == [(2, 0)] and list(np.argsort(-out)) == [2, 0, 1]
    assert _latest([], cover=0.5).apply(np.zeros(0), "my walk")[1] == []
    narrow = _latest([("user", JAN, "my walk"), ("user", JUN, "a walk"), ("user", SEP, "walk again")], window=2)
    out, moves = narrow.apply(np.array([0.9, 0.8, 0.1]), "Where do I walk?")
    assert [(m.moved, m.above) for m in moves] == [(1, 0)]  # the September turn is outside the window: it stays
    passages = _latest([(None, JAN, "my walk"), (None, JUN, "a walk")])  # no speaker: passages, left alone
    assert passages.apply(np.array([0.9, 0.1]), "Where do I walk?")[1] == []


SESSIONS: list[dict[str, Any]] = [
    {"id": "s1", "date": JAN, "turns": [
        {"speaker": "user", "text": "Where should I keep my old sneakers? I keep my old sneakers under my bed."},
        {"speaker": "assistant", "text": "Sneakers kept under a bed collect dust; a box helps."}]},
    {"id": "s2", "date": JUN, "turns": [
        {"speaker": "user", "text": "Can you recommend sandals for summer hiking trips with friends?"},
        {"speaker": "assistant", "text": "Teva and Merrell make durable sandals."},
        {"speaker": "user",
         "text": "Thanks, Teva sounds good for hiking. By the way, I keep my old sneakers on a shoe rack now."}]},
]  # fmt: skip


def test_memory_retrieve_puts_the_restatement_first(tmp_path: Path, spacy_extractor: SpacyExtractor,
                                                    embedder: CachedEmbedder) -> None:  # fmt: skip
    path, question, old, new = tmp_path / "m.sqlite3", "Where do I keep my old sneakers?", "chat/s1-t1", "chat/s2-t3"

    def memory(config: RetrievalConfig) -> Memory:
        return Memory(path, "latest", extractor=spacy_extractor, embedder=embedder, retrieval_config=config)

    plain, latest = memory(RetrievalConfig(latest_first=False)), memory(RetrievalConfig())
    try:  # closing a Memory would close the session's shared embedder too: only the stores are closed
        plain.add_dialogue(DialogueInput.model_validate({"id": "chat", "sessions": SESSIONS}))
        ids = [h.unit.id for h in plain.retrieve(question, k=5, mode="dense").hits]
        assert ids.index(old) < ids.index(new)  # without the rule the older, more topical turn leads
        for mode in ("dense", "bm25", "ppr", "hybrid"):
            result = latest.retrieve(question, k=5, mode=mode)
            ids = [h.unit.id for h in result.hits]
            assert ids.index(new) < ids.index(old), mode
            assert {"moved": new, "above": old, "why": "restates", "words": ["keep", "sneaker"]} in result.latest, mode
            assert result.hits[0].why["latest"] == result.latest and result.to_dict()["latest"] == result.latest
        in_march = latest.retrieve(question, k=5, mode="dense", as_of=datetime(2023, 3, 1, tzinfo=UTC))
        assert in_march.hits[0].unit.id == old and new not in {h.unit.id for h in in_march.hits}
        assert in_march.latest == []
    finally:
        plain.store.close()
        latest.store.close()
