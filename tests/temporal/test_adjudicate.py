"""The LLM adjudicator (graphmem.temporal.adjudicate) on both stores, against a local HTTP server playing the
chat-completions endpoint: what it supersedes, what it leaves alone, its cache, its cap and its failures."""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from temporal_kit import ME, NOW, chat, day, find, ingest, links, state

from graphmem.cli import main
from graphmem.embed import CachedEmbedder
from graphmem.extract.llm import LLMSettings
from graphmem.extract.spacy_extractor import SpacyExtractor
from graphmem.graph import supersession_from_edge
from graphmem.memory import Memory
from graphmem.records import Supersession
from graphmem.store import EmbeddedStore
from graphmem.temporal.llm_adjudicator import LLMAdjudicator, default_adjudicator, parse_replaced

RULE = "llm_adjudicator"
LOGGER = "graphmem.temporal.llm_adjudicator"
TEA, COFFEE, WATER = (ME, "like", "tea"), (ME, "like", "coffee"), (ME, "like", "water")
BRILL, OSLO = (ME, "live_in", "Brill"), (ME, "live_in", "Oslo")
# Ana likes tea, then coffee ("like" is in no family and has no cue: the rules leave it open); she lives
# in Brill, then Oslo (a one-at-a-time family: the rules decide it, and the model is never asked).
TEA_THEN_COFFEE = chat("c1", ("2023-01-10T10:00:00Z", "I like tea. I live in Brill."),
                       ("2024-03-02T10:00:00Z", "I like coffee. I live in Oslo."))  # fmt: skip
Pair = tuple[str, str]  # the older and the newer fact's "subject | predicate | object"


@dataclass
class FakeLLM:
    """A chat-completions server. ``judge`` answers each request from the pairs it lists; ``replies`` (status,
    message content) are served first, in order."""

    url: str = ""
    judge: Callable[[list[Pair]], list[int]] = lambda pairs: []
    replies: list[tuple[int, str]] = field(default_factory=list)
    requests: list[list[Pair]] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)

    def answer(self, body: dict[str, Any]) -> tuple[int, str]:
        user = body["messages"][1]["content"]
        pairs = list(zip(re.findall(r"OLDER \(.*?\): (.*?)\. Sentence", user),
                         re.findall(r"NEWER \(.*?\): (.*?)\. Sentence", user), strict=True))  # fmt: skip
        self.requests.append(pairs)
        self.bodies.append(body)
        status, content = self.replies.pop(0) if self.replies else (200, json.dumps({"replaced": self.judge(pairs)}))
        return status, json.dumps({"choices": [{"message": {"content": content}}]}) if status == 200 else content

    def adjudicator(self, tmp_path: Path | None = None, **options: Any) -> LLMAdjudicator:
        settings = LLMSettings(base_url=self.url, model="test-model", api_key="sk-test", backoff_base=0.001,
                               max_retries=1, timeout=5)  # fmt: skip
        return LLMAdjudicator(settings, cache_path=tmp_path / "answers.json" if tmp_path else None, **options)


