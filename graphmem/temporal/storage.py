"""Reconsolidation's I/O edge: find what changed in a GraphStore, plan it (the pure core), write the plan back.

Incremental by a mark on each fact: a run stores the digest of its rules in ``Fact.reconsolidated``,
and ingestion writes facts without it, so the facts to look at are those without the current mark
(new, restated or rewritten since the last run), plus those retired by a fact that has since been
deleted. A watermark on ``recorded_at`` would miss restatements: ingestion keeps a restated fact's
first ``recorded_at``. Their subjects (and the posts among their facts) are then checked whole.
Changing the rules (or what the data teaches) changes the digest, and every fact is checked again.
Big runs go in batches, each read, planned and written by this process or a forked worker (graphmem.temporal.parallel).
"""

from __future__ import annotations

import gc
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import NamedTuple, TypeVar

from graphmem.graph import fact_from_node, fact_patch, supersession_edge, supersession_from_edge, to_node, write_records
from graphmem.records import Fact, Supersession, utc_now
from graphmem.store import Edge, GraphStore, Node
from graphmem.store.base import Props, PropsWriter
from graphmem.temporal.adjudicate import MARK, AdjudicationStats, Adjudicator, adjudicated_plan, conflict_units
from graphmem.temporal.learn import learn_single_valued
from graphmem.temporal.parallel import planned
from graphmem.temporal.reconsolidate import EntityInfo, Layout, Plan
from graphmem.temporal.rules import ReconsolidationConfig, Rules, value_class
from graphmem.temporal.timeline import UnitInfo

T = TypeVar("T")
_PLAN_BATCH = 20_000  # facts per plan, whole components: memory stays bounded and the working set small


@dataclass
class ReconsolidationReport:
    """What a run did. ``dirty``: facts found new or changed since the last run; ``checked``: facts of
    their subjects looked at; ``merged``/``superseded``: facts newly merged into a duplicate or retired;
    ``reinstated``: retired facts that hold again; ``retracted``: SUPERSEDED_BY links no longer supported."""

    namespace: str
    full: bool = False
    dirty: int = 0
    subjects: int = 0
    checked: int = 0
    merged: int = 0
    superseded: int = 0
    reinstated: int = 0
    retracted: int = 0
    facts_written: int = 0
    edges_written: int = 0
    learned: list[str] = field(default_factory=list)
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)  # seconds of this process per phase: where a run's time went
    adjudication: AdjudicationStats | None = None  # with an adjudicator (graphmem.temporal.adjudicate)

    def summary(self) -> str:
        why = "every fact: a full run" if self.full else f"{self.dirty} new or changed since the last run"
        adjudicated = f"; {self.adjudication.summary()}" if self.adjudication else ""
        return (f"{self.merged} merged, {self.superseded} superseded, {self.reinstated} reinstated, "
                f"{self.retracted} links retracted; {self.checked} facts of {self.subjects} subjects checked "
                f"({why}), {self.facts_written} facts and {self.edges_written} links written "
                f"in {self.seconds:.2f} s{adjudicated}")  # fmt: skip

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


class _Row(NamedTuple):
    """What the scan keeps of each fact (a tuple: a million are made per run)."""

    id: str
    subject_id: str
    predicate: str
    object_id: str
    valid_from: datetime | None
    expired_at: datetime | None
    mark: str | None


_LEARN_ROW = itemgetter(1, 2, 3, 4)  # (subject_id, predicate, object_id, valid_from), as learn reads a row


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _scan(store: GraphStore, namespace: str) -> tuple[list[_Row], dict[str, Node]]:
    """Every fact of the namespace, read once: the rows the run decides on, and the nodes it plans from."""
    rows = []
    nodes: dict[str, Node] = {}
    for node in store.iter_nodes(namespace, "Fact"):
        p = node.props
        rows.append(_Row(node.id, str(p["subject_id"]), str(p["predicate"]), str(p["object_id"]),
                         p.get("valid_from"), p.get("expired_at"), p.get("reconsolidated")))  # type: ignore[arg-type]  # fmt: skip
        nodes[node.id] = node
    return rows, nodes


