"""Command line: ``graphmem demo | ingest | stats | ask | eval | reconsolidate | facts | history | communities |
cypher | forget | flagged``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from graphmem.cli_forget import add_forget_parser
from graphmem.cli_trust import add_trust_arguments, ingest_config
from graphmem.extract.llm import LLMSettings
from graphmem.memory import Memory
from graphmem.records import Community, Fact, Passage, Turn
from graphmem.retrieve import MODES, Retrieval
from graphmem.store import Counts, StoreError
from graphmem.trust import TrustPolicy

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"
SAMPLE_PATHS = [SAMPLE / "documents", SAMPLE / "documents.jsonl", SAMPLE / "dialogues"]
DEMO_STORE = Path(".graphmem") / "demo.sqlite3"


def _print_counts(counts: Counts) -> None:
    print(f"  nodes: {counts.total_nodes:,}  " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.nodes.items())))
    print(f"  edges: {counts.total_edges:,}  " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.edges.items())))


def _short(text: str, width: int = 100) -> str:
    return textwrap.shorten(" ".join(text.split()), width=width, placeholder=" ...")


def cmd_demo(args: argparse.Namespace) -> int:
    store = args.store or DEMO_STORE
    print(f"graphmem demo: ingesting the sample corpus in {SAMPLE.relative_to(REPO)} into {store}")
    with Memory(store, args.namespace, progress=sys.stderr.isatty()) as memory:
        report = memory.add_paths(SAMPLE_PATHS)
        print(f"  {report.summary()}")
        for problem in [*report.errors, *map(str, report.quarantined)]:
            print(f"  skipped: {problem}")
        print("stored:")
        _print_counts(memory.counts())
        print("a few stored passages:")
        for passage in memory.records("Passage", limit=3):
            assert isinstance(passage, Passage)
            print(f"  [{passage.document_id} @{passage.start}-{passage.end}] {_short(passage.text)}")
        print("a few stored dialogue turns:")
        turns = sorted((t for t in memory.records("Turn") if isinstance(t, Turn)),
                       key=lambda t: (t.timestamp, t.position))  # fmt: skip
        for turn in turns[:3]:
            print(f"  [{turn.timestamp:%Y-%m-%d}] {turn.speaker}: {_short(turn.text, 80)}")
        facts = [f for f in memory.records("Fact") if isinstance(f, Fact)]
        print(f"a few extracted facts (of {len(facts)}), with the passage or turn each came from:")
        for fact in sorted(facts, key=lambda f: (-len(f.provenance), f.subject_name or "", f.predicate))[:8]:
            when = f" [from {fact.valid_from:%Y-%m-%d}]" if fact.valid_from else ""
            sources = ", ".join(fact.provenance)
            print(f"  ({fact.subject_name}) -{fact.predicate}-> ({fact.object_name}){when} <- {sources}")
        _demo_retrieval(memory)
    return 0


DEMO_QUESTION = "What does the man who restored the Lunnock tide mill collect?"


def _demo_retrieval(memory: Memory) -> None:
    """One two-hop question of the sample's ground truth (M5): the answer names none of its words."""
    print(f"asked (ppr retrieval): {DEMO_QUESTION}")
    result = memory.retrieve(DEMO_QUESTION, k=3, mode="ppr")
    print_retrieval(result, width=100)


def cmd_ingest(args: argparse.Namespace) -> int:
    with Memory(args.store, args.namespace, progress=not args.quiet, config=ingest_config(args)) as memory:
        report = memory.add_paths(args.paths)
        for problem in [*report.errors, *map(str, report.quarantined)]:
            print(f"skipped: {problem}", file=sys.stderr)
        print(report.summary())
        _print_counts(memory.counts())
    return 1 if report.errors and not (report.documents or report.dialogues) else 0


