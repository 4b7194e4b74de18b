"""`graphmem cypher`: named queries, files and text with --param, a table or JSON, --list, --write, --embed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from graphmem.cli import main
from graphmem.memory import Memory
from graphmem.store.neo4j import Neo4jSettings


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["cypher", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _on(memory: Memory, settings: Neo4jSettings) -> list[str]:
    return ["--store", settings.uri, "--namespace", memory.namespace]


def test_list_names_every_library_query(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--list")
    assert code == 0 and out.splitlines()[0].split() == ["name", "params", "answers"]
    line = next(ln for ln in out.splitlines() if ln.startswith("entity_neighbourhood "))
    assert line.split(None, 1)[1].startswith("namespace, name, limit  ") and "temporal/entity_history" in out
    code, out, _ = _run(capsys, "--list", "--json")
    listed = {q["name"]: q for q in json.loads(out)}
    assert listed["shortest_paths"]["params"] == ["namespace", "source", "target", "max_hops"]
    assert "shortest paths" in listed["shortest_paths"]["header"]


@pytest.mark.neo4j
def test_named_query_with_params_prints_a_table_or_json(sample: Memory, neo4j_settings: Neo4jSettings,
                                                        capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    code, out, _ = _run(capsys, "most_connected", "--param", "limit=3", *_on(sample, neo4j_settings))
    lines = out.splitlines()
    assert code == 0 and lines[0].split()[:4] == ["entity", "type", "neighbours", "facts"]
    assert set(lines[1]) == {"-", " "} and lines[-1] == "(3 rows)" and len(lines) == 6
    code, out, _ = _run(capsys, "shortest_paths", "--param", "source=Casimir Lovatt", "--param", "target=Ardloch",
                        "--param", "max_hops=2", "--json", *_on(sample, neo4j_settings))  # fmt: skip
    rows = json.loads(out)
    assert code == 0 and [(r["hops"], r["text"]) for r in rows] == [(1, "Casimir Lovatt —born_in→ Ardloch")]
    assert rows[0]["path"][0]["name"] == "Casimir Lovatt"
    code, out, _ = _run(capsys, "entity_neighbourhood", "--param", "name=Casimir Lovatt", "--width", "12",
                        *_on(sample, neo4j_settings))  # fmt: skip
    cells = re.split(r" {2,}", out.splitlines()[2].strip())
    assert code == 0 and "Casimir Lov…" in cells and all(len(cell) <= 12 for cell in cells)


@pytest.mark.neo4j
def test_text_and_file_queries_and_refused_writes(sample: Memory, neo4j_settings: Neo4jSettings, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    params = ["--param", "n=41", "--param", "who=Ada", "--param", "xs=[1,2]"]
    code, out, _ = _run(capsys, "RETURN $n + 1 AS next, $who AS who, $xs AS xs", *params, "--json",
                        *_on(sample, neo4j_settings))  # fmt: skip
    assert code == 0 and json.loads(out) == [{"next": 42, "who": "Ada", "xs": [1, 2]}]
    query = tmp_path / "count.cypher"
    query.write_text("// How many passages.\nMATCH (p:Passage {namespace: $namespace}) RETURN count(p) AS passages\n")
    code, out, _ = _run(capsys, str(query), "--json", *_on(sample, neo4j_settings))
    assert code == 0 and json.loads(out) == [{"passages": 24}]
    create = "CREATE (:Node {namespace: $namespace, id: 'cli-probe'}) RETURN 1 AS done"
    code, out, err = _run(capsys, create, *_on(sample, neo4j_settings))
    assert code == 2 and "refused in read-only mode" in err and "--write" in err and out == ""
    assert sample.cypher("MATCH (n:Node {namespace: $namespace, id: 'cli-probe'}) RETURN n") == []
    code, _, err = _run(capsys, "no_such_query", *_on(sample, neo4j_settings))
    assert code == 2 and "--list" in err


@pytest.mark.neo4j
def test_write_flag_writes(neo4j_settings: Neo4jSettings, capsys: pytest.CaptureFixture[str]) -> None:
    from graphmem.store.neo4j import Neo4jStore

    namespace = "t-cli-write-" + Path(__file__).stem.replace("_", "-")
    argv = ["--store", neo4j_settings.uri, "--namespace", namespace, "--json"]
    create = "CREATE (n:Node {namespace: $namespace, id: 'cli-probe'}) RETURN n.id AS id"
    try:
        code, out, _ = _run(capsys, create, "--write", *argv)
        assert code == 0 and json.loads(out) == [{"id": "cli-probe"}]
        code, out, _ = _run(capsys, "MATCH (n:Node {namespace: $namespace}) RETURN count(n) AS n", *argv)
        assert json.loads(out) == [{"n": 1}]
    finally:
        with Neo4jStore(neo4j_settings) as store:
            store.delete_namespace(namespace)


@pytest.mark.neo4j
def test_embed_sets_the_embedding_parameter(sample: Memory, neo4j_settings: Neo4jSettings, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.setenv("GRAPHMEM_EMBED_CACHE", str(tmp_path / "embed.sqlite3"))
    code, out, _ = _run(capsys, "similar_entities", "--embed", "Orrin Shipworks", "--param", "k=2", "--json",
                        *_on(sample, neo4j_settings))  # fmt: skip
    rows = json.loads(out)
    assert code == 0 and rows[0]["entity"] == "Orrin Shipworks" and rows[0]["score"] > 0.99


def test_embedded_store_is_refused_with_how_to_start_neo4j(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    code, out, err = _run(capsys, "most_connected", "--store", str(tmp_path / "graph.sqlite3"))
    assert code == 2 and out == "" and "need the Neo4j store" in err and "make neo4j-start" in err


def test_favourites_zip_holds_every_named_query(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import zipfile

    from graphmem.cypher_library import library

    archive = tmp_path / "favourites.zip"
    code, out, _ = _run(capsys, "--favourites", str(archive))
    entries = library()
    assert code == 0 and f"{len(entries)} favourites written" in out
    with zipfile.ZipFile(archive) as zipped:
        texts = {name: zipped.read(name).decode("utf-8") for name in zipped.namelist()}
    assert sorted(texts) == sorted(f"graphmem/{e.name.replace('/', '-')}.cypher" for e in entries)
    for entry in entries:
        text = texts[f"graphmem/{entry.name.replace('/', '-')}.cypher"]
        first, rest = text.split("\n", 1)
        assert first.startswith(f"// {entry.name}: ") and len(first) < 200 and rest == entry.text
        assert all(f"${p}" in first for p in entry.params)
