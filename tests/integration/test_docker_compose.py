"""docker/compose.yml, docker/Dockerfile and docker/dagster.yaml: checked by Docker Compose when it is
installed, and structurally (YAML, Dockerfile lines, Dagster's own instance loader) always."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
COMPOSE = DOCKER / "compose.yml"
DOCKERFILE = DOCKER / "Dockerfile"
DAGSTER_YAML = DOCKER / "dagster.yaml"

SERVICES = {"neo4j", "dagster-webserver", "dagster-daemon"}
DAGSTER_SERVICES = ("dagster-webserver", "dagster-daemon")
DAGSTER_HOME = "/opt/dagster/home"
DEV_PASSWORD = "graphmem-dev"
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error} ... and bare $NAME; $$ is a literal $.
INTERPOLATION = re.compile(r"(?<!\$)(?:\$\$)*\$(?:\{(?P<braced>[^}]*)\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))")
DEFAULTED = re.compile(r"^(?P<name>GRAPHMEM_[A-Z0-9_]+):?-(?P<default>[^}]+)$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def _service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    return compose["services"][name]


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):  # the list form: ["KEY=value", ...]
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def _ports(service: dict[str, Any]) -> set[tuple[int, int]]:
    """(published, target) pairs of the short port syntax, host IP left out."""
    pairs = set()
    for port in service.get("ports", []):
        parts = str(port).split(":")
        pairs.add((int(parts[-2]), int(parts[-1])))
    return pairs


def _volume_sources(service: dict[str, Any]) -> list[str]:
    return [str(v["source"] if isinstance(v, dict) else v.split(":", 1)[0]) for v in service.get("volumes", [])]


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with comments dropped and continuation lines joined."""
    logical, pending = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    assert not pending, "the Dockerfile ends in a continuation line"
    return [(text.split(None, 1)[0].upper(), text.split(None, 1)[1]) for text in logical]


# --- the real tool -----------------------------------------------------------------------------------


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True, timeout=60).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    if legacy and subprocess.run([legacy, "version"], capture_output=True, timeout=60).returncode == 0:
        return [legacy]
    return None


@pytest.mark.parametrize("password", ["s3cret-from-env", None], ids=["password-set", "password-default"])
def test_docker_compose_config_accepts_the_file(password: str | None) -> None:
    command = _compose_command()
    if command is None:
        pytest.skip("docker compose is not installed on this machine; the structural checks below still ran")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHMEM_") and not k.startswith("COMPOSE_")}
    if password is not None:
        env["GRAPHMEM_NEO4J_PASSWORD"] = password
    done = subprocess.run([*command, "-f", str(COMPOSE), "config"],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=120)  # fmt: skip
    assert done.returncode == 0, f"{' '.join(command)} config failed:\n{done.stderr}"
    normalised = yaml.safe_load(done.stdout)
    assert set(normalised["services"]) >= SERVICES
    expected = password or DEV_PASSWORD
    neo4j_env = _environment(normalised["services"]["neo4j"])
    assert neo4j_env["NEO4J_AUTH"] == f"neo4j/{expected}"
    for name in DAGSTER_SERVICES:
        env_of = _environment(normalised["services"][name])
        assert env_of["GRAPHMEM_NEO4J_PASSWORD"] == expected
        assert env_of["GRAPHMEM_NEO4J_URI"] == "bolt://neo4j:7687"
        # the build context resolves to the repository root
        assert Path(normalised["services"][name]["build"]["context"]) == REPO
    # the healthcheck keeps the variable for the container's shell instead of a value baked in
    healthcheck = " ".join(normalised["services"]["neo4j"]["healthcheck"]["test"])
    assert "GRAPHMEM_NEO4J_PASSWORD" in healthcheck and expected not in healthcheck


# --- compose.yml, structurally --------------------------------------------------------------------------


def test_compose_has_the_three_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == SERVICES


def test_neo4j_service(compose: dict[str, Any]) -> None:
    neo4j = _service(compose, "neo4j")
    assert neo4j["image"] == "neo4j:5.26-community"
    assert _ports(neo4j) == {(7474, 7474), (7687, 7687)}
    env = _environment(neo4j)
    assert env["NEO4J_AUTH"] == "neo4j/${GRAPHMEM_NEO4J_PASSWORD:-graphmem-dev}"
    for setting in ("heap_initial__size", "heap_max__size", "pagecache_size"):
        assert f"NEO4J_server_memory_{setting}" in env
    assert {"/data", "/logs"} <= {str(v).split(":")[1] for v in neo4j["volumes"]}
    assert neo4j.get("restart") in {"always", "unless-stopped", "on-failure"}


