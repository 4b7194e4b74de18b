"""Newest first: what replaced a fact, and the asker's newest restatement, rank above what they update.

Two rules reorder the ``window`` best-ranked units; nothing leaves or enters the window, so recall at
``window`` is unchanged, and each move is reported in the retrieval's explanation (``Retrieval.latest``).

1. *Supersedes* (any question, passages and turns alike): reconsolidation's SUPERSEDED_BY links say which
   fact replaced which. A unit stating the replacement moves up to just above a better-ranked unit stating
   the retired fact ("Ana moved to Oslo" above "Ana lives in Brill"). Without reconsolidation there are
   no links and this rule does nothing.

2. *Restates* (first-person questions, dialogue turns): people restate what changed ("I've been using my
   Fitbit for 9 months now", months after "for 6 months"), and the older turn, from a session about that
   very topic, often matches the question better than the by-the-way update. The query's *words* are its
   content words (lower-cased, crudely singularised; function words and question or time words such as
   "many", "currently" left out). For each speaker: take their best-ranked turn B containing a query word;
   their turns in the window dated after B that contain at least ``cover`` of the query words B contains
   restate it, and the newest-dated of those move up to just above B, keeping their own order.

Only questions in the first person ("I", "my", "me": the asker about themselves) use the second rule.
Third-person questions ("When did Caroline ...?") ask about events people told, not about the asker's
current state: on LoCoMo, applying it to them cost a third of recall@1 (README).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from bm25s.stopwords import STOPWORDS_EN

from graphmem.index import RetrievalIndex, epoch_seconds


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Function words (pronouns, auxiliaries, determiners, prepositions, wh-words) and the words of the question
# itself rather than of its topic: how many, how long, what now, what before.
FUNCTION_WORDS = _word_set("""
i me my mine myself we us our ours you your yours he him his she her hers it its they them their theirs
this that these those who whom whose what which where when why how there here
am is are was were be been being do does did doing done have has had having get got gets getting
will would shall should can could may might must ought let lets make made
a an the and or but nor so if then than because as while until since though although
at by for from in into of off on onto out over to under up with without about above after against along
among around before behind below beside between beyond during inside near through toward towards upon within
not no yes all any both each every few more most other some such only own same too very just also again
ever never once still yet already even rather quite really much many
one ones something anything everything nothing someone anyone everyone thing things way
""")
QUESTION_WORDS = _word_set(
    "long often time times currently current now recently recent previous previously initially first last "
    "latest usually far ago new old tell remind know remember mention mentioned say said"
)
_STOP = frozenset(STOPWORDS_EN) | FUNCTION_WORDS | QUESTION_WORDS
_WORD = re.compile(r"[a-z0-9][a-z0-9&'-]*")
_FIRST_PERSON = re.compile(r"\b(?:i|me|my|mine|myself)\b|\bi'(?:m|ve|d|ll)\b", re.I)


def word_key(word: str) -> str:
    """A word as the rule compares it: lower case, possessive and plural endings dropped ("bikes" = "bike")."""
    word = word.lower().strip("'-").removesuffix("'s")
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def content_words(text: str) -> set[str]:
    """The keys of a text's words that can name a topic (three letters or more, no function word)."""
    keys = (word_key(w) for w in _WORD.findall(text.lower()))
    return {k for k in keys if len(k) >= 3 and k not in _STOP}


def first_person(query: str) -> bool:
    return bool(_FIRST_PERSON.search(query))


@dataclass(frozen=True)
class Move:
    moved: int  # unit row that moved up
    above: int  # unit row it now precedes
    words: tuple[str, ...]  # the query words the older turn contains, that the moved one restates
    why: str = "restates"  # or "supersedes": it states a fact that replaced one the other states


def successors(index: RetrievalIndex) -> dict[int, set[int]]:
    """Per unit row: the units stating a fact that replaced one it states (reconsolidation's links)."""
    row = {unit.id: i for i, unit in enumerate(index.units)}
    out: dict[int, set[int]] = defaultdict(set)
    for old, new in index.supersessions.tolist():
        before = {row[u] for u in index.fact_provenance[old] if u in row}
        after = {row[u] for u in index.fact_provenance[new] if u in row}
        for unit in before - after:
            out[unit] |= after - before
    return out


class LatestStatements:
    """The turns' words, speakers and dates of one index, read once; ``apply`` reorders a query's scores."""

    def __init__(self, index: RetrievalIndex, window: int = 20, cover: float = 0.5,
                 times: np.ndarray | None = None) -> None:  # fmt: skip
        self.window, self.cover = window, cover
        if times is None:
            times = np.array([epoch_seconds(u.timestamp) for u in index.units], dtype=np.float64)
        self.times = times
        speakers: dict[str, int] = {}
        self.speaker = np.full(index.n_units, -1, dtype=np.int64)  # -1: not a dated turn
        self.successors = successors(index)
        self.words: dict[int, frozenset[str]] = {}
        for i, unit in enumerate(index.units):
            if unit.speaker and not np.isnan(times[i]):
                self.speaker[i] = speakers.setdefault(str(unit.speaker), len(speakers))
                self.words[i] = frozenset(content_words(unit.text))

    def apply(self, scores: np.ndarray, query: str) -> tuple[np.ndarray, list[Move]]:
        """Scores with successors and restatements moved just above the older unit they replace or restate
        (the module docstring's rules); -inf rows are not ranked and never move. The input is not modified."""
        if self.window <= 0:
            return scores, []
        out, moves = self._supersessions(scores)
        words = content_words(query)
        if not words or not self.words or not first_person(query):
            return out, moves
        order = np.argsort(-out, kind="stable")[: self.window]
        per_speaker: dict[int, list[int]] = defaultdict(list)  # speaker -> turns naming a query word, best first
        for row in order.tolist():
            if np.isfinite(out[row]) and self.speaker[row] >= 0 and self.words[row] & words:
                per_speaker[int(self.speaker[row])].append(row)
        for turns in per_speaker.values():
            best, later = turns[0], turns[1:]
            named = self.words[best] & words
            restated = [r for r in later if self.times[r] > self.times[best]
                        and len(self.words[r] & named) >= self.cover * len(named)]  # fmt: skip
            if not restated:
                continue
            newest = max(self.times[r] for r in restated)
            if out is scores:
                out = np.array(scores, dtype=np.float64, copy=True)
            floor = out[best]
            moving = [r for r in restated if self.times[r] == newest]
            for row in reversed(moving):  # worst first, each just above the last: their order is kept
                floor = out[row] = np.nextafter(floor, np.inf)
            moves += [Move(row, best, tuple(sorted(named))) for row in moving]
        return out, moves

    def _supersessions(self, scores: np.ndarray) -> tuple[np.ndarray, list[Move]]:
        """Within the window, the units stating what replaced a fact of a better-ranked unit move just above it."""
        if not self.successors:
            return scores, []
        order = [r for r in np.argsort(-scores, kind="stable")[: self.window].tolist() if np.isfinite(scores[r])]
        out, moves, moved = scores, [], set()
        for rank, best in enumerate(order):
            later = [r for r in order[rank + 1 :] if r in self.successors.get(best, ()) and r not in moved]
            if not later:
                continue
            if out is scores:
                out = np.array(scores, dtype=np.float64, copy=True)
            floor = out[best]
            for row in reversed(later):  # worst first, each just above the last: their order is kept
                floor = out[row] = np.nextafter(floor, np.inf)
            moved.update(later)
            moves += [Move(row, best, (), "supersedes") for row in later]
        return out, moves
