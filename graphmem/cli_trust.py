"""``graphmem flagged``: the memories that read as instructions to an agent; ``ingest --trust`` (graphmem.trust)."""

from __future__ import annotations

import argparse
import json
import sys

from graphmem.ingest import IngestConfig
from graphmem.memory import Memory
from graphmem.records import TRUST_LEVELS
from graphmem.trust import TrustDefaults


def cmd_flagged(args: argparse.Namespace) -> int:
    with Memory(args.store, args.namespace, extract=False) as memory:
        found = memory.flagged()
    if args.json:
        print(json.dumps([f.to_dict() for f in found], indent=2))
        return 0
    if not found:
        print(f"no flagged passages or turns in namespace {memory.namespace!r}", file=sys.stderr)
        return 0
    print(f"{len(found)} flagged in namespace {memory.namespace!r} (not retrieved unless their source is trusted):")
    for item in found:
        state = "retrieved: trusted source" if item.retrieved else "not retrieved"
        print(f"{item.source_id}  {item.label} {item.id}  [{item.trust}, {state}]")
        for reason in item.reasons:
            print(f"    {reason}")
        print(f"    > {item.excerpt}")
    return 0


def add_trust_arguments(sub: argparse._SubParsersAction, common: argparse.ArgumentParser,
                        ingest: argparse.ArgumentParser, ask: argparse.ArgumentParser) -> None:  # fmt: skip
    """The ``flagged`` command, ``ingest --trust`` and ``ask --include-flagged``."""
    ingest.add_argument("--trust", choices=TRUST_LEVELS,
                        help="trust level of files that state none (default: untrusted)")  # fmt: skip
    ask.add_argument("--include-flagged", action="store_true", help="also passages flagged as instructions")
    flagged = sub.add_parser("flagged", parents=[common],
                             help="passages and turns flagged as instructions to an agent, and why")  # fmt: skip
    flagged.add_argument("--json", action="store_true", help="print them as JSON")
    flagged.set_defaults(func=cmd_flagged)


def ingest_config(args: argparse.Namespace) -> IngestConfig | None:
    """The ingestion settings ``graphmem ingest --trust`` asks for (None: the defaults)."""
    return IngestConfig(trust=TrustDefaults(file=args.trust)) if args.trust else None
