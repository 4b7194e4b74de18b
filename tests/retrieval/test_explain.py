"""Paths from seed entities to retrieved units (graphmem.retrieve.explain) on hand-built indexes."""

from __future__ import annotations

import gc
import json
import random
import time
from collections.abc import Sequence

import numpy as np
import pytest
import scipy.sparse as sp

from graphmem.index import RetrievalIndex, Unit
from graphmem.retrieve.explain import _PAIR_FACTS, PairFacts, Path, relation_facts, seed_paths


def make_index(units: list[str], entities: list[str], mentions: Sequence[tuple[str, str]],
               facts: Sequence[tuple[str, str, str]] = (), synonyms: Sequence[tuple[str, str, float]] = (),
               turns: frozenset[str] = frozenset()) -> RetrievalIndex:  # fmt: skip
    """A RetrievalIndex the way build_index lays it out: units, then entities (name "E" has type "T_E")."""
    unit_row = {u: i for i, u in enumerate(units)}
    entity_row = {e: i for i, e in enumerate(entities)}
    n_units = len(units)
    weights: dict[tuple[int, int], float] = {}
    for unit, entity in mentions:
        weights[(unit_row[unit], n_units + entity_row[entity])] = 1.0
    fact_rows = []
    for i, (subject, predicate, obj) in enumerate(facts):
        s, o = entity_row[subject], entity_row[obj]
        fact_rows.append((s, predicate, o, f"f{i}"))
        key = (n_units + min(s, o), n_units + max(s, o))
        weights[key] = weights.get(key, 0.0) + 1.0
    for a, b, score in synonyms:
        x, y = n_units + entity_row[a], n_units + entity_row[b]
        key = (min(x, y), max(x, y))
        weights[key] = max(weights.get(key, 0.0), score)
    rows = [a for a, _ in weights] + [b for _, b in weights]
    cols = [b for _, b in weights] + [a for a, _ in weights]
    size = n_units + len(entities)
    graph = sp.csr_matrix((list(weights.values()) * 2, (rows, cols)), shape=(size, size))
    pairs = sorted((entity_row[e], unit_row[u]) for u, e in mentions)
    mention_matrix = sp.csr_matrix((np.ones(len(pairs)), ([e for e, _ in pairs], [u for _, u in pairs])),
                                   shape=(len(entities), n_units))  # fmt: skip
    return RetrievalIndex(
        namespace="t", revision=1,
        units=[Unit(u, f"text of {u}", "doc", speaker="Ana" if u in turns else None) for u in units],
        entity_ids=[f"e:{e}" for e in entities], entity_names=list(entities), entity_types=[f"T_{e}" for e in entities],
        graph=graph, mentions=mention_matrix, unit_vectors=np.zeros((n_units, 2), dtype=np.float32),
        entity_vectors=np.zeros((len(entities), 2), dtype=np.float32), facts=fact_rows,
    )  # fmt: skip


def rows(index: RetrievalIndex, *names: str) -> list[int]:
    return [index.entity_names.index(n) if n in index.entity_names else [u.id for u in index.units].index(n)
            for n in names]  # fmt: skip


# the sample corpus in miniature: the light is in p1, p1 names its engineer, who is born in p7
LIGHTHOUSE = {
    "units": ["p1", "p7", "p9"],
    "entities": ["Skarrow Head light", "Casimir Lovatt", "Brill"],
    "mentions": [("p1", "Skarrow Head light"), ("p1", "Casimir Lovatt"), ("p7", "Casimir Lovatt"), ("p7", "Brill")],
}


def test_a_unit_that_mentions_a_seed_gets_a_one_hop_path() -> None:
    index = make_index(**LIGHTHOUSE)
    [light] = rows(index, "Skarrow Head light")
    [p1] = rows(index, "p1")
    path = seed_paths(index, {light: 0.5}, [p1])[p1]
    assert path.hops == 1 and path.bridges == ()
    assert (path.seed, path.seed_name, path.seed_type, path.seed_weight) == (light, "Skarrow Head light",
                                                                            "T_Skarrow Head light", 0.5)  # fmt: skip
    assert path.steps[0].kind == "mentions" and path.steps[0].is_unit and path.unit_id == "p1"
    assert str(path) == "Skarrow Head light —mentioned in→ passage p1"


