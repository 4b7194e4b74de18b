"""docker/compose.yml runs this code location: the module its Dagster services load is ``pipelines``, the inbox
the sensor watches is the one mounted, caches live on the shared volume, and every GRAPHMEM_* variable it sets is
one the code reads. (tests/integration/test_docker_compose.py checks the file itself, and with ``docker compose
config`` where Docker is installed.)"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipelines import defs
from pipelines.assets import ALL_ASSETS, STORE_POOL

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker" / "compose.yml"
DAGSTER_SERVICES = ("dagster-webserver", "dagster-daemon")


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def _module(command: list[str]) -> str:
    return command[command.index("-m") + 1]


def test_dagster_services_load_this_code_location(services: dict[str, Any]) -> None:
    for name in DAGSTER_SERVICES:
        assert _module(services[name]["command"]) == "pipelines"
    assert (REPO / "pipelines" / "__init__.py").is_file()
    assert {a.key.to_user_string() for a in ALL_ASSETS} <= {k.to_user_string() for k in defs.resolve_all_asset_keys()}
    dockerfile = (REPO / "docker" / "Dockerfile").read_text()
    assert "COPY pipelines/ pipelines/" in dockerfile and '"-m", "pipelines"' in dockerfile


def test_the_sensor_watches_the_mounted_inbox_and_caches_persist(services: dict[str, Any]) -> None:
    for name in DAGSTER_SERVICES:
        service = services[name]
        env = service["environment"]
        mounts = {v.split(":")[1]: v.split(":")[0] for v in service["volumes"]}
        assert env["GRAPHMEM_INBOX"] in mounts and mounts[env["GRAPHMEM_INBOX"]] == "../data/inbox"
        home = env["DAGSTER_HOME"]
        assert mounts[home] == "dagster-home"
        for cache in ("GRAPHMEM_EMBED_CACHE", "GRAPHMEM_INDEX_CACHE"):
            assert Path(env[cache]).is_relative_to(home), f"{cache} would be lost with the container"
        assert env["GRAPHMEM_STORE"] == "neo4j" and env["GRAPHMEM_NEO4J_URI"] == "bolt://neo4j:7687"
    assert services["dagster-webserver"]["environment"] == services["dagster-daemon"]["environment"]


def test_every_graphmem_variable_in_compose_is_read_by_the_code(services: dict[str, Any]) -> None:
    read = {name for folder in ("graphmem", "pipelines") for path in (REPO / folder).rglob("*.py")
            for name in re.findall(r"GRAPHMEM_[A-Z0-9_]+", path.read_text())}  # fmt: skip
    for name in DAGSTER_SERVICES:
        variables = {k for k in services[name]["environment"] if k.startswith("GRAPHMEM_")}
        assert variables and variables <= read, variables - read


def test_the_instance_lets_one_graph_writer_run_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dagster import DagsterInstance

    shutil.copy(REPO / "docker" / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with DagsterInstance.get() as instance:
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
    writers = {a.key.to_user_string() for a in ALL_ASSETS if a.node_def.pool == STORE_POOL}
    assert writers == {"graph", "synonym_edges", "retrieval_index", "reconsolidated_facts", "communities"}
