"""Reconsolidation, the pure core: facts in, a plan out (merges and supersessions, each with its rule and evidence).

The rules, in the order they apply:
- ``duplicate``: ingestion already merges one (subject, predicate, object) into one fact (its id hashes
  the three). What remains are predicate synonyms ("work_at"/"work_for" the same company): the later
  ones merge into the first, which takes all provenance and the widest validity.
- ``single_valued:<family>`` (curated) and ``learned_single_valued:<predicate>`` (from the data): a newer
  value of a one-at-a-time slot supersedes the older values of the same subject (of the same post, for
  posts such as CEO or mayor).
- ``change_cue``: in a dialogue turn, a statement marked as a change ("now", "no longer", "moved to",
  ...) supersedes the speaker's older values of the same predicate, whatever the predicate.
- ``quantity:<unit>``: a newer count or amount of the same unit under the same predicate ("read 220
  pages" after "read 120 pages") supersedes the subject's older one.
- ``negation``: "not_P(s, o)" and "P(s, o)" supersede each other, the later one winning.
- ``end_verb``: "left X", "quit X", "divorced X", "broke up" end the subject's states held with X (or,
  with no such X, the whole family: "quit my job" ends the employer).
Dates in the text also bound facts ("from 2010 to 2015"). The old fact keeps everything: it gets
``valid_to`` (when the new one starts), ``expired_at`` (the run's time) and a SUPERSEDED_BY link.
- ``llm_adjudicator``: pairs an adjudicator (graphmem.temporal.adjudicate) judged (``adjudicated``), and its
  links already in the graph, wherever the rules left both facts open.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter

from graphmem.graph import fact_marked
from graphmem.records import Fact, Supersession
from graphmem.resolve import normalise_key
from graphmem.temporal.rules import Rules, same_referent, value_class
from graphmem.temporal.timeline import Ending, Entry, FactTime, UnitInfo, entries, fact_time, walk

_YEAR = re.compile(r"\b(?:1\d{3}|20\d{2})\b")
ADJUDICATOR_RULE = "llm_adjudicator"
Place = tuple[tuple[str, str, str], str, bool, str]  # (slot key, value, single-valued, rule)
_NO_UNITS: Mapping[str, UnitInfo] = {}
_state = attrgetter("valid_from", "valid_to", "expired_at", "provenance", "document_ids", "confidence",
                    "reconsolidated")  # what a plan may change of a fact


@dataclass(frozen=True, slots=True)
class EntityInfo:
    id: str
    name: str
    key: str
    type: str


@dataclass
class Plan:
    """What a run changes: the facts and SUPERSEDED_BY edges to write, and counts for the report."""

    facts: list[Fact] = field(default_factory=list)
    marked: set[str] = field(default_factory=set)  # those of ``facts`` whose mark is all that changed
    supersessions: list[Supersession] = field(default_factory=list)
    checked: int = 0
    merged: int = 0
    superseded: int = 0
    reinstated: int = 0
    retracted: int = 0


def merge_duplicates(facts: Sequence[Fact], rules: Rules) -> tuple[dict[str, str], dict[str, Fact]]:
    """Facts saying one thing under synonym predicates: {merged fact: the one it merges into}, and the updated
    survivors (all provenance and documents, the earliest start, the highest confidence)."""
    groups: dict[tuple[str, str, str], list[Fact]] = defaultdict(list)
    for fact in facts:
        canonical = rules.canonical.get(fact.predicate)
        if canonical is not None:
            groups[(fact.subject_id, canonical[0], fact.object_id)].append(fact)
    merged_into: dict[str, str] = {}
    survivors: dict[str, Fact] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        members.sort(key=lambda f: (rules.canonical[f.predicate][1], f.id))
        head = members[0]
        starts = [f.valid_from for f in members if f.valid_from is not None]
        survivors[head.id] = head.model_copy(update={
            "provenance": sorted({u for f in members for u in f.provenance}),
            "document_ids": sorted({d for f in members for d in f.document_ids}),
            "valid_from": min(starts) if starts else None,
            "confidence": max(f.confidence for f in members),
        })  # fmt: skip
        merged_into.update((f.id, head.id) for f in members[1:])
    return merged_into, survivors


class _Facts:
    """The facts being reconsolidated, with what the rules look up about them."""

    def __init__(self, facts: Sequence[Fact], rules: Rules, entities: Mapping[str, EntityInfo]) -> None:
        self.rules = rules
        self.entities = entities
        self.merged_into, survivors = merge_duplicates(facts, rules)
        self.live = {f.id: survivors.get(f.id, f) for f in facts if f.id not in self.merged_into}
        # Subjects with a negation or an end verb among their facts (any of their facts may end), and their facts.
        self.changing = {f.subject_id for f in self.live.values()
                         if f.predicate.startswith("not_") or rules.end_head(f.predicate)}  # fmt: skip
        self.of_changing = [f for f in self.live.values() if f.subject_id in self.changing] if self.changing else []
        self._kinds: dict[tuple[str, str | None], str | None] = {}

    def kind(self, entity_id: str, name: str | None) -> str | None:
        key = (entity_id, name)  # asked for most facts, of far fewer entities
        if key not in self._kinds:
            self._kinds[key] = value_class(name, (entity := self.entities.get(entity_id)) and entity.type)
        return self._kinds[key]

    def key(self, entity_id: str, name: str | None) -> str:
        entity = self.entities.get(entity_id)
        return entity.key if entity else normalise_key(name or entity_id)

    def place(self, fact: Fact) -> Place | None:
        """(slot key, value, single-valued, rule) of a fact, or None when no slot tracks it."""
        slot = self.rules.slot(fact.predicate)
        if slot is None:
            return None
        if self.kind(fact.object_id, fact.object_name) is None:
            # a count or amount: the subject's newer one of the same unit, under the same predicate, replaces it
            unit = self.rules.quantity_unit(fact.object_name) if slot[0] == "subject" else None
            if unit is None:
                return None
            return (fact.subject_id, f"quantity:{fact.predicate}:{unit}", "quantity"), fact.object_id, True, \
                f"quantity:{unit}"
        keyed, name, family = slot
        key, value = (fact.subject_id, fact.object_id) if keyed == "subject" else (fact.object_id, fact.subject_id)
        kind = self.kind(value, fact.object_name if keyed == "subject" else fact.subject_name)
        if kind is None or (not family and not self.rules.cue_changes(fact.predicate, kind)):
            return None  # many values at once ("have", "get"): nothing replaces anything
        # Common nouns ("flat", "yard") are too vague to rival each other unless a turn says it changed.
        single = family and kind == "named"
        return (key, name, kind), value, single, name if single else "change_cue"

    def matching(self, fact: Fact, candidates: Sequence[Fact]) -> list[Fact]:
        """Candidates with the same object, else with the one object the fact's object may refer to."""
        exact = [c for c in candidates if c.object_id == fact.object_id]
        if exact:
            return exact
        key = self.key(fact.object_id, fact.object_name)
        hits = [c for c in candidates if same_referent(key, self.key(c.object_id, c.object_name))]
        return hits if len({c.object_id for c in hits}) == 1 else []


