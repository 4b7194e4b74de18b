"""The temporal scenario suite: real ingestion (spaCy extractor, MiniLM embedder), then reconsolidation,
on both stores, checking exact validity intervals and SUPERSEDED_BY links.

Predicates the extractor emits for these sentences (checked by the scenarios themselves): "lives in" ->
live_in, "moved to" -> move_to, "works at/for" -> work_at/work_for, "quit X" -> quit, "left X" -> leave,
"drive" -> drive, "no longer work at" -> not_work_at, "don't live in ... anymore" -> not_live_in,
"is the CEO/mayor of" -> ceo_of/mayor_of, "My girlfriend/boyfriend is X" -> girlfriend/boyfriend,
"broke up in September" -> break_up_in (a DATE object), "married/divorced X" -> marry/divorce
(+ marry_in/divorce_in the year), "I am (now) a nurse" -> is_a, "play for" -> play_for.
Dialogue turns are ME's ("I" resolves to the speaker); every run retires at NOW.
"""

from __future__ import annotations

import pytest
from temporal_kit import ME, NOW, Scenario, Step, chat, day, doc, find, ingest, links

from graphmem.memory import Memory

A = "Ana Lund"

SCENARIOS = [
    Scenario("move between documents", [Step([
        doc("d1", "2019-03-01", "Ana Lund lives in Brill."), doc("d2", "2021-06-01", "Ana Lund moved to Oslo.")])],
        {(A, "live_in", "Brill"): ("2019-03-01", "2021-06-01", True),
         (A, "move_to", "Oslo"): ("2021-06-01", None, False)},
        {((A, "live_in", "Brill"), (A, "move_to", "Oslo"), "single_valued:residence")}),
    Scenario("move dated in the text", [Step([
        doc("d1", "2018-05-01", "Bo Ek lives in Brill."),
        doc("d2", "2023-01-10", "Bo Ek moved to Oslo in March 2021.")])],
        {("Bo Ek", "live_in", "Brill"): ("2018-05-01", "2021-03-01", True),
         ("Bo Ek", "move_to", "Oslo"): ("2021-03-01", None, False)},
        {(("Bo Ek", "live_in", "Brill"), ("Bo Ek", "move_to", "Oslo"), "single_valued:residence")}),
    Scenario("a chain of moves links each value to the next", [Step([
        doc("d1", "2015-01-01", "Cy Ross lives in Brill."), doc("d2", "2018-01-01", "Cy Ross moved to Oslo."),
        doc("d3", "2021-01-01", "Cy Ross moved to Bergen.")])],
        {("Cy Ross", "live_in", "Brill"): ("2015-01-01", "2018-01-01", True),
         ("Cy Ross", "move_to", "Oslo"): ("2018-01-01", "2021-01-01", True),
         ("Cy Ross", "move_to", "Bergen"): ("2021-01-01", None, False)},
        {(("Cy Ross", "live_in", "Brill"), ("Cy Ross", "move_to", "Oslo"), "single_valued:residence"),
         (("Cy Ross", "move_to", "Oslo"), ("Cy Ross", "move_to", "Bergen"), "single_valued:residence")}),
    Scenario("moving back: the latest statement wins", [Step([
        doc("d1", "2015-01-01", "Di Vale lives in Brill."), doc("d2", "2018-01-01", "Di Vale moved to Oslo."),
        doc("d3", "2022-01-01", "Di Vale lives in Brill again.")])],
        {("Di Vale", "live_in", "Brill"): ("2015-01-01", None, False),
         ("Di Vale", "move_to", "Oslo"): ("2018-01-01", "2022-01-01", True)},
        {(("Di Vale", "move_to", "Oslo"), ("Di Vale", "live_in", "Brill"), "single_valued:residence")}),
    Scenario("a move in dialogue, dated relative to the session", [Step([
        chat("c1", ("2022-01-05", "I live in Bergen."), ("2022-06-10", "I moved to Stavanger last month."))])],
        {(ME, "live_in", "Bergen"): ("2022-01-05", "2022-05-01", True),
         (ME, "move_to", "Stavanger"): ("2022-05-01", None, False)},
        {((ME, "live_in", "Bergen"), (ME, "move_to", "Stavanger"), "single_valued:residence")}),
    Scenario("job change", [Step([
        doc("d1", "2018-02-01", "Cara Moss works at Orrin Shipworks."),
        doc("d2", "2021-09-01", "Cara Moss works at Tidewater Labs.")])],
        {("Cara Moss", "work_at", "Orrin Shipworks"): ("2018-02-01", "2021-09-01", True),
         ("Cara Moss", "work_at", "Tidewater Labs"): ("2021-09-01", None, False)},
        {(("Cara Moss", "work_at", "Orrin Shipworks"), ("Cara Moss", "work_at", "Tidewater Labs"),
          "single_valued:employer")}),
    Scenario("predicate synonyms merge into one fact", [Step([
        doc("d1", "2019-02-01", "Dev Patel works at Tidewater Labs."),
        doc("d2", "2020-05-01", "Dev Patel works for Tidewater Labs.")])],
        {("Dev Patel", "work_at", "Tidewater Labs"): ("2019-02-01", None, False),
         ("Dev Patel", "work_for", "Tidewater Labs"): ("2020-05-01", None, True)},
        {(("Dev Patel", "work_for", "Tidewater Labs"), ("Dev Patel", "work_at", "Tidewater Labs"), "duplicate")}),
    Scenario("quitting a job, said in dialogue", [Step([
        chat("c1", ("2021-03-01", "I work at Orrin Shipworks."), ("2022-04-15", "I quit Orrin Shipworks."))])],
        {(ME, "work_at", "Orrin Shipworks"): ("2021-03-01", "2022-04-15", True)},
        {((ME, "work_at", "Orrin Shipworks"), (ME, "quit", "Orrin Shipworks"), "end_verb")}),
    Scenario("'now' marks a change of any predicate", [Step([
        chat("c1", ("2020-05-01", "I drive a Volvo."), ("2023-02-01", "I now drive a Tesla."))])],
        {(ME, "drive", "Volvo"): ("2020-05-01", "2023-02-01", True),
         (ME, "drive", "Tesla"): ("2023-02-01", None, False)},
        {((ME, "drive", "Volvo"), (ME, "drive", "Tesla"), "change_cue")}),
    Scenario("without a cue, two values of a free predicate coexist", [Step([
        chat("c1", ("2020-05-01", "I drive a Volvo."), ("2023-02-01", "I drive a Tesla."))])],
        {(ME, "drive", "Volvo"): ("2020-05-01", None, False), (ME, "drive", "Tesla"): ("2023-02-01", None, False)}),
    Scenario("'no longer' negates, matching 'the institute' to its full name", [Step([
        chat("c1", ("2021-01-10", "I work at the Brindlemoss Institute."),
             ("2022-03-20", "I no longer work at the institute."))])],
        {(ME, "work_at", "Brindlemoss Institute"): ("2021-01-10", "2022-03-20", True),
         (ME, "not_work_at", "institute"): ("2022-03-20", None, False)},
        {((ME, "work_at", "Brindlemoss Institute"), (ME, "not_work_at", "institute"), "negation")}),
    Scenario("a negation superseded by a later restatement", [Step([
        chat("c1", ("2020-01-01", "I live in Brill."), ("2021-01-01", "I don't live in Brill anymore."),
             ("2023-01-01", "I live in Brill again."))])],
        {(ME, "live_in", "Brill"): ("2020-01-01", None, False),
         (ME, "not_live_in", "Brill"): ("2021-01-01", "2023-01-01", True)},
        {((ME, "not_live_in", "Brill"), (ME, "live_in", "Brill"), "negation")}),
    Scenario("a post has one holder: a new CEO supersedes the old", [Step([
        doc("d1", "2015-04-01", "Ana Lund is the CEO of Tidewater Labs."),
        doc("d2", "2020-06-01", "Ben Okafor became CEO of Tidewater Labs in 2020.")])],
        {(A, "ceo_of", "Tidewater Labs"): ("2015-04-01", "2020-01-01", True),
         ("Ben Okafor", "ceo_of", "Tidewater Labs"): ("2020-01-01", None, False)},
        {((A, "ceo_of", "Tidewater Labs"), ("Ben Okafor", "ceo_of", "Tidewater Labs"), "single_valued:leader")}),
    Scenario("a new mayor", [Step([
        doc("d1", "2016-01-01", "Ingrid Holm is the mayor of Kessaby."),
        doc("d2", "2020-01-01", "Tor Berg is the mayor of Kessaby.")])],
        {("Ingrid Holm", "mayor_of", "Kessaby"): ("2016-01-01", "2020-01-01", True),
         ("Tor Berg", "mayor_of", "Kessaby"): ("2020-01-01", None, False)},
        {(("Ingrid Holm", "mayor_of", "Kessaby"), ("Tor Berg", "mayor_of", "Kessaby"), "single_valued:leader")}),
    Scenario("'we broke up' ends the partner", [Step([
        chat("c1", ("2021-02-01", "My girlfriend is Maria."), ("2021-10-01", "Maria and I broke up in September."))])],
        {(ME, "girlfriend", "Maria"): ("2021-02-01", "2021-09-01", True)},
        {((ME, "girlfriend", "Maria"), (ME, "break_up_in", "September"), "end_verb")}),
    Scenario("divorce ends a marriage", [Step([
        doc("d1", "2016-01-01", "Ana Lund married Ben Okafor in 2015."),
        doc("d2", "2019-06-01", "Ana Lund divorced Ben Okafor in 2019.")])],
        {(A, "marry", "Ben Okafor"): ("2015-01-01", "2019-01-01", True)},
        {((A, "marry", "Ben Okafor"), (A, "divorce", "Ben Okafor"), "end_verb"),
         ((A, "marry", "Ben Okafor"), (A, "divorce_in", "2019"), "end_verb")}),
    Scenario("a new boyfriend", [Step([
        chat("c1", ("2019-01-01", "My boyfriend is Tom."), ("2020-01-01", "My boyfriend is Sam."))])],
        {(ME, "boyfriend", "Tom"): ("2019-01-01", "2020-01-01", True),
         (ME, "boyfriend", "Sam"): ("2020-01-01", None, False)},
        {((ME, "boyfriend", "Tom"), (ME, "boyfriend", "Sam"), "single_valued:partner")}),
    Scenario("the same value restated stays one current fact", [Step([
        doc("d1", "2019-01-01", "Fay Orr lives in Oslo."), doc("d2", "2021-01-01", "Fay Orr lives in Oslo."),
        doc("d3", "2023-01-01", "Fay Orr lives in Oslo.")])],
        {("Fay Orr", "live_in", "Oslo"): ("2019-01-01", None, False)}),
    Scenario("restated, then changed", [Step([
        doc("d1", "2015-01-01", "Gil Ash lives in Brill."), doc("d2", "2017-01-01", "Gil Ash lives in Brill."),
        doc("d3", "2019-01-01", "Gil Ash moved to Oslo.")])],
        {("Gil Ash", "live_in", "Brill"): ("2015-01-01", "2019-01-01", True)},
        {(("Gil Ash", "live_in", "Brill"), ("Gil Ash", "move_to", "Oslo"), "single_valued:residence")}),
    Scenario("the older fact arrives last", [
        Step([doc("d2", "2021-06-01", "Ana Lund moved to Oslo.")]),
        Step([doc("d1", "2019-03-01", "Ana Lund lives in Brill.")])],
        {(A, "live_in", "Brill"): ("2019-03-01", "2021-06-01", True),
         (A, "move_to", "Oslo"): ("2021-06-01", None, False)},
        {((A, "live_in", "Brill"), (A, "move_to", "Oslo"), "single_valued:residence")}),
    Scenario("a value arriving in between re-links the chain and retracts the old link", [
        Step([doc("d1", "2015-01-01", "Cy Ross lives in Brill."), doc("d3", "2021-01-01", "Cy Ross moved to Bergen.")]),
        Step([doc("d2", "2018-01-01", "Cy Ross moved to Oslo.")])],
        {("Cy Ross", "live_in", "Brill"): ("2015-01-01", "2018-01-01", True),
         ("Cy Ross", "move_to", "Oslo"): ("2018-01-01", "2021-01-01", True),
         ("Cy Ross", "move_to", "Bergen"): ("2021-01-01", None, False)},
        {(("Cy Ross", "live_in", "Brill"), ("Cy Ross", "move_to", "Oslo"), "single_valued:residence"),
         (("Cy Ross", "move_to", "Oslo"), ("Cy Ross", "move_to", "Bergen"), "single_valued:residence")},
        retracted={(("Cy Ross", "live_in", "Brill"), ("Cy Ross", "move_to", "Bergen"))}),
    Scenario("two subjects with the same predicate and place", [Step([
        doc("d1", "2018-01-01", "Gus Lane lives in Brill. Hal Moe lives in Brill."),
        doc("d2", "2021-01-01", "Gus Lane moved to Bergen.")])],
        {("Gus Lane", "live_in", "Brill"): ("2018-01-01", "2021-01-01", True),
         ("Hal Moe", "live_in", "Brill"): ("2018-01-01", None, False)},
        {(("Gus Lane", "live_in", "Brill"), ("Gus Lane", "move_to", "Bergen"), "single_valued:residence")}),
    Scenario("an explicit range bounds a fact without retiring it", [Step([
        doc("d1", "2020-01-01", "Ivy Chen worked at Orrin Shipworks from 2010 to 2015.")])],
        {("Ivy Chen", "work_at", "Orrin Shipworks"): ("2010-01-01", "2015-01-01", False)}),
    Scenario("a fact that ended by itself is not superseded", [Step([
        doc("d1", "2020-01-01", "Ivy Chen worked at Orrin Shipworks from 2010 to 2015."),
        doc("d2", "2021-01-01", "Ivy Chen works at Tidewater Labs.")])],
        {("Ivy Chen", "work_at", "Orrin Shipworks"): ("2010-01-01", "2015-01-01", False),
         ("Ivy Chen", "work_at", "Tidewater Labs"): ("2021-01-01", None, False)}),
    Scenario("'between 2012 and 2018'", [Step([
        doc("d1", "2020-03-01", "Jon Berg lived in Brill between 2012 and 2018.")])],
        {("Jon Berg", "live_in", "Brill"): ("2012-01-01", "2018-01-01", False)}),
    Scenario("two values stated on one date both hold", [Step([
        doc("d1", "2020-01-01", "Kai Dahl works at Orrin Shipworks. Kai Dahl also works at Tidewater Labs.")])],
        {("Kai Dahl", "work_at", "Orrin Shipworks"): ("2020-01-01", None, False),
         ("Kai Dahl", "work_at", "Tidewater Labs"): ("2020-01-01", None, False)}),
    Scenario("leaving a team ends playing for it", [Step([
        chat("c1", ("2020-01-01", "I play for Kessaby Rovers."), ("2022-01-01", "I left Kessaby Rovers."))])],
        {(ME, "play_for", "Kessaby Rovers"): ("2020-01-01", "2022-01-01", True)},
        {((ME, "play_for", "Kessaby Rovers"), (ME, "leave", "Kessaby Rovers"), "end_verb")}),
    Scenario("a cue changes a common-noun value", [Step([
        chat("c1", ("2018-01-01", "I am a teacher."), ("2022-01-01", "I am now a nurse."))])],
        {(ME, "is_a", "teacher"): ("2018-01-01", "2022-01-01", True),
         (ME, "is_a", "nurse"): ("2022-01-01", None, False)},
        {((ME, "is_a", "teacher"), (ME, "is_a", "nurse"), "change_cue")}),
    Scenario("common nouns do not rival each other without a cue", [Step([
        doc("d1", "2019-01-01", "Lea Moe lives in a flat."), doc("d2", "2021-01-01", "Lea Moe lives in a house.")])],
        {("Lea Moe", "live_in", "flat"): ("2019-01-01", None, False),
         ("Lea Moe", "live_in", "house"): ("2021-01-01", None, False)}),
    Scenario("a newer count of the same thing supersedes the older; counts of other things coexist", [Step([
        chat("c1", ("2023-05-01", "I have read 120 pages of the novel. I own two bikes."),
             ("2023-06-01", "I have read 220 pages of the novel. I own three cars."))])],
        {(ME, "read", "120 pages"): ("2023-05-01", "2023-06-01", True),
         (ME, "read", "220 pages"): ("2023-06-01", None, False),
         (ME, "own", "two bikes"): ("2023-05-01", None, False), (ME, "own", "three cars"): ("2023-06-01", None, False)},
        {((ME, "read", "120 pages"), (ME, "read", "220 pages"), "quantity:page")}),
    Scenario("a duration restated, the older session ingested last", [
        Step([chat("c1", ("2023-07-01", "I've been using my Fitbit for about 9 months."))]),
        Step([chat("c2", ("2023-02-01", "I've been using my Fitbit for about 6 months."))])],
        {(ME, "use_for", "about 6 months"): ("2023-02-01", "2023-07-01", True),
         (ME, "use_for", "about 9 months"): ("2023-07-01", None, False),
         (ME, "use", "Fitbit"): ("2023-02-01", None, False)},
        {((ME, "use_for", "about 6 months"), (ME, "use_for", "about 9 months"), "quantity:month")}),
]  # fmt: skip


def _check(memory: Memory, scenario: Scenario) -> None:
    for wanted, (start, end, retired) in scenario.facts.items():
        fact = find(memory, wanted)
        got = (fact.valid_from, fact.valid_to, fact.expired_at)
        assert got == (day(start) if start else None, day(end) if end else None, NOW if retired else None), wanted
    assert links(memory) == scenario.links
    assert {(old, new) for old, new, _ in links(memory, active=False)} == scenario.retracted


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario(memory: Memory, scenario: Scenario) -> None:
    for step in scenario.steps:
        ingest(memory, step.sources)
        if step.reconsolidate:
            memory.reconsolidate(now=NOW)
    _check(memory, scenario)
    again = memory.reconsolidate(now=day("2026-01-01"))
    assert (again.dirty, again.facts_written, again.edges_written) == (0, 0, 0)