def _entity(node: Node) -> EntityInfo:
    return EntityInfo(node.id, str(node.props.get("name", node.id)), str(node.props.get("key", "")),
                      str(node.props.get("type", "THING")))  # fmt: skip


def _unit(node: Node) -> UnitInfo:
    when = node.props.get("timestamp") if node.label == "Turn" else node.props.get("date")
    return UnitInfo(node.id, when if isinstance(when, datetime) else None, str(node.props.get("text", "")),
                    node.label == "Turn")  # fmt: skip


def _read(store: GraphStore, namespace: str, ids: Iterable[str], size: int) -> Iterator[Node]:
    for chunk in _chunks(sorted(set(ids)), size):
        yield from store.get_nodes(namespace, chunk)


def _closure(rows: Sequence[_Row], dirty: Sequence[_Row], rules: Rules) -> tuple[set[str], set[str]]:
    """The facts to check: every fact of the dirty facts' subjects and of the posts (CEO of X) among them,
    repeated until closed, since a post's holders are other subjects. Returns (fact ids, subject ids)."""
    if len(dirty) == len(rows):  # every fact (a full run): closed already
        return {r.id for r in rows}, {r.subject_id for r in rows}
    by_subject: dict[str, list[_Row]] = defaultdict(list)
    by_post: dict[str, list[_Row]] = defaultdict(list)
    for row in rows:
        by_subject[row.subject_id].append(row)
        if row.predicate in rules.object_family:
            by_post[row.object_id].append(row)
    subjects = {r.subject_id for r in dirty}
    posts = {r.object_id for r in dirty if r.predicate in rules.object_family}
    todo_subjects, todo_posts = sorted(subjects), sorted(posts)
    work: set[str] = set()
    while todo_subjects or todo_posts:
        found = [r for s in todo_subjects for r in by_subject[s]] + [r for p in todo_posts for r in by_post[p]]
        todo_subjects, todo_posts = [], []
        for row in found:
            work.add(row.id)
            if row.predicate in rules.object_family:
                if row.object_id not in posts:
                    posts.add(row.object_id)
                    todo_posts.append(row.object_id)
                if row.subject_id not in subjects:
                    subjects.add(row.subject_id)
                    todo_subjects.append(row.subject_id)
    return work, subjects


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: a run holds every fact's record, and each collection of the oldest
    generation would walk them all (it took a third of a run's time). Reference counting still frees memory."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def reconsolidate(store: GraphStore, namespace: str, *, config: ReconsolidationConfig | None = None,
                  now: datetime | None = None, full: bool = False,
                  adjudicator: Adjudicator | None = None) -> ReconsolidationReport:  # fmt: skip
    """Reconsolidate the facts of ``namespace`` written since the last run (every fact with ``full``).

    ``now`` is the run's time, written as ``expired_at`` of the facts it retires (default: the clock).
    ``adjudicator`` judges the conflicts the rules leave open (graphmem.temporal.adjudicate; default none).
    Running it again without new writes changes nothing.
    """
    with _cyclic_gc_paused():
        return _reconsolidate(store, namespace, config, now, full, adjudicator)


def _reconsolidate(store: GraphStore, namespace: str, config: ReconsolidationConfig | None, now: datetime | None,
                   full: bool, adjudicator: Adjudicator | None = None) -> ReconsolidationReport:  # fmt: skip
    started = time.perf_counter()
    config = config or ReconsolidationConfig()
    now = now or utc_now()
    report = ReconsolidationReport(namespace, full=full)
    clock = _Clock(report.phases)
    rows, nodes = _scan(store, namespace)
    clock.lap("scan")
    entities: dict[str, EntityInfo] = {}
    learned: frozenset[str] = frozenset()
    if config.learn:
        entities = {node.id: _entity(node) for node in store.iter_nodes(namespace, "Entity")}

        def kind(entity_id: str) -> str | None:
            entity = entities.get(entity_id)
            return value_class(entity.name, entity.type) if entity else None

        learned = learn_single_valued(map(_LEARN_ROW, rows), kind, config)
    rules, digest = Rules(config, learned), config.digest(learned) + (MARK if adjudicator is not None else "")
    report.learned = sorted(learned)
    clock.lap("learn")
    edges = [supersession_from_edge(e) for e in store.iter_edges(namespace, Supersession.TYPE)]
    linked = {e.fact_id for e in edges if e.retracted_at is None}
    dirty = [r for r in rows if full or r.mark != digest or (r.expired_at is not None and r.id not in linked)]
    report.dirty = len(dirty)
    clock.lap("scan")
    if dirty:
        _run(store, namespace, rows, nodes, dirty, edges, entities, rules, digest, now, report, clock, adjudicator)
    report.seconds = time.perf_counter() - started
    return report


