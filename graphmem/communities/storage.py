"""The I/O edge: read the stored communities of a namespace, write this run's, through GraphStore only.

A community node lists one handle as its supporting document, ``community:<id>``, and nothing else
names it. Deleting that handle (``delete_document``, on either store) removes the node with its
IN_COMMUNITY and CHILD_OF edges and touches nothing else: that is how a community that changed or
vanished goes, with no store operation of its own. Only communities that differ from the stored ones
are deleted and written, in batches, so an unchanged run writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from graphmem.graph import from_node, to_graph, to_node
from graphmem.records import Community
from graphmem.store import GraphStore
from graphmem.store.base import Edge

BATCH = 2_000
HANDLE_PREFIX = "community:"


def handle(community_id: str) -> str:
    """The pseudo-document that alone supports a community node."""
    return HANDLE_PREFIX + community_id


@dataclass
class WriteReport:
    """Ids created, updated (content changed) and deleted; unchanged counts the rest, including communities
    whose component digest alone was rewritten."""

    created: list[str]
    updated: list[str]
    deleted: list[str]
    unchanged: int

    @property
    def touched(self) -> set[str]:
        return {*self.created, *self.updated, *self.deleted}


def read_communities(store: GraphStore, namespace: str) -> list[Community]:
    out = []
    for node in store.iter_nodes(namespace, Community.LABEL):
        record = from_node(node)
        assert isinstance(record, Community)
        out.append(record)
    return out


def _batches(items: Sequence[object], size: int = BATCH) -> list[Sequence[object]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def write_communities(store: GraphStore, namespace: str, records: Sequence[Community],
                      previous: Sequence[Community]) -> WriteReport:  # fmt: skip
    """Make the namespace's communities ``records``: delete the stale and changed ones, write the new and
    changed ones (nodes, then IN_COMMUNITY and CHILD_OF edges). ``previous``: what the store holds now."""
    old = {c.id: c for c in previous}
    new = {c.id: c for c in records}
    created = sorted(i for i in new if i not in old)
    changed = [i for i in new if i in old and old[i] != new[i]]
    # Same members and parent: the node is rewritten in place and its edges stay. Otherwise it goes first.
    moved = sorted(i for i in changed if (old[i].member_ids, old[i].parent_id) != (new[i].member_ids, new[i].parent_id))
    deleted = sorted(i for i in old if i not in new)
    for community_id in [*deleted, *moved]:
        store.delete_document(namespace, handle(community_id))
    written = [new[i] for i in [*created, *moved]]
    nodes, edges = to_graph(written)
    nodes += [to_node(new[i]) for i in sorted(set(changed) - set(moved))]
    nodes = [replace(node, docs=(handle(node.id),)) for node in nodes]
    # A rewritten parent lost its children's CHILD_OF edges with its old node: give them back.
    rewritten = {c.id for c in written}
    edges += [Edge("CHILD_OF", c.id, c.parent_id, namespace) for c in records
              if c.parent_id in rewritten and c.id not in rewritten]  # fmt: skip
    for batch in _batches(nodes):
        store.upsert_nodes(batch)  # type: ignore[arg-type]
    for batch in _batches(edges):
        store.upsert_edges(batch)  # type: ignore[arg-type]
    # Only the component digest differs: the community itself did not change (its component did, elsewhere).
    updated = sorted(i for i in changed if old[i].model_copy(update={"component": None})
                     != new[i].model_copy(update={"component": None}))  # fmt: skip
    return WriteReport(created, updated, deleted, len(new) - len(created) - len(updated))
