"""Stable community ids: a new community takes the id of the previous run's community it overlaps most.

Matching is per level and greedy on the Jaccard overlap of member sets, best pairs first (ties by ids,
so the outcome never depends on input order). A pair below ``threshold`` does not match: the new
community gets a fresh id, a hash of its level and members. An unchanged graph therefore keeps every
id, and a few entities joining or leaving a community do not rename it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from graphmem.records import content_id

DEFAULT_THRESHOLD = 0.5


def fresh_id(level: int, members: Sequence[str]) -> str:
    return content_id("community", str(level), *sorted(members))


def match_ids(new: Sequence[tuple[int, frozenset[str]]], old: Mapping[str, tuple[int, frozenset[str]]],
              threshold: float = DEFAULT_THRESHOLD, reserved: Iterable[str] = ()) -> list[str]:  # fmt: skip
    """One id per new community, given as (level, member ids); ``old`` maps previous ids to (level, members).
    ``reserved``: ids in use elsewhere (communities kept as they were), which no new community may take."""
    by_member: dict[tuple[int, str], list[str]] = defaultdict(list)
    for old_id, (level, members) in old.items():
        for member in members:
            by_member[(level, member)].append(old_id)
    keys = [fresh_id(level, sorted(members)) for level, members in new]
    pairs: list[tuple[float, str, str, int]] = []
    for index, (level, members) in enumerate(new):
        shared: dict[str, int] = defaultdict(int)
        for member in members:
            for old_id in by_member.get((level, member), ()):
                shared[old_id] += 1
        for old_id, overlap in shared.items():
            jaccard = overlap / (len(members) + len(old[old_id][1]) - overlap)
            if jaccard >= threshold:
                pairs.append((-jaccard, keys[index], old_id, index))
    pairs.sort()
    ids: list[str | None] = [None] * len(new)
    taken: set[str] = set(reserved)
    for _, _, old_id, index in pairs:
        if ids[index] is None and old_id not in taken:
            ids[index] = old_id
            taken.add(old_id)
    out: list[str] = []
    for index, found in enumerate(ids):
        if found is None:
            # A hash can equal a matched old id whose members drifted since it was minted: salt it until free.
            found, salt = keys[index], 0
            while found in taken:
                salt += 1
                found = content_id("community", keys[index], str(salt))
            taken.add(found)
        out.append(found)
    return out