def test_a_two_entity_chain_names_exactly_its_bridging_entity() -> None:
    index = make_index(**LIGHTHOUSE)
    [light, p1, p7, p9] = rows(index, "Skarrow Head light", "p1", "p7", "p9")
    paths = seed_paths(index, {light: 1.0}, [p7, p1, p9])
    assert list(paths) == [p7, p1]  # in the order asked; p9 mentions nothing
    path = paths[p7]
    assert path.hops == 3
    assert path.bridges == ("Casimir Lovatt",)
    assert path.bridge_rows == tuple(rows(index, "Casimir Lovatt"))
    assert [s.kind for s in path.steps] == ["mentions"] * 3
    assert str(path) == ("Skarrow Head light —mentioned in→ passage p1 —mentions→ Casimir Lovatt "
                         "—mentioned in→ passage p7")  # fmt: skip
    as_json = json.loads(json.dumps(path.to_dict()))
    assert as_json["unit"] == "p7" and as_json["bridges"] == ["Casimir Lovatt"] and as_json["hops"] == 3
    assert as_json["seed"]["name"] == "Skarrow Head light"
    assert as_json["steps"][1] == {"kind": "mentions", "weight": 1.0, "node": "entity", "row": 1,
                                   "name": "Casimir Lovatt", "type": "T_Casimir Lovatt"}  # fmt: skip


def test_a_relation_step_shows_its_predicates_in_the_direction_walked() -> None:
    index = make_index(units=["p1", "p2"], entities=["Lovatt", "Skarrow", "Brill"],
                       mentions=[("p1", "Lovatt"), ("p2", "Brill")],
                       facts=[("Skarrow", "designed by", "Lovatt"), ("Lovatt", "born in", "Brill"),
                              ("Lovatt", "lived in", "Brill"), ("Lovatt", "born in", "Brill")])  # fmt: skip
    [skarrow, p1, p2] = rows(index, "Skarrow", "p1", "p2")
    paths = seed_paths(index, {skarrow: 1.0}, [p1, p2])
    assert paths[p1].hops == 2 and paths[p1].bridges == ("Lovatt",)
    relation = paths[p1].steps[0]
    assert relation.kind == "relation" and relation.predicates == ("designed by",)
    assert relation.reverse_predicates == () and relation.fact_ids == ("f0",)
    walked = paths[p2].steps[1]  # Lovatt -> Brill: two facts, one predicate repeated
    assert walked.kind == "relation" and walked.weight == 3.0
    assert walked.predicates == ("born in", "lived in") and walked.fact_ids == ("f1", "f2", "f3")
    assert str(paths[p2]) == "Skarrow —designed by→ Lovatt —born in / lived in→ Brill —mentioned in→ passage p2"
    [lovatt, brill] = rows(index, "Lovatt", "Brill")
    back = seed_paths(index, {brill: 1.0}, [p1])[p1]  # walked against the facts: Brill <-born in- Lovatt
    assert back.steps[0].predicates == () and back.steps[0].reverse_predicates == ("born in", "lived in")
    assert str(back) == "Brill ←born in / lived in— Lovatt —mentioned in→ passage p1"
    assert back.to_dict()["steps"][0]["fact_ids"] == ["f1", "f2", "f3"]
    assert lovatt == back.bridge_rows[0]


def test_a_synonym_step_is_not_a_relation_and_turns_read_as_turns() -> None:
    index = make_index(units=["chat/1"], entities=["NYC", "New York City"], mentions=[("chat/1", "New York City")],
                       synonyms=[("NYC", "New York City", 0.91)], turns=frozenset({"chat/1"}))  # fmt: skip
    [nyc, turn] = rows(index, "NYC", "chat/1")
    path = seed_paths(index, {nyc: 1.0}, [turn])[turn]
    assert [s.kind for s in path.steps] == ["synonym", "mentions"]
    assert path.steps[0].weight == pytest.approx(0.91) and path.steps[0].predicates == ()
    assert path.bridges == ("New York City",) and path.strength == pytest.approx(0.91)
    assert str(path) == "NYC —synonym 0.91→ New York City —mentioned in→ turn chat/1"
    assert path.to_dict()["steps"][1]["node"] == "turn" and "predicates" not in path.to_dict()["steps"][0]


