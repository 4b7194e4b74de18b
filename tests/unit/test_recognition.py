"""The LLM fact filter (recognition memory) against a real local HTTP server playing the endpoint."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from test_llm_extractor import FakeEndpoint, settings
from test_llm_extractor import endpoint as endpoint  # the scripted chat-completions server, as a fixture

from graphmem.retrieve.recognition import LLMFactFilter, default_fact_filter, parse_relevant

QUESTION = "Who designed the ferry that Casimir Lovatt runs?"
FACTS = [
    "Casimir Lovatt run Tarnel Ferry",
    "Tarnel Ferry design_by Ines Marlow",
    "Casimir Lovatt born_in Ardloch",
    "Ardloch town_in Kessaby",
]
LOGGER = "graphmem.retrieve.recognition"


def fact_filter(url: str, **overrides: Any) -> LLMFactFilter:
    return LLMFactFilter(settings(url), **overrides)


def test_relevant_facts_are_kept_and_the_others_dropped(endpoint: FakeEndpoint) -> None:
    endpoint.reply_json({"relevant": [1, 2]})
    flags = fact_filter(endpoint.url).keep(QUESTION, FACTS)
    assert flags == [True, True, False, False]


def test_request_carries_the_question_and_every_fact(endpoint: FakeEndpoint) -> None:
    endpoint.reply_json({"relevant": []})
    assert fact_filter(endpoint.url).keep(QUESTION, FACTS) == [False] * 4
    [(headers, body)] = endpoint.requests
    assert headers["authorization"] == "Bearer sk-test"
    assert (body["model"], body["temperature"], body["response_format"]) == ("test-model", 0, {"type": "json_object"})
    system, user = body["messages"]
    assert '{"relevant"' in system["content"]
    assert QUESTION in user["content"]
    for number, fact in enumerate(FACTS, start=1):
        assert f"{number}. {fact}" in user["content"]


@pytest.mark.parametrize(
    "content",
    [
        '```json\n{"relevant": [1, 2]}\n```',
        'Facts 1 and 2 matter.\n```json\n{"relevant": ["1", "2"]}\n```\nThe rest do not.',
        '{"relevant": ["#1", 2.0, "fact 2", 9, 0, -3]} -- 9 is not a fact',
        '{"Relevant": [1, "Tarnel Ferry design_by Ines Marlow"]}',
        "[1, 2]",
    ],
)
def test_replies_are_read_robustly(content: str) -> None:
    assert parse_relevant(content, FACTS) == [True, True, False, False]


@pytest.mark.parametrize(
    "content",
    ["not json at all", '{"relevant": "1, 2"}', '{"relevant": ["yes", "no"]}', '{"answer": 1}', '{"relevant": [1'],
)
def test_malformed_reply_keeps_every_fact(
    endpoint: FakeEndpoint, caplog: pytest.LogCaptureFixture, content: str
) -> None:
    endpoint.reply_content(content)
    recognition = fact_filter(endpoint.url)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert recognition.keep(QUESTION, FACTS) == [True] * 4
    assert (recognition.requests, recognition.failures) == (1, 1)  # a badly read reply is not retried
    assert "malformed" in caplog.text and "sk-test" not in caplog.text


def test_envelope_without_content_keeps_every_fact(endpoint: FakeEndpoint) -> None:
    endpoint.replies.append((200, json.dumps({"choices": [{"message": {"content": None}}]})))
    assert fact_filter(endpoint.url).keep(QUESTION, FACTS) == [True] * 4


def test_http_500_keeps_every_fact_after_the_configured_retries(
    endpoint: FakeEndpoint, caplog: pytest.LogCaptureFixture
) -> None:
    endpoint.replies += [(500, "boom")] * 5
    recognition = fact_filter(endpoint.url, max_retries=2)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert recognition.keep(QUESTION, FACTS) == [True] * 4
    assert len(endpoint.requests) == recognition.requests == 3  # the first attempt and two retries
    assert "(http)" in caplog.text and "HTTP 500" in caplog.text


def test_server_error_then_answer(endpoint: FakeEndpoint) -> None:
    endpoint.replies.append((503, "busy"))
    endpoint.reply_json({"relevant": [2]})
    recognition = fact_filter(endpoint.url)
    assert recognition.keep(QUESTION, FACTS) == [False, True, False, False]
    assert (recognition.requests, recognition.failures) == (2, 0)


def test_client_error_is_not_retried(endpoint: FakeEndpoint) -> None:
    endpoint.replies += [(401, '{"error": "no key"}'), (401, '{"error": "no key"}')]
    recognition = fact_filter(endpoint.url, max_retries=3)
    assert recognition.keep(QUESTION, FACTS) == [True] * 4
    assert recognition.requests == 1


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def test_timeout_keeps_every_fact_within_about_the_timeout(silent_port: int, caplog: pytest.LogCaptureFixture) -> None:
    recognition = fact_filter(f"http://127.0.0.1:{silent_port}/v1", timeout=0.5, max_retries=3)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert recognition.keep(QUESTION, FACTS) == [True] * 4
    elapsed = time.monotonic() - started
    assert 0.4 < elapsed < 1.5  # the timeout bounds the whole call, retries included
    assert "(timeout)" in caplog.text


def test_unreachable_endpoint_keeps_every_fact() -> None:
    with socket.socket() as sock:  # free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    recognition = fact_filter(f"http://127.0.0.1:{port}", max_retries=1)
    assert recognition.keep(QUESTION, FACTS) == [True] * 4
    assert (recognition.requests, recognition.failures) == (2, 1)


def test_one_warning_per_kind_of_failure(endpoint: FakeEndpoint, caplog: pytest.LogCaptureFixture) -> None:
    endpoint.reply_content("nonsense")
    endpoint.reply_content("more nonsense")
    endpoint.replies.append((400, "bad request"))
    recognition = fact_filter(endpoint.url)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        for number in range(3):
            assert recognition.keep(f"{QUESTION} {number}", FACTS) == [True] * 4
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "(malformed)" in warnings[0] and "(http)" in warnings[1]
    assert recognition.failures == 3


def test_cache_avoids_a_second_request(endpoint: FakeEndpoint) -> None:
    endpoint.reply_json({"relevant": [1]})
    endpoint.reply_json({"relevant": [3]})
    endpoint.reply_json({"relevant": [4]})
    recognition = fact_filter(endpoint.url, cache_size=1)
    assert recognition.keep(QUESTION, FACTS) == [True, False, False, False]
    assert recognition.keep(QUESTION, list(FACTS)) == [True, False, False, False]
    assert len(endpoint.requests) == 1
    assert recognition.keep(QUESTION, FACTS[:3]) == [False, False, True]  # other facts: asked again
    assert recognition.keep(QUESTION, FACTS) == [False, False, False, True]  # evicted by the size-1 cache
    assert len(endpoint.requests) == 3


def test_failures_are_not_cached(endpoint: FakeEndpoint) -> None:
    endpoint.reply_content("nonsense")
    endpoint.reply_json({"relevant": [2]})
    recognition = fact_filter(endpoint.url)
    assert recognition.keep(QUESTION, FACTS) == [True] * 4
    assert recognition.keep(QUESTION, FACTS) == [False, True, False, False]


def test_no_facts_no_request(endpoint: FakeEndpoint) -> None:
    assert fact_filter(endpoint.url).keep(QUESTION, []) == []
    assert endpoint.requests == []


def test_default_fact_filter_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GRAPHMEM_LLM_BASE_URL", "GRAPHMEM_LLM_MODEL", "GRAPHMEM_LLM_API_KEY", "GRAPHMEM_LLM_RECOGNITION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("GRAPHMEM_LLM_RECOGNITION_TIMEOUT", raising=False)
    assert default_fact_filter() is None
    monkeypatch.setenv("GRAPHMEM_LLM_BASE_URL", "http://127.0.0.1:8000/v1")
    monkeypatch.setenv("GRAPHMEM_LLM_MODEL", "m")
    configured = default_fact_filter()
    assert isinstance(configured, LLMFactFilter)
    assert (configured.settings.model, configured.timeout) == ("m", 10.0)
    monkeypatch.setenv("GRAPHMEM_LLM_RECOGNITION_TIMEOUT", "2.5")
    configured = default_fact_filter()
    assert isinstance(configured, LLMFactFilter) and configured.timeout == 2.5
    monkeypatch.setenv("GRAPHMEM_LLM_RECOGNITION", "0")
    assert default_fact_filter() is None
    monkeypatch.setenv("GRAPHMEM_LLM_RECOGNITION", "1")
    assert isinstance(default_fact_filter(), LLMFactFilter)
    monkeypatch.setenv("GRAPHMEM_LLM_RECOGNITION_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="GRAPHMEM_LLM_RECOGNITION_TIMEOUT"):
        default_fact_filter()


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="timeout"):
        LLMFactFilter(settings("http://127.0.0.1:1"), timeout=0)