def cmd_communities(args: argparse.Namespace) -> int:
    with Memory(args.store, args.namespace, extract=False) as memory:
        report = memory.build_communities(full=args.full) if args.rebuild or args.full else None
        found = memory.communities()
    if args.json:
        shown = [c.model_dump(mode="json") for c in found if args.level is None or c.level == args.level]
        print(json.dumps({"report": report, "communities": shown}, indent=2, default=str))
        return 0
    if report is not None:
        changed = (
            f"{len(report['created'])} created, {len(report['updated'])} updated, {len(report['deleted'])} deleted"
        )
        print(f"built: {report['communities']} communities ({changed}, {report['unchanged']} unchanged); "
              f"{report['reclustered']} of {report['components']} components clustered, "
              f"{report['isolated']} isolated entities in none")  # fmt: skip
    if not found:
        print("no communities: build them with --rebuild", file=sys.stderr)
        return 1
    levels = sorted({c.level for c in found})
    print("levels: " + ", ".join(f"{lv}: {sum(c.level == lv for c in found)}" for lv in levels))
    if args.level is not None:  # one level, largest first
        for community in [c for c in found if c.level == args.level][: args.limit]:
            print(f"[{community.level}] {community.size:>5}  {community.title}  ({community.id})")
        return 0
    by_parent: dict[str | None, list[Community]] = {}
    for community in found:
        by_parent.setdefault(community.parent_id, []).append(community)

    def show(community: Community, depth: int) -> None:
        print(f"{'  ' * depth}[{community.level}] {community.size:>5}  {community.title}  ({community.id})")
        for child in by_parent.get(community.id, []):
            show(child, depth + 1)

    for root in by_parent.get(None, [])[: args.limit]:  # the hierarchy under the largest top-level communities
        show(root, 0)
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    with Memory(args.store, args.namespace) as memory:
        print(f"{memory.store!r} namespace {memory.namespace!r} revision {memory.store.revision(memory.namespace)}")
        _print_counts(memory.counts())
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    as_of = _parse_time(args.as_of) if args.as_of else None
    with Memory(args.store, args.namespace) as memory:
        trust = TrustPolicy(include_flagged=True) if args.include_flagged else None
        result = memory.retrieve(args.question, k=args.k, mode=args.mode, as_of=as_of, trust=trust)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, default=str))
        return 0
    print_retrieval(result)
    return 0


def print_retrieval(result: Retrieval, width: int = 160) -> None:
    """A retrieval as people read it: what anchored it, then each hit with where it comes from and why."""
    print(f"{result.mode}: {len(result.hits)} hits in {result.milliseconds:.0f} ms"
          + (f", as of {result.as_of:%Y-%m-%d %H:%M}" if result.as_of else ""))  # fmt: skip
    if result.seeds:
        print("seeded by: " + ", ".join(f"{s['entity']} ({s['weight']:.3g}, {s['linked_by']})" for s in result.seeds))
    for fact in result.facts:
        print(f"  fact: {fact['subject']} —{fact['predicate']}→ {fact['object']} ({fact['score']:.2f})")
    for community in getattr(result, "communities", []):  # global mode
        print(f"  community: {community['score']:.3f} [{community['level']}] {community['title']}: "
              f"{_short(community['summary'], width)}")  # fmt: skip
    if result.fallback:
        print(f"note: {result.fallback}")
    for hit in result.hits:
        unit = hit.unit
        where = f"@{unit.start}-{unit.end}" if unit.start is not None else unit.speaker or ""
        print(f"{hit.rank}. {hit.score:.4f} [{unit.source_id} {where}] {_short(unit.text, width)}")
        if hit.path:
            print(f"     via {hit.path['text']}")


def _parse_time(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise SystemExit(
            f"graphmem: --as-of needs an ISO date or time (2021-06-30, 2021-06-30T12:00), not {text!r}"
        ) from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def cmd_eval(args: argparse.Namespace) -> int:
    if bool(args.file) == bool(args.corpus):
        print("graphmem eval: give the benchmark file once, as FILE or --corpus", file=sys.stderr)
        return 2
    args.corpus = args.corpus or args.file
    from graphmem.eval.common import write_json

    ks = [int(k) for k in args.k.split(",")]
    modes = args.modes.split(",")
    progress = sys.stderr.isatty()
    if args.format in ("locomo", "longmemeval"):
        store = args.store or str(Path(".graphmem") / f"eval-{args.format}.sqlite3")
        if args.format == "locomo":
            from graphmem.eval.locomo import evaluate_locomo, print_locomo

            result = evaluate_locomo(Path(args.corpus), modes, ks, store, progress=progress)
            print_locomo(result, ks)
        else:
            from graphmem.eval.longmemeval import evaluate_longmemeval, print_longmemeval

            try:
                result = evaluate_longmemeval(Path(args.corpus), modes, ks, store, progress=progress,
                                              reconsolidate=not args.no_reconsolidate)  # fmt: skip
            except ValueError as exc:
                print(f"graphmem: {exc}", file=sys.stderr)
                return 2
            print_longmemeval(result, ks)
        write_json(result, args.out)
        return 0
    if not args.questions:
        print("graphmem: --format qa needs --questions", file=sys.stderr)
        return 2
    from graphmem.eval.qa import evaluate_qa, print_table

    store = args.store or str(Path(".graphmem") / f"eval-{Path(args.corpus).parent.name}.sqlite3")
    result = evaluate_qa(Path(args.corpus), Path(args.questions), modes, ks, store, progress=progress)
    print_table(result, ks)
    write_json(result, args.out)
    return 0


def cmd_reconsolidate(args: argparse.Namespace) -> int:
    now = _parse_time(args.now) if args.now else None
    if args.adjudicate and LLMSettings.from_env() is None:
        print("graphmem: --adjudicate needs an LLM: set GRAPHMEM_LLM_BASE_URL and GRAPHMEM_LLM_MODEL", file=sys.stderr)
        return 2
    with Memory(args.store, args.namespace, extract=False) as memory:
        report = memory.reconsolidate(full=args.full, now=now, adjudicator=True if args.adjudicate else None)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, default=str))
        return 0
    print(f"namespace {report.namespace!r}: {report.merged} merged, {report.superseded} superseded")
    print(f"  {report.summary()}")
    if report.learned:
        print(f"  single-valued by the data: {', '.join(report.learned)}")
    return 0


