"""When each fact was said, and the walk that decides which values of a slot hold when. Pure functions.

A fact's statements are its first date (``valid_from``, which may come from a date in the text) and
the dates of the later passages and turns that restate it. A slot (one subject's residence, say)
gathers the statements of its competing values; walking them in date order, an *exclusive*
statement of one value ends every other value held until then. A value stated again later holds
again (the latest statement wins), and values stated on the same date never end each other.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby

from graphmem.records import Fact
from graphmem.temporal.rules import date_range, sentences_about


@dataclass(frozen=True, slots=True)
class UnitInfo:
    """A passage or turn as reconsolidation reads it: its date, its text, whether it is a dialogue turn."""

    id: str
    date: datetime | None
    text: str = ""
    turn: bool = False


@dataclass(frozen=True, slots=True)
class Said:
    """One statement of a fact: when it holds from, which units say so, whether a turn marks it as a change."""

    date: datetime
    units: tuple[str, ...]
    cue: bool = False


@dataclass(frozen=True, slots=True)
class FactTime:
    start: datetime | None  # valid_from, widened by an explicit range in the text
    end: datetime | None  # the end an explicit range in the text gives
    said: tuple[Said, ...]  # by date

    @property
    def last(self) -> datetime | None:
        return self.said[-1].date if self.said else None

    def last_apart_from(self, units: Iterable[str]) -> datetime | None:
        """The last statement by other units than these (a turn that says "I left X, where I worked" does
        not restate the work after the leaving)."""
        apart = set(units)
        return max((s.date for s in self.said if not set(s.units) <= apart), default=None)


def fact_time(fact: Fact, units: Mapping[str, UnitInfo], is_change: Callable[[str], bool]) -> FactTime:
    """A fact's statements from its provenance units (those not given count at ``valid_from`` only).

    A unit dated after ``valid_from`` restates the fact then; one dated before it said the fact starts
    later ("I'm moving next month"). A fact with an explicit range ("from 2010 to 2015") is said at
    its start only: a later mention recalls the range, it does not extend it.
    """
    texts = [fact.sentence] if fact.sentence else []
    read: list[tuple[datetime | None, str, bool]] = []
    for unit_id in fact.provenance:
        unit = units.get(unit_id)
        if unit is None:
            continue
        about = sentences_about(unit.text, fact.object_name, fact.sentence) if unit.text else []
        texts += about
        read.append((unit.date, unit_id, unit.turn and any(is_change(s) for s in about)))
    start, end = fact.valid_from, None
    stated = date_range(texts)
    if stated is not None:
        if stated[0] is not None and (start is None or stated[0] < start):
            start = stated[0]
        if start is None or stated[1] >= start:  # type: ignore[operator]
            end = stated[1]
    if start is None:
        return FactTime(None, end, ())
    if not read:  # no unit given: said once, at its start, by all its provenance (the common case in a full run)
        return FactTime(start, end, (Said(start, tuple(sorted(set(fact.provenance)))),))
    by_date: dict[datetime, set[str]] = {}
    cues: set[datetime] = set()
    for date, unit_id, has_cue in read:
        when = start if date is None or date <= start or end is not None else date
        by_date.setdefault(when, set()).add(unit_id)
        if has_cue:
            cues.add(when)
    if start not in by_date:  # "since 2015", said in 2022: the first statement is its start, by the earliest unit
        earliest = min((d for d, _, _ in read if d is not None), default=None)
        by_date[start] = {u for d, u, _ in read if d == earliest}
    said = tuple(Said(d, tuple(sorted(by_date[d])), d in cues) for d in sorted(by_date))
    return FactTime(start, end, said)


@dataclass(frozen=True, slots=True)
class Entry:
    """A statement of one value in a slot walk; ``exclusive`` ones end the other values held before."""

    date: datetime
    value: str
    fact_id: str
    units: tuple[str, ...]
    exclusive: bool


@dataclass(frozen=True, slots=True)
class Ending:
    """Why and when a fact stopped holding: at ``date``, superseded by ``by`` under ``rule``, per ``evidence``."""

    date: datetime
    by: tuple[str, ...]
    rule: str
    evidence: tuple[str, ...]


def entries(fact_id: str, value: str, time: FactTime, exclusive: bool | None = None) -> list[Entry]:
    """A fact's statements as walk entries; ``exclusive=None`` makes only its change-cue statements exclusive."""
    return [Entry(s.date, value, fact_id, s.units, s.cue if exclusive is None else exclusive) for s in time.said]


def walk(items: Iterable[Entry], rule: str, ends: Mapping[str, datetime | None]) -> dict[str, Ending]:
    """Which facts of a slot ended, when and by what. ``ends``: a fact's own end from an explicit range
    (a fact that ended by itself before a new value came is not superseded by it)."""
    holders: dict[str, set[str]] = {}
    ended: dict[str, Ending] = {}
    for date, group in groupby(sorted(items, key=lambda e: (e.date, e.value, e.fact_id)), key=lambda e: e.date):
        stated: dict[str, set[str]] = defaultdict(set)
        exclusive: list[Entry] = []
        for entry in group:
            stated[entry.value].add(entry.fact_id)
            ended.pop(entry.fact_id, None)  # said again: it holds again
            if entry.exclusive:
                exclusive.append(entry)
        if not exclusive:
            for value, facts in stated.items():
                holders.setdefault(value, set()).update(facts)
            continue
        by = tuple(sorted({e.fact_id for e in exclusive}))
        evidence = tuple(sorted({u for e in exclusive for u in e.units}))
        for value, facts in holders.items():
            if value in stated:
                continue
            for fact_id in facts:
                own_end = ends.get(fact_id)
                if own_end is None or own_end > date:
                    ended[fact_id] = Ending(date, by, rule, evidence)
        holders = {value: holders.get(value, set()) | facts for value, facts in stated.items()}
    return ended