def _run(store: GraphStore, namespace: str, rows: Sequence[_Row], nodes: dict[str, Node], dirty: Sequence[_Row],
         edges: Sequence[Supersession], entities: dict[str, EntityInfo], rules: Rules, digest: str, now: datetime,
         report: ReconsolidationReport, clock: _Clock, adjudicator: Adjudicator | None = None) -> None:  # fmt: skip
    size = rules.config.read_batch
    work, subjects = _closure(rows, dirty, rules)
    report.subjects = len(subjects)
    wanted = {i for r in rows if r.id in work for i in (r.subject_id, r.object_id)} - entities.keys()
    entities.update((node.id, _entity(node)) for node in _read(store, namespace, wanted, size))
    # The adjudicator caps the pairs it asks per run, newest first: it must see the plan of every fact at once.
    batches = [sorted(work)] if adjudicator is not None else _batches(rows, work, rules, _PLAN_BATCH)
    clock.lap("scan")

    leaving: dict[str, list[Supersession]] = defaultdict(list)
    for edge in edges:
        leaving[edge.fact_id].append(edge)
    patchable = isinstance(store, PropsWriter)

    def run_batch(target: GraphStore, k: int) -> _Done:
        """Read the units batch k needs, plan it and write it, through ``target`` (this process's connection)."""
        clock = _Clock({})
        facts = [fact_from_node(nodes[i]) for i in batches[k]]  # as read by the scan: none of them written since
        existing = [e for f in facts for e in leaving.get(f.id, ())]
        layout = Layout.of(facts, rules, entities)
        wanted = layout.units(existing) | (conflict_units(facts, rules, entities) if adjudicator else set())
        clock.lap("plan")
        units = {node.id: _unit(node) for node in _read(target, namespace, wanted, size)}
        clock.lap("units")
        result, stats = adjudicated_plan(adjudicator, facts, units=units, entities=entities, existing=existing,
                                         rules=rules, now=now, digest=digest, layout=layout)  # fmt: skip
        writes = _prepare(result, facts, nodes, patchable, stats)
        clock.lap("plan")
        _apply(target, namespace, writes, rules.config.write_batch)
        clock.lap("write")
        return _Done(os.getpid(), writes.counts, stats, clock.phases)

    @contextmanager
    def in_worker() -> Iterator[Callable[[int], _Done]]:
        own = store.reopened()  # type: ignore[attr-defined]
        try:
            yield lambda k: run_batch(own, k)
        finally:
            own.close()

    here = os.getpid()
    worker = in_worker if callable(getattr(store, "reopened", None)) else None
    for done in planned(len(batches), lambda k: run_batch(store, k), worker):
        report.adjudication = done.adjudication
        for name, count in done.counts.items():
            setattr(report, name, getattr(report, name) + count)
        for phase, seconds in done.phases.items():
            name = phase if done.pid == here else f"worker {phase}"
            report.phases[name] = report.phases.get(name, 0.0) + seconds
    clock.last = time.perf_counter()  # the batches' phases are counted apart


@dataclass
class _Done:
    """What one batch did (picklable: a forked worker may have run it): its process, counts and phase seconds."""

    pid: int
    counts: dict[str, int]
    adjudication: AdjudicationStats | None
    phases: dict[str, float]


class _Clock:
    """Adds the time since its last lap to a phase's total."""

    def __init__(self, phases: dict[str, float]) -> None:
        self.phases = phases
        self.last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.phases[phase] = self.phases.get(phase, 0.0) + now - self.last
        self.last = now