@dataclass
class Layout:
    """What planning facts starts from, worked out once (a caller reads units in between): slots and readers."""

    view: _Facts
    placed: dict[str, Place | None]
    members: dict[tuple[str, str, str], int]  # facts per slot
    rivalled: set[str]  # in a slot with a rival, of a subject with a negation or an end verb, naming a year

    @classmethod
    def of(cls, facts: Sequence[Fact], rules: Rules, entities: Mapping[str, EntityInfo]) -> Layout:
        view = _Facts(facts, rules, entities)
        placed = {fid: view.place(f) for fid, f in view.live.items()}
        members: dict[tuple[str, str, str], int] = defaultdict(int)
        for place in placed.values():
            if place is not None:
                members[place[0]] += 1
        rivalled = {fid for fid, place in placed.items() if place is not None and members[place[0]] > 1}
        rivalled |= {f.id for f in view.of_changing} | {f.id for f in view.live.values() if _YEAR.search(f.sentence)}
        return cls(view, placed, members, rivalled)

    def linked(self, existing: Sequence[Supersession] = (), adjudicated: Collection[tuple[str, str]] = ()) -> set[str]:
        # live facts on either side of a SUPERSEDED_BY edge or of an adjudicated pair
        linked = {i for s in existing for i in (s.fact_id, s.by_id)} | {i for pair in adjudicated for i in pair}
        return linked & self.view.live.keys()

    def units(self, existing: Sequence[Supersession] = ()) -> set[str]:
        # what the plan reads: the units of the rivalled and linked facts (never as other facts cite them)
        return {u for fid in self.rivalled | self.linked(existing) for u in self.view.live[fid].provenance}


