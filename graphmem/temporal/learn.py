"""Predicates the data shows to hold one value per subject at a time (pure).

A predicate qualifies when enough subjects use it (``learn_min_subjects``), they have few distinct
values on average (``learn_max_values``), some change value (``learn_min_changes`` subjects with two
values) and almost none states two values on one date (``learn_max_same_date``): two values on
different dates then read as a change, not as two at once.
Curated families, negations, end verbs and ``is_a`` are never learned.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime

from graphmem.temporal.rules import NEVER_SINGLE_VALUED, ReconsolidationConfig, Rules

Row = tuple[str, str, str, datetime | None]  # subject id, predicate, object id, valid_from


def learn_single_valued(rows: Iterable[Row], value_kind: Callable[[str], str | None],
                        config: ReconsolidationConfig) -> frozenset[str]:  # fmt: skip
    """``value_kind(object_id)``: the object's value class, None for dates and numbers (left out); asked once
    per object."""
    base = Rules(config)
    values: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    same_date: dict[str, set[str]] = defaultdict(set)
    first: dict[tuple[str, str, datetime], str] = {}  # the first object said per (subject, predicate, date)
    # Per predicate and per object, asked once: a run has millions of rows over far fewer of either.
    eligible: dict[str, bool] = {}
    valued: dict[str, bool] = {}
    for subject, predicate, obj, valid_from in rows:
        ok = eligible.get(predicate)
        if ok is None:
            slot = base.slot(predicate)
            ok = eligible[predicate] = not (slot is None or slot[2] or predicate in NEVER_SINGLE_VALUED)
        if not ok:
            continue
        has_value = valued.get(obj)
        if has_value is None:
            has_value = valued[obj] = value_kind(obj) is not None
        if not has_value:
            continue
        values[predicate][subject].add(obj)
        if valid_from is not None and first.setdefault((subject, predicate, valid_from), obj) != obj:
            same_date[predicate].add(subject)
    learned = set()
    for predicate, by_subject in values.items():
        n = len(by_subject)
        if n < config.learn_min_subjects:
            continue
        mean = sum(len(objs) for objs in by_subject.values()) / n
        changes = sum(len(objs) > 1 for objs in by_subject.values())
        if changes < config.learn_min_changes:
            continue
        if mean <= config.learn_max_values and len(same_date[predicate]) / n <= config.learn_max_same_date:
            learned.add(predicate)
    return frozenset(learned)
