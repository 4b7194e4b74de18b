"""The pure core of reconsolidation on hand-made facts: the walk, the rules, ranges, learning, determinism."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from graphmem.records import Fact, Supersession
from graphmem.resolve import entity_id, normalise_key
from graphmem.temporal.learn import learn_single_valued
from graphmem.temporal.reconsolidate import EntityInfo, Plan, plan, units_needed
from graphmem.temporal.rules import ReconsolidationConfig, Rules, date_range, same_referent, value_class
from graphmem.temporal.timeline import Entry, UnitInfo, walk

NOW = datetime(2025, 1, 1, tzinfo=UTC)
RULES = Rules(ReconsolidationConfig())


def d(year: int, month: int = 1, day: int = 1) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def ent(name: str, kind: str = "GPE") -> EntityInfo:
    key = normalise_key(name)
    return EntityInfo(entity_id(key), name, key, kind)


def fact(subject: str, predicate: str, obj: str, start: datetime | None, *units: str, sentence: str = "") -> Fact:
    s, o = ent(subject), ent(obj)
    return Fact(id=f"f:{subject}|{predicate}|{obj}", subject_id=s.id, object_id=o.id, subject_name=subject,
                object_name=obj, predicate=predicate, valid_from=start, provenance=list(units) or [f"u:{obj}"],
                document_ids=["doc"], sentence=sentence)  # fmt: skip


def run(facts: list[Fact], units: dict[str, UnitInfo] | None = None, existing: list[Supersession] | None = None,
        now: datetime = NOW) -> Plan:  # fmt: skip
    entities = {e.id: e for f in facts for e in (ent(str(f.subject_name)), ent(str(f.object_name)))}
    return plan(facts, units=units or {}, entities=entities, existing=existing or [], rules=RULES, now=now,
                digest="test")  # fmt: skip


def links(result: Plan) -> set[tuple[str, str, str]]:
    return {(s.fact_id, s.by_id, s.rule) for s in result.supersessions if s.retracted_at is None}


def by_id(result: Plan) -> dict[str, Fact]:
    return {f.id: f for f in result.facts}


def test_walk_ties_reassertion_and_own_ends() -> None:
    e = [Entry(d(2015), "brill", "a", ("u1",), True), Entry(d(2018), "oslo", "b", ("u2",), True),
         Entry(d(2018), "bergen", "c", ("u3",), True), Entry(d(2022), "brill", "a", ("u4",), True)]  # fmt: skip
    ended = walk(e, "r", {})
    # a was ended in 2018 by both values stated then, then said again: it holds; b and c end in 2022
    assert set(ended) == {"b", "c"}
    assert ended["b"].date == d(2022) and ended["b"].by == ("a",) and ended["b"].evidence == ("u4",)
    # a fact that ended by itself before the new value came is not superseded
    assert walk(e[:2], "r", {"a": d(2016)}) == {}
    # non-exclusive statements add holders; only an exclusive one ends them
    free = [Entry(d(2015), "x", "a", (), False), Entry(d(2016), "y", "b", (), False),
            Entry(d(2017), "z", "c", (), True)]  # fmt: skip
    assert set(walk(free, "r", {})) == {"a", "b"}


def test_slot_supersession_is_order_free_and_deterministic() -> None:
    facts = [fact("Ana", "live_in", "Brill", d(2015)), fact("Ana", "move_to", "Oslo", d(2018)),
             fact("Ana", "move_to", "Bergen", d(2021)), fact("Ben", "live_in", "Brill", d(2016))]  # fmt: skip
    results = [run(list(order)) for order in itertools.permutations(facts)]
    first = results[0]
    assert all((r.facts, r.supersessions) == (first.facts, first.supersessions) for r in results)
    assert links(first) == {("f:Ana|live_in|Brill", "f:Ana|move_to|Oslo", "single_valued:residence"),
                            ("f:Ana|move_to|Oslo", "f:Ana|move_to|Bergen", "single_valued:residence")}  # fmt: skip
    out = by_id(first)
    assert (out["f:Ana|live_in|Brill"].valid_to, out["f:Ana|live_in|Brill"].expired_at) == (d(2018), NOW)
    assert out["f:Ben|live_in|Brill"].valid_to is None and first.superseded == 2
    assert all(f.reconsolidated == "test" for f in first.facts)


def test_planning_again_from_the_planned_facts_changes_nothing() -> None:
    first = run([fact("Ana", "live_in", "Brill", d(2015)), fact("Ana", "move_to", "Oslo", d(2018))])
    again = run(first.facts, existing=first.supersessions, now=d(2030))
    assert (again.facts, again.supersessions, again.superseded) == ([], [], 0)


def test_a_new_value_in_between_retracts_the_old_link() -> None:
    brill, bergen = fact("Ana", "live_in", "Brill", d(2015)), fact("Ana", "move_to", "Bergen", d(2021))
    first = run([brill, bergen])
    stored = {f.id: f for f in first.facts}
    second = run([*stored.values(), fact("Ana", "move_to", "Oslo", d(2018))], existing=first.supersessions,
                 now=d(2026))  # fmt: skip
    retracted = [s for s in second.supersessions if s.retracted_at is not None]
    assert [(s.fact_id, s.by_id, s.retracted_at) for s in retracted] == [(brill.id, bergen.id, d(2026))]
    # Brill keeps the time it was first retired; only its end moves
    assert by_id(second)[brill.id].expired_at == NOW and by_id(second)[brill.id].valid_to == d(2018)
    assert second.retracted == 1 and second.superseded == 1


def test_synonyms_merge_into_the_canonical_predicate() -> None:
    at = fact("Dev", "work_at", "Tidewater", d(2019), "u1")
    works_for = fact("Dev", "work_for", "Tidewater", d(2018), "u2")
    result = run([works_for, at])
    out = by_id(result)
    assert out[at.id].provenance == ["u1", "u2"] and out[at.id].valid_from == d(2018)
    assert out[works_for.id].expired_at == NOW and out[works_for.id].valid_to is None
    assert links(result) == {(works_for.id, at.id, "duplicate")} and result.merged == 1


def test_posts_have_one_holder_at_a_time() -> None:
    ana, ben = fact("Ana", "ceo_of", "Tidewater", d(2015)), fact("Ben", "ceo_of", "Tidewater", d(2020))
    other = fact("Ana", "ceo_of", "Orrin", d(2021))  # a post per company: Ana's two posts do not rival
    result = run([ana, ben, other])
    assert links(result) == {(ana.id, ben.id, "single_valued:leader")}


def test_cues_negations_and_end_verbs_need_their_turns() -> None:
    volvo, tesla = fact("Ana", "drive", "Volvo", d(2020), "t1"), fact("Ana", "drive", "Tesla", d(2023), "t2")
    units = {"t1": UnitInfo("t1", d(2020), "I drive a Volvo.", True),
             "t2": UnitInfo("t2", d(2023), "I now drive a Tesla.", True)}  # fmt: skip
    assert links(run([volvo, tesla], units)) == {(volvo.id, tesla.id, "change_cue")}
    assert links(run([volvo, tesla])) == set()  # without the turn's text, no cue: both hold
    work = fact("Ana", "work_at", "Brindlemoss Institute", d(2021))
    negated = fact("Ana", "not_work_at", "institute", d(2022))
    assert links(run([work, negated])) == {(work.id, negated.id, "negation")}
    left = fact("Ana", "leave", "Brindlemoss", d(2023))
    assert links(run([work, left])) == {(work.id, left.id, "end_verb")}
    wife, split = fact("Ana", "wife", "Mia", d(2010)), fact("Ana", "break_up_in", "2019", d(2019))
    # "break_up" with no partner named ends the whole partner and spouse families
    assert links(run([wife, split])) == {(wife.id, split.id, "end_verb")}


def test_end_verbs_ignore_what_was_said_after_them() -> None:
    work, quit_ = fact("Ana", "work_at", "Orrin", d(2021)), fact("Ana", "quit", "Orrin", d(2020))
    assert links(run([work, quit_])) == set()


def test_an_end_verb_ends_the_state_its_own_turn_names() -> None:
    text = "I left Orrin, where I worked as a welder."
    units = {"t1": UnitInfo("t1", d(2022), text, True)}
    work, left = fact("Ana", "work_at", "Orrin", d(2022), "t1"), fact("Ana", "leave", "Orrin", d(2022), "t1")
    result = run([work, left], units)
    assert links(result) == {(work.id, left.id, "end_verb")}
    assert by_id(result)[work.id].valid_to == d(2022)  # its start is unknown (the turn's date): an empty interval


def test_what_a_cue_can_change() -> None:
    def cued(predicate: str, old: str, new: str) -> bool:
        a, b = fact("Ana", predicate, old, d(2020), "t1"), fact("Ana", predicate, new, d(2023), "t2")
        units = {"t1": UnitInfo("t1", d(2020), f"x {old}.", True), "t2": UnitInfo("t2", d(2023), f"Now x {new}.", True)}
        return bool(links(run([a, b], units)))

    assert cued("live_in", "flat", "house")  # a family's common nouns change under a cue
    assert cued("is_a", "teacher", "nurse") and cued("drive", "Volvo", "Tesla")
    assert not cued("have", "Volvo", "Tesla") and not cued("collect", "stamps", "coins")
    assert not RULES.is_change("I've been using it for nine months now.") and not RULES.is_change("Right now I rest.")
    assert not RULES.is_change("I just got back from Oslo.") and RULES.is_change("I just got a job at Orrin.")


def test_additive_words_cancel_a_change_cue() -> None:
    volvo, tesla = fact("Ana", "drive", "Volvo", d(2020), "t1"), fact("Ana", "drive", "Tesla", d(2023), "t2")
    for said, changed in (("I now also drive a Tesla.", False), ("I still drive the Volvo, and now a Tesla.", False),
                          ("These days I drive a Tesla.", True)):  # fmt: skip
        units = {"t1": UnitInfo("t1", d(2020), "I drive a Volvo.", True), "t2": UnitInfo("t2", d(2023), said, True)}
        assert bool(links(run([volvo, tesla], units))) == changed, said


def test_explicit_ranges_bound_a_fact() -> None:
    units = {"u1": UnitInfo("u1", d(2020), "Ivy worked at Orrin from 2010 to 2015.")}
    worked = fact("Ivy", "work_at", "Orrin", d(2020), "u1", sentence="Ivy worked at Orrin from 2010 to 2015.")
    out = by_id(run([worked], units))[worked.id]
    assert (out.valid_from, out.valid_to, out.expired_at) == (d(2010), d(2015), None)


@pytest.mark.parametrize(("text", "expected"), [
    ("She worked there from 2010 to 2015.", (d(2010), d(2015))),
    ("from March 2019 until June 2020", (d(2019, 3), d(2020, 6))),
    ("He lived in Brill between 2012 and 2018.", (d(2012), d(2018))),
    ("the mill (1791–1931)", (d(1791), d(1931))),
    ("It ran until 1931.", (None, d(1931))),
    ("She moved from Brill to Oslo.", None),
    ("from 2015 to 2010", None),
])  # fmt: skip
def test_date_ranges(text: str, expected: tuple[datetime | None, datetime] | None) -> None:
    assert date_range([text]) == expected


def test_two_different_ranges_are_no_range() -> None:
    assert date_range(["from 2010 to 2012", "from 2014 to 2016"]) is None


def test_referents_values_and_end_heads() -> None:
    assert same_referent("institute", "brindlemoss institute") and same_referent("brindlemoss", "brindlemoss institute")
    assert not same_referent("new institute", "brindlemoss institute") and not same_referent("oslo", "bergen")
    assert value_class("Brill", "ORG") == "named" and value_class("flat", "THING") == "generic"
    assert value_class("September", "DATE") is None and value_class("2019", "CARDINAL") is None
    assert RULES.end_head("quit_at") == "quit" and RULES.end_head("leave_for") is None
    assert RULES.slot("live_in") == ("subject", "single_valued:residence", True)
    assert RULES.slot("ceo_of") == ("object", "single_valued:leader", True)
    assert RULES.slot("drive") == ("subject", "change_cue:drive", False) and RULES.slot("not_drive") is None


def test_learning_single_valued_predicates() -> None:
    config = ReconsolidationConfig(learn_min_subjects=3, learn_min_changes=1)

    def rows(predicate: str, same_day: bool) -> list[tuple[str, str, str, datetime | None]]:
        out = [(f"s{i}", predicate, f"o{i}", d(2020)) for i in range(5)]
        return [*out, ("s0", predicate, "o9", d(2020) if same_day else d(2022))]

    kind = lambda entity: "named"  # noqa: E731
    assert learn_single_valued(rows("coach_of", same_day=False), kind, config) == {"coach_of"}
    assert learn_single_valued(rows("coach_of", same_day=True), kind, config) == frozenset()  # two at once
    assert learn_single_valued(rows("is_a", same_day=False), kind, config) == frozenset()
    assert learn_single_valued(rows("live_in", same_day=False), kind, config) == frozenset()  # curated already
    assert learn_single_valued(rows("coach_of", same_day=False), lambda e: None, config) == frozenset()  # dates


def test_digest_follows_the_rules_not_the_batch_sizes() -> None:
    base = ReconsolidationConfig()
    assert base.digest() == ReconsolidationConfig(read_batch=10).digest()
    assert base.digest() != base.digest(frozenset({"coach_of"}))
    assert base.digest() != ReconsolidationConfig(learn_min_subjects=5).digest()


def test_units_are_read_only_where_a_rival_or_a_date_may_matter() -> None:
    alone = fact("Ana", "live_in", "Brill", d(2015), "u1")
    rival = fact("Ana", "move_to", "Oslo", d(2018), "u2")
    dated = fact("Bo", "build", "mill", d(2015), "u3", sentence="Bo built the mill in 1791.")
    entities = {e.id: e for f in (alone, rival, dated) for e in (ent(str(f.subject_name)), ent(str(f.object_name)))}
    assert units_needed([alone], RULES, entities) == set()
    assert units_needed([alone, rival, dated], RULES, entities) == {"u1", "u2", "u3"}
