"""Neo4j Browser in headless Chromium against the local server: log in, load graphmem's style by dropping
docker/browser/graphmem.grass, set the parameters with :param, run cypher/library/entity_neighbourhood.cypher
and check that the graph view draws its nodes in graphmem's colours. The screenshot is kept in
test-artifacts/browser/ (git-ignored)."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import neo4j
import pytest
from browser_devtools import Chromium, DevToolsError

from graphmem.cypher_library import library, write_favourites
from graphmem.embed import CachedEmbedder
from graphmem.extract.spacy_extractor import SpacyExtractor
from graphmem.memory import Memory
from graphmem.store.neo4j import Neo4jSettings, Neo4jStore

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "browser"
STYLE = REPO / "docker" / "browser" / "graphmem.grass"
NEIGHBOURHOOD = REPO / "cypher" / "library" / "entity_neighbourhood.cypher"
HTTP = os.environ.get("GRAPHMEM_NEO4J_HTTP", "http://127.0.0.1:7474")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# The articles that tell of Corvin Ashdale: enough for a neighbourhood, quick to ingest.
SAMPLE = [REPO / "data" / "sample" / "documents" / name
          for name in ("corvin-ashdale.md", "lunnock-tide-mill.txt", "brindlemoss-institute.md")]  # fmt: skip
ENTITY = "Corvin Ashdale"
ENTITY_COLOUR = "#4C8EDA"  # node.Entity in graphmem.grass

pytestmark = [
    pytest.mark.neo4j,
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed, so Neo4j Browser was not opened in a "
                       "browser (make test installs Debian's chromium with apt-get where it can)"),
]  # fmt: skip


@pytest.fixture(scope="module")
def namespace(neo4j_store: Neo4jStore, spacy_extractor: SpacyExtractor, embedder: CachedEmbedder) -> Iterator[str]:
    """Part of the sample corpus in a namespace of its own, deleted afterwards."""
    name = f"browser-{uuid.uuid4().hex[:12]}"
    memory = Memory(neo4j_store, name, extractor=spacy_extractor, embedder=embedder)
    report = memory.add_paths(SAMPLE)
    assert report.summary()
    yield name
    neo4j_store.delete_namespace(name)


def _expected_node_count(settings: Neo4jSettings, query: str, params: dict[str, Any]) -> int:
    """How many distinct nodes the query's rows hold: what the graph view should draw."""
    found: set[str] = set()

    def collect(value: Any) -> None:
        if isinstance(value, neo4j.graph.Node):
            found.add(value.element_id)
        elif isinstance(value, neo4j.graph.Path):
            found.update(node.element_id for node in value.nodes)
        elif isinstance(value, neo4j.graph.Relationship):
            found.update(node.element_id for node in value.nodes if node is not None)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    with neo4j.GraphDatabase.driver(settings.uri, auth=(settings.user, settings.password)) as driver:
        records, _, _ = driver.execute_query(query, params, database_=settings.database)
    for record in records:
        for value in record.values():
            collect(value)
    return len(found)


CONNECTED = "document.body.innerText.includes('You are connected as user')"


def _fill(browser: Chromium, selector: str, value: str) -> None:
    """Type into a form field until it holds the value: the Browser may still re-render the connect form (and
    empty its fields) just after it appears."""
    field = f"document.querySelector({json.dumps(selector)})"
    for _ in range(20):
        browser.evaluate(f"{field}.focus(), {field}.select()")  # what is typed replaces what is there
        browser.call("Input.insertText", text=value)
        time.sleep(0.5)
        if browser.evaluate(f"{field}.value") == value:
            return
    raise DevToolsError(f"{selector} does not keep what is typed into it")


def _log_in(browser: Chromium, settings: Neo4jSettings, attempts: int = 3) -> None:
    """Fill the connect form and connect. On a busy machine the Browser may still be starting when the form
    is typed into, and the connection then never comes: the page is loaded again and the form filled again."""
    for attempt in range(1, attempts + 1):
        # ?dbms= fills the connect URL; user and password are typed into the form.
        browser.open(f"{HTTP}/browser/?dbms={quote(settings.uri, safe='')}")
        browser.wait_for("!!document.querySelector('[data-testid=password]')", "the connect form", timeout=90)
        _fill(browser, "[data-testid=username]", settings.user)
        _fill(browser, "[data-testid=password]", settings.password)
        browser.click("[data-testid=connect]")
        try:
            browser.wait_for(CONNECTED, "the login to succeed", timeout=45)
            return
        except DevToolsError:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            browser.screenshot(ARTIFACTS / f"login-attempt-{attempt}.png")
            if attempt == attempts:
                page = browser.evaluate("document.body.innerText")
                raise DevToolsError(f"no login after {attempts} attempts; the page says: {page[-1500:]}") from None


def _frames(browser: Chromium) -> int:
    return int(browser.evaluate("document.querySelectorAll('[data-testid=frame]').length"))


