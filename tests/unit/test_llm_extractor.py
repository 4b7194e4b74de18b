"""The LLM extractor against a real local HTTP server speaking the chat-completions shape."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from graphmem.extract.llm import LLMError, LLMExtractor, LLMSettings
from graphmem.extract.types import EntitySpan, NaryRelation, PassageExtraction, PassageInput, Triple

PASSAGE = PassageInput(
    id="p1",
    title="Casimir Lovatt",
    text="Casimir Lovatt was born in Ardloch. In 2012 he joined the Tarnel Ferry Company as operations manager.",
    date=datetime(2020, 5, 1),
)
GOOD_REPLY: dict[str, Any] = {
    "entities": [
        {"text": "Casimir Lovatt", "type": "person"},
        {"text": "Ardloch", "type": "GPE"},
        {"text": "Tarnel Ferry Company", "type": "ORG"},
        {"text": "Ardloch", "type": "GPE"},
    ],
    "triples": [
        {
            "subject": "Casimir Lovatt",
            "predicate": "Born In",
            "object": "Ardloch",
            "subject_type": "PERSON",
            "object_type": "GPE",
            "date": None,
            "negated": False,
        },
        {
            "subject": "Casimir Lovatt",
            "predicate": "join",
            "object": "Tarnel Ferry Company",
            "subject_type": "PERSON",
            "object_type": "ORG",
            "date": "2012",
            "negated": False,
        },
        {"subject": "Casimir Lovatt", "predicate": "work_for", "object": "Ardloch", "negated": True},
    ],
    "hyperedges": [
        {
            "predicate": "join",
            "roles": [
                {"role": "agent", "text": "Casimir Lovatt", "type": "PERSON"},
                {"role": "patient", "text": "Tarnel Ferry Company", "type": "ORG"},
                {"role": "as", "text": "operations manager", "type": "THING"},
                {"role": "time", "text": "2012", "type": "DATE"},
            ],
            "date": "2012",
        },
        {"predicate": "visit", "roles": [{"role": "agent", "text": "A"}, {"role": "patient", "text": "B"}]},
    ],
}


@dataclass
class FakeEndpoint:
    """A scripted chat-completions server: each request takes the next (status, body) reply."""

    url: str
    replies: list[tuple[int, str]] = field(default_factory=list)
    requests: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)

    def reply_content(self, content: str, status: int = 200) -> None:
        envelope = {"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": {"content": content}}]}
        self.replies.append((status, json.dumps(envelope)))

    def reply_json(self, data: dict[str, Any]) -> None:
        self.reply_content(json.dumps(data))


@pytest.fixture
def endpoint() -> Iterator[FakeEndpoint]:
    fake = FakeEndpoint(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            fake.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            status, text = fake.replies.pop(0) if fake.replies else (500, "no reply scripted")
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
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


class FakeFallback:
    name = "fake-fallback"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def extract(self, passages: Sequence[PassageInput]) -> list[PassageExtraction]:
        self.seen.extend(p.id for p in passages)
        return [PassageExtraction(passage_id=p.id, entities=[EntitySpan("FROM FALLBACK", "THING")]) for p in passages]


def settings(url: str, **overrides: Any) -> LLMSettings:
    values: dict[str, Any] = {"base_url": url, "model": "test-model", "api_key": "sk-test", "backoff_base": 0.001}
    return LLMSettings(**(values | overrides))


def test_good_reply_becomes_extraction(endpoint: FakeEndpoint) -> None:
    endpoint.reply_json(GOOD_REPLY)
    [result] = LLMExtractor(settings(endpoint.url)).extract([PASSAGE])
    assert result.passage_id == "p1"
    assert result.entities == [
        EntitySpan("Casimir Lovatt", "PERSON", 0, 14),
        EntitySpan("Ardloch", "GPE", 27, 34),
        EntitySpan("Tarnel Ferry Company", "ORG", 58, 78),
    ]
    born, joined, negated = result.triples
    assert born == Triple(
        "Casimir Lovatt", "born_in", "Ardloch", "PERSON", "GPE", sentence="Casimir Lovatt was born in Ardloch."
    )
    assert (joined.predicate, joined.date, joined.date_precision) == ("join", "2012-01-01", "year")
    # The subject was written as "he": the sentence naming the object still fits.
    assert joined.sentence.startswith("In 2012 he joined")
    assert (negated.predicate, negated.negated) == ("not_work_for", True)
    [edge] = result.hyperedges  # the two-role one is dropped
    assert isinstance(edge, NaryRelation)
    assert edge.predicate == "join" and edge.date == "2012-01-01"
    assert [(r.role, r.text) for r in edge.roles][2] == ("as", "operations manager")
    assert edge.sentence.startswith("In 2012")


def test_fenced_json(endpoint: FakeEndpoint) -> None:
    endpoint.reply_content("```json\n" + json.dumps(GOOD_REPLY) + "\n```")
    extractor = LLMExtractor(settings(endpoint.url))
    [result] = extractor.extract([PASSAGE])
    assert len(result.triples) == 3
    assert (extractor.calls, extractor.retries, extractor.fallbacks) == (1, 0, 0)


def test_server_errors_are_retried(endpoint: FakeEndpoint) -> None:
    endpoint.replies += [(500, "boom"), (503, "busy")]
    endpoint.reply_json(GOOD_REPLY)
    extractor = LLMExtractor(settings(endpoint.url), fallback=FakeFallback())
    [result] = extractor.extract([PASSAGE])
    assert len(result.triples) == 3
    assert (extractor.calls, extractor.retries, extractor.fallbacks) == (3, 2, 0)


def test_rate_limit_is_retried(endpoint: FakeEndpoint) -> None:
    endpoint.replies.append((429, "slow down"))
    endpoint.reply_json(GOOD_REPLY)
    extractor = LLMExtractor(settings(endpoint.url))
    assert len(extractor.extract([PASSAGE])[0].triples) == 3
    assert extractor.retries == 1


def test_client_error_goes_to_fallback_without_retry(endpoint: FakeEndpoint, caplog: pytest.LogCaptureFixture) -> None:
    endpoint.replies.append((400, '{"error": "bad request"}'))
    fallback = FakeFallback()
    extractor = LLMExtractor(settings(endpoint.url), fallback=fallback)
    with caplog.at_level(logging.WARNING, logger="graphmem.extract.llm"):
        [result] = extractor.extract([PASSAGE])
    assert result.entities == [EntitySpan("FROM FALLBACK", "THING")]
    assert fallback.seen == ["p1"]
    assert (extractor.calls, extractor.retries, extractor.fallbacks) == (1, 0, 1)
    assert "HTTP 400" in caplog.text and "sk-test" not in caplog.text


def test_invalid_json_goes_to_fallback_after_retries(endpoint: FakeEndpoint) -> None:
    for _ in range(3):
        endpoint.reply_content("{'subject': not json at all")
    fallback = FakeFallback()
    extractor = LLMExtractor(settings(endpoint.url, max_retries=2), fallback=fallback)
    [result] = extractor.extract([PASSAGE])
    assert result.entities[0].text == "FROM FALLBACK"
    assert (extractor.calls, extractor.retries, extractor.fallbacks) == (3, 2, 1)


def test_validation_error_goes_to_fallback(endpoint: FakeEndpoint) -> None:
    endpoint.reply_json({"triples": [{"subject": "A", "predicate": "own"}]})  # no object
    fallback = FakeFallback()
    extractor = LLMExtractor(settings(endpoint.url), fallback=fallback)
    assert extractor.extract([PASSAGE])[0].entities[0].text == "FROM FALLBACK"
    assert (extractor.calls, extractor.fallbacks) == (1, 1)


def test_no_fallback_raises_with_endpoint(endpoint: FakeEndpoint) -> None:
    endpoint.replies.append((401, '{"error": "no key"}'))
    with pytest.raises(LLMError, match=r"127\.0\.0\.1.*/v1/chat/completions.*HTTP 401"):
        LLMExtractor(settings(endpoint.url)).extract([PASSAGE])


def test_unreachable_endpoint_retries_then_raises() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    extractor = LLMExtractor(settings(f"http://127.0.0.1:{port}", max_retries=1))
    with pytest.raises(LLMError, match=rf"127\.0\.0\.1:{port}/chat/completions"):
        extractor.extract([PASSAGE])
    assert (extractor.calls, extractor.retries) == (2, 1)


def test_request_carries_key_model_and_context(endpoint: FakeEndpoint) -> None:
    endpoint.reply_json({"entities": [], "triples": [], "hyperedges": []})
    turn = PassageInput(id="t1", text="I moved to Kessaby last year.", speaker="Ines", listeners=("Mara",))
    [result] = LLMExtractor(settings(endpoint.url)).extract([turn])
    assert result == PassageExtraction(passage_id="t1")
    [(headers, body)] = endpoint.requests
    assert headers["authorization"] == "Bearer sk-test"
    assert body["model"] == "test-model"
    assert body["temperature"] == 0
    assert body["response_format"] == {"type": "json_object"}
    system, user = body["messages"]
    assert system["role"] == "system" and "snake_case" in system["content"]
    assert "SPEAKER: Ines" in user["content"] and "LISTENER: Mara" in user["content"]
    assert user["content"].endswith("I moved to Kessaby last year.")


def test_hostile_reply_is_kept_as_data(endpoint: FakeEndpoint) -> None:
    hostile = "'}) DETACH DELETE n //"
    reply = {
        "entities": [{"text": hostile, "type": "PERSON"}],
        "triples": [{"subject": hostile, "predicate": "own", "object": "__import__('os').system('x')"}],
    }
    endpoint.reply_json(reply)
    [result] = LLMExtractor(settings(endpoint.url)).extract([PASSAGE])
    assert result.entities[0].text == hostile
    assert result.triples[0].subject == hostile
    assert result.triples[0].object == "__import__('os').system('x')"


def test_passages_keep_their_order(endpoint: FakeEndpoint) -> None:
    endpoint.replies.append((400, "no"))
    endpoint.reply_json(GOOD_REPLY)
    passages = [PassageInput(id="a", text="x"), PassageInput(id="b", text="Casimir Lovatt was born in Ardloch.")]
    results = LLMExtractor(settings(endpoint.url), fallback=FakeFallback()).extract(passages)
    assert [r.passage_id for r in results] == ["a", "b"]
    assert results[1].triples[0].sentence == "Casimir Lovatt was born in Ardloch."


def test_settings_from_env() -> None:
    assert LLMSettings.from_env({}) is None
    loaded = LLMSettings.from_env(
        {
            "GRAPHMEM_LLM_BASE_URL": "http://localhost:8000/v1/",
            "GRAPHMEM_LLM_MODEL": "m",
            "GRAPHMEM_LLM_API_KEY": "sk-9",
        }
    )
    assert loaded is not None
    assert (loaded.endpoint, loaded.model, loaded.api_key, loaded.timeout, loaded.max_retries) == (
        "http://localhost:8000/v1/chat/completions",
        "m",
        "sk-9",
        30.0,
        3,
    )
    assert "sk-9" not in repr(loaded)
    with pytest.raises(ValueError, match="GRAPHMEM_LLM_MODEL"):
        LLMSettings.from_env({"GRAPHMEM_LLM_BASE_URL": "http://localhost:8000"})
    with pytest.raises(ValueError, match="http"):
        LLMSettings(base_url="localhost:8000", model="m")
