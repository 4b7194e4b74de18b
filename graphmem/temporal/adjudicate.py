"""An optional LLM adjudicator for the conflicts reconsolidation's rules leave open. Off by default.

The rules decide one-at-a-time slots, change cues, negations and end verbs. What they leave open are
two live facts of one subject under one predicate (or two the rules treat as synonyms) with different
objects, the later stated after the earlier was last said: "Ana likes tea" (2023), then "Ana likes
coffee" (2024). Both may hold, or the newer may replace the older; only a reader can tell.

The adjudicator asks a chat model at any OpenAI-compatible endpoint, several numbered pairs per request
(both facts, their sentences and dates), for ``{"replaced": [numbers]}``: the pairs where the newer
statement means the older no longer holds. A "yes" supersedes the older fact like a rule does: it gets
``valid_to`` = the newer fact's start, ``expired_at`` and a SUPERSEDED_BY link with rule
``llm_adjudicator`` and evidence = both facts' passages and turns. The link stands, with the adjudicator
on or off, until the pair stops being a conflict (a rule decides it, or the older value is said again
later); later runs do not ask again.

It runs only when an LLM is configured (``GRAPHMEM_LLM_BASE_URL``, ``_MODEL``, ``_API_KEY``) and it is
switched on: ``GRAPHMEM_LLM_ADJUDICATE=1``, ``Memory.reconsolidate(adjudicator=True)`` or ``graphmem
reconsolidate --adjudicate``. Switching it on or off changes the run's mark, so the next run checks every
fact again. At most ``GRAPHMEM_LLM_ADJUDICATE_MAX_PAIRS`` (200) pairs are sent per run, newest first; the
report counts the rest as skipped, and their facts stay unmarked so the next run asks them (while such a
backlog lasts, each run checks its subjects again: multi-valued predicates give many pairs). Answers are
cached by the two facts' content, in memory and in a JSON file (``GRAPHMEM_LLM_ADJUDICATE_CACHE``, else
beside the store): a rerun asks nothing and changes nothing. On any failure (HTTP error, timeout,
unreadable reply) the facts stay as the rules left them, to be asked on the next run; it warns once per
kind of failure and never raises.

The planner stays pure: ``conflicts`` reads its plan, the adjudicator answers, and ``plan`` runs again
with the "yes" pairs as data (``adjudicated_plan``, called by graphmem.temporal.storage). The model's
side (requests, cache, the switch) is ``graphmem.temporal.llm_adjudicator``.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import permutations
from typing import Any, Protocol

from graphmem.records import Fact, Supersession
from graphmem.resolve import normalise_key
from graphmem.temporal.reconsolidate import EntityInfo, Layout, Plan, plan, replaces
from graphmem.temporal.rules import Rules, same_referent, value_class
from graphmem.temporal.timeline import FactTime, UnitInfo, fact_time

MARK = "+llm"  # appended to the run's mark (Fact.reconsolidated) while the adjudicator is on


@dataclass(frozen=True, slots=True)
class Side:
    """One fact of a pair as the model reads it."""

    fact_id: str
    text: str  # "subject | predicate | object"
    sentence: str
    date: str  # ISO date of the fact's start


@dataclass(frozen=True, slots=True)
class Conflict:
    """Two live facts the rules left open; ``key`` hashes what the model is shown (the cache key)."""

    old: Side
    new: Side
    key: str


@dataclass
class Answers:
    """An adjudicator's answers by conflict key, and what it did for them."""

    decisions: dict[str, bool]
    cached: int = 0  # answered from the cache
    asked: int = 0  # sent to the model
    skipped: int = 0  # over the per-run cap, left for the next run
    failed: int = 0  # sent (or due) but without a usable answer


@dataclass
class AdjudicationStats:
    """The adjudicator's part of a reconsolidation report."""

    conflicts: int = 0
    cached: int = 0
    asked: int = 0
    replaced: int = 0
    skipped: int = 0
    failed: int = 0

    def summary(self) -> str:
        return (f"adjudicator: {self.conflicts} open conflicts, {self.asked} asked, {self.cached} from the cache, "
                f"{self.replaced} replaced, {self.skipped} skipped over the cap, {self.failed} failed")  # fmt: skip


class Adjudicator(Protocol):
    def decide(self, conflicts: Sequence[Conflict]) -> Answers:
        """Answers for the conflicts it can decide (True: the newer replaced the older). Never raises."""
        ...


# ---------------------------------------------------------------- the conflicts (pure)


