"""LLM summaries are used when an LLM answers and never needed: any failure keeps the extractive summary."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from test_store_communities import corpus

from graphmem.communities import CommunityConfig, plan
from graphmem.communities.summary import LLMSummariser, default_summariser
from graphmem.embed import CachedEmbedder
from graphmem.extract.llm import LLMSettings
from graphmem.graph import write_records
from graphmem.memory import Memory
from graphmem.store import EmbeddedStore


@pytest.fixture
def chat() -> Iterator[tuple[str, list[str], list[dict[str, Any]]]]:
    """A local chat-completions server: replies are popped from the list (HTTP 500 when it is empty)."""
    replies: list[str] = []
    requests: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            requests.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            status, content = (200, replies.pop(0)) if replies else (500, "")
            data = json.dumps({"choices": [{"index": 0, "message": {"content": content}}]}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", replies, requests
    server.shutdown()
    server.server_close()


def test_llm_writes_the_largest_summaries_and_failures_keep_the_extractive_ones(
    chat: tuple[str, list[str], list[dict[str, Any]]], embedded_store: EmbeddedStore, embedder: CachedEmbedder
) -> None:
    url, replies, requests = chat
    write_records(embedded_store, corpus("default"))
    index = Memory(embedded_store, extract=False, embedder=embedder).index()
    replies.append('```json\n{"title": "Working harbour", "summary": "Captain Orla and the  ferry."}\n```')
    summariser = LLMSummariser(LLMSettings(base_url=url, model="m", timeout=5.0))
    result = plan(index, [], CommunityConfig(llm_max=3), summariser=summariser)
    by_llm = [c for c in result.records if c.summary_by == "llm"]
    assert len(requests) == 3 and summariser.failures == 2  # the two after the first got HTTP 500
    assert [(c.title, c.summary) for c in by_llm] == [("Working harbour", "Captain Orla and the ferry.")]
    assert "ENTITIES:" in requests[0]["messages"][1]["content"] and "FACTS:" in requests[0]["messages"][1]["content"]
    extractive = plan(index, [], CommunityConfig())
    assert all(c.summary_by == "extractive" for c in extractive.records)
    assert [c.id for c in extractive.records] == [c.id for c in result.records]  # summaries never change ids
    assert len([c for c in result.records if c.size >= 3]) == 6  # the pair stays extractive: too small to ask


def test_no_llm_is_asked_unless_one_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRAPHMEM_LLM_BASE_URL", raising=False)
    assert default_summariser() is None
    monkeypatch.setenv("GRAPHMEM_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("GRAPHMEM_LLM_MODEL", "m")
    assert isinstance(default_summariser(), LLMSummariser)
