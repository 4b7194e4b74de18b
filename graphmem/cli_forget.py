"""``graphmem forget --document ID | --namespace NS [--yes]``: delete a document or a whole namespace.

``--document`` forgets one document or dialogue of ``--namespace`` (default: GRAPHMEM_NAMESPACE or 'default');
``--namespace`` alone forgets that whole namespace. Either asks first, or needs ``--yes``."""

from __future__ import annotations

import argparse
import json
import sys

from graphmem.memory import Memory


def add_forget_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    forget = sub.add_parser("forget", parents=[common],
                            help="delete a document and what only it supported, or a namespace")  # fmt: skip
    forget.add_argument("--document", help="the document or dialogue id to forget (else: the whole --namespace)")
    forget.add_argument("--yes", action="store_true", help="do it without asking (needed when not on a terminal)")
    forget.add_argument("--json", action="store_true", help="print the report as JSON")
    forget.set_defaults(func=cmd_forget)


def _confirmed(what: str, yes: bool) -> bool:
    if yes:
        return True
    if not sys.stdin.isatty():
        print(f"graphmem forget: would forget {what}; nothing was deleted: pass --yes to confirm", file=sys.stderr)
        return False
    answer = input(f"Forget {what}? This cannot be undone. [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def cmd_forget(args: argparse.Namespace) -> int:
    if args.document is None and not args.namespace:
        print("graphmem forget: give --document ID (of --namespace NS), or --namespace NS to forget all of it",
              file=sys.stderr)  # fmt: skip
        return 2
    whole = args.document is None
    with Memory(args.store, args.namespace) as memory:
        if whole:
            what = f"every node and edge of namespace {memory.namespace!r}"
        else:
            what = f"document {args.document!r} of namespace {memory.namespace!r}"
            if not memory.store.get_nodes(memory.namespace, [args.document]):
                print(f"graphmem forget: no document {args.document!r} in namespace {memory.namespace!r}",
                      file=sys.stderr)  # fmt: skip
                return 1
        if not _confirmed(what, args.yes):
            return 1
        report = memory.forget(args.document, namespace=memory.namespace)
    if args.json:
        print(json.dumps(report.to_dict()))
    else:
        print(f"forgot {what}: {report.nodes_deleted} nodes and {report.edges_deleted} edges deleted, "
              f"{report.nodes_updated} nodes kept with other support ({report.rederived} derived again), "
              f"in {report.seconds:.2f} s")  # fmt: skip
    return 0