def _batches(rows: Sequence[_Row], work: set[str], rules: Rules, size: int) -> list[list[str]]:
    """The facts to check in batches of about ``size``, each made of whole components (the facts of subjects
    joined by the posts they hold, as ``_closure`` follows them): no rule looks across components, so the plans
    of the batches are the plan of all the facts, in a fraction of the memory."""
    parent: dict[str, str] = {}

    def root(subject: str) -> str:
        while (up := parent.get(subject, subject)) != subject:
            parent[subject] = parent.get(up, up)  # halve the path
            subject = up
        return subject

    holder: dict[str, str] = {}
    by_subject: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        if row.id in work:
            by_subject[row.subject_id].append(row.id)
            if row.predicate in rules.object_family:
                a, b = root(holder.setdefault(row.object_id, row.subject_id)), root(row.subject_id)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    components: dict[str, list[str]] = defaultdict(list)
    for subject in sorted(by_subject):
        components[root(subject)] += by_subject[subject]
    out: list[list[str]] = []
    batch: list[str] = []
    for ids in components.values():
        batch += ids
        if len(batch) >= size:
            out.append(sorted(batch))
            batch = []
    return [*out, sorted(batch)] if batch else out


@dataclass
class _Writes:
    """What one batch's plan writes, and its counts."""

    counts: dict[str, int]
    grown: list[Fact]  # merged into: provenance and SUPPORTED_BY edges grew
    whole: list[Fact]  # nodes written whole
    patches: list[tuple[str, Props]]  # only the properties that changed
    links: list[Edge]  # SUPERSEDED_BY
    adjudication: AdjudicationStats | None


def _prepare(result: Plan, facts: Sequence[Fact], nodes: Mapping[str, Node], patchable: bool,
             adjudication: AdjudicationStats | None) -> _Writes:  # fmt: skip
    """A fact whose provenance grew (a merge) needs its SUPPORTED_BY edges too; the others only their node, and of it
    only the properties that changed when the store can set some (compared with the node the scan read: nothing
    was written since), not what the rules are assumed to change."""
    before = {f.id: f.provenance for f in facts}
    counts = {"checked": result.checked, "merged": result.merged, "superseded": result.superseded,
              "reinstated": result.reinstated, "retracted": result.retracted, "facts_written": len(result.facts),
              "edges_written": len(result.supersessions)}  # fmt: skip
    writes = _Writes(counts, [], [], [], [supersession_edge(s) for s in result.supersessions], adjudication)
    alike: dict[tuple[object, ...], Props] = {}
    marks: dict[str | None, Props] = {}  # the mark-only patches, by mark: one dict each
    for fact in result.facts:
        if patchable and fact.id in result.marked and fact.id in nodes:
            mark = fact.reconsolidated
            if (shared := marks.get(mark)) is None:
                shared = marks[mark] = _one_of({"reconsolidated": mark}, alike)
            writes.patches.append((fact.id, shared))
        elif fact.provenance != before.get(fact.id):
            writes.grown.append(fact)
        elif (patch := fact_patch(nodes[fact.id], fact) if patchable and fact.id in nodes else None) is None:
            writes.whole.append(fact)
        elif patch:
            writes.patches.append((fact.id, _one_of(patch, alike)))
    return writes


def _one_of(patch: Props, alike: dict[tuple[object, ...], Props]) -> Props:
    """One dict for equal patches (most are the run's mark alone): the store checks and encodes it once."""
    if any(isinstance(value, list) for value in patch.values()):
        return patch
    return alike.setdefault(tuple(patch.items()), patch)


def _apply(store: GraphStore, namespace: str, writes: _Writes, batch: int) -> None:
    """Facts, then links (whose ends exist already)."""
    for chunk in _chunks(writes.grown, batch):
        write_records(store, chunk)
    for chunk in _chunks(writes.whole, batch):
        store.upsert_nodes([to_node(f) for f in chunk])
    if writes.patches and isinstance(store, PropsWriter):
        for patches in _chunks(writes.patches, batch):
            store.set_props(namespace, patches)
    for links in _chunks(writes.links, batch):
        store.upsert_edges(links)