def cmd_facts(args: argparse.Namespace) -> int:
    as_of = _parse_time(args.as_of) if args.as_of else None
    with Memory(args.store, args.namespace, extract=False) as memory:
        found = memory.facts(args.subject, args.predicate, as_of=as_of, include_expired=args.all)
    if args.json:
        print(json.dumps([f.model_dump(mode="json") for f in found], indent=2))
        return 0
    for fact in found:
        start = f"{fact.valid_from:%Y-%m-%d}" if fact.valid_from else "?"
        end = f"{fact.valid_to:%Y-%m-%d}" if fact.valid_to else "now"
        retired = f" [retired {fact.expired_at:%Y-%m-%d}]" if fact.expired_at else ""
        print(f"{start} .. {end}  {fact.subject_name} —{fact.predicate}→ {fact.object_name}{retired}")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    with Memory(args.store, args.namespace, extract=False) as memory:
        timeline = memory.history(args.entity)
    if args.json:
        print(json.dumps(timeline.to_dict(), indent=2, default=str))
        return 0
    if not timeline.entity_ids:
        print(f"graphmem: no entity named {args.entity!r}", file=sys.stderr)
        return 1
    print(f"{args.entity}: {len(timeline.entries)} facts")
    for line in timeline.lines():
        print(f"  {line}")
    return 0


