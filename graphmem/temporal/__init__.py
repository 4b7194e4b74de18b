"""Temporal memory: what is true now, what was true then, and why it changed, without deleting anything.

Facts are bi-temporal (``valid_from``/``valid_to``: when they held; ``recorded_at``/``expired_at``: when
graphmem learned and retired them). Reconsolidation reads the facts written since its last run and:
- merges facts that say one thing under synonym predicates ("work_at"/"work_for" the same company);
  identical triples are merged by ingestion already, since a fact's id hashes its triple;
- retires an older value when a newer one replaces it: curated one-at-a-time families (residence,
  employer, spouse, partner, location, and posts such as CEO or mayor, which have one holder),
  predicates the data shows to be single-valued, change cues in dialogue ("now", "no longer", "moved
  to"), negations ("not_work_at") and end verbs ("left", "quit", "divorced", "broke up");
- bounds facts by explicit ranges in their sentences ("from 2010 to 2015").
A retired fact gets ``valid_to`` (when the new value starts), ``expired_at`` (the run's time) and a
SUPERSEDED_BY edge to what replaced it, carrying the rule and the passages or turns it relied on.
An optional LLM adjudicator, off by default, judges the conflicts the rules leave open (``adjudicate``).

    memory.reconsolidate()                      # or: graphmem reconsolidate --store ... --namespace ...
    memory.facts("Ana Lund")                    # what holds now
    memory.facts("Ana Lund", as_of=datetime(2020, 1, 1))
    memory.history("Ana Lund").lines()          # or: graphmem history "Ana Lund"

Modules: ``rules`` (the lists and ``ReconsolidationConfig``), ``timeline`` (statements and the slot
walk), ``reconsolidate`` (the pure core: facts in, plan out), ``learn`` (single-valued predicates from
the data), ``storage`` (the I/O edge over any GraphStore), ``queries`` (point-in-time reads),
``adjudicate`` (the conflicts the rules leave open), ``llm_adjudicator`` (the model that judges them) and
``strength`` (memory strength after MemoryBank's forgetting curve, for retrieval's ``recency_weight``).
The same reads for Neo4j users are ``cypher/temporal/facts_as_of.cypher`` and ``entity_history.cypher``.
"""

from graphmem.temporal.rules import ReconsolidationConfig
from graphmem.temporal.storage import ReconsolidationReport, reconsolidate

__all__ = ["ReconsolidationConfig", "ReconsolidationReport", "reconsolidate"]