def _group(fact: Fact, rules: Rules, entities: Mapping[str, EntityInfo]) -> tuple[str, str, str] | None:
    """(subject, canonical predicate, value class) of a fact the adjudicator may judge, or None: negations
    and end verbs are the rules' own, and dates and numbers never conflict."""
    if fact.predicate.startswith("not_") or rules.end_head(fact.predicate) is not None:
        return None
    entity = entities.get(fact.object_id)
    kind = value_class(fact.object_name, entity.type if entity else None)
    if kind is None:
        return None
    return fact.subject_id, rules.canonical.get(fact.predicate, (fact.predicate, 0))[0], kind


def _groups(facts: Iterable[Fact], rules: Rules, entities: Mapping[str, EntityInfo]) -> list[list[Fact]]:
    """Facts of one subject and predicate with at least two different objects."""
    groups: dict[tuple[str, str, str], list[Fact]] = defaultdict(list)
    for fact in facts:
        if (key := _group(fact, rules, entities)) is not None:
            groups[key].append(fact)
    return [sorted(g, key=lambda f: f.id) for _, g in sorted(groups.items()) if len({f.object_id for f in g}) > 1]


def conflict_units(facts: Sequence[Fact], rules: Rules, entities: Mapping[str, EntityInfo]) -> set[str]:
    """The passages and turns the conflicts need read (their restatements' dates), before the plan."""
    return {u for group in _groups(facts, rules, entities) for fact in group for u in fact.provenance}


def _side(fact: Fact, time: FactTime) -> Side:
    text = f"{fact.subject_name or fact.subject_id} | {fact.predicate} | {fact.object_name or fact.object_id}"
    return Side(fact.id, text, " ".join(fact.sentence.split()), time.start.date().isoformat() if time.start else "")


def _key(old: Side, new: Side) -> str:
    content = [[s.text, s.sentence, s.date] for s in (old, new)]
    return hashlib.sha256(json.dumps(content, ensure_ascii=False).encode()).hexdigest()[:32]


def conflicts(facts: Sequence[Fact], result: Plan, units: Mapping[str, UnitInfo],
              entities: Mapping[str, EntityInfo], rules: Rules) -> list[Conflict]:  # fmt: skip
    """The pairs ``result`` (a plan of ``facts``) leaves open, the newest first: both facts live (neither merged
    nor superseded), one subject and predicate, objects that are not one referent, the newer one started
    after the older one was last said."""
    state = {f.id: f for f in facts} | {f.id: f for f in result.facts}
    live = [f for f in state.values() if f.expired_at is None]
    out: list[tuple[str, str, str, Conflict]] = []
    for group in _groups(live, rules, entities):
        times = {f.id: fact_time(f, units, rules.is_change) for f in group}
        keys = {f.id: entities[f.object_id].key if f.object_id in entities else normalise_key(f.object_name or "")
                for f in group}  # fmt: skip
        for old, new in permutations(group, 2):
            if same_referent(keys[old.id], keys[new.id]) or not replaces(times[old.id], times[new.id]):
                continue
            sides = _side(old, times[old.id]), _side(new, times[new.id])
            out.append((sides[1].date, sides[0].date, old.id + new.id, Conflict(*sides, _key(*sides))))
    return [c for *_, c in sorted(out, key=lambda item: item[:3], reverse=True)]


def adjudicated_plan(adjudicator: Adjudicator | None, facts: Sequence[Fact], *, units: Mapping[str, UnitInfo],
                     entities: Mapping[str, EntityInfo], existing: Sequence[Supersession], rules: Rules,
                     now: datetime, digest: str, layout: Layout | None = None,
                     ) -> tuple[Plan, AdjudicationStats | None]:  # fmt: skip
    """The rules' plan; with an adjudicator, the conflicts it leaves open are asked and the plan redone with
    the answers. Pairs without an answer (over the cap, failed) leave their facts unmarked for the next run."""
    kwargs: dict[str, Any] = {"units": units, "entities": entities, "existing": existing, "rules": rules,
                              "now": now, "digest": digest, "layout": layout}  # fmt: skip
    result = plan(facts, **kwargs)
    if adjudicator is None:
        return result, None
    found = conflicts(facts, result, units, entities, rules)
    if not found:
        return result, AdjudicationStats()
    answers = adjudicator.decide(found)
    yes = [(c.old.fact_id, c.new.fact_id) for c in found if answers.decisions.get(c.key)]
    pending = {i for c in found if c.key not in answers.decisions for i in (c.old.fact_id, c.new.fact_id)}
    stats = AdjudicationStats(len(found), answers.cached, answers.asked, len(yes), answers.skipped, answers.failed)
    if yes or pending:
        result = plan(facts, **kwargs, adjudicated=yes, pending=pending)
    return result, stats