def test_ties_in_hops_go_to_the_heavier_seed_then_to_the_stronger_chain() -> None:
    index = make_index(units=["p"], entities=["A", "B", "X", "Y", "Z"], mentions=[("p", "A"), ("p", "B"), ("p", "X")],
                       facts=[("Y", "knows", "X"), ("Y", "met", "X")],
                       synonyms=[("Z", "X", 0.6)])  # fmt: skip
    [a, b, y, z, p] = rows(index, "A", "B", "Y", "Z", "p")
    assert seed_paths(index, {a: 0.2, b: 0.7}, [p])[p].seed_name == "B"
    assert seed_paths(index, {a: 0.9, b: 0.7}, [p])[p].seed_name == "A"
    # two 2-hop chains from equally weighted seeds: through a relation (weight 2) or a synonym (0.6)
    chain = seed_paths(index, {z: 0.5, y: 0.5}, [p])[p]
    assert chain.seed_name == "Y" and chain.steps[0].kind == "relation" and chain.strength == 1.0
    # a heavier seed wins even when its chain is weaker
    assert seed_paths(index, {z: 0.6, y: 0.5}, [p])[p].seed_name == "Z"
    # and fewer hops beat any weight
    assert seed_paths(index, {z: 5.0, a: 0.01}, [p])[p].seed_name == "A"


def test_unreachable_units_and_the_hop_limit_leave_no_entry() -> None:
    # a line: S - p0 - E1 - p1 - E2 - p2 ; "lone" mentions nothing reachable
    index = make_index(units=["p0", "p1", "p2", "lone"], entities=["S", "E1", "E2", "Far"],
                       mentions=[("p0", "S"), ("p0", "E1"), ("p1", "E1"), ("p1", "E2"), ("p2", "E2"),
                                 ("lone", "Far")])  # fmt: skip
    [s, p0, p1, p2, lone] = rows(index, "S", "p0", "p1", "p2", "lone")
    everything = seed_paths(index, {s: 1.0}, [p0, p1, p2, lone], max_hops=6)
    assert {u: path.hops for u, path in everything.items()} == {p0: 1, p1: 3, p2: 5}
    assert everything[p2].bridges == ("E1", "E2")
    assert set(seed_paths(index, {s: 1.0}, [p0, p1, p2, lone], max_hops=4)) == {p0, p1}
    assert set(seed_paths(index, {s: 1.0}, [p0, p1, p2], max_hops=3)) == {p0, p1}
    assert set(seed_paths(index, {s: 1.0}, [p0, p1, p2], max_hops=2)) == {p0}
    assert seed_paths(index, {s: 1.0}, [p0], max_hops=0) == {}
    assert seed_paths(index, {}, [p0]) == {} and seed_paths(index, {s: 1.0}, []) == {}
    with pytest.raises(IndexError):
        seed_paths(index, {s: 1.0}, [99])
    with pytest.raises(IndexError):
        seed_paths(index, {-1: 1.0}, [p0])
    with pytest.raises(ValueError):
        seed_paths(index, {s: float("nan")}, [p0])


def test_the_fact_lookup_is_built_once_per_index_and_forgotten_with_it() -> None:
    index = make_index(units=["p"], entities=["A", "B"], mentions=[("p", "B")], facts=[("A", "owns", "B")])
    first = relation_facts(index)
    assert relation_facts(index) is first and first.get((0, 1)) == [(0, "owns", 1, "f0")]
    assert first.get((0, 0)) is None and first.get((1, 1)) is None
    key = id(index)
    assert key in _PAIR_FACTS
    del index, first
    gc.collect()
    assert key not in _PAIR_FACTS