def cmd_cypher(args: argparse.Namespace) -> int:
    from graphmem.cypher_library import library
    from graphmem.cypher_run import store_embeddings
    from graphmem.cypher_values import format_table, parse_param, to_json

    if args.list:
        entries = library()
        if args.json:
            print(json.dumps([{k: v for k, v in e.to_dict().items() if k != "text"} for e in entries], indent=2))
        else:
            print(format_table([{"name": e.name, "params": ", ".join(e.params), "answers": e.summary}
                                for e in entries], width=args.width))  # fmt: skip
        return 0
    if args.favourites:
        from graphmem.cypher_library import write_favourites

        names = write_favourites(Path(args.favourites))
        print(f"{len(names)} favourites written to {args.favourites}: drop it on Neo4j Browser's Favorites drawer")
        return 0
    if not args.query and not args.store_embeddings:
        print("graphmem cypher: give a query, a .cypher file or a library name (--list lists them)", file=sys.stderr)
        return 2
    try:
        params = dict(parse_param(p) for p in args.param)
    except ValueError as exc:
        print(f"graphmem cypher: {exc}", file=sys.stderr)
        return 2
    store = args.store or os.environ.get("GRAPHMEM_STORE") or "neo4j"  # Cypher needs Neo4j: default to it
    with Memory(store, args.namespace, extract=False) as memory:
        if args.store_embeddings:
            written = store_embeddings(memory)
            print(f"embeddings written: {written['entities']} entities, {written['units']} passages and turns",
                  file=sys.stderr)  # fmt: skip
        if not args.query:
            return 0
        if args.embed is not None:
            params["embedding"] = [float(x) for x in memory.embedder.encode([args.embed])[0]]
        try:
            rows = memory.cypher(args.query, params, read_only=not args.write)
        except (LookupError, FileNotFoundError, ValueError) as exc:
            print(f"graphmem cypher: {exc}", file=sys.stderr)
            return 2
    print(to_json(rows) if args.json else format_table(rows, width=args.width))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="graphmem", description="Knowledge-graph memory, offline.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", help="embedded store file or Neo4j URI (default: GRAPHMEM_STORE)")
    common.add_argument("--namespace", help="tenant namespace (default: GRAPHMEM_NAMESPACE or 'default')")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", parents=[common], help="ingest the bundled sample corpus and show it")
    demo.set_defaults(func=cmd_demo)
    ingest = sub.add_parser("ingest", parents=[common], help="ingest files and folders")
    ingest.add_argument("paths", nargs="+", help=".txt/.md files, documents .jsonl, dialogue .json, or folders")
    ingest.add_argument("--quiet", action="store_true", help="no progress bar")
    ingest.set_defaults(func=cmd_ingest)
    ask = sub.add_parser("ask", parents=[common], help="retrieve the passages that answer a question")
    ask.add_argument("question")
    ask.add_argument("--mode", default="ppr", choices=[*MODES, "global"],
                     help="ppr (default), hybrid, dense, bm25, or global (community summaries)")  # fmt: skip
    ask.add_argument("--k", type=int, default=5)
    ask.add_argument("--json", action="store_true", help="print the hits and the explanation as JSON")
    ask.add_argument("--as-of", help="only what was dated and valid at this ISO date or time")
    ask.set_defaults(func=cmd_ask)
    evaluate = sub.add_parser("eval", parents=[common], help="retrieval recall on a benchmark")
    evaluate.add_argument("--format", default="qa", choices=["qa", "locomo", "longmemeval"])
    evaluate.add_argument("file", nargs="?", help="the benchmark file (locomo, longmemeval), or use --corpus")
    evaluate.add_argument("--corpus", help="the corpus (qa) or the benchmark file (locomo, longmemeval)")
    evaluate.add_argument("--questions", help="questions.jsonl (qa format)")
    evaluate.add_argument("--modes", default="dense,bm25,ppr,hybrid")
    evaluate.add_argument("--k", default="1,2,5,10")
    evaluate.add_argument("--out", help="write the figures as JSON here")
    evaluate.add_argument("--no-reconsolidate", action="store_true",
                          help="longmemeval: no reconsolidation (needs a store never reconsolidated)")  # fmt: skip
    evaluate.set_defaults(func=cmd_eval)
    recon = sub.add_parser("reconsolidate", parents=[common],
                           help="merge duplicate facts and retire superseded ones (nothing is deleted)")  # fmt: skip
    recon.add_argument("--full", action="store_true", help="check every fact, not only those written since")
    recon.add_argument("--now", help="the run's time, written as expired_at (ISO; default: now)")
    recon.add_argument("--json", action="store_true", help="print the report as JSON")
    recon.add_argument("--adjudicate", action="store_true",
                       help="ask the configured LLM (GRAPHMEM_LLM_*) about conflicts the rules leave open")  # fmt: skip
    recon.set_defaults(func=cmd_reconsolidate)
    facts = sub.add_parser("facts", parents=[common], help="the facts that hold now, or at a time")
    facts.add_argument("subject", nargs="?", help="an entity name or id (default: all)")
    facts.add_argument("--predicate")
    facts.add_argument("--as-of", help="the facts valid at this ISO date or time")
    facts.add_argument("--all", action="store_true", help="every fact, retired or not")
    facts.add_argument("--json", action="store_true")
    facts.set_defaults(func=cmd_facts)
    history = sub.add_parser("history", parents=[common], help="an entity's timeline: what held when, what replaced it")
    history.add_argument("entity", help="an entity name or id")
    history.add_argument("--json", action="store_true")
    history.set_defaults(func=cmd_history)
    comm = sub.add_parser("communities", parents=[common], help="the community hierarchy, with sizes and titles")
    comm.add_argument("--level", type=int, help="only the communities of this level (0: the coarsest)")
    comm.add_argument("--rebuild", action="store_true", help="(re)build first, clustering only what changed")
    comm.add_argument("--full", action="store_true", help="(re)build first, clustering every component again")
    comm.add_argument("--limit", type=int, default=50,
                      help="communities shown: top-level ones with their hierarchy, or those of --level")  # fmt: skip
    comm.add_argument("--json", action="store_true")
    comm.set_defaults(func=cmd_communities)
    cyph = sub.add_parser("cypher", parents=[common], help="run Cypher on the Neo4j store (read-only unless --write)")
    cyph.add_argument("query", nargs="?", help="Cypher text, a .cypher file, or a library name (see --list)")
    cyph.add_argument("--param", action="append", default=[], metavar="K=V",
                      help="a query parameter; V is read as JSON when it parses (numbers, lists), else a string")
    cyph.add_argument("--embed", metavar="TEXT", help="set $embedding to TEXT's embedding (similar_* queries)")
    cyph.add_argument("--write", action="store_true", help="allow the query to write (default: refused)")
    cyph.add_argument("--json", action="store_true", help="print the rows as JSON")
    cyph.add_argument("--list", action="store_true", help="list the named queries with their parameters")
    cyph.add_argument("--favourites", metavar="ZIP", help="write the named queries as Neo4j Browser favourites")
    cyph.add_argument("--width", type=int, default=40, help="cut table cells to this many characters")
    cyph.add_argument("--store-embeddings", action="store_true",
                      help="first write the namespace's embeddings onto its nodes, for the vector-index queries")
    cyph.set_defaults(func=cmd_cypher)
    add_forget_parser(sub, common)
    stats = sub.add_parser("stats", parents=[common], help="counts of what a store holds")
    stats.set_defaults(func=cmd_stats)
    add_trust_arguments(sub, common, ingest, ask)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except StoreError as exc:
        print(f"graphmem: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
