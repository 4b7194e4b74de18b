"""Reconsolidation time on the embedded store: N synthetic facts over S subjects, a full run, then a no-change rerun.

    python -m graphmem.bench.reconsolidate [--facts 1000000 --subjects 100000]

Each subject is a person with a life over 2010-2024: homes in turn (live_in, then move_to), employers
in turn (work_at / work_for), sometimes an occupation change or a spouse, and the rest in multi-valued
predicates (like, own, visit, know). Each fact is stated by a passage dated when it started. The facts
are written (untimed) into a fresh store in a temp dir. Then, in a fresh process (as a scheduled run would
be), ``reconsolidate(full=True)`` is timed, then a second incremental run, which finds nothing new and writes
nothing. Printed: facts/s (by wall time), wall and CPU seconds (of the process and of the worker it may fork,
whose share is also shown apart: CPU time tells the cost apart from a busy machine's waits), and the seconds
per phase of each process.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from graphmem.graph import to_node
from graphmem.records import Entity, Fact, Passage
from graphmem.store import EmbeddedStore, Node
from graphmem.temporal.storage import reconsolidate

NAMESPACE = "bench"
START = datetime(2010, 1, 1, tzinfo=UTC)
DAYS = 15 * 365
POOLS = {"city": ("GPE", 2_000), "company": ("ORG", 10_000), "job": ("THING", 300), "thing": ("THING", 50_000)}
FREE = ("like", "own", "visit", "know")


def _entity(kind: str, i: int) -> Node:
    label, _ = POOLS[kind]
    name = _name(f"e:{kind}{i}")
    return to_node(Entity(id=f"e:{kind}{i}", namespace=NAMESPACE, name=name, key=name.lower(), type=label))


def _name(entity_id: str) -> str:
    """The display name of a synthetic entity id: e:city12 is City 12."""
    kind = entity_id.removeprefix("e:").rstrip("0123456789")
    return f"{kind.title()} {entity_id.removeprefix('e:' + kind)}"


def _life(rng: random.Random, subject: int, n: int) -> Iterator[tuple[str, str, datetime]]:
    """About n (predicate, object id, start) for one subject: moves and job changes over time, then the rest."""
    days = sorted(rng.sample(range(DAYS), n))
    kinds = rng.choices(["home", "job", "free", "free", "occupation", "spouse"], weights=[3, 3, 5, 5, 1, 0.3], k=n)
    homes = 0
    for day, kind in zip(days, kinds, strict=True):
        when = START + timedelta(days=day)
        if kind == "home":
            predicate = "live_in" if homes == 0 or rng.random() < 0.5 else "move_to"
            homes += 1
            yield predicate, f"e:city{rng.randrange(POOLS['city'][1])}", when
        elif kind == "job":
            yield rng.choice(("work_at", "work_for")), f"e:company{rng.randrange(POOLS['company'][1])}", when
        elif kind == "occupation":
            yield "work_as", f"e:job{rng.randrange(POOLS['job'][1])}", when
        elif kind == "spouse":
            yield "married_to", f"e:person{rng.randrange(subject + 1)}", when
        else:
            yield rng.choice(FREE), f"e:thing{rng.randrange(POOLS['thing'][1])}", when


def synthetic(n_facts: int, n_subjects: int, seed: int = 7) -> Iterator[list[Node]]:
    """Batches of nodes: the entities, then per subject its passages and facts (about n_facts in all)."""
    rng = random.Random(seed)
    for kind, (_, size) in POOLS.items():
        yield [_entity(kind, i) for i in range(size)]
    per, extra = divmod(n_facts, n_subjects)
    batch: list[Node] = []
    for s in range(n_subjects):
        person = f"Person {s}"
        batch.append(to_node(Entity(id=f"e:person{s}", namespace=NAMESPACE, name=person, key=person.lower(),
                                    type="PERSON")))  # fmt: skip
        seen: set[tuple[str, str]] = set()
        for j, (predicate, obj, when) in enumerate(_life(rng, s, per + (s < extra))):
            if (predicate, obj) in seen:
                continue
            seen.add((predicate, obj))
            sentence = f"{person} {predicate.replace('_', ' ')} {_name(obj)}."
            passage = Passage(id=f"p:{s}:{j}", namespace=NAMESPACE, document_id=f"d:{s}", text=sentence, start=0,
                              end=len(sentence), date=when)  # fmt: skip
            fact = Fact(id=f"f:{s}:{j}", namespace=NAMESPACE, subject_id=f"e:person{s}", predicate=predicate,
                        object_id=obj, subject_name=person, object_name=_name(obj), sentence=sentence,
                        valid_from=when, recorded_at=when, provenance=[passage.id],
                        document_ids=[f"d:{s}"])  # fmt: skip
            batch += [to_node(passage), to_node(fact)]
        if len(batch) >= 20_000:
            yield batch
            batch = []
    if batch:
        yield batch


def time_runs(path: Path) -> None:
    """The timed runs on the store at ``path``: a full run, then a no-change rerun."""
    with EmbeddedStore(path) as store:
        facts = store.counts(NAMESPACE).nodes.get("Fact", 0)
        print(f"{'run':<10} {'facts/s':>10} {'wall s':>8} {'cpu s':>7} {'worker':>7}  report")
        for run in ("full", "no-change"):
            started, cpu = time.perf_counter(), os.times()
            report = reconsolidate(store, NAMESPACE, full=run == "full")
            wall, end = time.perf_counter() - started, os.times()
            own = end.user + end.system - cpu.user - cpu.system
            worker = end.children_user + end.children_system - cpu.children_user - cpu.children_system
            print(f"{run:<10} {facts / wall:>10,.0f} {wall:>8.1f} {own + worker:>7.1f} {worker:>7.1f}  "
                  f"{report.summary()}")  # fmt: skip
            print(" " * 10 + "  per phase: " + ", ".join(f"{k} {v:.1f} s" for k, v in report.phases.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--facts", type=int, default=100_000)
    parser.add_argument("--subjects", type=int, default=10_000)
    parser.add_argument("--store", type=Path, help=argparse.SUPPRESS)  # the timed runs only, on this store
    args = parser.parse_args()
    if args.store is not None:
        time_runs(args.store)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        started = time.perf_counter()
        with EmbeddedStore(path) as store:
            for nodes in synthetic(args.facts, args.subjects):
                store.upsert_nodes(nodes)
            facts = store.counts(NAMESPACE).nodes.get("Fact", 0)
        print(f"{facts:,} facts over {args.subjects:,} subjects written in {time.perf_counter() - started:.1f} s",
              flush=True)  # fmt: skip
        # A fresh process, as a scheduled run would be: not one whose heap still holds the generator's leftovers.
        subprocess.run([sys.executable, "-m", "graphmem.bench.reconsolidate", "--store", str(path)], check=True)


if __name__ == "__main__":
    main()