def units_needed(facts: Sequence[Fact], rules: Rules, entities: Mapping[str, EntityInfo],
                 existing: Sequence[Supersession] = ()) -> set[str]:  # fmt: skip
    """The passages and turns whose dates and texts the plan can use (``Layout.units``)."""
    return Layout.of(facts, rules, entities).units(existing)


def plan(facts: Sequence[Fact], *, units: Mapping[str, UnitInfo], entities: Mapping[str, EntityInfo],
         existing: Sequence[Supersession], rules: Rules, now: datetime, digest: str,
         adjudicated: Collection[tuple[str, str]] = (), pending: Collection[str] = (),
         layout: Layout | None = None) -> Plan:  # fmt: skip
    """The plan for a set of facts closed under the rules (every fact of their subjects, and of the posts
    among them): the facts whose state changes and the SUPERSEDED_BY edges to write or retract.

    ``existing``: the SUPERSEDED_BY edges leaving these facts. ``now``: the run's time (``expired_at``).
    ``units``: passages and turns by id; the plan reads those of rivalled and linked facts (``layout``:
    ``Layout.of(facts, rules, entities)``, if the caller has it). ``adjudicated``: (old, new) fact pairs an
    adjudicator judged "the new one replaced the old one"; ``pending``: facts left without the run's mark, so the
    next run looks at them again (pairs still to ask). Deterministic: the same facts, edges and answers give the
    same plan, whatever order they come in."""
    layout = layout or Layout.of(facts, rules, entities)
    view, placed = layout.view, layout.placed
    linked = layout.linked(existing, adjudicated)
    readers = layout.rivalled | linked
    quiet = _quiet(layout, units, linked)
    times = {fid: fact_time(f, units if fid in readers else _NO_UNITS, rules.is_change)
             for fid, f in view.live.items() if fid not in quiet}  # fmt: skip
    own_ends = {fid: t.end for fid, t in times.items() if t.end is not None}
    endings: dict[str, list[Ending]] = defaultdict(list)

    def note(found: Mapping[str, Ending]) -> None:
        for fact_id, ending in found.items():
            endings[fact_id].append(ending)
    slots: dict[tuple[str, str, str], list[Entry]] = defaultdict(list)
    slot_rule: dict[tuple[str, str, str], str] = {}
    for fact_id, place in placed.items():
        if place is not None and fact_id not in quiet:
            key, value, single, rule = place
            slots[key].extend(entries(fact_id, value, times[fact_id], True if single else None))
            slot_rule[key] = rule
    for key, items in sorted(slots.items()):
        if len({e.value for e in items}) > 1:
            note(walk(items, slot_rule[key], own_ends))
    for items in _negation_slots(view, times).values():
        note(walk(items, "negation", own_ends))
    note(_end_verbs(view, times))
    note(_adjudicated(view, times, endings, adjudicated, existing))
    return _assemble(facts, view, times, endings, existing, now, digest, frozenset(pending), quiet)


def _quiet(layout: Layout, units: Mapping[str, UnitInfo], linked: set[str]) -> set[str]:
    """Facts no rule can change (most): in no slot, alone in theirs, or in one only a change cue could change with
    no dialogue turn to say one; of a subject with no negation or end verb; not merged, linked to no fact, holding
    (no end, not retired), with no date range in their sentence or units. A full plan would only mark them."""
    view, placed, members = layout.view, layout.placed, layout.members
    may_end: set[tuple[str, str, str]] = set()  # slots of one-at-a-time values, or with a turn that may say a cue
    for fid in layout.rivalled:
        if (place := placed[fid]) is not None and members[place[0]] > 1 and (place[2] or any(
                units[u].turn for u in view.live[fid].provenance if u in units)):  # fmt: skip
            may_end.add(place[0])
    linked = linked | set(view.merged_into.values())
    quiet = set()
    for fid, fact in view.live.items():
        if fid in linked or fact.valid_to is not None or fact.expired_at is not None:
            continue
        if fid not in layout.rivalled:  # alone in its slot, of a subject that nothing ends, naming no year
            quiet.add(fid)
            continue
        place = placed[fid]
        if fact.subject_id in view.changing or (place is not None and place[0] in may_end):
            continue
        if _YEAR.search(fact.sentence) or any(_YEAR.search(units[u].text) for u in fact.provenance if u in units):
            time = fact_time(fact, units, view.rules.is_change)  # a number, or a date that states no range?
            if time.start != fact.valid_from or time.end is not None:
                continue
        quiet.add(fid)
    return quiet