def _run(browser: Chromium, command: str, done: str, what: str) -> None:
    """Type a command into the editor, run it, and wait until ``done`` holds for the new (topmost) frame."""
    before = _frames(browser)
    browser.type_into("[data-testid=activeEditor] textarea", command)
    browser.click("[data-testid=editor-Run]")
    browser.wait_for(f"(() => {{ if (document.querySelectorAll('[data-testid=frame]').length <= {before}) "
                     "return false; const frame = document.querySelector('[data-testid=frame]'); "
                     f"return {done}; }})()", what, timeout=90)  # fmt: skip


def _wait_for_layout(browser: Chromium) -> None:
    """Wait until the force layout has settled (node positions stop changing), for a readable screenshot."""
    positions = "JSON.stringify([...document.querySelectorAll('svg g.node')].map(g => g.getAttribute('transform')))"
    last, deadline = None, time.monotonic() + 20
    while time.monotonic() < deadline:
        current = browser.evaluate(positions)
        if current == last:
            return
        last = current
        time.sleep(0.5)


def test_neighbourhood_query_draws_the_graph(namespace: str, neo4j_settings: Neo4jSettings, tmp_path: Path) -> None:
    assert CHROMIUM is not None
    query = NEIGHBOURHOOD.read_text(encoding="utf-8")
    params = {"namespace": namespace, "name": ENTITY, "limit": 25}
    expected = _expected_node_count(neo4j_settings, query, params)
    assert expected > 2, f"the neighbourhood of {ENTITY} is too small to draw: {expected} nodes"

    with Chromium(CHROMIUM, tmp_path / "chromium-profile") as browser:
        _log_in(browser, neo4j_settings)
        # Dropping a .grass file on the Browser loads it as the graph style (the documented way).
        before = _frames(browser)
        browser.drop_file("[data-testid=main]", STYLE.name, STYLE.read_text(encoding="utf-8"))
        browser.wait_for(f"document.querySelectorAll('[data-testid=frame]').length > {before}", "the :style frame")
        for name, value in params.items():
            _run(browser, f":param {name} => {json.dumps(value)}", f"frame.innerText.includes('\"{name}\":')",
                 f"the parameter {name} to be set")  # fmt: skip
        _run(browser, query, "frame.querySelectorAll('svg g.node').length > 0 "
             "&& frame.innerText.includes('Displaying')", "the graph view of the neighbourhood")  # fmt: skip
        result = "document.querySelector('[data-testid=frame]')"
        browser.click("[data-testid=frame] button[title=Fullscreen]")
        _wait_for_layout(browser)
        drawn = browser.evaluate(f"{result}.querySelectorAll('svg g.node').length")
        status = browser.evaluate(f"{result}.innerText")
        captions = browser.evaluate(f"""[...{result}.querySelectorAll('svg g.node')].map(g => [
            [...g.querySelectorAll('text.caption')].map(t => t.textContent.trim()).join(' '),
            g.querySelector('circle.b-outline').getAttribute('fill')])""")  # fmt: skip
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        browser.screenshot(ARTIFACTS / "entity-neighbourhood.png")

    shown = re.search(r"Displaying (\d+) nodes, (\d+) relationships", status)
    assert shown, status[-2000:]
    assert int(shown.group(1)) == drawn == expected
    assert int(shown.group(2)) > 0
    assert re.search(r"\bEntity \(\d+\)", status) and re.search(r"\bFact \(\d+\)", status), status[-2000:]
    # The entity asked about is drawn, captioned by its name, in graphmem's entity colour.
    fills = {fill.upper() for caption, fill in captions if caption == ENTITY}
    assert fills == {ENTITY_COLOUR}, captions
    png = (ARTIFACTS / "entity-neighbourhood.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000


def test_favourites_zip_imports_every_named_query(neo4j_settings: Neo4jSettings, tmp_path: Path) -> None:
    """`graphmem cypher --favourites` writes a zip that the Browser's Favorites drawer imports as a folder."""
    assert CHROMIUM is not None
    archive = tmp_path / "graphmem-favourites.zip"
    names = write_favourites(archive)
    assert names == [entry.name for entry in library()] and "entity_neighbourhood" in names
    with Chromium(CHROMIUM, tmp_path / "chromium-profile") as browser:
        _log_in(browser, neo4j_settings)
        browser.drop_file("[data-testid=main]", archive.name, archive.read_bytes())
        browser.click("[data-testid=navigationFavorites]")
        browser.wait_for("document.body.innerText.includes('Local scripts')", "the Favorites drawer")
        # The zip's folder is listed; opening it lists a favourite per query, named by its first comment line.
        folder = ("[...document.querySelectorAll('*')]"
                  ".find(e => !e.children.length && e.textContent.trim() === 'graphmem')")
        browser.wait_for(f"!!{folder}", "the imported folder")
        browser.evaluate(f"{folder}.click()")
        listed = browser.wait_for("document.body.innerText.includes('most_connected: The most') "
                                  "&& document.body.innerText", "the folder's favourites")  # fmt: skip
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        browser.screenshot(ARTIFACTS / "favourites.png")
    shown = [name for name in names if f"\n{name}: " in listed]
    assert shown == names, f"missing from the drawer: {sorted(set(names) - set(shown))}"