def test_neo4j_healthcheck_queries_with_the_password_from_the_container(compose: dict[str, Any]) -> None:
    healthcheck = _service(compose, "neo4j")["healthcheck"]
    test = healthcheck["test"]
    assert isinstance(test, list) and test[0] == "CMD-SHELL"
    assert "cypher-shell" in test[1] and "RETURN 1" in test[1]
    # $$ escapes the $ from compose, so the shell in the container reads the variable set below.
    assert '"$$GRAPHMEM_NEO4J_PASSWORD"' in test[1]
    assert "GRAPHMEM_NEO4J_PASSWORD" in _environment(_service(compose, "neo4j"))
    assert {"interval", "timeout", "retries", "start_period"} <= set(healthcheck)


@pytest.mark.parametrize("name", DAGSTER_SERVICES)
def test_dagster_services(compose: dict[str, Any], name: str) -> None:
    service = _service(compose, name)
    assert service["build"] == {"context": "..", "dockerfile": "docker/Dockerfile"}
    assert (COMPOSE.parent / service["build"]["context"]).resolve() == REPO
    assert (REPO / service["build"]["dockerfile"]).is_file()
    assert service["depends_on"] == {"neo4j": {"condition": "service_healthy"}}
    assert _environment(service) == {
        "GRAPHMEM_STORE": "neo4j",
        "GRAPHMEM_NEO4J_URI": "bolt://neo4j:7687",
        "GRAPHMEM_NEO4J_USER": "neo4j",
        "GRAPHMEM_NEO4J_PASSWORD": "${GRAPHMEM_NEO4J_PASSWORD:-graphmem-dev}",
        "GRAPHMEM_NAMESPACE": "${GRAPHMEM_NAMESPACE:-default}",
        "GRAPHMEM_INBOX": "/opt/graphmem/inbox",
        "GRAPHMEM_EMBED_CACHE": f"{DAGSTER_HOME}/graphmem/embeddings.sqlite3",
        "GRAPHMEM_INDEX_CACHE": f"{DAGSTER_HOME}/graphmem/index-cache",
        "GRAPHMEM_INGEST_CRON": "${GRAPHMEM_INGEST_CRON:-*/15 * * * *}",
        "GRAPHMEM_RECONSOLIDATE_CRON": "${GRAPHMEM_RECONSOLIDATE_CRON:-0 3 * * *}",
        "DAGSTER_HOME": DAGSTER_HOME,
    }
    assert f"dagster-home:{DAGSTER_HOME}" in service["volumes"]
    assert "../data/inbox:/opt/graphmem/inbox" in service["volumes"]
    assert service.get("restart") in {"always", "unless-stopped", "on-failure"}


def test_dagster_commands_and_ports(compose: dict[str, Any]) -> None:
    webserver, daemon = (_service(compose, name) for name in DAGSTER_SERVICES)
    assert webserver["command"] == ["dagster-webserver", "-h", "0.0.0.0", "-p", "3000", "-m", "pipelines"]
    assert daemon["command"] == ["dagster-daemon", "run", "-m", "pipelines"]
    assert _ports(webserver) == {(3000, 3000)}
    assert "ports" not in daemon


def test_published_ports_are_on_loopback_only(compose: dict[str, Any]) -> None:
    published = [str(port) for service in compose["services"].values() for port in service.get("ports", [])]
    assert published and all(port.startswith("127.0.0.1:") for port in published)


def test_top_level_volumes_are_the_ones_used(compose: dict[str, Any]) -> None:
    used = set()
    for service in compose["services"].values():
        # named volumes; bind mounts start with . or /
        used |= {source for source in _volume_sources(service) if not source.startswith((".", "/"))}
    assert used == set(compose["volumes"]) == {"neo4j-data", "neo4j-logs", "dagster-home"}


def test_bind_mount_sources_are_in_the_repository(compose: dict[str, Any]) -> None:
    for service in compose["services"].values():
        for source in _volume_sources(service):
            if source.startswith("."):
                path = (COMPOSE.parent / source).resolve()
                assert path.is_relative_to(REPO), source
                # data/inbox may not exist yet (Docker creates it); everything else must.
                assert path.exists() or path == REPO / "data" / "inbox", source


