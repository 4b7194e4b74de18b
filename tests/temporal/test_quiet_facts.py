"""The plan's shortcut for facts no rule can change gives exactly the plan of the full rules, on random histories."""

from __future__ import annotations

import importlib
import itertools
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from graphmem.records import Fact, Supersession
from graphmem.resolve import entity_id, normalise_key
from graphmem.temporal.reconsolidate import EntityInfo, Plan, plan
from graphmem.temporal.rules import ReconsolidationConfig, Rules
from graphmem.temporal.timeline import UnitInfo

RULES = Rules(ReconsolidationConfig())
core = importlib.import_module("graphmem.temporal.reconsolidate")  # the package's attribute of that name is a function
SUBJECTS = ("Ann Vale", "Bo Krell", "Cy Orm")
PREDICATES = ("live_in", "move_to", "work_at", "work_for", "like", "own", "visit", "not_like", "quit", "leave",
              "married_to", "divorce", "read")  # fmt: skip
OBJECTS = (("Brill", "GPE"), ("Oslo", "GPE"), ("Acme Works", "ORG"), ("tea", "THING"), ("car", "THING"),
           ("120 pages", "QUANTITY"), ("Bo Krell", "PERSON"), ("Dunmaren", "GPE"))  # fmt: skip
# histories where only a change cue in a turn can end a value: free predicates, named objects, many turns
CUE_PREDICATES = ("visit", "own", "like", "support", "play")
CUE_OBJECTS = (("Brill", "GPE"), ("Oslo", "GPE"), ("Acme Works", "ORG"), ("Dunmaren", "GPE"))
TEXTS = ("{s} {p} {o}.", "I moved to {o} now.", "From 2010 to 2015 {s} {p} {o}.", "{s} no longer {p} {o}.",
         "Since 2019 {s} {p} {o}. The weather was fine.", "{o} is lovely.")  # fmt: skip


def _entity(name: str, kind: str) -> EntityInfo:
    key = normalise_key(name)
    return EntityInfo(entity_id(key), name, key, kind)


def _history(rng: random.Random, cues: bool = False) -> tuple[list[Fact], dict[str, UnitInfo], dict[str, EntityInfo]]:
    predicates, objects = (CUE_PREDICATES, CUE_OBJECTS) if cues else (PREDICATES, OBJECTS)
    texts = ("Now {s} {p} {o}.", "{s} {p} {o}.", "I {p} {o} now, not before.") if cues else TEXTS
    entities = {e.id: e for e in [_entity(s, "PERSON") for s in SUBJECTS] + [_entity(*o) for o in OBJECTS]}
    units: dict[str, UnitInfo] = {}
    facts: dict[str, Fact] = {}
    start = datetime(2010, 1, 1, tzinfo=UTC)
    for i in range(rng.randrange(4, 30)):
        subject, predicate, (obj, _) = rng.choice(SUBJECTS[:2]), rng.choice(predicates), rng.choice(objects)
        s, o = _entity(subject, "PERSON"), _entity(obj, "THING")
        said = rng.choice(texts).format(s=subject, p=predicate.replace("_", " "), o=obj)
        provenance = []
        for j in range(rng.randrange(1, 3)):
            unit = f"u{i}.{j}" if rng.random() < 0.8 else rng.choice([*units, f"u{i}.{j}"])
            if unit not in units:
                when = start + timedelta(days=rng.randrange(5000)) if rng.random() < 0.9 else None
                units[unit] = UnitInfo(unit, when, said if rng.random() < 0.8 else rng.choice(texts).format(
                    s=subject, p="likes", o=obj), turn=rng.random() < (0.7 if cues else 0.4))  # fmt: skip
            provenance.append(unit)
        fid = f"f:{s.id}|{predicate}|{o.id}"
        valid_from = start + timedelta(days=rng.randrange(5000)) if rng.random() < 0.9 else None
        facts[fid] = Fact(id=fid, subject_id=s.id, object_id=o.id, subject_name=subject, object_name=obj,
                          predicate=predicate, valid_from=valid_from, provenance=sorted(set(provenance)),
                          document_ids=["doc"], sentence=said)  # fmt: skip
    known = {u: units[u] for u in units if rng.random() < 0.85}  # some units are not read, as in a run
    return list(facts.values()), known, entities


def _dump(result: Plan) -> tuple[Any, ...]:
    return ([f.model_dump() for f in result.facts], [s.model_dump() for s in result.supersessions], result.checked,
            result.merged, result.superseded, result.reinstated, result.retracted)  # fmt: skip


def _plans(facts: list[Fact], units: dict[str, UnitInfo], entities: dict[str, EntityInfo],
           existing: list[Supersession], now: datetime,
           monkeypatch: pytest.MonkeyPatch) -> tuple[Plan, Plan]:  # fmt: skip
    kwargs: dict[str, Any] = {"units": units, "entities": entities, "existing": existing, "rules": RULES, "now": now,
                              "digest": "test"}  # fmt: skip
    quick = plan(facts, **kwargs)
    with monkeypatch.context() as m:
        m.setattr(core, "_quiet", lambda *args: set())
        full = plan(facts, **kwargs)
    return quick, full


@pytest.mark.parametrize("cues", [False, True])
@pytest.mark.parametrize("seed", range(40))
def test_the_shortcut_plans_as_the_full_rules_do(seed: int, cues: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    facts, units, entities = _history(rng, cues)
    first, full = _plans(facts, units, entities, [], datetime(2030, 1, 1, tzinfo=UTC), monkeypatch)
    assert _dump(first) == _dump(full)
    # a second run over the written state, with some facts said again later: links exist and may be retracted
    stored = {f.id: f for f in facts} | {f.id: f for f in first.facts}
    later = [f.model_copy(update={"valid_from": None}) if rng.random() < 0.2 else f for f in stored.values()]
    again, full_again = _plans(later, units, entities, first.supersessions, datetime(2031, 1, 1, tzinfo=UTC),
                               monkeypatch)  # fmt: skip
    assert _dump(again) == _dump(full_again)
    assert first.marked <= {f.id for f in first.facts}


def test_random_histories_exercise_both_paths() -> None:
    """The comparison above means something only if both kinds of fact occur in the histories it draws."""
    quiet = planned = 0
    for seed, cues in itertools.product(range(40), (False, True)):
        facts, units, entities = _history(random.Random(seed), cues)
        result = plan(facts, units=units, entities=entities, existing=[], rules=RULES,
                      now=datetime(2030, 1, 1, tzinfo=UTC), digest="test")  # fmt: skip
        quiet += len(result.marked)
        planned += len(result.facts) - len(result.marked)
    assert quiet > 50 and planned > 50, (quiet, planned)