def reference_paths(index: RetrievalIndex, seeds: dict[int, float], units: list[int],
                    max_hops: int) -> dict[int, tuple[int, float, float, list[int]]]:  # fmt: skip
    """The tie rule spelled out: a plain BFS over the whole graph, one (seed weight, bottleneck, parent) label
    per node. unit row -> (hops, seed weight, bottleneck, node chain)."""
    graph = index.graph.tocsr()
    label = {index.n_units + row: (weight, float("inf"), -1) for row, weight in seeds.items()}
    hops = dict.fromkeys(label, 0)
    frontier = sorted(label)
    for level in range(1, max_hops + 1):
        best: dict[int, tuple[float, float, int]] = {}
        for parent in frontier:
            edges = slice(graph.indptr[parent], graph.indptr[parent + 1])
            for node, weight in zip(graph.indices[edges], graph.data[edges], strict=True):
                if node in hops or weight <= 0:
                    continue
                candidate = (label[parent][0], min(label[parent][1], weight), int(parent))
                old = best.get(int(node))
                if old is None or (candidate[0], candidate[1], -candidate[2]) > (old[0], old[1], -old[2]):
                    best[int(node)] = candidate
        label.update(best)
        hops.update(dict.fromkeys(best, level))
        frontier = sorted(best)
    out = {}
    for unit in units:
        if unit in hops:
            chain = [unit]
            while label[chain[-1]][2] >= 0:
                chain.append(label[chain[-1]][2])
            out[unit] = (hops[unit], label[unit][0], label[unit][1], chain[::-1])
    return out