def replaces(old: FactTime, new: FactTime) -> bool:
    """Whether ``new`` may have replaced ``old``: it started after ``old`` was last said (a value said again
    later holds again) and before ``old`` ended by itself (an explicit range)."""
    if old.last is None or new.start is None or new.start <= old.last:
        return False
    return old.end is None or old.end > new.start


def _adjudicated(view: _Facts, times: Mapping[str, FactTime], endings: Mapping[str, list[Ending]],
                 pairs: Collection[tuple[str, str]], links: Sequence[Supersession]) -> dict[str, Ending]:  # fmt: skip
    """The adjudicator's "replaced" pairs, and its links already stored (they stand until the pair stops being
    a conflict: not asked again), where the rules decided neither fact. Each old fact ends at its earliest."""
    stored = {(s.fact_id, s.by_id) for s in links if s.rule == ADJUDICATOR_RULE and s.retracted_at is None}
    fitting: list[tuple[datetime, str, str]] = []
    for old, new in {*pairs, *stored}:
        if old not in view.live or new not in view.live or old in endings or new in endings:
            continue  # merged, gone, or decided by a rule: the rules come first
        start = times[new].start
        if start is not None and replaces(times[old], times[new]):
            fitting.append((start, new, old))
    found: dict[str, Ending] = {}
    for start, new, old in sorted(fitting):
        if old not in found:
            units = {*view.live[old].provenance, *view.live[new].provenance}
            found[old] = Ending(start, (new,), ADJUDICATOR_RULE, tuple(sorted(units)))
    return found


def _negation_slots(view: _Facts, times: Mapping[str, FactTime]) -> dict[tuple[str, str, str], list[Entry]]:
    """One slot per negated fact and the positive fact it denies: "+" and "-" alternate, the later winning."""
    positives: dict[tuple[str, str], list[Fact]] = defaultdict(list)
    for fact in view.of_changing:  # a negated fact's subject is one of them
        if not fact.predicate.startswith("not_"):
            positives[(fact.subject_id, fact.predicate)].append(fact)
    members: dict[tuple[str, str, str], dict[str, str]] = defaultdict(dict)
    for fact in view.of_changing:
        if fact.predicate.startswith("not_"):
            base = fact.predicate.removeprefix("not_")
            for positive in view.matching(fact, positives.get((fact.subject_id, base), [])):
                slot = members[(fact.subject_id, base, positive.object_id)]
                slot[fact.id], slot[positive.id] = "-", "+"
    return {key: [e for fid, sign in sorted(slot.items()) for e in entries(fid, sign, times[fid], True)]
            for key, slot in members.items()}  # fmt: skip


def _end_verbs(view: _Facts, times: Mapping[str, FactTime]) -> dict[str, Ending]:
    rules = view.rules
    states: dict[str, list[Fact]] = defaultdict(list)
    for fact in view.of_changing:  # an end verb's subject is one of them
        if rules.is_state(fact.predicate):
            states[fact.subject_id].append(fact)
    found: dict[str, Ending] = {}
    for fact in sorted(view.of_changing, key=lambda f: f.id):
        head = rules.end_head(fact.predicate)
        if head is None or not (said := times[fact.id].said):
            continue
        held = [s for s in states.get(fact.subject_id, []) if s.id != fact.id]
        named = view.kind(fact.object_id, fact.object_name) is not None
        targets = view.matching(fact, held) if named else []
        if not targets and head in rules.config.end_families:
            families = rules.config.end_families[head]
            targets = [s for s in held if rules.subject_family.get(s.predicate) in families]
        first = said[0]
        for target in targets:
            time = times[target.id]
            last = time.last_apart_from(first.units)
            if time.start is None or time.start > first.date or (last is not None and last >= first.date):
                continue  # said after the end: it holds again
            if time.end is not None and time.end <= first.date:
                continue  # it had ended by itself
            earlier = found.get(target.id)
            if earlier is None or first.date < earlier.date:
                found[target.id] = Ending(first.date, (fact.id,), "end_verb", first.units)
            elif first.date == earlier.date:  # two end facts of one date ("divorced him in 2019"): both say it
                found[target.id] = Ending(first.date, tuple(sorted({*earlier.by, fact.id})), "end_verb",
                                          tuple(sorted({*earlier.evidence, *first.units})))  # fmt: skip
    return found