def says_yes_to(*newer: str) -> Callable[[list[Pair]], list[int]]:
    """A judge saying "replaced" to the pairs whose newer fact names one of these objects."""
    return lambda pairs: [n for n, (_, new) in enumerate(pairs, 1) if new.rsplit(" | ", 1)[1] in newer]


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    fake = FakeLLM()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            status, text = fake.answer(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    yield fake
    server.shutdown()
    server.server_close()


def text(fact: tuple[str, str, str]) -> str:
    return " | ".join(fact)


def validity(memory: Memory, fact: tuple[str, str, str]) -> tuple[object, object, object]:
    found = find(memory, fact)
    return found.valid_from, found.valid_to, found.expired_at


def rules_only(memory: Memory) -> None:
    """What the rules alone make of TEA_THEN_COFFEE: Oslo supersedes Brill, tea and coffee both hold."""
    assert validity(memory, TEA) == (day("2023-01-10T10:00:00"), None, None)
    assert validity(memory, COFFEE) == (day("2024-03-02T10:00:00"), None, None)
    assert validity(memory, BRILL) == (day("2023-01-10T10:00:00"), day("2024-03-02T10:00:00"), NOW)
    assert links(memory) == {(BRILL, OSLO, "single_valued:residence")}


def test_a_yes_supersedes_the_older_fact_like_a_rule(memory: Memory, llm: FakeLLM, tmp_path: Path) -> None:
    ingest(memory, [TEA_THEN_COFFEE])
    llm.judge = says_yes_to("coffee")
    report = memory.reconsolidate(now=NOW, adjudicator=llm.adjudicator(tmp_path))
    assert llm.requests == [[(text(TEA), text(COFFEE))]]  # the residence was the rules' to decide
    assert validity(memory, TEA) == (day("2023-01-10T10:00:00"), day("2024-03-02T10:00:00"), NOW)
    assert validity(memory, COFFEE) == (day("2024-03-02T10:00:00"), None, None)
    assert links(memory) == {(BRILL, OSLO, "single_valued:residence"), (TEA, COFFEE, RULE)}
    [edge] = [s for s in map(supersession_from_edge, memory.store.iter_edges(memory.namespace, Supersession.TYPE))
              if s.rule == RULE]  # fmt: skip
    assert (edge.fact_id, edge.by_id) == (find(memory, TEA).id, find(memory, COFFEE).id)
    assert (edge.valid_to, edge.expired_at, edge.evidence) == (
        day("2024-03-02T10:00:00"),
        NOW,
        ["c1/s1-t1", "c1/s2-t1"],
    )
    assert report.superseded == 2 and report.adjudication is not None
    assert (report.adjudication.conflicts, report.adjudication.asked, report.adjudication.replaced) == (1, 1, 1)
    assert [f.model_copy(update={"id": ""}) for f in memory.facts(ME, predicate="like")] == [
        find(memory, COFFEE).model_copy(update={"id": ""})
    ]
    # The request: both facts, their sentences and dates, numbered, asking for {"replaced": [...]}.
    body = llm.bodies[0]
    assert (body["model"], body["temperature"], body["response_format"]) == ("test-model", 0, {"type": "json_object"})
    assert '{"replaced"' in body["messages"][0]["content"]
    user = body["messages"][1]["content"]
    assert '1. OLDER (2023-01-10): Ana Lund | like | tea. Sentence: "I like tea."' in user
    assert 'NEWER (2024-03-02): Ana Lund | like | coffee. Sentence: "I like coffee."' in user

    # Reruns ask nothing and change nothing: incremental, full, a new adjudicator on the same cache file,
    # and a run without the adjudicator (its links stand).
    before = state(memory)
    for options in ({}, {"full": True}):
        again = memory.reconsolidate(now=day("2025-06-01"), adjudicator=llm.adjudicator(tmp_path), **options)
        assert (again.facts_written, again.edges_written) == (0, 0) and len(llm.requests) == 1
    off = memory.reconsolidate(now=day("2025-06-01"), adjudicator=False)
    assert (off.superseded, off.retracted, off.edges_written, len(llm.requests)) == (0, 0, 0, 1)
    assert state(memory) == before and find(memory, TEA).expired_at == NOW


def test_a_no_leaves_both_facts_as_the_rules_left_them(memory: Memory, llm: FakeLLM, tmp_path: Path) -> None:
    ingest(memory, [TEA_THEN_COFFEE])
    report = memory.reconsolidate(now=NOW, adjudicator=llm.adjudicator(tmp_path))
    assert llm.requests == [[(text(TEA), text(COFFEE))]]
    rules_only(memory)
    assert report.adjudication is not None and (report.adjudication.asked, report.adjudication.replaced) == (1, 0)
    again = memory.reconsolidate(now=NOW, adjudicator=llm.adjudicator(tmp_path), full=True)
    assert (len(llm.requests), again.facts_written, again.edges_written) == (1, 0, 0)
    rules_only(memory)


def test_the_older_value_said_again_later_is_no_conflict(memory: Memory, llm: FakeLLM, tmp_path: Path) -> None:
    ingest(memory, [chat("c2", ("2023-01-10T10:00:00Z", "I like tea."), ("2024-03-02T10:00:00Z", "I like coffee."),
                         ("2024-09-01T10:00:00Z", "I like tea."))])  # fmt: skip
    llm.judge = says_yes_to("coffee", "tea")
    memory.reconsolidate(now=NOW, adjudicator=llm.adjudicator(tmp_path))
    assert llm.requests == [] and links(memory) == set()


def test_the_link_is_retracted_when_the_older_value_is_said_again(memory: Memory, llm: FakeLLM, tmp_path: Path) -> None:
    ingest(memory, [TEA_THEN_COFFEE])
    llm.judge = says_yes_to("coffee")
    memory.reconsolidate(now=NOW, adjudicator=llm.adjudicator(tmp_path))
    assert (TEA, COFFEE, RULE) in links(memory)
    ingest(memory, [chat("c4", ("2024-09-01T10:00:00Z", "I like tea."))])
    report = memory.reconsolidate(now=day("2025-02-01"), adjudicator=llm.adjudicator(tmp_path))
    assert (report.reinstated, report.retracted, len(llm.requests)) == (1, 1, 1)
    assert validity(memory, TEA) == (day("2023-01-10T10:00:00"), None, None)
    assert links(memory) == {(BRILL, OSLO, "single_valued:residence")}
    assert links(memory, active=False) == {(TEA, COFFEE, RULE)}


@pytest.mark.parametrize(
    "replies",
    [
        [(500, "boom"), (503, "busy")],  # the first attempt and the one retry
        [(401, '{"error": "no key"}')],  # not retried
        [(200, "not json at all")],
        [(200, '{"replaced": "1"}')],
        [(200, '{"replaced": ["yes"]}')],
        [(200, '{"answer": [1]}')],
    ],
)
def test_failures_leave_the_rules_graph_and_the_next_run_asks_again(
    memory: Memory, llm: FakeLLM, tmp_path: Path, caplog: pytest.LogCaptureFixture, replies: list[tuple[int, str]]
) -> None:
    ingest(memory, [TEA_THEN_COFFEE])
    llm.replies, llm.judge = list(replies), says_yes_to("coffee")
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        report = memory.reconsolidate(now=NOW, adjudicator=llm.adjudicator(tmp_path))
    rules_only(memory)
    assert report.adjudication is not None and (report.adjudication.failed, report.adjudication.replaced) == (1, 0)
    assert len(llm.requests) == len(replies)
    warnings = [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "adjudication failed" in warnings[0].getMessage()
    assert "sk-test" not in caplog.text
    # The pair's facts were left unmarked: the next run asks again, and now the answer counts.
    memory.reconsolidate(now=day("2025-02-01"), adjudicator=llm.adjudicator(tmp_path))
    assert len(llm.requests) == len(replies) + 1
    assert validity(memory, TEA) == (day("2023-01-10T10:00:00"), day("2024-03-02T10:00:00"), day("2025-02-01"))
    assert links(memory) == {(BRILL, OSLO, "single_valued:residence"), (TEA, COFFEE, RULE)}


THREE_DRINKS = chat("c3", ("2022-01-10T10:00:00Z", "I like tea."), ("2023-01-10T10:00:00Z", "I like coffee."),
                    ("2024-01-10T10:00:00Z", "I like water."))  # fmt: skip


def test_the_cap_limits_the_pairs_per_run_and_the_rest_wait(memory: Memory, llm: FakeLLM, tmp_path: Path) -> None:
    ingest(memory, [THREE_DRINKS])
    asked: list[list[Pair]] = []
    for run in range(3):  # three pairs, one per run, the newest first
        report = memory.reconsolidate(now=NOW, adjudicator=llm.adjudicator(tmp_path, max_pairs=1))
        assert report.adjudication is not None
        assert (report.adjudication.conflicts, report.adjudication.cached) == (3, run)
        assert (report.adjudication.asked, report.adjudication.skipped) == (1, 2 - run)
        asked = llm.requests
    assert asked == [[(text(COFFEE), text(WATER))], [(text(TEA), text(WATER))], [(text(TEA), text(COFFEE))]]
    last = memory.reconsolidate(now=NOW, adjudicator=llm.adjudicator(tmp_path, max_pairs=1))
    assert (last.dirty, len(llm.requests), links(memory)) == (0, 3, set())


def test_batches_and_the_earliest_replacement(memory: Memory, llm: FakeLLM, tmp_path: Path) -> None:
    ingest(memory, [THREE_DRINKS])
    llm.judge = says_yes_to("coffee", "water")  # each newer drink replaced each older one
    report = memory.reconsolidate(now=NOW, adjudicator=llm.adjudicator(tmp_path, batch=2))
    assert [len(pairs) for pairs in llm.requests] == [2, 1]
    assert report.adjudication is not None and report.adjudication.replaced == 3
    # Tea ends when coffee starts (not when water does): one link per old fact, to what replaced it first.
    assert links(memory) == {(TEA, COFFEE, RULE), (COFFEE, WATER, RULE)}
    assert validity(memory, TEA) == (day("2022-01-10T10:00:00"), day("2023-01-10T10:00:00"), NOW)
    assert validity(memory, COFFEE) == (day("2023-01-10T10:00:00"), day("2024-01-10T10:00:00"), NOW)
    assert validity(memory, WATER) == (day("2024-01-10T10:00:00"), None, None)


def test_off_by_default_and_switched_on_from_the_environment(
    memory: Memory, llm: FakeLLM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest(memory, [TEA_THEN_COFFEE])
    monkeypatch.setenv("GRAPHMEM_LLM_BASE_URL", llm.url)
    monkeypatch.setenv("GRAPHMEM_LLM_MODEL", "test-model")
    llm.judge = says_yes_to("coffee")
    report = memory.reconsolidate(now=NOW)  # an LLM is configured, but the adjudicator is not switched on
    assert (llm.requests, report.adjudication) == ([], None)
    rules_only(memory)
    monkeypatch.setenv("GRAPHMEM_LLM_ADJUDICATE", "1")
    monkeypatch.setenv("GRAPHMEM_LLM_ADJUDICATE_CACHE", str(tmp_path / "answers.json"))
    report = memory.reconsolidate(now=NOW)  # switching it on checks every fact again
    assert len(llm.requests) == 1 and report.dirty == report.checked
    assert json.loads((tmp_path / "answers.json").read_text())["decisions"] != {}
    assert links(memory) == {(BRILL, OSLO, "single_valued:residence"), (TEA, COFFEE, RULE)}


def test_cli_adjudicate(tmp_path: Path, spacy_extractor: SpacyExtractor, embedder: CachedEmbedder, llm: FakeLLM,
                       monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    path = tmp_path / "graph.sqlite3"
    store = EmbeddedStore(path)
    ingest(Memory(store, "cli", extractor=spacy_extractor, embedder=embedder), [TEA_THEN_COFFEE])
    store.close()
    where = ["reconsolidate", "--store", str(path), "--namespace", "cli", "--now", "2025-01-01", "--adjudicate"]
    for name in ("GRAPHMEM_LLM_BASE_URL", "GRAPHMEM_LLM_ADJUDICATE_CACHE"):
        monkeypatch.delenv(name, raising=False)
    assert main(where) == 2
    assert "--adjudicate needs an LLM" in capsys.readouterr().err
    monkeypatch.setenv("GRAPHMEM_LLM_BASE_URL", llm.url)
    monkeypatch.setenv("GRAPHMEM_LLM_MODEL", "test-model")
    llm.judge = says_yes_to("coffee")
    assert main([*where, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["superseded"], report["adjudication"]["asked"], report["adjudication"]["replaced"]) == (2, 1, 1)
    assert list(json.loads((tmp_path / "graph.adjudications.json").read_text())["decisions"].values()) == [True]
    assert main([*where, "--full"]) == 0  # the answer comes from the cache file beside the store
    assert "0 superseded" in capsys.readouterr().out and len(llm.requests) == 1


def test_default_adjudicator_needs_an_llm_and_the_switch(tmp_path: Path) -> None:
    llm_env = {"GRAPHMEM_LLM_BASE_URL": "http://127.0.0.1:9/v1", "GRAPHMEM_LLM_MODEL": "m"}
    assert default_adjudicator({}) is None
    assert default_adjudicator({"GRAPHMEM_LLM_ADJUDICATE": "1"}) is None
    assert default_adjudicator(llm_env) is None
    assert default_adjudicator({**llm_env, "GRAPHMEM_LLM_ADJUDICATE": "0"}) is None
    on = default_adjudicator({**llm_env, "GRAPHMEM_LLM_ADJUDICATE": "1", "GRAPHMEM_LLM_ADJUDICATE_MAX_PAIRS": "7"},
                             cache_path=tmp_path / "a.json")  # fmt: skip
    assert isinstance(on, LLMAdjudicator) and (on.max_pairs, on.cache_path) == (7, tmp_path / "a.json")
    assert isinstance(default_adjudicator(llm_env, force=True), LLMAdjudicator)
    with pytest.raises(ValueError, match="GRAPHMEM_LLM_BASE_URL"):
        default_adjudicator({}, force=True)
    with pytest.raises(ValueError, match="MAX_PAIRS"):
        default_adjudicator({**llm_env, "GRAPHMEM_LLM_ADJUDICATE": "1", "GRAPHMEM_LLM_ADJUDICATE_MAX_PAIRS": "x"})


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"replaced": [1, 3]}', {1, 3}),
        ('```json\n{"replaced": ["2", "#3", 9, 0]}\n```', {2, 3}),
        ('Pair 2 changed. {"Replaced": [2.0, "pair 1"]} The rest did not.', {1, 2}),
        ('{"replaced": []}', set()),
        ('{"note": {"x": 1}, "replaced": [1]}', {1}),
    ],
)
def test_replies_are_read_robustly(content: str, expected: set[int]) -> None:
    assert parse_replaced(content, 3) == expected