def test_every_interpolation_is_a_defaulted_graphmem_variable_or_documented() -> None:
    text = COMPOSE.read_text()
    documented = {line for line in text.splitlines() if line.lstrip().startswith("#")}
    found = []
    for match in INTERPOLATION.finditer(text):
        expression = match.group("braced") if match.group("braced") is not None else match.group("bare")
        found.append(expression)
        defaulted = DEFAULTED.match(expression)
        name = defaulted.group("name") if defaulted else re.split(r"[:?\-+]", expression, maxsplit=1)[0]
        is_documented = any(re.search(rf"\b{re.escape(name)}\b", line) for line in documented)
        assert defaulted or is_documented, f"${{{expression}}} has no default and is not documented"
        # the GRAPHMEM_* ones are both: a default and a line in the header
        if name.startswith("GRAPHMEM_"):
            assert defaulted and is_documented, expression
    assert "GRAPHMEM_NEO4J_PASSWORD:-graphmem-dev" in found


def test_no_secret_beyond_the_documented_dev_default(compose: dict[str, Any]) -> None:
    text = COMPOSE.read_text()
    code = "\n".join(line.split(" #", 1)[0] for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert code.count(DEV_PASSWORD) == code.count(f":-{DEV_PASSWORD}}}") > 0
    secret_keys = re.compile(r"PASSWORD|SECRET|TOKEN|AUTH|API_KEY")
    checked = 0
    for service in compose["services"].values():
        for key, value in _environment(service).items():
            if secret_keys.search(key):
                checked += 1
                literal = INTERPOLATION.sub("", value)
                assert literal in {"", "neo4j/"}, f"{key} has a literal value: {value}"
    assert checked == 4  # NEO4J_AUTH and GRAPHMEM_NEO4J_PASSWORD in neo4j, the password in both dagster services


# --- Dockerfile --------------------------------------------------------------------------------------------


def test_dockerfile_base_workdir_and_dagster_home() -> None:
    instructions = _dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    assert ("WORKDIR", "/opt/graphmem") in instructions
    env = " ".join(args for op, args in instructions if op == "ENV")
    assert f"DAGSTER_HOME={DAGSTER_HOME}" in env
    copies = [shlex.split(args) for op, args in instructions if op == "COPY"]
    assert ["docker/dagster.yaml", f"{DAGSTER_HOME}/dagster.yaml"] in copies


def test_dockerfile_copy_sources_exist() -> None:
    copies = [shlex.split(args) for op, args in _dockerfile_instructions() if op == "COPY"]
    sources = [source for *sources, _dest in copies for source in sources if not source.startswith("--")]
    for required in ("pyproject.toml", "README.md", "graphmem/", "pipelines/", "cypher/", "schemas/"):
        assert required in sources, f"the Dockerfile does not COPY {required}"
    assert any(source.startswith("data/") for source in sources)
    for source in sources:
        path = REPO / source
        assert path.exists(), f"COPY source {source} is not in the repository"
        assert path.is_dir() == source.endswith("/"), f"COPY source {source}: directory or not?"


def test_dockerfile_installs_the_project_in_place() -> None:
    runs = " ".join(args for op, args in _dockerfile_instructions() if op == "RUN")
    # editable: graphmem finds cypher/, schemas/ and data/ relative to its own files
    assert re.search(r"pip install --no-cache-dir (--no-deps )?-e \.", runs)
    assert "--no-cache-dir -r" in runs  # the dependencies, in their own layer


# --- dagster.yaml ----------------------------------------------------------------------------------------------


def test_dagster_yaml_parses() -> None:
    config = yaml.safe_load(DAGSTER_YAML.read_text())
    assert isinstance(config, dict)
    assert config["telemetry"] == {"enabled": False}


def test_dagster_yaml_is_a_valid_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Dagster itself loads the file as DAGSTER_HOME/dagster.yaml, as the containers do."""
    from dagster import DagsterInstance
    from dagster._core.run_coordinator import QueuedRunCoordinator

    shutil.copy(DAGSTER_YAML, tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with DagsterInstance.get() as instance:
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        assert not instance.telemetry_enabled
        assert Path(instance.root_directory) == tmp_path
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs >= 1