def test_the_pruned_search_agrees_with_a_plain_bfs_on_random_graphs() -> None:
    rng = np.random.default_rng(3)
    for case in range(150):
        n_units, n_entities = int(rng.integers(5, 60)), int(rng.integers(3, 40))
        units, entities = [f"u{i}" for i in range(n_units)], [f"e{i}" for i in range(n_entities)]
        hub = entities[0]
        mentions = {(units[int(u)], entities[int(e)]) for u, e in zip(rng.integers(0, n_units, 2 * n_units),
                                                                      rng.integers(0, n_entities, 2 * n_units),
                                                                      strict=True)}  # fmt: skip
        mentions |= {(u, hub) for u in units if rng.random() < 0.4}
        facts = [(entities[int(a)], str(rng.choice(["p", "q"])), entities[int(b)])
                 for a, b in rng.integers(0, n_entities, (n_entities, 2)) if a != b]  # fmt: skip
        synonyms = [(entities[int(a)], entities[int(b)], float(rng.choice([0.5, 0.9])))
                    for a, b in rng.integers(0, n_entities, (n_entities // 3, 2)) if a != b]  # fmt: skip
        index = make_index(units, entities, sorted(mentions), facts, synonyms)
        seeds = {int(row): float(rng.choice([0.5, 1.0])) for row in rng.integers(0, n_entities, rng.integers(1, 4))}
        wanted = [int(u) for u in rng.integers(0, n_units, rng.integers(1, n_units + 1))]
        max_hops = int(rng.integers(1, 7))
        got = seed_paths(index, seeds, wanted, max_hops=max_hops)
        expected = reference_paths(index, seeds, list(dict.fromkeys(wanted)), max_hops)
        assert list(got) == list(expected), case
        for unit, path in got.items():
            steps = [index.n_units + path.seed] + [row if s.is_unit else index.n_units + row
                                                   for s, row in ((s, s.row) for s in path.steps)]  # fmt: skip
            assert (path.hops, path.seed_weight, path.strength, steps) == expected[unit], case


def random_index(seed: int = 7, n_units: int = 70_000, n_entities: int = 30_000, hub_degree: int = 5_000,
                 facts_per_entity: float = 1.0) -> RetrievalIndex:  # fmt: skip
    """100k nodes: every unit mentions three random entities, entity 0 is a hub mentioned by hub_degree units,
    entity 1 another hub, and random relations join entities."""
    rng = np.random.default_rng(seed)
    unit_side = np.repeat(np.arange(n_units), 3)
    entity_side = rng.integers(2, n_entities, size=unit_side.size)
    for hub in (0, 1):
        picked = rng.choice(n_units, size=hub_degree, replace=False)
        unit_side = np.concatenate([unit_side, picked])
        entity_side = np.concatenate([entity_side, np.full(hub_degree, hub)])
    pairs = np.unique(np.stack([unit_side, entity_side], axis=1), axis=0)
    n_facts = int(n_entities * facts_per_entity)
    subjects, objects = rng.integers(0, n_entities, size=n_facts), rng.integers(0, n_entities, size=n_facts)
    keep = subjects != objects
    subjects, objects = subjects[keep], objects[keep]
    rows_ = np.concatenate([pairs[:, 0], n_units + pairs[:, 1], n_units + subjects, n_units + objects])
    cols_ = np.concatenate([n_units + pairs[:, 1], pairs[:, 0], n_units + objects, n_units + subjects])
    size = n_units + n_entities
    graph = sp.csr_matrix((np.ones(rows_.size), (rows_, cols_)), shape=(size, size))
    mentions = sp.csr_matrix((np.ones(len(pairs)), (pairs[:, 1], pairs[:, 0])), shape=(n_entities, n_units))
    return RetrievalIndex(
        namespace="big", revision=1, units=[Unit(f"u{i}", "", "doc") for i in range(n_units)],
        entity_ids=[f"e{i}" for i in range(n_entities)], entity_names=[f"entity {i}" for i in range(n_entities)],
        entity_types=["THING"] * n_entities, graph=graph, mentions=mentions,
        unit_vectors=np.zeros((n_units, 2), dtype=np.float32),
        entity_vectors=np.zeros((n_entities, 2), dtype=np.float32),
        facts=[(int(s), "rel", int(o), f"f{i}") for i, (s, o) in enumerate(zip(subjects, objects, strict=True))],
    )  # fmt: skip


def test_paths_stay_cheap_on_a_100k_node_graph_with_hubs() -> None:
    index = random_index()
    assert index.graph.shape[0] == 100_000 and int(index.graph[:, index.n_units].nnz) >= 5_000
    rng = np.random.default_rng(1)
    reached_total = 0
    for seeds in ({0: 0.1, 5: 0.5}, {7: 1.0, 8: 0.3, 9: 0.2}, {1: 0.4}):
        near = index.mentions[list(seeds)].indices[:5].tolist()  # retrieved units are usually near a seed ...
        units = near + rng.integers(0, index.n_units, size=10).tolist()  # ... but not always
        seed_paths(index, seeds, units)  # warm: the fact lookup is built once per index
        started = time.perf_counter()
        for _ in range(5):
            paths = seed_paths(index, seeds, units)
        elapsed = (time.perf_counter() - started) / 5
        print(f"seeds {sorted(seeds)}: {len(paths)}/{len(set(units))} units explained in {elapsed * 1000:.2f} ms")
        assert elapsed < 1.0
        assert all(paths[u].hops == 1 for u in near)
        for path in paths.values():
            assert path.hops <= 4 and path.seed in seeds and isinstance(path, Path)
        reached_total += len(paths)
    assert reached_total > 15  # random units are mostly within four hops of a hub-connected seed


def test_the_pair_lookup_gives_each_pairs_facts_in_index_order() -> None:
    rng = random.Random(5)
    facts = [(rng.randrange(12), f"p{i % 4}", rng.randrange(12), f"f{i}") for i in range(400)]
    expected: dict[tuple[int, int], list[tuple[int, str, int, str]]] = {}
    for fact in facts:
        expected.setdefault((min(fact[0], fact[2]), max(fact[0], fact[2])), []).append(fact)
    lookup = PairFacts(facts, 12)
    for low in range(12):
        for high in range(low, 12):
            assert lookup.get((low, high)) == expected.get((low, high)), (low, high)
    assert PairFacts([], 0).get((0, 0)) is None