def _links(endings: Sequence[Ending]) -> dict[str, Ending]:
    """The earliest ending by each superseding fact."""
    out: dict[str, Ending] = {}
    for ending in sorted(endings, key=lambda e: (e.date, e.rule, e.by)):
        for by in ending.by:
            out.setdefault(by, ending)
    return out


def _assemble(facts: Sequence[Fact], view: _Facts, times: Mapping[str, FactTime],
              endings: Mapping[str, list[Ending]], existing: Sequence[Supersession], now: datetime,
              digest: str, pending: Collection[str] = (), quiet: Collection[str] = ()) -> Plan:  # fmt: skip
    active = {(s.fact_id, s.by_id): s for s in existing if s.retracted_at is None}
    stored = {(s.fact_id, s.by_id): s for s in existing}
    out = Plan(checked=len(facts))
    linked = {source for source, _ in active}
    wanted: dict[tuple[str, str], Supersession] = {}
    for fact in sorted(facts, key=lambda f: f.id):
        if fact.id in quiet:  # no rule touches it: it keeps its state and takes the run's mark
            mark = None if fact.id in pending else digest
            if fact.reconsolidated != mark:
                out.facts.append(fact_marked(fact, mark))
                out.marked.add(fact.id)
            continue
        links: dict[str, tuple[str, datetime | None, tuple[str, ...]]] = {}
        if fact.id in view.merged_into:
            current = fact
            links[view.merged_into[fact.id]] = ("duplicate", None, tuple(fact.provenance))
            valid_from, valid_to = fact.valid_from, None
        else:
            current, time = view.live[fact.id], times[fact.id]
            for by, ending in _links(endings.get(fact.id, [])).items():
                links[by] = (ending.rule, ending.date, ending.evidence)
            ends = [e.date for e in endings.get(fact.id, [])] + ([time.end] if time.end is not None else [])
            valid_from, valid_to = time.start or current.valid_from, min(ends, default=None)
            if valid_from is not None and valid_to is not None and valid_to < valid_from:
                valid_to = valid_from  # never an interval that ends before it starts (the records refuse one)
        expired_at = None
        if links:
            prior = [active[(fact.id, by)].expired_at for by in links if (fact.id, by) in active]
            expired_at = fact.expired_at or min(prior, default=now)
        for by, (rule, until, evidence) in links.items():
            old = active.get((fact.id, by))
            wanted[(fact.id, by)] = Supersession(
                namespace=fact.namespace, fact_id=fact.id, by_id=by, rule=rule, evidence=sorted(evidence),
                valid_to=until, expired_at=old.expired_at if old is not None else now,
            )  # fmt: skip
        mark = None if fact.id in pending else digest  # unmarked: the next run checks it again
        new = current.model_copy(update={"valid_from": valid_from, "valid_to": valid_to, "expired_at": expired_at,
                                         "reconsolidated": mark})  # fmt: skip
        if _state(new) != _state(fact):
            out.facts.append(new)
        if fact.id in view.merged_into:
            out.merged += (fact.id, view.merged_into[fact.id]) not in active
        elif links and fact.expired_at is None and fact.id not in linked:
            out.superseded += 1
        elif not links and fact.expired_at is not None:
            out.reinstated += 1
    for key, edge in sorted(active.items()):
        if key not in wanted:
            out.supersessions.append(edge.model_copy(update={"retracted_at": now}))
            out.retracted += 1
    out.supersessions += [edge for key, edge in sorted(wanted.items()) if stored.get(key) != edge]
    return out
